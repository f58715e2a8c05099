import type { Answer } from '../../src/core/answer.ts';
import type { QuestionContext, RenderOptions, StatusIndicator, Surface, ThreadMessage } from '../../src/bot/surface.ts';
import type { Random } from './helpers.ts';

/** Characters per posted message: answers longer than this are split over several posts. */
const POST_LIMIT = 3_000;

export interface Posted {
  channel: string;
  thread?: string;
  text: string;
  id: string;
}

export interface RecordingOptions {
  /** Draws the refusals below; none without it. */
  random?: Random;
  /** Share of formatted posts refused (as a platform refuses invalid markup): the core retries as plain text. */
  refuseFormatted?: number;
  /** Share of thread reads refused (a missing scope). */
  refuseThreadRead?: number;
  /** Earlier messages of threads the bot was asked in late (what readThread returns), by `channel:thread`. */
  earlier?: Map<string, ThreadMessage[]>;
}

/**
 * A chat platform in memory for the conversation core: it records what it is asked to post, and
 * `render` marks the first message of each answer ("[answer] ") so answers can be counted per thread.
 */
export class RecordingSurface implements Surface<string> {
  readonly platform = 'mattermost' as const;
  readonly timing = { statusDelayMs: 0, statusRefreshMs: 0, draftUpdateMs: 0 };
  readonly posts: Posted[] = [];
  readonly answers: Array<{ answer: Answer; where?: RenderOptions['where'] }> = [];
  private counter = 0;

  constructor(private readonly options: RecordingOptions = {}) {}

  /** Answers (and notices) posted in a thread. */
  answersIn(channel: string, thread: string): Posted[] {
    return this.posts.filter(
      (p) =>
        p.channel === channel &&
        p.thread === thread &&
        (p.text.startsWith('[answer] ') || p.text.startsWith('[notice] ')),
    );
  }

  render(answer: Answer, options: RenderOptions): string[] {
    this.answers.push({ answer, where: options.where });
    const text = `${options.preface ? `${options.preface}\n` : ''}${answer.text}`;
    const parts: string[] = [];
    for (let i = 0; i < text.length; i += POST_LIMIT) parts.push(text.slice(i, i + POST_LIMIT));
    return (parts.length ? parts : ['']).map((part, i) => (i === 0 ? `[answer] ${part}` : part));
  }
  renderDraft(markdown: string): string {
    return `[draft] ${markdown}`;
  }
  renderNotice(text: string): string {
    return `[notice] ${text}`;
  }
  plainText(message: string): string {
    return message.replace(/[*_`]/g, '');
  }
  async post(where: { channel: string; thread?: string }, message: string): Promise<string> {
    if (this.refuse(this.options.refuseFormatted) && /[*_`]/.test(message)) throw new Error('invalid_blocks');
    const id = `p${++this.counter}`;
    this.posts.push({ ...where, text: message, id });
    return id;
  }
  async update(where: { channel: string; id: string }, message: string): Promise<void> {
    const post = this.posts.find((p) => p.id === where.id);
    if (!post) throw new Error('message_not_found');
    post.text = message;
  }
  status(_question: QuestionContext): StatusIndicator {
    return { show: async () => undefined, clear: async () => undefined };
  }
  async readThread(where: { channel: string; thread: string }, limit: number): Promise<ThreadMessage[]> {
    if (this.refuse(this.options.refuseThreadRead)) throw new Error('missing_scope');
    return (this.options.earlier?.get(`${where.channel}:${where.thread}`) ?? []).slice(0, limit);
  }
  async postEphemeral(): Promise<boolean> {
    return true;
  }

  private refuse(share: number | undefined): boolean {
    return share !== undefined && this.options.random !== undefined && this.options.random.chance(share);
  }
}
