import type { webApi } from '@slack/bolt';
import { z } from 'zod';
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
import { slackError } from './errors.ts';
import { ChannelPacer } from './pacer.ts';
import { renderAnswer, renderNotice, renderPartial, type SlackMessage } from './render.ts';

type WebClient = webApi.WebClient;

const RepliesSchema = z.object({
  messages: z
    .array(
      z.object({
        ts: z.string(),
        user: z.string().optional(),
        bot_id: z.string().optional(),
        text: z.string().optional(),
        subtype: z.string().optional(),
      }),
    )
    .default([]),
});

export interface SlackSurfaceOptions {
  postIntervalMs: number;
  streamUpdateMs: number;
  statusDelayMs: number;
  statusRefreshMs: number;
}

/**
 * How Slack does each step the conversation core asks for: Block Kit messages through the Web API,
 * paced per channel, the assistant status in DMs (a 👀 reaction elsewhere), thread replies read
 * with conversations.replies.
 */
export class SlackSurface implements Surface<SlackMessage> {
  readonly platform = 'slack' as const;
  readonly timing: SurfaceTiming;
  /** Set by the adapter once auth.test said who the bot is. */
  botUserId: string | undefined;
  private readonly pacer: ChannelPacer;
  /** Set when `assistant.threads.setStatus` is refused (no assistant threads here): reactions instead. */
  private assistantStatusRefused = false;

  constructor(
    private readonly client: WebClient,
    options: SlackSurfaceOptions,
    private readonly logger: Logger,
  ) {
    this.pacer = new ChannelPacer(options.postIntervalMs);
    // The assistant status stays until the reply; it is re-sent now and then in case Slack drops it.
    this.timing = {
      statusDelayMs: options.statusDelayMs,
      statusRefreshMs: options.statusRefreshMs,
      draftUpdateMs: options.streamUpdateMs,
    };
  }

  render(answer: Answer, options: RenderOptions): SlackMessage[] {
    return renderAnswer(answer, options);
  }

  renderDraft(markdown: string): SlackMessage {
    return renderPartial(markdown);
  }

  renderNotice(text: string): SlackMessage {
    return renderNotice(text);
  }

  plainText(message: SlackMessage): SlackMessage {
    return {
      text: message.blocks.map(blockText).filter(Boolean).join('\n\n').slice(0, 3000) || message.text,
      blocks: [],
    };
  }

  async post(where: { channel: string; thread?: string }, message: SlackMessage): Promise<string> {
    await this.pacer.wait(where.channel);
    const result = await this.client.chat.postMessage({
      channel: where.channel,
      thread_ts: where.thread,
      text: message.text,
      blocks: message.blocks.length ? message.blocks : undefined,
      unfurl_links: false,
      unfurl_media: false,
    });
    if (!result.ts) throw new Error('chat.postMessage returned no ts');
    return result.ts;
  }

  async update(where: { channel: string; id: string }, message: SlackMessage): Promise<void> {
    await this.client.chat.update({ channel: where.channel, ts: where.id, text: message.text, blocks: message.blocks });
  }

  status(question: QuestionContext): StatusIndicator {
    let shown: 'none' | 'assistant' | 'reaction' = 'none';
    return {
      show: async (text) => {
        if (shown === 'reaction') return;
        if (question.isDirect && !this.assistantStatusRefused && (await this.setAssistantStatus(question, text))) {
          shown = 'assistant';
          return;
        }
        if (shown === 'assistant') return;
        shown = 'reaction';
        await this.react(question, true);
      },
      clear: async (answered) => {
        // Slack clears an assistant status when the reply is posted; a reaction is removed by us.
        if (shown === 'reaction') await this.react(question, false);
        else if (shown === 'assistant' && !answered) await this.setAssistantStatus(question, '');
      },
    };
  }

  async readThread(where: { channel: string; thread: string }, limit: number): Promise<ThreadMessage[]> {
    const raw = await this.client.conversations.replies({ channel: where.channel, ts: where.thread, limit });
    return RepliesSchema.parse(raw)
      .messages.filter((m) => !m.subtype?.startsWith('channel_'))
      .map((m) => ({
        id: m.ts,
        text: m.text ?? '',
        fromBot: m.bot_id !== undefined || (this.botUserId !== undefined && m.user === this.botUserId),
        at: Math.round(Number(m.ts) * 1000) || Date.now(),
      }));
  }

  async postEphemeral(
    where: { channel: string; thread?: string },
    user: string,
    message: SlackMessage,
  ): Promise<boolean> {
    await this.client.chat.postEphemeral({
      channel: where.channel,
      user,
      thread_ts: where.thread,
      text: message.text,
      blocks: message.blocks.length ? message.blocks : undefined,
    });
    return true;
  }

  private async setAssistantStatus(question: QuestionContext, status: string): Promise<boolean> {
    try {
      await this.client.assistant.threads.setStatus({
        channel_id: question.channel,
        thread_ts: question.thread,
        status,
      });
      return true;
    } catch (err) {
      // Slack saying no (not an assistant thread, missing assistant:write) is lasting; a network hiccup is not.
      if ((err as { code?: unknown }).code === 'slack_webapi_platform_error') {
        this.logger.info({ err: slackError(err) }, 'assistant status refused; using reactions instead');
        this.assistantStatusRefused = true;
      }
      return false;
    }
  }

  private async react(question: QuestionContext, add: boolean): Promise<void> {
    if (!question.reactTo) return;
    const args = { channel: question.channel, timestamp: question.reactTo, name: 'eyes' };
    await (add ? this.client.reactions.add(args) : this.client.reactions.remove(args)).catch((err: unknown) =>
      this.logger.debug({ err: slackError(err) }, add ? 'could not add the reaction' : 'could not remove the reaction'),
    );
  }
}

function blockText(block: SlackMessage['blocks'][number]): string {
  if (block.type === 'section' && block.text) return block.text.text;
  if (block.type === 'context')
    return block.elements.map((e) => ('text' in e && typeof e.text === 'string' ? e.text : '')).join(' ');
  return '';
}
