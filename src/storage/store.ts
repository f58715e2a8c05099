import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Keyv from 'keyv';
import type KeyvSqlite from '@keyv/sqlite';
import type { Config } from '../config/schema.ts';

/** What the bot keeps: one keyv namespace each, so a clear or a TTL never crosses concerns. */
export const NAMESPACES = ['history', 'cache', 'subscriptions', 'dedupe', 'feedback', 'meta'] as const;
export type Namespace = (typeof NAMESPACES)[number];

export interface Store {
  readonly kind: 'sqlite' | 'redis';
  /** Human-readable location without credentials, for logs. */
  readonly where: string;
  ns(name: Namespace): Keyv;
  /**
   * Set-if-absent with a TTL: true for the first caller only, also across processes and replicas
   * sharing the store (Slack event dedupe, the digest poster lock).
   */
  claimOnce(key: string, ttlMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export function storeUri(config: Pick<Config, 'store' | 'dataDir'>): string {
  return config.store || `sqlite:${path.join(config.dataDir, 'askpanda.sqlite')}`;
}

/** The keyv factory: SQLite under the data dir by default, Redis when ASKPANDA_STORE says redis://. */
export async function openStore(config: Pick<Config, 'store' | 'dataDir'>): Promise<Store> {
  const uri = storeUri(config);
  return uri.startsWith('sqlite:') ? openSqlite(uri.slice('sqlite:'.length)) : openRedis(uri);
}

/** The store's location for logs and banners, without credentials. */
export function describeStoreUri(uri: string): string {
  if (!/^rediss?:\/\//.test(uri)) return uri;
  const safe = new URL(uri);
  safe.password = '';
  safe.username = '';
  return safe.toString();
}

type SqliteQuery = (sql: string, ...params: unknown[]) => Promise<unknown>;

async function openSqlite(file: string): Promise<Store> {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  // Each backend's driver loads only when used: a SQLite start does not pay for the Redis client.
  const { default: KeyvSqliteAdapter } = await import('@keyv/sqlite');
  const adapters: KeyvSqlite[] = [];
  const spaces = new Map<Namespace, Keyv>();
  for (const name of NAMESPACES) {
    const adapter = new KeyvSqliteAdapter({ uri: `sqlite://${path.resolve(file)}`, table: 'askpanda', busyTimeout: 10_000 });
    adapters.push(adapter);
    const keyv = new Keyv({ store: adapter, namespace: name });
    keyv.on('error', () => undefined); // surfaced by the awaiting call instead
    spaces.set(name, keyv);
  }
  const query = adapters[0]!.query as SqliteQuery;
  // WAL with synchronous=NORMAL: a committed write survives the process being killed (kill -9); only
  // a power loss may lose the last transactions. The default (rollback journal, FULL) waits for the
  // disk on every write: ~10-20 ms per Slack event here against ~1 ms.
  await query('PRAGMA journal_mode=WAL');
  for (const adapter of adapters) await (adapter.query as SqliteQuery)('PRAGMA synchronous=NORMAL');
  await query('CREATE TABLE IF NOT EXISTS askpanda_claims (key TEXT PRIMARY KEY, expires INTEGER NOT NULL)');
  // Claims go through the dedupe namespace's own connection: a claim and the thread's history read
  // run side by side instead of queueing on one connection.
  const claimQuery = adapters[NAMESPACES.indexOf('dedupe')]!.query as SqliteQuery;
  return {
    kind: 'sqlite',
    where: path.resolve(file),
    ns: (name) => spaces.get(name)!,
    async claimOnce(key, ttlMs) {
      const now = Date.now();
      // One statement, so two processes on the same file cannot both win.
      const rows = (await claimQuery(
        `INSERT INTO askpanda_claims (key, expires) VALUES (?, ?)
         ON CONFLICT(key) DO UPDATE SET expires = excluded.expires WHERE askpanda_claims.expires < ?
         RETURNING key`,
        key,
        now + ttlMs,
        now,
      )) as unknown[];
      if (Math.random() < 0.01) await claimQuery('DELETE FROM askpanda_claims WHERE expires < ?', now);
      return rows.length > 0;
    },
    async close() {
      await Promise.all(adapters.map((a) => a.disconnect().catch(() => undefined)));
    },
  };
}

interface RedisSetClient {
  set(key: string, value: string, options: { NX: true; PX: number }): Promise<string | null>;
}

async function openRedis(uri: string): Promise<Store> {
  const { default: KeyvRedis } = await import('@keyv/redis');
  const adapter = new KeyvRedis(uri, { throwOnConnectError: true, throwOnErrors: true, connectionTimeout: 5_000 });
  const spaces = new Map<Namespace, Keyv>();
  for (const name of NAMESPACES) {
    // KeyvRedis keeps the namespace per adapter instance, so each namespace gets its own adapter on one client.
    const nsAdapter = name === NAMESPACES[0] ? adapter : new KeyvRedis(await adapter.getClient(), { throwOnErrors: true });
    const keyv = new Keyv({ store: nsAdapter, namespace: name, useKeyPrefix: false });
    keyv.on('error', () => undefined);
    spaces.set(name, keyv);
  }
  const client = (await adapter.getClient()) as unknown as RedisSetClient;
  return {
    kind: 'redis',
    where: describeStoreUri(uri),
    ns: (name) => spaces.get(name)!,
    async claimOnce(key, ttlMs) {
      const result = await client.set(`askpanda:claim:${key}`, '1', { NX: true, PX: Math.max(1, Math.round(ttlMs)) });
      return result === 'OK';
    },
    async close() {
      await adapter.disconnect().catch(() => undefined);
    },
  };
}
