import {
  App as BoltApp,
  HTTPReceiver,
  LogLevel,
  SocketModeReceiver,
  type Logger as BoltLogger,
  type webApi,
} from '@slack/bolt';
import { z } from 'zod';
import type { PlatformDeps } from '../bot/platform-deps.ts';
import type { Conversation } from '../bot/conversation.ts';
import type { FeedbackContext } from '../bot/surface.ts';
import { HttpError, HttpServer, sendText, type RouteRequest } from '../http/server.ts';
import type { Logger } from '../util/log.ts';
import { errorMessage } from '../core/errors.ts';
import {
  BlockActionSchema,
  EVENTS_MAX_BODY_BYTES,
  SlashCommandSchema,
  classifyMessageEvent,
  clickedMessage,
  eventsRequestProblem,
  isDirectChannel,
  socketFrameProblem,
} from './slack-events.ts';
import { ACTION_IDS, escapeMrkdwn, renderNotice, type SlackMessage } from './slack-render.ts';
import { SlackSurface, slackError } from './slack-surface.ts';

export { slackError };

export type SlackTransport = 'socket' | 'http';

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
 * thread, also across replicas. How Slack posts, updates and shows a status is in slack-surface.ts.
 */
export class SlackAdapter {
  readonly bolt: BoltApp;
  readonly transport: SlackTransport;
  private readonly logger: Logger;
  private readonly core: Conversation;
  private readonly surface: SlackSurface;
  private readonly receiver: HTTPReceiver | undefined;
  private readonly socketReceiver: SocketModeReceiver | undefined;
  private receiving = false;
  /** The HTTP server this adapter started itself (none when mounted on the process's server). */
  private ownServer: HttpServer | undefined;

  constructor(
    private readonly app: PlatformDeps,
    private readonly options: SlackAdapterOptions = {},
  ) {
    const slack = app.config.slack;
    if (!slack.botToken)
      throw new Error(
        'SLACK_BOT_TOKEN is not set: create the Slack app from config/slack-app-manifest.yaml and copy its Bot User OAuth Token (xoxb-…).',
      );
    this.transport = options.transport ?? (slack.appToken ? 'socket' : 'http');
    if (this.transport === 'socket' && !slack.appToken)
      throw new Error('Socket Mode needs SLACK_APP_TOKEN (an xapp-… app-level token with connections:write).');
    if (this.transport === 'http' && !slack.signingSecret) {
      throw new Error(
        "SLACK_SIGNING_SECRET is not set: HTTP events cannot be verified without it. Copy it from the app's Basic Information page, or set SLACK_APP_TOKEN to use Socket Mode instead.",
      );
    }
    this.logger = app.logger.child({ adapter: 'slack' });
    this.core = app.conversation;

    const clientOptions: webApi.WebClientOptions = {
      ...(slack.apiUrl ? { slackApiUrl: slack.apiUrl.endsWith('/') ? slack.apiUrl : `${slack.apiUrl}/` } : {}),
      timeout: 15_000,
      // 429s are retried after their Retry-After by the client's queue; other failures a few times with backoff.
      retryConfig: { retries: 4, factor: 2, minTimeout: 500, maxTimeout: 30_000, randomize: true },
      maxRequestConcurrency: 50,
    };
    const common = {
      token: slack.botToken,
      logger: boltLogger(this.logger),
      clientOptions,
      deferInitialization: true,
      // Bolt's per-conversation memory store is unused; history lives in our store.
      convoStore: false as const,
    };
    if (this.transport === 'socket') {
      this.socketReceiver = new SocketModeReceiver({
        appToken: slack.appToken,
        logger: common.logger,
        installerOptions: { clientOptions },
      });
      guardSocketFrames(this.socketReceiver.client, this.logger);
      this.bolt = new BoltApp({ ...common, socketMode: true, receiver: this.socketReceiver });
    } else {
      // Bolt's receiver checks the v0 signature over the raw body; it is mounted on our server's
      // /slack/events instead of listening on a port of its own.
      this.receiver = new HTTPReceiver({
        signingSecret: slack.signingSecret,
        endpoints: '/slack/events',
        logger: common.logger,
        bodyLimit: `${EVENTS_MAX_BODY_BYTES}b`,
      });
      this.bolt = new BoltApp({ ...common, receiver: this.receiver });
    }
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
    try {
      await this.bolt.init();
    } catch (err) {
      throw new Error(
        `Slack refused the bot token (auth.test: ${slackError(err)}). Check SLACK_BOT_TOKEN (xoxb-…) and that the app is installed in the workspace.`,
        { cause: err },
      );
    }
    const auth = await this.bolt.client.auth.test().catch(() => undefined);
    const botUserId = typeof auth?.user_id === 'string' ? auth.user_id : undefined;
    this.surface.botUserId = botUserId;
    if (botUserId) this.core.addBotUserId(botUserId);
    this.core.attach(this.surface);
    if (options.receive === false) return { transport: this.transport, botUserId };
    this.receiving = true;
    if (this.transport === 'socket') {
      try {
        await this.bolt.start();
      } catch (err) {
        throw new Error(
          `Slack refused the Socket Mode connection (apps.connections.open: ${slackError(err)}). Check SLACK_APP_TOKEN: an app-level token (xapp-…) with the connections:write scope, and Socket Mode enabled for the app.`,
          { cause: err },
        );
      }
      this.logger.info({ transport: 'socket', botUserId }, 'Slack connected (Socket Mode)');
      return { transport: 'socket', botUserId };
    }
    const receiver = this.receiver!;
    let server = this.options.server;
    if (!server) {
      server = this.ownServer = new HttpServer(this.logger);
      server.add({ method: 'GET', path: '/healthz', handler: ({ res }) => sendText(res, 200, 'ok\n') });
    }
    server.add({
      method: 'POST',
      path: '/slack/events',
      maxBodyBytes: EVENTS_MAX_BODY_BYTES,
      timeoutMs: EVENTS_ANSWER_WITHIN_MS,
      handler: (request) => this.onEventsRequest(receiver, request),
    });
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
      { transport: 'http', port: listening, path: '/slack/events', botUserId },
      'Slack events endpoint listening',
    );
    return { transport: 'http', port: listening, botUserId };
  }

  /** Stops receiving events; answers in progress are finished by the conversation core (App.close). */
  async stop(): Promise<void> {
    if (this.transport === 'socket' && this.receiving)
      await this.bolt
        .stop()
        .catch((err: unknown) => this.logger.warn({ err: errorMessage(err) }, 'Slack receiver did not stop cleanly'));
    this.receiving = false;
    await this.ownServer?.close();
  }

  /** For /readyz: the Socket Mode websocket is open (HTTP events need nothing beyond the server). */
  get connected(): boolean {
    if (this.transport === 'http') return true;
    return this.socketReceiver?.client.websocket?.isActive() ?? false;
  }

  /** Resolves when every answer started so far is posted (tests, shutdown). */
  async idle(): Promise<void> {
    await this.core.idle();
  }

  /**
   * One request to /slack/events: the body is read (capped) and checked here, then Bolt verifies
   * the signature over the same bytes and dispatches it. Resolves once Bolt has answered, so the
   * server's time-out covers a request Bolt never answers.
   */
  private async onEventsRequest(receiver: HTTPReceiver, { req, res, body }: RouteRequest): Promise<void> {
    const raw = await body();
    const problem = eventsRequestProblem(raw, req.headers['content-type']);
    if (problem) {
      this.logger.warn({ problem }, 'Slack events request refused');
      throw new HttpError(400, `not a Slack request: ${problem}`);
    }
    // Bolt reads the body from `rawBody` when it is already buffered.
    Object.assign(req, { rawBody: raw });
    const answered = new Promise<void>((resolve) => res.once('close', () => resolve()));
    receiver.requestListener(req, res);
    await answered;
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
          `I cannot post in this channel (${escapeMrkdwn(slackError(err))}). Invite me with \`/invite @${escapeMrkdwn(this.app.config.bot.name)}\`, or ask me in a DM.`,
        ),
    });
  }
}

/** Bolt acknowledges an event within 3 s (or answers 404 for one nothing handles): a request still open later is cut. */
const EVENTS_ANSWER_WITHIN_MS = 10_000;

/**
 * Checks each Socket Mode frame before the Socket Mode client parses it (socketFrameProblem says
 * why), and catches what its async message handler still rejects with: the client subscribes that
 * handler to its own `ws_message` event (@slack/socket-mode 3.x), which is replaced here.
 */
function guardSocketFrames(client: SocketModeReceiver['client'], logger: Logger): void {
  const handle = (
    client as unknown as { onWebSocketMessage(data: unknown, isBinary: boolean): Promise<void> }
  ).onWebSocketMessage.bind(client);
  client.removeAllListeners('ws_message');
  client.on('ws_message', (data: unknown, isBinary: boolean) => {
    if (isBinary) return logger.warn('Slack Socket Mode: binary frame skipped');
    const text =
      typeof data === 'string'
        ? data
        : Buffer.isBuffer(data)
          ? data.toString('utf8')
          : data instanceof ArrayBuffer
            ? Buffer.from(data).toString('utf8')
            : String(data);
    const problem = socketFrameProblem(text);
    if (problem) return logger.warn({ problem, bytes: text.length }, 'Slack Socket Mode: frame skipped');
    handle(data, isBinary).catch((err: unknown) =>
      logger.error({ err: errorMessage(err) }, 'Slack Socket Mode: a frame could not be handled'),
    );
  });
}

/** Bolt and the Slack SDKs log through pino too (at their own levels), as the `slack` component. */
function boltLogger(logger: Logger): BoltLogger {
  const child = logger.child({ component: 'bolt' });
  const text = (parts: unknown[]) =>
    parts
      .map((p) => (typeof p === 'string' ? p : errorMessage(p)))
      .join(' ')
      .replace(/xox[a-z]-[\w-]+|xapp-[\w-]+/g, '[redacted]');
  // The SDKs log every request and payload at debug: the text is only built for a level that is on.
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...m: unknown[]) => {
      if (child.isLevelEnabled(level)) child[level](text(m));
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    setLevel: () => undefined,
    getLevel: () =>
      ['trace', 'debug'].includes(child.level)
        ? LogLevel.DEBUG
        : child.level === 'info'
          ? LogLevel.INFO
          : child.level === 'warn'
            ? LogLevel.WARN
            : LogLevel.ERROR,
    setName: () => undefined,
  };
}
