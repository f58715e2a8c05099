import path from 'node:path';
import type { Config } from '../config/schema.ts';
import { DEFAULT_BUSY_TIMEOUT_MS, type Store } from './store.ts';

export function storeUri(config: Pick<Config, 'store' | 'dataDir'>): string {
  return config.store || `sqlite:${path.join(config.dataDir, 'askpanda.sqlite')}`;
}

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
