import Keyv from 'keyv';
import { NAMESPACES, type Namespace, type Store } from './store.ts';

/**
 * A store that lives as long as the process: for one-shot commands (`ask` without --thread, the
 * terminal demo) when the configured store cannot be opened. Nothing is shared or kept.
 */
export function openMemoryStore(reason: string): Store {
  const spaces = new Map<Namespace, Keyv>(
    NAMESPACES.map((name) => [name, new Keyv({ namespace: name, throwOnErrors: true })]),
  );
  const claims = new Map<string, number>();
  return {
    kind: 'memory',
    where: `memory (${reason})`,
    ns: (name) => spaces.get(name)!,
    async claimOnce(key, ttlMs) {
      const now = Date.now();
      if ((claims.get(key) ?? 0) > now) return false;
      claims.set(key, now + ttlMs);
      return true;
    },
    async close() {
      claims.clear();
    },
  };
}
