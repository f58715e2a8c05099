import { z } from 'zod';
import type { App as BoltApp } from '@slack/bolt';
import type { PlatformDeps } from '../../bot/platform-deps.ts';
import type { Conversation } from '../../bot/conversation.ts';
import type { FeedbackContext } from '../../bot/surface.ts';
import { HttpServer, sendText } from '../../http/server.ts';
import type { Logger } from '../../util/log.ts';
import { errorMessage } from '../../core/errors.ts';
import { slackError } from './errors.ts';
import {
  BlockActionSchema,
  SlashCommandSchema,
  classifyMessageEvent,
  clickedMessage,
  isDirectChannel,
} from './events.ts';
import { escapeMrkdwn } from './mrkdwn.ts';
import { ACTION_IDS, renderNotice, type SlackMessage } from './render.ts';
import { SlackSurface } from './surface.ts';
import { SLACK_EVENTS_PATH } from './frames.ts';
import { BoltTransport, type SlackTransport } from './transport.ts';

export type { SlackTransport };

export interface SlackAdapterOptions {
  /** Default: Socket Mode when `slack.appToken` is set, else HTTP. */
  transport?: SlackTransport;
  /**
   * The process's one HTTP server (`askpanda serve`): HTTP events are served at /slack/events on
   * it. Without one the adapter listens on `port` itself (tests, the bench).
   */
  server?: HttpServer;
  /** HTTP port when no server is given (default `config.port`; 0 picks a free one). */
  port?: number;
  /**
   * How long an answer may take before the user sees a status (assistant status or 👀 reaction).
   * Answers faster than this need no status: the reply itself is the feedback.
   */
  statusDelayMs?: number;
  /** How often the status is re-sent while a slow answer runs (default 30 s). */
  statusRefreshMs?: number;
}

export interface SlackStarted {
  transport: SlackTransport;
  /** The HTTP port listened on (HTTP transport only). */
  port?: number;
  botUserId?: string;
}

const FeedbackContextSchema = z.object({
  agent: z.string().max(40),
  model: z.string().max(200),
  question: z.string().max(2000),
  pandaid: z.number().int().optional(),
  jeditaskid: z.number().int().optional(),
});

/**
 * The Slack surface, on Bolt: a translation table from Bolt's events (mentions, DMs, thread
 * replies, button clicks, `/askpanda`) to the conversation core, which answers each once, in its
 * thread, also across replicas. How events arrive is in transport.ts; how Slack posts, updates
 * and shows a status in surface.ts.
 */
export class SlackAdapter {
  readonly bolt: BoltApp;
  readonly transport: SlackTransport;
  private readonly logger: Logger;
  private readonly core: Conversation;
  private readonly surface: SlackSurface;
  private readonly link: BoltTransport;
  private receiving = false;
  /** The HTTP server this adapter started itself (none when mounted on the process's server). */
  private ownServer: HttpServer | undefined;

  constructor(
    private readonly app: PlatformDeps,
    private readonly options: SlackAdapterOptions = {},
  ) {
    const slack = app.config.slack;
    this.logger = app.logger.child({ adapter: 'slack' });
    this.core = app.conversation;
    this.transport = options.transport ?? (slack.appToken ? 'socket' : 'http');
    this.link = new BoltTransport(slack, this.transport, this.logger);
    this.bolt = this.link.bolt;
    this.surface = new SlackSurface(
      this.bolt.client,
      {
        postIntervalMs: slack.postIntervalMs,
        streamUpdateMs: slack.streamUpdateMs,
        statusDelayMs: options.statusDelayMs ?? 300,
        statusRefreshMs: options.statusRefreshMs ?? 30_000,
      },
      this.logger,
    );
    this.register();
  }

  /** Connects; `receive: false` only checks the token and posts (digests from `askpanda digest run`). */
  async start(options: { receive?: boolean } = {}): Promise<SlackStarted> {
    const botUserId = await this.link.authenticate();
    this.surface.botUserId = botUserId;
    if (botUserId) this.core.addBotUserId(botUserId);
    this.core.attach(this.surface);
    if (options.receive === false) return { transport: this.transport, botUserId };
    if (this.transport === 'posting') throw new Error('a Slack adapter made for posting only cannot receive events');
    this.receiving = true;
    if (this.transport === 'socket') {
      await this.link.openSocket();
      this.logger.info({ transport: 'socket', botUserId }, 'Slack connected (Socket Mode)');
      return { transport: 'socket', botUserId };
    }
    let server = this.options.server;
    if (!server) {
      server = this.ownServer = new HttpServer(this.logger);
      server.add({ method: 'GET', path: '/healthz', handler: ({ res }) => sendText(res, 200, 'ok\n') });
    }
    server.add(this.link.eventsRoute());
    let listening = server.port;
    if (this.ownServer) {
      const port = this.options.port ?? this.app.config.port;
      try {
        listening = await this.ownServer.listen(port);
      } catch (err) {
        const inUse = (err as { code?: unknown }).code === 'EADDRINUSE';
        throw new Error(
          inUse
            ? `Port ${port} is already in use: set ASKPANDA_PORT to a free port for the Slack events endpoint.`
            : `Cannot serve Slack events on port ${port}: ${errorMessage(err)}`,
          { cause: err },
        );
      }
    }
    this.logger.info(
      { transport: 'http', port: listening, path: SLACK_EVENTS_PATH, botUserId },
      'Slack events endpoint listening',
    );
    return { transport: 'http', port: listening, botUserId };
  }

  /** Stops receiving events; answers in progress are finished by the conversation core (App.close). */
  async stop(): Promise<void> {
    if (this.transport === 'socket' && this.receiving) await this.link.closeSocket();
    this.receiving = false;
    await this.ownServer?.close();
  }

  /** For /readyz: the Socket Mode websocket is open (HTTP events need nothing beyond the server). */
  get connected(): boolean {
    return this.link.connected;
  }

  /** Resolves when every answer started so far is posted (tests, shutdown). */
  async idle(): Promise<void> {
    await this.core.idle();
  }

  private register(): void {
    this.bolt.error(async (err) => {
      this.logger.error({ err: errorMessage(err) }, 'Slack listener failed');
    });

    this.bolt.event('app_mention', async ({ event, context }) => {
      await this.onMessage(event, context.botUserId);
    });
    this.bolt.message(async ({ message, context }) => {
      await this.onMessage(message, context.botUserId);
    });

    this.bolt.action(new RegExp(`^${ACTION_IDS.followUpPrefix}\\d+$`), async ({ ack, body }) => {
      await ack();
      await this.onFollowUpClick(body);
    });
    this.bolt.action(new RegExp(`^(${ACTION_IDS.feedbackUp}|${ACTION_IDS.feedbackDown})$`), async ({ ack, body }) => {
      await ack();
      await this.onFeedbackClick(body);
    });

    this.bolt.command(/.*/, async ({ ack, command, respond }) => {
      await ack();
      await this.onSlashCommand(command, respond);
    });
  }

  private async onMessage(event: unknown, contextBotUserId: string | undefined): Promise<void> {
    const addressed = classifyMessageEvent(event, contextBotUserId ?? this.surface.botUserId);
    if (addressed.kind === 'ignore') {
      this.logger.debug({ reason: addressed.reason }, 'event ignored');
      return;
    }
    // One key per message, not per event: a mention's retries and its `message` twin share it.
    await this.core.receive(this.surface, {
      channel: addressed.channel,
      thread: addressed.threadTs,
      messageId: addressed.ts,
      user: addressed.user,
      text: addressed.text,
      isDirect: addressed.isDirect,
      addressed: addressed.kind === 'question' ? 'directly' : 'thread-reply',
      readThreadFirst: addressed.kind === 'question' && addressed.threadTs !== addressed.ts,
    });
  }

  private async onFollowUpClick(body: unknown): Promise<void> {
    const parsed = BlockActionSchema.safeParse(body);
    const where = parsed.success ? clickedMessage(parsed.data) : undefined;
    const action = parsed.success ? parsed.data.actions[0] : undefined;
    if (!parsed.success || !where || !action?.value) {
      this.logger.warn('follow-up click without a message or question; ignored');
      return;
    }
    const user = parsed.data.user.id;
    await this.core.receive(this.surface, {
      channel: where.channel,
      thread: where.threadTs,
      messageId: action.action_ts ?? where.ts,
      user,
      text: action.value,
      isDirect: isDirectChannel({ channel: where.channel }),
      addressed: 'directly',
      // A double click asks once.
      dedupeKey: `slack:click:${where.channel}:${where.ts}:${action.action_id}:${user}`,
      reactTo: where.ts,
      preface: `<@${user}> asked: ${escapeMrkdwn(action.value)}`,
    });
  }

  private async onFeedbackClick(body: unknown): Promise<void> {
    const parsed = BlockActionSchema.safeParse(body);
    const where = parsed.success ? clickedMessage(parsed.data) : undefined;
    if (!parsed.success || !where) {
      this.logger.warn('feedback click without a message; ignored');
      return;
    }
    const action = parsed.data.actions[0]!;
    let context: FeedbackContext | undefined;
    try {
      const value = FeedbackContextSchema.safeParse(JSON.parse(action.value ?? 'null'));
      if (value.success) context = value.data;
    } catch {
      // An unreadable value still records the vote, without the context.
    }
    await this.core.vote(this.surface, {
      channel: where.channel,
      messageId: where.ts,
      thread: where.threadTs,
      user: parsed.data.user.id,
      rating: action.action_id === ACTION_IDS.feedbackUp ? 'up' : 'down',
      context,
      answerText: parsed.data.message?.text,
    });
  }

  private async onSlashCommand(
    raw: unknown,
    respond: (message: {
      response_type: 'ephemeral' | 'in_channel';
      text: string;
      blocks?: SlackMessage['blocks'];
      replace_original?: boolean;
    }) => Promise<unknown>,
  ): Promise<void> {
    const parsed = SlashCommandSchema.safeParse(raw);
    if (!parsed.success) {
      this.logger.warn('unreadable slash command; ignored');
      return;
    }
    const command = parsed.data;
    const text = command.text.trim() || 'help';
    await this.core.slash(this.surface, {
      channel: command.channel_id,
      user: command.user_id,
      text,
      id: command.trigger_id ?? `${command.channel_id}:${Date.now()}`,
      isDirect: isDirectChannel({ channel: command.channel_id }),
      askedLine: `<@${command.user_id}> asked: ${escapeMrkdwn(text)}`,
      respond: async (message, visibility) => {
        await respond({ response_type: visibility, text: message.text, blocks: message.blocks }).catch((err: unknown) =>
          this.logger.warn({ err: slackError(err) }, 'slash command response failed'),
        );
      },
      cannotPost: (err) =>
        renderNotice(
          `I cannot post in this channel (${escapeMrkdwn(slackError(err))}). ` +
            `Invite me with \`/invite @${escapeMrkdwn(this.app.config.bot.name)}\`, or ask me in a DM.`,
        ),
    });
  }
}
