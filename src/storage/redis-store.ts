import Keyv from 'keyv';
import { NAMESPACES, describeStoreUri, type Namespace, type Store } from './store.ts';
import { StoreOpenError } from './store-errors.ts';

interface RedisSetClient {
  set(key: string, value: string, options: { NX: true; PX: number }): Promise<string | null>;
}

/** The store for several replicas: every namespace and the claims on one Redis client. */
export async function openRedisStore(uri: string): Promise<Store> {
  const where = describeStoreUri(uri);
  // The client loads only when Redis is configured.
  const { default: KeyvRedis } = await import('@keyv/redis');
  const adapter = new KeyvRedis(uri, { throwOnConnectError: true, throwOnErrors: true, connectionTimeout: 5_000 });
  let client: RedisSetClient;
  try {
    client = (await adapter.getClient()) as unknown as RedisSetClient;
  } catch (err) {
    throw new StoreOpenError(where, 'unreachable', `Redis did not answer (${err instanceof Error ? err.message : String(err)}); check ASKPANDA_STORE and that the server is running`, { cause: err });
  }
  const spaces = new Map<Namespace, Keyv>();
  for (const name of NAMESPACES) {
    // KeyvRedis keeps the namespace per adapter instance, so each namespace gets its own adapter on one client.
    const nsAdapter = name === NAMESPACES[0] ? adapter : new KeyvRedis(await adapter.getClient(), { throwOnErrors: true });
    // throwOnErrors: a failed write reaches the code that awaited it instead of vanishing.
    spaces.set(name, new Keyv({ store: nsAdapter, namespace: name, useKeyPrefix: false, throwOnErrors: true }));
  }
  return {
    kind: 'redis',
    where,
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
