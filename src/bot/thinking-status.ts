import type { StatusIndicator, SurfaceTiming } from './surface.ts';

/**
 * The "thinking" status of one question: shown once the answer takes longer than
 * `statusDelayMs` (at once when that is 0), updated as the agents report progress, re-sent every
 * `statusRefreshMs` while the answer runs (typing indicators fade), cleared at the end.
 */
export class ThinkingStatus {
  private latest = 'is thinking…';
  private shown = false;
  private stopped = false;
  private delay: NodeJS.Timeout | undefined;
  private refresh: NodeJS.Timeout | undefined;
  /** Calls to the platform in order: a clear never overtakes the show it clears. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly indicator: StatusIndicator,
    private readonly timing: SurfaceTiming,
    private readonly onError: (err: unknown) => void,
  ) {
    if (timing.statusDelayMs <= 0) this.show();
    else this.delay = setTimeout(() => this.show(), timing.statusDelayMs);
  }

  set(text: string): void {
    if (text === this.latest) return;
    this.latest = text;
    if (this.shown && !this.stopped) this.send();
  }

  /** The answer (or its draft) is about to appear: no more status from now on. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.delay);
    clearInterval(this.refresh);
  }

  /** Stops and removes the status; resolves when the platform has been told. */
  finish(answered: boolean): Promise<void> {
    this.stop();
    if (!this.shown) return Promise.resolve();
    const done = this.chain.then(() => this.indicator.clear(answered)).catch(this.onError);
    this.chain = done;
    return done;
  }

  private show(): void {
    if (this.stopped) return;
    this.shown = true;
    this.send();
    if (this.timing.statusRefreshMs > 0) {
      this.refresh = setInterval(() => this.send(), this.timing.statusRefreshMs);
      this.refresh.unref();
    }
  }

  private send(): void {
    const text = this.latest;
    this.chain = this.chain.then(() => (this.stopped ? undefined : this.indicator.show(text))).catch(this.onError);
  }
}
