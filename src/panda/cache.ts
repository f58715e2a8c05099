/**
 * Per-process cache with a time-to-live per entry and a size cap (least recently used goes first).
 * Promises are cached too, so two concurrent questions about one job share one monitor request.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();

  constructor(
    private readonly maxEntries = 500,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    // Re-insert so iteration order is least-recently-used first.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expires: this.now() + ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Returns the cached value or computes, caches and returns it; failures are not cached. */
  async getOrLoad(key: string, ttlMs: (value: Awaited<V>) => number, load: () => V): Promise<Awaited<V>> {
    const hit = this.get(key);
    if (hit !== undefined) return await hit;
    const pending = load();
    this.set(key, pending, 60_000);
    try {
      const value = await pending;
      this.set(key, pending, ttlMs(value));
      if (ttlMs(value) <= 0) this.delete(key);
      return value;
    } catch (err) {
      this.delete(key);
      throw err;
    }
  }
}
