export interface BackoffOptions {
  /** Delay before the first retry. */
  baseMs: number;
  /** Growth per attempt (2: each wait doubles). */
  factor?: number;
  /** No wait is longer than this, however many attempts came before. */
  maxMs?: number;
}

/** Waits past a minute only hide a service that is down: the caller fails and says so instead. */
export const DEFAULT_MAX_BACKOFF_MS = 30_000;

/**
 * The wait before retry `attempt` (1 for the first retry): exponential, with ±25 % jitter so clients
 * that failed together do not all come back at the same instant, and never above `maxMs`.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const factor = options.factor ?? 2;
  const maxMs = options.maxMs ?? DEFAULT_MAX_BACKOFF_MS;
  const exponential = options.baseMs * factor ** Math.max(0, attempt - 1);
  return Math.min(maxMs, exponential * (0.75 + random() * 0.5));
}
