import { describe, expect, it } from 'vitest';
import { TtlCache } from '../../src/panda/cache.ts';

describe('TtlCache', () => {
  it('expires entries after their TTL and evicts the least recently used beyond its size', () => {
    let now = 1000;
    const cache = new TtlCache<string>(2, () => now);
    cache.set('a', 'A', 100);
    cache.set('b', 'B', 100);
    expect(cache.get('a')).toBe('A'); // a is now the most recently used
    cache.set('c', 'C', 100);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('A');
    now += 100;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')).toBeUndefined();
  });

  it('shares one load between concurrent callers and does not cache failures', async () => {
    const cache = new TtlCache<Promise<number>>(10);
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 10));
      return 42;
    };
    const [x, y] = await Promise.all([cache.getOrLoad('k', () => 1000, load), cache.getOrLoad('k', () => 1000, load)]);
    expect([x, y, loads]).toEqual([42, 42, 1]);
    await expect(
      cache.getOrLoad(
        'bad',
        () => 1000,
        async () => Promise.reject(new Error('boom')),
      ),
    ).rejects.toThrow('boom');
    expect(
      await cache.getOrLoad(
        'bad',
        () => 1000,
        async () => 7,
      ),
    ).toBe(7);
  });
});
