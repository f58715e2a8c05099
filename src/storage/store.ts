import path from 'node:path';
import type Keyv from 'keyv';
import type { Config } from '../config/schema.ts';

/** What the bot keeps: one keyv namespace each, so a clear or a TTL never crosses concerns. */
export const NAMESPACES = ['history', 'cache', 'subscriptions', 'dedupe', 'feedback', 'meta'] as const;
export type Namespace = (typeof NAMESPACES)[number];

export interface Store {
  readonly kind: 'sqlite' | 'redis' | 'memory';
  /** Human-readable location without credentials, for logs. */
  readonly where: string;
  /** A keyv per namespace; a failed read or write rejects the awaiting call (never swallowed). */
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

/** How long a store call may wait (SQLite: for another process's lock; Redis: for its reply) when nothing else is configured. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

/**
 * The keyv factory: SQLite under the data dir by default, Redis when ASKPANDA_STORE says redis://.
 * Throws StoreOpenError (or StoreLockedError) with a message naming the path and what to do.
 */
export async function openStore(
  config: Pick<Config, 'store' | 'dataDir'> & { storeBusyTimeoutMs?: number },
): Promise<Store> {
  const uri = storeUri(config);
  if (uri.startsWith('sqlite:')) {
    const { openSqliteStore } = await import('./sqlite-store.ts');
    return openSqliteStore(uri.slice('sqlite:'.length), {
      busyTimeoutMs: config.storeBusyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
    });
  }
  const { openRedisStore } = await import('./redis-store.ts');
  return openRedisStore(uri, { commandTimeoutMs: config.storeBusyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
}

/** The store's location for logs and banners, without credentials. */
export function describeStoreUri(uri: string): string {
  if (!/^rediss?:\/\//.test(uri)) return uri;
  const safe = new URL(uri);
  safe.password = '';
  safe.username = '';
  return safe.toString();
}
