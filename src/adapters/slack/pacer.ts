import { setTimeout as sleep } from 'node:timers/promises';
/**
 * Paces posts per channel the way Slack allows them: about one message per second per channel, with
 * short bursts tolerated (a long answer's two or three thread messages go out together). This is the
 * generic cell rate algorithm: a burst of `burst` posts, then one per `intervalMs`. Slots are taken
 * synchronously, so posts keep their order. The pace is per process; replicas each keep their own.
 */
export class ChannelPacer {
  /** Per channel, the theoretical time the next post would be due at the steady rate. */
  private readonly due = new Map<string, number>();

  constructor(
    private readonly intervalMs: number,
    private readonly burst = 3,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves when this channel may be posted to; the slot is taken at once. */
  async wait(channel: string): Promise<void> {
    if (this.intervalMs <= 0) return;
    const now = this.now();
    const due = Math.max(now, this.due.get(channel) ?? now);
    const delay = Math.max(0, due - (this.burst - 1) * this.intervalMs - now);
    this.due.set(channel, due + this.intervalMs);
    if (this.due.size > 10_000) this.forgetIdle(now);
    if (delay > 0) await sleep(delay);
  }

  private forgetIdle(now: number): void {
    for (const [channel, due] of this.due) if (due <= now) this.due.delete(channel);
  }
}
