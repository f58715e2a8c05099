import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { PlatformDeps } from '../../bot/platform-deps.ts';
import type { Conversation } from '../../bot/conversation.ts';
import { HttpError, sendJson, type HttpServer, type RouteRequest } from '../../http/server.ts';
import type { Logger } from '../../util/log.ts';
import { errorMessage } from '../../core/errors.ts';
import {
  MattermostConnection,
  normalizeBaseUrl,
  type MattermostBot,
  type MattermostConnectionOptions,
} from './connection.ts';
import { classifyPost, type MattermostPostEvent } from './events.ts';
import { actionSecretFromToken, verifyActionRequest } from './render.ts';
import { MattermostSurface } from './surface.ts';

export const MATTERMOST_PATHS = { command: '/mattermost/command', actions: '/mattermost/actions' } as const;
/** Mattermost waits for a slash command's reply; a slower answer goes out through response_url. */
const SLASH_REPLY_WITHIN_MS = 2_500;
const CALLBACK_MAX_BYTES = 64 * 1024;
/** Buttons older than this are refused (their answer is long gone from the thread's context). */
const BUTTON_MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000;

export interface MattermostAdapterOptions {
  /** The process's one HTTP server: the slash command and button callbacks are served on it (none: posting only). */
  server?: HttpServer;
  /** How long an answer may take before the typing indicator and 👀 appear (default 300 ms). */
  statusDelayMs?: number;
  /** Transport settings (reconnect pacing, timeouts), mostly for tests. */
  connection?: Partial<Omit<MattermostConnectionOptions, 'url' | 'token' | 'onPost'>>;
}

const SlashFormSchema = z.object({
  token: z.string().default(''),
  text: z.string().max(8_000).default(''),
  channel_id: z.string().min(1),
  channel_name: z.string().default(''),
  user_id: z.string().min(1),
  user_name: z.string().default(''),
  response_url: z.string().default(''),
  trigger_id: z.string().default(''),
  command: z.string().default('/askpanda'),
});

/**
 * The Mattermost surface: a translation table from the bot account's websocket posts, the
 * `/askpanda` slash command and button clicks to the conversation core. How Mattermost posts,
 * edits and shows a status is in surface.ts; the websocket, REST calls, reconnects and
 * resyncs in connection.ts.
 */
export class MattermostAdapter {
  private readonly logger: Logger;
  private readonly core: Conversation;
  private readonly connection: MattermostConnection;
  private readonly surface: MattermostSurface;
  private readonly slashTokens: Buffer[];
  private readonly actionSecret: string;
  private readonly baseUrl: string | undefined;
  private me: MattermostBot | undefined;

  constructor(
    private readonly app: PlatformDeps,
    private readonly options: MattermostAdapterOptions,
  ) {
    const mm = app.config.mattermost;
    if (!mm.url || !mm.token)
      throw new Error(
        "MATTERMOST_URL and MATTERMOST_TOKEN must both be set: the server address and the bot account's access token (System Console → Integrations → Bot Accounts).",
      );
    this.logger = app.logger.child({ adapter: 'mattermost' });
    this.core = app.conversation;
    this.baseUrl = normalizeBaseUrl(mm.url);
    this.slashTokens = mm.slashTokens.map((t) => Buffer.from(t));
    this.actionSecret = mm.actionSecret || actionSecretFromToken(mm.token);
    this.connection = new MattermostConnection({
      url: mm.url,
      token: mm.token,
      logger: this.logger,
      resyncMaxAgeMs: mm.resyncMinutes * 60_000,
      pingIntervalMs: mm.pingSeconds * 1000,
      checkIntervalMs: mm.checkSeconds * 1000,
      // Missed questions reach the core no faster than it takes them: what it answers at once plus
      // half its queue, and half of what it lets one person have in flight (at least one); the other
      // halves stay free for questions asked meanwhile.
      resyncHandoff: {
        total: app.config.limits.maxConcurrent + Math.floor(app.config.limits.maxQueued / 2),
        perAuthor: Math.max(1, Math.floor(app.config.limits.perUserInFlight / 2)),
      },
      onPost: (event) => this.onPost(event),
      ...options.connection,
    });
    const publicUrl = (app.config.publicUrl || `http://127.0.0.1:${options.server?.port ?? app.config.port}`).replace(
      /\/+$/,
      '',
    );
    this.surface = new MattermostSurface(
      this.connection,
      {
        actionsUrl: `${publicUrl}${MATTERMOST_PATHS.actions}`,
        actionSecret: this.actionSecret,
        statusDelayMs: options.statusDelayMs ?? 300,
        draftUpdateMs: mm.postUpdateMs,
      },
      this.logger,
    );
    options.server
      ?.add({
        method: 'POST',
        path: MATTERMOST_PATHS.command,
        maxBodyBytes: CALLBACK_MAX_BYTES,
        timeoutMs: 10_000,
        handler: (r) => this.onSlashCommand(r),
      })
      .add({
        method: 'POST',
        path: MATTERMOST_PATHS.actions,
        maxBodyBytes: CALLBACK_MAX_BYTES,
        timeoutMs: 10_000,
        handler: (r) => this.onAction(r),
      });
  }

  /**
   * Checks the token and connects the websocket (`receive: false`: no websocket, for posting digests
   * only); throws MattermostStartError with one line for the operator.
   */
  async start(options: { receive?: boolean } = {}): Promise<MattermostBot> {
    this.me = options.receive === false ? await this.connection.startRest() : await this.connection.start();
    this.core.addBotName(this.me.username);
    this.core.attach(this.surface);
    this.connection.on('connected', ({ resync }) => {
      if (resync)
        this.logger.info('Mattermost reconnected with a new connection: re-reading recent posts for missed questions');
    });
    this.logger.info(
      {
        bot: this.me.username,
        maxPostSize: this.connection.maxPostSize,
        slashCommand: this.slashTokens.length > 0,
        receive: options.receive !== false,
      },
      'Mattermost connected',
    );
    return this.me;
  }

  get connected(): boolean {
    return this.connection.connected;
  }

  /** Stops taking posts (websocket closed); answers in progress are finished by the conversation core (App.close). */
  async stop(): Promise<void> {
    await this.connection
      .stop()
      .catch((err: unknown) =>
        this.logger.warn({ err: errorMessage(err) }, 'Mattermost websocket did not close cleanly'),
      );
  }

  /** Resolves when every post handed over so far, missed ones re-read by a resync included, is answered. */
  async idle(): Promise<void> {
    await this.connection.idle();
    await this.core.idle();
  }

  /**
   * A re-read post's answer is returned: the resync's hand-over slot stays taken until then, so
   * questions missed in an outage arrive at the pace they are answered, not all at once over the
   * core's limits.
   */
  private onPost(event: MattermostPostEvent): Promise<void> | undefined {
    if (!this.me) return undefined;
    const decision = classifyPost(event, this.me);
    if (decision.kind === 'ignore') {
      this.logger.debug({ reason: decision.reason }, 'post ignored');
      return undefined;
    }
    // The core queues it at once (order per thread is the order posts arrive) and claims it by post id.
    const answered = this.core.receive(this.surface, {
      channel: decision.channelId,
      thread: decision.threadId,
      messageId: decision.postId,
      user: decision.userId,
      text: decision.text,
      isDirect: decision.isDirect,
      addressed: decision.kind === 'question' ? 'directly' : 'thread-reply',
      readThreadFirst: decision.kind === 'question' && decision.threadId !== decision.postId,
    });
    return event.source === 'resync' ? answered : undefined;
  }

  private checkSlashToken(header: string | undefined, formToken: string): boolean {
    const given = Buffer.from(header?.match(/^Token\s+(\S+)$/i)?.[1] ?? formToken);
    return this.slashTokens.some((token) => token.length === given.length && timingSafeEqual(token, given));
  }

  private async onSlashCommand({ req, res, body }: RouteRequest): Promise<void> {
    const form = SlashFormSchema.safeParse(Object.fromEntries(new URLSearchParams((await body()).toString('utf8'))));
    if (!form.success)
      throw new HttpError(
        400,
        'not a Mattermost slash command request (form fields channel_id and user_id are required)',
      );
    const command = form.data;
    if (this.slashTokens.length === 0)
      throw new HttpError(
        401,
        "the /askpanda slash command is not enabled here: set MATTERMOST_SLASH_TOKEN to the command's token",
      );
    if (!this.checkSlashToken(req.headers.authorization, command.token))
      throw new HttpError(401, 'wrong slash command token');

    let replied = false;
    let first: (body: Record<string, unknown>) => void = () => undefined;
    const firstReply = new Promise<Record<string, unknown>>((resolve) => (first = resolve));
    const reply = (body: Record<string, unknown>) => {
      if (replied) return false;
      replied = true;
      first(body);
      return true;
    };
    const text = command.text.trim() || 'help';
    const work = this.core.slash(this.surface, {
      channel: command.channel_id,
      user: command.user_id,
      text,
      id: command.trigger_id || `${command.channel_id}:${Date.now()}`,
      // Direct channels are named after their two members: "<id>__<id>".
      isDirect: command.channel_name.includes('__'),
      askedLine: `@${command.user_name || 'someone'} asked: ${text}`,
      respond: async (message, visibility) => {
        const payload = {
          response_type: visibility,
          text: message.message,
          ...(message.props?.attachments ? { attachments: message.props.attachments } : {}),
        };
        if (!reply(payload)) await this.sendToResponseUrl(command.response_url, payload);
      },
      cannotPost: (err) => ({
        message: `I cannot post in this channel (${errorMessage(err)}). Add me to the channel (\`/invite @${this.me?.username ?? this.app.config.bot.name}\`), or ask me in a direct message.`,
      }),
      accepted: () => reply({}),
    });
    const timer = setTimeout(() => reply({}), SLASH_REPLY_WITHIN_MS);
    void work
      .then(() => reply({}))
      .catch((err: unknown) => {
        this.logger.error({ err: errorMessage(err) }, 'slash command failed');
        reply({ response_type: 'ephemeral', text: 'Something went wrong on my side. Please try again in a minute.' });
      });
    const answer = await firstReply;
    clearTimeout(timer);
    sendJson(res, 200, answer);
  }

  /** A slower slash command reply, through the URL Mattermost gave, which must be on our Mattermost server. */
  private async sendToResponseUrl(url: string, payload: Record<string, unknown>): Promise<void> {
    if (!this.baseUrl || !url.startsWith(`${this.baseUrl}/`)) {
      this.logger.warn('slash command response_url is not on the configured Mattermost server; reply dropped');
      return;
    }
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(10_000),
    }).catch((err: unknown) => {
      this.logger.warn({ err: errorMessage(err) }, 'slash command response_url failed');
      return undefined;
    });
    if (response && !response.ok)
      this.logger.warn({ status: response.status }, 'slash command response_url refused the reply');
    await response?.body?.cancel().catch(() => undefined);
  }

  private async onAction({ res, body }: RouteRequest): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse((await body()).toString('utf8'));
    } catch {
      throw new HttpError(400, 'a button callback must be JSON');
    }
    const click = verifyActionRequest(raw, this.actionSecret, { maxAgeMs: BUTTON_MAX_AGE_MS });
    if (!click.ok) {
      this.logger.warn({ reason: click.reason }, 'button callback refused');
      throw new HttpError(
        click.status,
        click.status === 403 ? 'this button is not one of mine, or it was changed' : 'not a button click',
      );
    }
    const { payload, userId, postId, channelId } = click;
    if (payload.action === 'feedback') {
      let thanks = '';
      await this.core.vote(
        this.surface,
        {
          channel: channelId,
          messageId: postId,
          thread: payload.thread,
          user: userId,
          rating: payload.rating,
          context: {
            agent: payload.agent,
            model: payload.model,
            question: payload.question,
            pandaid: payload.pandaid,
            jeditaskid: payload.jeditaskid,
          },
        },
        (text) => void (thanks = text),
      );
      // Without `update` Mattermost leaves the post as it is; the thanks is shown to the clicker only.
      sendJson(res, 200, { ephemeral_text: thanks });
      return;
    }
    const userName =
      click.userName ??
      (await this.connection
        .getUser(userId)
        .then((u) => u.username)
        .catch(() => undefined));
    void this.core.receive(this.surface, {
      channel: channelId,
      thread: payload.thread,
      messageId: `${postId}:${userId}`,
      user: userId,
      text: payload.question,
      isDirect: false,
      addressed: 'directly',
      // A double click asks once.
      dedupeKey: `mattermost:click:${postId}:${userId}:${payload.question.slice(0, 200)}`,
      reactTo: null,
      preface: userName ? `@${userName} asked: ${payload.question}` : undefined,
    });
    sendJson(res, 200, {});
  }
}
