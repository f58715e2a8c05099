import { sleep } from '../support/time.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { type Store } from '../../src/storage/store.ts';
import { openStore } from '../../src/storage/open-store.ts';
import { StoreLockedError } from '../../src/storage/store-errors.ts';

const HERE = import.meta.dirname;
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

function child(script: string, args: string[]): { process: ChildProcess; nextLine: () => Promise<string> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(HERE, script), ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(proc);
  const queued: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const waiter = waiting.shift();
    if (waiter) waiter(line);
    else queued.push(line);
  });
  return {
    process: proc,
    nextLine: () => new Promise((resolve) => (queued.length ? resolve(queued.shift()!) : waiting.push(resolve))),
  };
}

/** Holds SQLite's write lock on `file` for `holdMs` in another process; resolves once it is held. */
async function holdLock(file: string, holdMs: number, commitEveryMs?: number): Promise<{ released: Promise<string> }> {
  const holder = child('lock-holder.ts', [file, String(holdMs), ...(commitEveryMs ? [String(commitEveryMs)] : [])]);
  expect(await holder.nextLine()).toBe('locked');
  return { released: holder.nextLine() };
}

const freshDir = (label: string) => mkdtempSync(path.join(tmpdir(), `askpanda-${label}-`));

/** A store on a fresh data dir whose file another process holds locked (see lock-holder.ts). */
async function storeBehindLock(
  label: string,
  lock: { holdMs: number; commitEveryMs?: number },
  storeBusyTimeoutMs?: number,
) {
  const dir = freshDir(label);
  const file = path.join(dir, 'askpanda.sqlite');
  const store = await openStore({
    dataDir: dir,
    store: '',
    ...(storeBusyTimeoutMs === undefined ? {} : { storeBusyTimeoutMs }),
  });
  const holder = await holdLock(file, lock.holdMs, lock.commitEveryMs);
  return { store, file, released: holder.released };
}

const HISTORY = [{ role: 'user', text: 'why did job 6802258254 fail?', at: 1 }];

describe('SQLite store under concurrency', () => {
  it('16 processes opening one fresh data dir at once, 20 times: no error, every write readable, each claim won once', async () => {
    const WORKERS = 16;
    const WRITES = 20;
    const workers = Array.from({ length: WORKERS }, (_, i) => child('race-child.ts', [String(i)]));
    await Promise.all(workers.map((w) => w.nextLine()));
    const started = Date.now();
    for (let round = 0; round < 20; round++) {
      const dir = freshDir(`race${round}`);
      const claims = Array.from({ length: 20 }, (_, i) => `event-${round}-${i}`);
      for (const w of workers) w.process.stdin!.write(`${JSON.stringify({ dir, claims, writes: WRITES })}\n`);
      const results = (await Promise.all(workers.map((w) => w.nextLine()))).map(
        (line) => JSON.parse(line) as { ok: boolean; error?: string; won?: string[] },
      );
      expect(results.filter((r) => !r.ok).map((r) => r.error)).toEqual([]);
      const won = results.flatMap((r) => r.won ?? []);
      expect(won.sort()).toEqual([...claims].sort());

      const store = await openStore({ dataDir: dir, store: '' });
      for (let w = 0; w < WORKERS; w++) {
        for (let i = 0; i < WRITES; i++) {
          expect(await store.ns('history').get(`w${w}-${i}`)).toEqual([
            { role: 'user', text: `question ${i} of ${w}`, at: i },
          ]);
          expect(await store.ns('cache').get(`w${w}-${i}`)).toEqual({ worker: w, i });
        }
      }
      await store.close();
    }
    for (const w of workers) w.process.stdin!.end();
    // Bounded: twenty rounds of sixteen processes are ten seconds of work on two quiet cores; a CI
    // machine running the rest of the suite beside them may take several times that.
    expect(Date.now() - started).toBeLessThan(90_000);
  }, 150_000);

  it('waits for another process holding the write lock for 2 s, then writes', async () => {
    const { store, released } = await storeBehindLock('wait', { holdMs: 2_000 });
    const started = Date.now();
    await store.ns('history').set('waited', HISTORY);
    const waited = Date.now() - started;
    expect(await released).toBe('released');
    expect(waited).toBeGreaterThan(1_000);
    expect(await store.ns('history').get('waited')).toEqual(HISTORY);
    expect(await store.claimOnce('after-wait', 1000)).toBe(true);
    await store.close();
  }, 20_000);

  it('keeps waiting past the budget while the process holding the lock keeps committing (contention, not a stuck lock)', async () => {
    // The lock is free only for the instant between a COMMIT and the next BEGIN, for 2 s: five budgets.
    const { store, released } = await storeBehindLock('churn', { holdMs: 2_000, commitEveryMs: 150 }, 400);
    await store.ns('history').set('patient', HISTORY);
    expect(await store.ns('history').get('patient')).toEqual(HISTORY);
    await released;
    await store.close();
  }, 20_000);

  it('does not count the time its own event loop was blocked against the lock', async () => {
    // Held 1.6 s with no commit, budget 1 s; this process is stalled for 1.3 s of it (a loaded
    // machine). Counting wall-clock time, the first retry after the stall would give up; counting
    // what it watched, about 0.4 s have passed when the lock is released.
    const { store, released } = await storeBehindLock('starved', { holdMs: 1_600 }, 1_000);
    const write = store.ns('history').set('starved', HISTORY);
    await sleep(20);
    const stallUntil = Date.now() + 1_300;
    while (Date.now() < stallUntil) {
      // Busy: no timer of this process runs meanwhile.
    }
    await write;
    expect(await store.ns('history').get('starved')).toEqual(HISTORY);
    await released;
    await store.close();
  }, 20_000);

  it('gives up even on endless contention, after six budgets in all', async () => {
    const { store, released } = await storeBehindLock('endless', { holdMs: 4_000, commitEveryMs: 50 }, 150);
    const started = Date.now();
    await expect(store.claimOnce('never-free', 1000)).rejects.toBeInstanceOf(StoreLockedError);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(6 * 150);
    expect(waited).toBeLessThan(3_000);
    await released;
    await store.close();
  }, 20_000);

  it('gives up after the retry budget with a clear error that reaches the caller', async () => {
    const { store, file, released } = await storeBehindLock('locked', { holdMs: 3_000 }, 400);
    const write = store.ns('history').set('never', HISTORY);
    await expect(write).rejects.toBeInstanceOf(StoreLockedError);
    await expect(write).rejects.toThrow(`the state store ${file} is locked by another process (SQLITE_BUSY`);
    await expect(store.claimOnce('locked-claim', 1000)).rejects.toBeInstanceOf(StoreLockedError);
    await released;
    expect(await store.claimOnce('locked-claim', 1000)).toBe(true);
    await store.close();
  }, 20_000);
});

describe('SQLite store contract', () => {
  const opened: Store[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((s) => s.close()));
  });

  it('iterates a namespace (digests list their subscriptions), past one page, skipping expired rows', async () => {
    const store = await openStore({ dataDir: freshDir('iter'), store: '' });
    opened.push(store);
    const subs = store.ns('subscriptions');
    for (let i = 0; i < 1_234; i++) await subs.set(`slack:C1:${String(i).padStart(5, '0')}`, { task: 46_000_000 + i });
    await subs.set('gone', { task: 1 }, 1);
    await store.ns('history').set('slack:C1:00001', { not: 'a subscription' });
    await new Promise((r) => setTimeout(r, 10));
    const seen: Array<[string, unknown]> = [];
    for await (const entry of subs.iterator!(undefined)) seen.push(entry as [string, unknown]);
    expect(seen).toHaveLength(1_234);
    expect(seen[0]).toEqual(['slack:C1:00000', { task: 46_000_000 }]);
    expect(seen.at(-1)).toEqual(['slack:C1:01233', { task: 46_001_233 }]);
  });

  it('rejects a write after close instead of dropping it', async () => {
    const store = await openStore({ dataDir: freshDir('closed'), store: '' });
    await store.close();
    await expect(store.ns('history').set('late', 1)).rejects.toThrow(/closed/);
  });
});

describe('SQLite store upgrade', () => {
  it('keeps what an earlier version (@keyv/sqlite, table askpanda) stored', async () => {
    const dir = freshDir('legacy');
    const file = path.join(dir, 'askpanda.sqlite');
    const { default: Database } = await import('better-sqlite3');
    const legacy = new Database(file);
    legacy.exec('CREATE TABLE askpanda (key VARCHAR(255) PRIMARY KEY, value TEXT)');
    const put = legacy.prepare('INSERT INTO askpanda (key, value) VALUES (?, ?)');
    put.run(
      'history:slack:C1:1700000000.000100',
      JSON.stringify({ value: [{ role: 'user', text: 'why did job 6802258254 fail?', at: 1, pandaid: 6802258254 }] }),
    );
    put.run('subscriptions:slack:C1:46374283', JSON.stringify({ value: { task: 46374283 } }));
    put.run('cache:expired', JSON.stringify({ value: 'old', expires: 1 }));
    legacy.close();

    const store = await openStore({ dataDir: dir, store: '' });
    expect(await store.ns('history').get('slack:C1:1700000000.000100')).toEqual([
      { role: 'user', text: 'why did job 6802258254 fail?', at: 1, pandaid: 6802258254 },
    ]);
    expect(await store.ns('subscriptions').get('slack:C1:46374283')).toEqual({ task: 46374283 });
    expect(await store.ns('cache').get('expired')).toBeUndefined();
    await store.close();
    const check = new Database(file, { readonly: true });
    expect(check.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'askpanda'").get()).toEqual({ n: 0 });
    check.close();
  });
});
