import type { PlatformDeps } from '../../bot/platform-deps.ts';
import type { Conversation } from '../../bot/conversation.ts';
import type { HttpServer } from '../../http/server.ts';
import type { Logger } from '../../util/log.ts';
import { errorMessage } from '../../core/errors.ts';
import { buttonActionsRoute } from './actions.ts';
import { MATTERMOST_PATHS } from './callbacks.ts';
import { MattermostConnection } from './connection.ts';
import { classifyPost, type MattermostPostEvent } from './events.ts';
import type { MattermostConnectionOptions } from './options.ts';
import { normalizeBaseUrl, type MattermostBot } from './rest.ts';
import { actionSecretFromToken } from './signing.ts';
import { slashCommandRoute } from './slash.ts';
import { MattermostSurface } from './surface.ts';

export interface MattermostAdapterOptions {
  /** The process's one HTTP server: the slash command and button callbacks are served on it (none: posting only). */
  server?: HttpServer;
  /** How long an answer may take before the typing indicator and 👀 appear (default 300 ms). */
  statusDelayMs?: number;
  /** Transport settings (reconnect pacing, timeouts), mostly for tests. */
  connection?: Partial<Omit<MattermostConnectionOptions, 'url' | 'token' | 'onPost'>>;
}

/**
 * The Mattermost surface: a translation table from the bot account's websocket posts, the
 * `/askpanda` slash command (slash.ts) and button clicks (actions.ts) to the conversation core.
 * How Mattermost posts, edits and shows a status is in surface.ts; the websocket, REST calls,
 * reconnects and resyncs in connection.ts.
 */
export class MattermostAdapter {
  /** Paths of the routes added to the server it was given (none without one). */
  readonly routes: readonly string[];
  private readonly logger: Logger;
  private readonly core: Conversation;
  private readonly connection: MattermostConnection;
  private readonly surface: MattermostSurface;
  private readonly slashCommand: boolean;
  private me: MattermostBot | undefined;

  constructor(app: PlatformDeps, options: MattermostAdapterOptions) {
    const mm = app.config.mattermost;
    if (!mm.url || !mm.token)
      throw new Error(
        'MATTERMOST_URL and MATTERMOST_TOKEN must both be set: the server address and ' +
          "the bot account's access token (System Console → Integrations → Bot Accounts).",
      );
    this.logger = app.logger.child({ adapter: 'mattermost' });
    this.core = app.conversation;
    this.slashCommand = mm.slashTokens.length > 0;
    const actionSecret = mm.actionSecret || actionSecretFromToken(mm.token);
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
      this.connection.rest,
      {
        actionsUrl: `${publicUrl}${MATTERMOST_PATHS.actions}`,
        actionSecret,
        statusDelayMs: options.statusDelayMs ?? 300,
        draftUpdateMs: mm.postUpdateMs,
      },
      this.logger,
    );
    const routes = [
      slashCommandRoute({
        core: this.core,
        surface: this.surface,
        logger: this.logger,
        tokens: mm.slashTokens,
        serverUrl: normalizeBaseUrl(mm.url),
        botName: () => this.me?.username ?? app.config.bot.name,
      }),
      buttonActionsRoute({
        core: this.core,
        surface: this.surface,
        logger: this.logger,
        secret: actionSecret,
        userName: (userId) =>
          this.connection.rest
            .getUser(userId)
            .then((u) => u.username)
            .catch(() => undefined),
      }),
    ];
    for (const route of routes) options.server?.add(route);
    this.routes = options.server ? routes.map((route) => route.path) : [];
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
        maxPostSize: this.connection.rest.maxPostSize,
        slashCommand: this.slashCommand,
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
}
