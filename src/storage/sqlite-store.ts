import { accessSync, constants, mkdirSync } from 'node:fs';
import path from 'node:path';
import Keyv from 'keyv';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { NAMESPACES, type Namespace, type Store } from './store.ts';
import { StoreLockedError, StoreOpenError } from './store-errors.ts';

export interface SqliteStoreOptions {
  /** How long a statement may keep meeting another process's lock before it fails (ms). */
  busyTimeoutMs: number;
}

/**
 * Lock contention codes: another process holds the write lock, is checkpointing or recovering the
 * WAL. Everything else is a real failure and goes straight to the caller.
 */
const BUSY_CODES = new Set([
  'SQLITE_BUSY',
  'SQLITE_BUSY_RECOVERY',
  'SQLITE_BUSY_SNAPSHOT',
  'SQLITE_BUSY_TIMEOUT',
  'SQLITE_LOCKED',
  'SQLITE_LOCKED_SHAREDCACHE',
]);
const MAX_BACKOFF_MS = 50;
/** A retry that comes this much later than scheduled was this process's own delay, not the lock's. */
const LOOK_SLACK_MS = 100;
/** However busy the other processes are, a statement gives up after this many budgets in all. */
const CONTENTION_CAP_FACTOR = 6;
/** Expired rows (dedupe claims, caches) are deleted this often, besides once at open. */
const SWEEP_INTERVAL_MS = 10 * 60 * 1000;
/** Rows per page when iterating a namespace: a statement is never held open across an await. */
const ITERATOR_PAGE = 500;

function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The one SQLite connection of this process. better-sqlite3 runs each statement synchronously, so
 * statements of one process never interleave; the busy timeout is 0 so a lock held by another
 * process never blocks the event loop: the statement is retried here, asynchronously, with backoff.
 */
class SqliteConnection {
  private readonly statements = new Map<string, Statement>();
  private closed = false;

  constructor(
    readonly db: SqliteDatabase,
    readonly where: string,
    private readonly busyTimeoutMs: number,
  ) {}

  statement(sql: string): Statement {
    let prepared = this.statements.get(sql);
    if (!prepared) {
      prepared = this.db.prepare(sql);
      this.statements.set(sql, prepared);
    }
    return prepared;
  }

  /**
   * Runs `work` (one statement or one transaction), retrying while another process holds the lock.
   * The budget counts only time in which no other connection committed: sixteen processes taking
   * turns are contention and keep going, one process sitting on the lock is "locked". Time this
   * process spent not looking (its own timers starved on a loaded machine) is not held against the
   * other process either. A wall-clock cap keeps even endless contention bounded.
   */
  async run<T>(work: () => T): Promise<T> {
    const started = Date.now();
    let lockedFor = 0;
    let lastLook = started;
    let expectedGap = 0;
    let version: number | undefined;
    let backoff = 1;
    for (;;) {
      if (this.closed) throw new Error(`the state store ${this.where} is closed`);
      try {
        return work();
      } catch (err) {
        const code = sqliteCode(err);
        if (!code || !BUSY_CODES.has(code)) throw err;
        const now = Date.now();
        const seen = this.dataVersion();
        if (version !== undefined && seen !== undefined && seen !== version) lockedFor = 0;
        else lockedFor += Math.min(now - lastLook, expectedGap + LOOK_SLACK_MS);
        version = seen ?? version;
        lastLook = now;
        const waited = now - started;
        if (lockedFor >= this.busyTimeoutMs || waited >= this.busyTimeoutMs * CONTENTION_CAP_FACTOR)
          throw new StoreLockedError(this.where, code, waited);
        const delay = Math.min(backoff * (0.5 + Math.random()), this.busyTimeoutMs - lockedFor);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        expectedGap = delay;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** Changes whenever another connection commits; undefined when even that cannot be read now. */
  private dataVersion(): number | undefined {
    try {
      const value: unknown = this.statement('PRAGMA data_version').pluck().get();
      return typeof value === 'number' ? value : undefined;
    } catch {
      return undefined;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Copy the WAL into the database now, without locking anyone out: the last connection to close
    // checkpoints under an exclusive lock, and then has nothing left to copy or sync.
    try {
      this.db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Busy or read-only: the close below checkpoints what it can.
    }
    this.db.close();
  }
}

/**
 * One keyv namespace on the shared connection: rows of `askpanda_kv` with this `ns`. Values arrive
 * already serialized by Keyv (with their own expiry inside); `expires` is kept as a column too, so
 * expired rows are skipped by reads and swept without parsing them.
 */
class SqliteNamespace {
  readonly opts: { dialect: 'sqlite'; url: string };
  namespace?: string;

  constructor(
    private readonly connection: SqliteConnection,
    private readonly ns: Namespace,
  ) {
    this.opts = { dialect: 'sqlite', url: `sqlite://${connection.where}` };
  }

  // Keyv subscribes to 'error'; errors are thrown to the awaiting caller instead.
  on(): this {
    return this;
  }

  async get(key: string): Promise<string | undefined> {
    const row = await this.connection.run(
      () =>
        this.connection
          .statement('SELECT value FROM askpanda_kv WHERE ns = ? AND key = ? AND (expires IS NULL OR expires > ?)')
          .get(this.ns, key, Date.now()) as { value: string } | undefined,
    );
    return row?.value;
  }

  async getMany(keys: string[]): Promise<Array<string | undefined>> {
    const values: Array<string | undefined> = [];
    for (const key of keys) values.push(await this.get(key));
    return values;
  }

  async has(key: string): Promise<boolean> {
    return (await this.get(key)) !== undefined;
  }

  async set(key: string, value: string, ttl?: number): Promise<boolean> {
    const expires = typeof ttl === 'number' && ttl > 0 ? Date.now() + ttl : null;
    await this.connection.run(() =>
      this.connection
        .statement(
          'INSERT INTO askpanda_kv (ns, key, value, expires) VALUES (?, ?, ?, ?) ON CONFLICT(ns, ' +
            'key) DO UPDATE SET value = excluded.value, expires = excluded.expires',
        )
        .run(this.ns, key, value, expires),
    );
    return true;
  }

  async delete(key: string): Promise<boolean> {
    const result = await this.connection.run(() =>
      this.connection.statement('DELETE FROM askpanda_kv WHERE ns = ? AND key = ?').run(this.ns, key),
    );
    return result.changes > 0;
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    let any = false;
    for (const key of keys) any = (await this.delete(key)) || any;
    return any;
  }

  async clear(): Promise<void> {
    await this.connection.run(() => this.connection.statement('DELETE FROM askpanda_kv WHERE ns = ?').run(this.ns));
  }

  /** Keyv's iterator(): every live [key, serialized value] of the namespace, in key order, paged. */
  async *iterator(): AsyncGenerator<[string, string], void> {
    let after = '';
    for (;;) {
      const rows = await this.connection.run(
        () =>
          this.connection
            .statement(
              'SELECT key, value FROM askpanda_kv WHERE ns = ? AND key > ? AND (expires IS NULL OR expires > ?) ORDER BY key LIMIT ?',
            )
            .all(this.ns, after, Date.now(), ITERATOR_PAGE) as Array<{ key: string; value: string }>,
      );
      for (const row of rows) yield [row.key, row.value];
      if (rows.length < ITERATOR_PAGE) return;
      after = rows[rows.length - 1]!.key;
    }
  }

  async disconnect(): Promise<void> {
    // The connection is shared by every namespace: Store.close() closes it once.
  }
}

const SCHEMA = [
  'CREATE TABLE IF NOT EXISTS askpanda_kv (ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, ' +
    'expires INTEGER, PRIMARY KEY (ns, key)) WITHOUT ROWID',
  'CREATE INDEX IF NOT EXISTS askpanda_kv_expires ON askpanda_kv (expires) WHERE expires IS NOT NULL',
  'CREATE TABLE IF NOT EXISTS askpanda_claims (key TEXT PRIMARY KEY, expires INTEGER NOT NULL) WITHOUT ROWID',
];

/** What to do about a failed open, from the driver's code (or the file system's, for the folder). */
function openProblem(where: string, err: unknown): StoreOpenError {
  const code = sqliteCode(err) ?? '';
  const reason = err instanceof Error ? err.message : String(err);
  const folder = path.dirname(where);
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new StoreOpenError(
      where,
      'not_sqlite',
      `it is not a SQLite database (${reason}); ` +
        `move the file away, or point ASKPANDA_DATA_DIR (or ASKPANDA_STORE=sqlite:<file>) somewhere else`,
      { cause: err },
    );
  }
  if (code.startsWith('SQLITE_READONLY') || ['EACCES', 'EROFS', 'EPERM'].includes(code)) {
    return new StoreOpenError(
      where,
      'read_only',
      `${folder} or the file is read-only (${reason}); make it writable for this user, or set ASKPANDA_DATA_DIR to a writable folder`,
      { cause: err },
    );
  }
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') {
    return new StoreOpenError(
      where,
      'full',
      `the disk holding ${folder} is full (${reason}); free some space, or set ASKPANDA_DATA_DIR to another disk`,
      { cause: err },
    );
  }
  if (code.startsWith('SQLITE_CANTOPEN') && !writable(folder)) {
    return new StoreOpenError(
      where,
      'read_only',
      `${folder} is not writable (${reason}); make it writable for this user, or set ASKPANDA_DATA_DIR to a writable folder`,
      { cause: err },
    );
  }
  return new StoreOpenError(
    where,
    'cannot_open',
    `${reason}; check that ${folder} exists and is writable, or set ASKPANDA_DATA_DIR to another folder`,
    { cause: err },
  );
}

function writable(folder: string): boolean {
  try {
    accessSync(folder, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Opens the SQLite store: one connection for every namespace and for claims, WAL and
 * synchronous=NORMAL set before any other statement, the schema created with retries (sixteen
 * processes may create the same fresh file at once), and one write to prove the file is writable.
 */
export async function openSqliteStore(file: string, options: SqliteStoreOptions): Promise<Store> {
  const where = path.resolve(file);
  try {
    mkdirSync(path.dirname(where), { recursive: true });
  } catch (err) {
    throw openProblem(where, err);
  }
  // The driver loads only when a SQLite store is used.
  const { default: Database } = await import('better-sqlite3');
  let db: SqliteDatabase;
  try {
    db = new Database(where, { timeout: 0 });
  } catch (err) {
    throw openProblem(where, err);
  }
  const connection = new SqliteConnection(db, where, options.busyTimeoutMs);
  try {
    // WAL with synchronous=NORMAL: a committed write survives the process being killed (kill -9);
    // only a power loss may lose the last transactions. The rollback journal with FULL waits for
    // the disk on every write.
    await connection.run(() => db.pragma('journal_mode = WAL'));
    db.pragma('synchronous = NORMAL');
    for (const sql of SCHEMA) await connection.run(() => db.exec(sql));
    await migrateKeyvSqliteTable(connection);
    await connection.run(() =>
      connection
        .statement(
          'INSERT INTO askpanda_kv (ns, key, value, expires) VALUES (?, ?, ?, NULL) ON CONFLICT(ns, ' +
            'key) DO UPDATE SET value = excluded.value',
        )
        .run('meta', 'store:opened', JSON.stringify({ value: new Date().toISOString() })),
    );
    await sweep(connection);
  } catch (err) {
    connection.close();
    if (err instanceof StoreLockedError) throw err;
    throw openProblem(where, err);
  }

  const spaces = new Map<Namespace, Keyv>();
  for (const name of NAMESPACES) {
    // throwOnErrors: a failed write reaches the code that awaited it instead of vanishing.
    spaces.set(
      name,
      new Keyv({
        store: new SqliteNamespace(connection, name),
        namespace: name,
        useKeyPrefix: false,
        throwOnErrors: true,
      }),
    );
  }
  const sweeper = setInterval(() => void sweep(connection).catch(() => undefined), SWEEP_INTERVAL_MS);
  sweeper.unref();

  return {
    kind: 'sqlite',
    where,
    ns: (name) => spaces.get(name)!,
    async claimOnce(key, ttlMs) {
      const now = Date.now();
      // One statement, so two processes on the same file cannot both win.
      const row = await connection.run(() =>
        connection
          .statement(
            'INSERT INTO askpanda_claims (key, expires) VALUES (?, ' +
              '?) ON CONFLICT(key) DO UPDATE SET expires = excluded.expires WHERE askpanda_claims.expires < ? ' +
              'RETURNING key',
          )
          .get(key, now + Math.max(1, Math.round(ttlMs)), now),
      );
      return row !== undefined;
    },
    async close() {
      clearInterval(sweeper);
      connection.close();
    },
  };
}

async function sweep(connection: SqliteConnection): Promise<void> {
  const now = Date.now();
  await connection.run(() =>
    connection.statement('DELETE FROM askpanda_kv WHERE expires IS NOT NULL AND expires <= ?').run(now),
  );
  await connection.run(() => connection.statement('DELETE FROM askpanda_claims WHERE expires < ?').run(now));
}

/**
 * Data dirs written by earlier versions (@keyv/sqlite: table `askpanda`, keys "<namespace>:<key>")
 * keep their thread histories and subscriptions: the rows move to `askpanda_kv` once.
 */
async function migrateKeyvSqliteTable(connection: SqliteConnection): Promise<void> {
  const { db } = connection;
  const legacy = () =>
    db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'askpanda'").get() !== undefined;
  if (!(await connection.run(legacy))) return;
  const move = db.transaction(() => {
    if (!legacy()) return;
    db.exec(`INSERT OR IGNORE INTO askpanda_kv (ns, key, value, expires)
             SELECT substr(key, 1, instr(key, ':') - 1), substr(key, instr(key, ':') + 1), value,
                    CASE WHEN json_valid(value) THEN json_extract(value, '$.expires') END
             FROM askpanda WHERE instr(key, ':') > 1 AND value IS NOT NULL`);
    db.exec('DROP TABLE askpanda');
  });
  await connection.run(() => move.immediate());
}
