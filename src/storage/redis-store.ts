import Keyv from 'keyv';
import { NAMESPACES, describeStoreUri, type Namespace, type Store } from './store.ts';
import { StoreOpenError } from './store-errors.ts';

interface RedisSetClient {
  set(key: string, value: string, options: { NX: true; PX: number }): Promise<string | null>;
}

export interface RedisStoreOptions {
  /** A call without a reply after this long fails (a stalled server); `storeBusyTimeoutMs` in the configuration. */
  commandTimeoutMs?: number;
}

/**
 * How Redis being away looks to the bot. node-redis queues commands while it reconnects and sends
 * them when the server is back: during an outage every history read and claim waited, without an
 * error, for as long as the outage lasted (minutes of silence in every thread, nothing counted).
 * Offline, a command now fails at once; a server that accepts the connection but does not answer
 * (stopped, overloaded) fails each call after the timeout (node-redis's own command timeout ends
 * at the write, so the wait for the reply is bounded here); the client keeps reconnecting (at most
 * 2 s apart) and the bot answers without history or claim meanwhile, counting
 * `askpanda_store_errors_total`.
 */
const COMMAND_TIMEOUT_MS = 5_000;
const CONNECT_TIMEOUT_MS = 5_000;
/** A dead connection (no RST, e.g. the server's host went away) is noticed by this ping. */
const PING_INTERVAL_MS = 10_000;

/** Reconnect after 100 ms, doubling to at most 2 s, with jitter (replicas do not reconnect in lockstep). */
export function reconnectDelay(retries: number): number {
  return Math.min(2 ** retries * 100, 2_000) + Math.floor(Math.random() * 100);
}

/** The store for several replicas: every namespace and the claims on one Redis client. */
export async function openRedisStore(uri: string, options: RedisStoreOptions = {}): Promise<Store> {
  const where = describeStoreUri(uri);
  // The client loads only when Redis is configured.
  const { default: KeyvRedis, createClient } = await import('@keyv/redis');
  const redis = createClient({
    url: uri,
    disableOfflineQueue: true,
    commandOptions: { timeout: Math.max(100, options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS) },
    pingInterval: PING_INTERVAL_MS,
    socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: reconnectDelay },
  });
  // Reconnect attempts report here; the calls that fail meanwhile reject to their callers, who count them.
  redis.on('error', () => undefined);
  const adapter = new KeyvRedis(redis, {
    throwOnConnectError: true,
    throwOnErrors: true,
    connectionTimeout: CONNECT_TIMEOUT_MS,
  });
  let client: RedisSetClient;
  try {
    client = (await adapter.getClient()) as unknown as RedisSetClient;
  } catch (err) {
    throw new StoreOpenError(
      where,
      'unreachable',
      `Redis did not answer (${err instanceof Error ? err.message : String(err)}); check ASKPANDA_STORE and that the server is running`,
      { cause: err },
    );
  }
  // 0 means "do not wait" for SQLite's lock; a Redis reply always takes a moment.
  const timeoutMs = Math.max(100, options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS);
  const spaces = new Map<Namespace, Keyv>();
  for (const name of NAMESPACES) {
    // KeyvRedis keeps the namespace per adapter instance, so each namespace gets its own adapter on one client.
    const nsAdapter =
      name === NAMESPACES[0] ? adapter : new KeyvRedis(await adapter.getClient(), { throwOnErrors: true });
    // throwOnErrors: a failed write reaches the code that awaited it instead of vanishing.
    spaces.set(
      name,
      new Keyv({ store: bounded(nsAdapter, timeoutMs), namespace: name, useKeyPrefix: false, throwOnErrors: true }),
    );
  }
  return {
    kind: 'redis',
    where,
    ns: (name) => spaces.get(name)!,
    async claimOnce(key, ttlMs) {
      const result = await withTimeout(
        client.set(`askpanda:claim:${key}`, '1', { NX: true, PX: Math.max(1, Math.round(ttlMs)) }),
        timeoutMs,
      );
      return result === 'OK';
    },
    async close() {
      await adapter.disconnect().catch(() => undefined);
    },
  };
}

/** The adapter calls keyv makes; each is given at most `timeoutMs` for its reply. */
const BOUNDED_CALLS = new Set(['get', 'set', 'delete', 'has', 'clear', 'getMany', 'setMany', 'deleteMany', 'hasMany']);

/** The keyv adapter with every call bounded in time (the subscription listing's iterator per step). */
function bounded<T extends object>(adapter: T, timeoutMs: number): T {
  return new Proxy(adapter, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      if (BOUNDED_CALLS.has(property))
        return (...args: unknown[]) =>
          withTimeout((value as (...a: unknown[]) => Promise<unknown>).apply(target, args), timeoutMs);
      if (property === 'iterator') {
        return (...args: unknown[]) => {
          const iterable = (value as (...a: unknown[]) => AsyncIterable<unknown>).apply(target, args);
          const inner = iterable[Symbol.asyncIterator]();
          return {
            [Symbol.asyncIterator]: () => ({
              next: () => withTimeout(inner.next(), timeoutMs),
              return: (v?: unknown) => inner.return?.(v) ?? Promise.resolve({ done: true as const, value: undefined }),
            }),
          };
        };
      }
      return value;
    },
  });
}

function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Redis did not answer within ${(timeoutMs / 1000).toFixed(1)} s`)),
      timeoutMs,
    );
  });
  // The reply may still come after the time-out: it is dropped, never an unhandled rejection.
  work.catch(() => undefined);
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
