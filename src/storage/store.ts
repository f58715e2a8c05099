import type Keyv from 'keyv';

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

/** The store's location for logs and banners, without credentials. */
export function describeStoreUri(uri: string): string {
  if (!/^rediss?:\/\//.test(uri)) return uri;
  const safe = new URL(uri);
  safe.password = '';
  safe.username = '';
  return safe.toString();
}

/** How long a store call may wait (SQLite: for another process's lock; Redis: for its reply) when nothing else is configured. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
