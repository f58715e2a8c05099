import type { Answer } from '../../core/answer.ts';
import type {
  QuestionContext,
  RenderOptions,
  StatusIndicator,
  Surface,
  SurfaceTiming,
  ThreadMessage,
} from '../../bot/surface.ts';
import type { Logger } from '../../util/log.ts';
import { toPlainText } from './markdown.ts';
import { renderAnswer, renderNotice, renderPartial, type MattermostPostBody } from './render.ts';
import type { MattermostRest } from './rest.ts';
import { codePointLength, splitMarkdown } from '../../bot/split-markdown.ts';

export interface MattermostSurfaceOptions {
  /** Where Mattermost POSTs button clicks (ASKPANDA_PUBLIC_URL + /mattermost/actions). */
  actionsUrl: string;
  actionSecret: string;
  statusDelayMs: number;
  draftUpdateMs: number;
}

/** The server shows "typing…" for about five seconds after each typing event. */
const TYPING_REFRESH_MS = 4_000;

/**
 * How Mattermost does each step the conversation core asks for: posts and patches over REST
 * (split at the server's MaxPostSize), the typing indicator in the thread plus a 👀 reaction on the
 * question while the answer is written, threads read with /posts/{id}/thread.
 */
export class MattermostSurface implements Surface<MattermostPostBody> {
  readonly platform = 'mattermost' as const;
  readonly timing: SurfaceTiming;

  constructor(
    private readonly rest: MattermostRest,
    private readonly options: MattermostSurfaceOptions,
    private readonly logger: Logger,
  ) {
    this.timing = {
      statusDelayMs: options.statusDelayMs,
      statusRefreshMs: TYPING_REFRESH_MS,
      draftUpdateMs: options.draftUpdateMs,
    };
  }

  private get maxPostSize(): number {
    return this.rest.maxPostSize;
  }

  render(answer: Answer, options: RenderOptions): MattermostPostBody[] {
    const buttons =
      options.buttons && options.where && options.feedback
        ? {
            url: this.options.actionsUrl,
            secret: this.options.actionSecret,
            channelId: options.where.channel,
            threadId: options.where.thread,
            feedback: options.feedback,
          }
        : undefined;
    return renderAnswer(answer, { maxPostSize: this.maxPostSize, preface: options.preface, buttons });
  }

  renderDraft(markdown: string): MattermostPostBody {
    return { message: renderPartial(markdown, this.maxPostSize) };
  }

  renderNotice(text: string): MattermostPostBody {
    return { message: renderNotice(text, this.maxPostSize) };
  }

  plainText(message: MattermostPostBody): MattermostPostBody {
    const plain = toPlainText(message.message);
    return {
      message: codePointLength(plain) <= this.maxPostSize ? plain : (splitMarkdown(plain, this.maxPostSize)[0] ?? ''),
    };
  }

  async post(where: { channel: string; thread?: string }, message: MattermostPostBody): Promise<string> {
    const created = await this.rest.createPost({
      channelId: where.channel,
      rootId: where.thread,
      message: message.message,
      props: message.props,
    });
    return created.id;
  }

  async update(where: { channel: string; id: string }, message: MattermostPostBody): Promise<void> {
    // The final answer replaces the draft's props too: its buttons arrive with it.
    await this.rest.patchPost(where.id, { message: message.message, props: message.props ?? {} });
  }

  status(question: QuestionContext): StatusIndicator {
    let reacted = false;
    return {
      show: async () => {
        // Typing fades after a few seconds: the core sends `show` again while the answer runs.
        await this.rest
          .sendTyping(question.channel, question.thread)
          .catch((err: unknown) => this.logger.debug({ err: String(err) }, 'typing indicator failed'));
        if (!reacted && question.reactTo) {
          reacted = true;
          await this.rest
            .addReaction(question.reactTo, 'eyes')
            .catch((err: unknown) => this.logger.debug({ err: String(err) }, 'could not add the reaction'));
        }
      },
      clear: async () => {
        if (reacted && question.reactTo)
          await this.rest
            .removeReaction(question.reactTo, 'eyes')
            .catch((err: unknown) => this.logger.debug({ err: String(err) }, 'could not remove the reaction'));
      },
    };
  }

  async readThread(where: { channel: string; thread: string }, limit: number): Promise<ThreadMessage[]> {
    const { posts } = await this.rest.readThread(where.thread, { maxPosts: limit });
    const botId = this.rest.bot.id;
    return posts
      .filter((p) => p.type === '' && p.delete_at === 0)
      .map((p) => ({
        id: p.id,
        text: p.message,
        fromBot: p.user_id === botId || p.props.from_bot === 'true' || p.props.from_bot === true,
        at: p.create_at,
      }));
  }

  async postEphemeral(
    where: { channel: string; thread?: string },
    user: string,
    message: MattermostPostBody,
  ): Promise<boolean> {
    return this.rest.postEphemeral(user, {
      channelId: where.channel,
      rootId: where.thread,
      message: message.message,
    });
  }
}
