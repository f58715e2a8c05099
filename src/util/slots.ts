import pLimit, { type LimitFunction } from 'p-limit';

/**
 * A concurrency cap whose slot is held for as long as the holder needs it (a streamed body holds
 * it until the stream is closed), and whose waiters give up when their signal aborts. p-limit runs
 * the queue; a slot is a limited task that ends when it is released.
 */
export class Slots {
  private readonly limit: LimitFunction;
  /** Waiters that gave up but are still in p-limit's queue: they pass their turn on at once. */
  private abandoned = 0;

  constructor(readonly capacity: number) {
    this.limit = pLimit(capacity);
  }

  get inFlight(): number {
    return this.limit.activeCount;
  }

  get waiting(): number {
    return this.limit.pendingCount - this.abandoned;
  }

  /** Resolves with the release function once a slot is free; rejects with the signal's reason on abort. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      let gaveUp = false;
      const onAbort = () => {
        gaveUp = true;
        this.abandoned++;
        reject(signal?.reason ?? new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      void this.limit(() => {
        signal?.removeEventListener('abort', onAbort);
        if (gaveUp) {
          this.abandoned--;
          return;
        }
        return new Promise<void>((release) => {
          let released = false;
          resolve(() => {
            if (released) return;
            released = true;
            release();
          });
        });
      });
    });
  }
}
