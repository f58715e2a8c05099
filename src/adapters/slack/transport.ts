import {
  App as BoltApp,
  HTTPReceiver,
  LogLevel,
  SocketModeReceiver,
  type Logger as BoltLogger,
  type webApi,
} from '@slack/bolt';
import type { Config } from '../../config/schema.ts';
import { errorMessage } from '../../core/errors.ts';
import { HttpError, type HttpRoute, type RouteRequest } from '../../http/server.ts';
import type { Logger } from '../../util/log.ts';
import { redactTokens, slackError } from './errors.ts';
import { EVENTS_MAX_BODY_BYTES, SLACK_EVENTS_PATH, eventsRequestProblem, socketFrameProblem } from './frames.ts';

/** `posting`: no events at all, only the Web API (digests from `askpanda digest run`). */
export type SlackTransport = 'socket' | 'http' | 'posting';

/** Bolt acknowledges an event within 3 s (or answers 404 for one nothing handles): a request still open later is cut. */
const EVENTS_ANSWER_WITHIN_MS = 10_000;

/**
 * How Slack's events come in and the bot's calls go out: one Bolt app, with a Socket Mode receiver
 * (SLACK_APP_TOKEN set) or an HTTP receiver whose endpoint is a route on our own HTTP server. What
 * the events mean is the adapter's business; this only connects, checks what arrives and disconnects.
 */
export class BoltTransport {
  readonly bolt: BoltApp;
  private readonly httpReceiver: HTTPReceiver | undefined;
  private readonly socketReceiver: SocketModeReceiver | undefined;

  constructor(
    settings: Config['slack'],
    readonly kind: SlackTransport,
    private readonly logger: Logger,
  ) {
    if (!settings.botToken)
      throw new Error(
        'SLACK_BOT_TOKEN is not set: create the Slack app from config/slack-app-manifest.yaml and copy its Bot User OAuth Token (xoxb-…).',
      );
    if (kind === 'socket' && !settings.appToken)
      throw new Error('Socket Mode needs SLACK_APP_TOKEN (an xapp-… app-level token with connections:write).');
    if (kind === 'http' && !settings.signingSecret) {
      throw new Error(
        'SLACK_SIGNING_SECRET is not set: HTTP events cannot be verified without it. ' +
          "Copy it from the app's Basic Information page, or set SLACK_APP_TOKEN to use Socket Mode instead.",
      );
    }
    const apiUrl = settings.apiUrl;
    const clientOptions: webApi.WebClientOptions = {
      ...(apiUrl ? { slackApiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/` } : {}),
      timeout: 15_000,
      // 429s are retried after their Retry-After by the client's queue; other failures a few times with backoff.
      retryConfig: { retries: 4, factor: 2, minTimeout: 500, maxTimeout: 30_000, randomize: true },
      maxRequestConcurrency: 50,
    };
    const common = {
      token: settings.botToken,
      logger: boltLogger(logger),
      clientOptions,
      deferInitialization: true,
      // Bolt's per-conversation memory store is unused; history lives in our store.
      convoStore: false as const,
    };
    if (kind === 'socket') {
      this.socketReceiver = new SocketModeReceiver({
        appToken: settings.appToken,
        logger: common.logger,
        installerOptions: { clientOptions },
      });
      guardSocketFrames(this.socketReceiver.client, logger);
      this.bolt = new BoltApp({ ...common, socketMode: true, receiver: this.socketReceiver });
    } else if (kind === 'posting') {
      // Bolt wants a receiver; one that never receives needs neither an app token nor a signing secret.
      this.bolt = new BoltApp({
        ...common,
        receiver: { init: () => undefined, start: async () => {}, stop: async () => {} },
      });
    } else {
      // Bolt's receiver checks the v0 signature over the raw body; it is mounted on our server's
      // /slack/events instead of listening on a port of its own.
      this.httpReceiver = new HTTPReceiver({
        signingSecret: settings.signingSecret,
        endpoints: SLACK_EVENTS_PATH,
        logger: common.logger,
        bodyLimit: `${EVENTS_MAX_BODY_BYTES}b`,
      });
      this.bolt = new BoltApp({ ...common, receiver: this.httpReceiver });
    }
  }

  /** Checks the bot token; resolves to the bot's own user id when Slack names it. */
  async authenticate(): Promise<string | undefined> {
    try {
      await this.bolt.init();
    } catch (err) {
      throw new Error(
        `Slack refused the bot token (auth.test: ${slackError(err)}). ` +
          'Check SLACK_BOT_TOKEN (xoxb-…) and that the app is installed in the workspace.',
        { cause: err },
      );
    }
    const auth = await this.bolt.client.auth.test().catch(() => undefined);
    return typeof auth?.user_id === 'string' ? auth.user_id : undefined;
  }

  /** Opens the Socket Mode websocket: events start arriving. */
  async openSocket(): Promise<void> {
    try {
      await this.bolt.start();
    } catch (err) {
      throw new Error(
        `Slack refused the Socket Mode connection (apps.connections.open: ${slackError(err)}). ` +
          'Check SLACK_APP_TOKEN: an app-level token (xapp-…) with the connections:write scope, and Socket Mode enabled for the app.',
        { cause: err },
      );
    }
  }

  async closeSocket(): Promise<void> {
    await this.bolt
      .stop()
      .catch((err: unknown) => this.logger.warn({ err: errorMessage(err) }, 'Slack receiver did not stop cleanly'));
  }

  /** The HTTP events endpoint, for the server it is mounted on (HTTP transport only). */
  eventsRoute(): HttpRoute {
    const receiver = this.httpReceiver;
    if (!receiver) throw new Error('Slack events come over Socket Mode here: there is no HTTP events route');
    return {
      method: 'POST',
      path: SLACK_EVENTS_PATH,
      maxBodyBytes: EVENTS_MAX_BODY_BYTES,
      timeoutMs: EVENTS_ANSWER_WITHIN_MS,
      handler: (request) => this.onEventsRequest(receiver, request),
    };
  }

  /** For /readyz: the Socket Mode websocket is open (HTTP events need nothing beyond the server). */
  get connected(): boolean {
    if (this.kind === 'http') return true;
    return this.socketReceiver?.client.websocket?.isActive() ?? false;
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
}

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
    redactTokens(parts.map((p) => (typeof p === 'string' ? p : errorMessage(p))).join(' '));
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
