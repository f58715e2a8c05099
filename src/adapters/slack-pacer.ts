/**
 * Spaces posts per channel: Slack allows about one message per second per channel (short bursts are
 * tolerated, sustained ones get 429s). Slots are reserved synchronously, so posts keep their order.
 * The spacing is per process; several replicas each keep their own pace.
 */
export class ChannelPacer {
  private readonly nextSlot = new Map<string, number>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves when this channel may be posted to; the slot after it is taken at once. */
  async wait(channel: string): Promise<void> {
    if (this.intervalMs <= 0) return;
    const now = this.now();
    const at = Math.max(now, this.nextSlot.get(channel) ?? 0);
    this.nextSlot.set(channel, at + this.intervalMs);
    if (this.nextSlot.size > 10_000) this.forgetIdle(now);
    if (at > now) await new Promise((resolve) => setTimeout(resolve, at - now));
  }

  private forgetIdle(now: number): void {
    for (const [channel, slot] of this.nextSlot) if (slot <= now) this.nextSlot.delete(channel);
  }
}
