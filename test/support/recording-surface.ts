import type { Answer } from '../../src/core/answer.ts';
import type {
  QuestionContext,
  RenderOptions,
  StatusIndicator,
  Surface,
  SurfacePlatform,
  SurfaceTiming,
  ThreadMessage,
} from '../../src/bot/surface.ts';

/** Characters per posted message: answers longer than this are split over several posts. */
const POST_LIMIT = 3_000;

export interface Posted {
  channel: string;
  thread?: string;
  text: string;
  id: string;
}

/** One call of the thinking status: shown with a text, or cleared. */
export interface StatusCall {
  thread: string;
  show?: string;
  cleared?: { answered: boolean };
  at: number;
}

export interface RecordingOptions {
  /**
   * The surface's name in thread keys, dedupe keys and metrics. Default `recording`, a name of its
   * own: it stands for no real platform (surface names are any short plain name, see SURFACE_NAME).
   */
  platform?: SurfacePlatform;
  timing?: Partial<SurfaceTiming>;
  /** Draws the refusals below; without it a share of 1 always refuses and a smaller one never does. */
  random?: { chance(p: number): boolean };
  /** Share of formatted posts refused (as a platform refuses invalid markup): the core retries as plain text. */
  refuseFormatted?: number;
  /** Share of thread reads refused (a missing scope). */
  refuseThreadRead?: number;
  /** Earlier messages of threads the bot was asked in late (what readThread returns), by `channel:thread`. */
  earlier?: Map<string, ThreadMessage[]>;
}

/**
 * A chat platform in memory for the conversation core: it records what it is asked to post, edit
 * and show as status, and `render` marks the first message of each answer ("[answer] ") so answers
 * can be counted per thread. Formatting is `*`, `_` and backticks; plain text has none.
 */
export class RecordingSurface implements Surface<string> {
  readonly platform: SurfacePlatform;
  readonly timing: SurfaceTiming;
  readonly posts: Posted[] = [];
  /** Every edit of a posted message, in order: a draft growing, then replaced by the answer. */
  readonly edits: Array<{ id: string; text: string }> = [];
  readonly statuses: StatusCall[] = [];
  readonly answers: Array<{ answer: Answer; where?: RenderOptions['where'] }> = [];
  /** Posts the platform turned away (before the core's plain-text retry). */
  refusedPosts = 0;
  private counter = 0;

  constructor(private readonly options: RecordingOptions = {}) {
    this.platform = options.platform ?? 'recording';
    this.timing = { statusDelayMs: 0, statusRefreshMs: 0, draftUpdateMs: 0, ...options.timing };
  }

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
    if (this.refuse(this.options.refuseFormatted) && /[*_`]/.test(message)) {
      this.refusedPosts++;
      throw new Error('invalid_blocks');
    }
    const id = `p${++this.counter}`;
    this.posts.push({ ...where, text: message, id });
    return id;
  }
  async update(where: { channel: string; id: string }, message: string): Promise<void> {
    const post = this.posts.find((p) => p.id === where.id);
    if (!post) throw new Error('message_not_found');
    post.text = message;
    this.edits.push({ id: where.id, text: message });
  }
  status(question: QuestionContext): StatusIndicator {
    const record = (call: Omit<StatusCall, 'thread' | 'at'>) =>
      this.statuses.push({ thread: question.thread, at: Date.now(), ...call });
    return {
      show: async (text) => void record({ show: text }),
      clear: async (answered) => void record({ cleared: { answered } }),
    };
  }
  async readThread(where: { channel: string; thread: string }, limit: number): Promise<ThreadMessage[]> {
    if (this.refuse(this.options.refuseThreadRead)) throw new Error('missing_scope');
    return (this.options.earlier?.get(`${where.channel}:${where.thread}`) ?? []).slice(0, limit);
  }
  async postEphemeral(): Promise<boolean> {
    return true;
  }

  private refuse(share: number | undefined): boolean {
    if (share === undefined) return false;
    if (!this.options.random) return share >= 1;
    return this.options.random.chance(share);
  }
}
