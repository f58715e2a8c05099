/**
 * Skips a provider that keeps failing: after `failureThreshold` consecutive failures it opens for
 * `cooldownMs`, then lets one call through (half-open); success closes it, failure reopens it.
 * A Retry-After from the provider opens it at once for that long.
 */
export class CircuitBreaker {
  private consecutiveFailures = 0;
  private openUntil = 0;

  constructor(
    private readonly failureThreshold: number,
    private readonly cooldownMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** True while calls should skip this provider. */
  isOpen(): boolean {
    return this.now() < this.openUntil;
  }

  /** Milliseconds until the breaker lets a call through again (0 when closed). */
  remainingMs(): number {
    return Math.max(0, this.openUntil - this.now());
  }

  recordSuccess(): void {
    this.consecutiveFailures = 0;
    this.openUntil = 0;
  }

  recordFailure(retryAfterMs?: number): void {
    this.consecutiveFailures++;
    const now = this.now();
    if (retryAfterMs !== undefined && retryAfterMs > 0) {
      this.openUntil = Math.max(this.openUntil, now + retryAfterMs);
    }
    if (this.consecutiveFailures >= this.failureThreshold) {
      this.openUntil = Math.max(this.openUntil, now + this.cooldownMs);
    }
  }
}
