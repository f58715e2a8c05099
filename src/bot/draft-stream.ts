import type { Surface } from './surface.ts';

/**
 * A streamed answer: the first partial text is posted as a draft in the thread, later ones edit it
 * at most every `draftUpdateMs` and only after the previous edit finished, and the final answer
 * replaces it (the core updates the draft with the answer's first message). With `draftUpdateMs`
 * 0 (a response stream, where an edit is a write) every partial text is sent, in order.
 */
export class DraftStream<M> {
  private id: Promise<string | undefined> | undefined;
  private latest = '';
  private lastUpdate = 0;
  private timer: NodeJS.Timeout | undefined;
  private updating: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly surface: Surface<M>,
    private readonly render: (markdown: string) => M,
    private readonly where: { channel: string; thread: string },
    private readonly onError: (err: unknown) => void,
  ) {}

  update(markdown: string): void {
    if (this.closed) return;
    this.latest = markdown;
    if (!this.id) {
      this.lastUpdate = Date.now();
      this.id = this.surface.post(this.where, this.render(markdown)).catch((err: unknown) => {
        // Without a draft the answer is simply posted whole at the end.
        this.onError(err);
        return undefined;
      });
      return;
    }
    if (this.surface.timing.draftUpdateMs <= 0) return this.edit(markdown);
    if (this.timer) return;
    const wait = Math.max(0, this.lastUpdate + this.surface.timing.draftUpdateMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.edit(this.latest);
    }, wait);
  }

  /** No more edits; resolves to the draft's id once pending edits are done (undefined: nothing streamed). */
  async settle(): Promise<string | undefined> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.updating;
    return this.id ? await this.id : undefined;
  }

  private edit(text: string): void {
    this.updating = this.updating.then(async () => {
      const id = await this.id;
      if (!id || this.closed) return;
      this.lastUpdate = Date.now();
      await this.surface.update({ channel: this.where.channel, id }, this.render(text)).catch(this.onError);
    });
  }
}
