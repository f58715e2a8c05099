import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, type BackoffOptions } from './backoff.ts';
import { HttpFailure } from './errors.ts';

export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  /** Waits between attempts (default: 500 ms, doubling, capped at 30 s). */
  backoff?: BackoffOptions;
  /**
   * A 429 asking to wait longer than this fails at once (kind `rate_limited`, with the wait in
   * `retryAfterMs`): the question should not hang for the length of a rate-limit window.
   */
  maxRetryAfterMs: number;
}

export const NO_RETRIES: RetryPolicy = { retries: 0, maxRetryAfterMs: 0 };

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500 };

export interface RetryHooks {
  signal?: AbortSignal;
  /** Before each wait: the attempt that failed (1 for the first) and why. */
  onRetry?: (attempt: number, failure: HttpFailure, delayMs: number) => void;
}

/**
 * Runs `attempt` until it succeeds, fails in a way another attempt cannot mend, or the retries are
 * spent. 5xx, time-outs and network errors wait with backoff; a 429 waits what its Retry-After
 * (or reset header) asks, within the ceiling. The failure given up on carries `attempts` and `ms`.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  hooks: RetryHooks,
  attempt: (attempt: number) => Promise<T>,
): Promise<T> {
  const started = performance.now();
  const giveUp = (failure: HttpFailure, attempts: number) => {
    failure.attempts = attempts;
    failure.ms = performance.now() - started;
    return failure;
  };
  for (let n = 1; ; n++) {
    let failure: HttpFailure;
    try {
      return await attempt(n);
    } catch (err) {
      if (!(err instanceof HttpFailure)) throw err;
      failure = err;
    }
    if (!failure.retryable) throw giveUp(failure, n);
    let delay = backoffDelay(n, policy.backoff ?? DEFAULT_BACKOFF);
    if (failure.kind === 'rate_limited' && failure.retryAfterMs !== undefined) {
      if (failure.retryAfterMs > policy.maxRetryAfterMs) throw giveUp(failure, n);
      delay = failure.retryAfterMs;
    }
    if (n > policy.retries) throw giveUp(failure, n);
    hooks.onRetry?.(n, failure, delay);
    try {
      await sleep(delay, undefined, hooks.signal ? { signal: hooks.signal } : undefined);
    } catch (err) {
      throw giveUp(new HttpFailure('aborted', 'the request was cancelled', { cause: err }), n);
    }
  }
}
