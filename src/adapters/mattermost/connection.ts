import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import mm from '@mattermost/client';
import type { FetchPaginatedThreadOptions, Options } from '@mattermost/types/client4';
import type { Post } from '@mattermost/types/posts';
import { WebSocket as NodeWebSocket } from 'ws';
import { z } from 'zod';
import { mattermostReconnectsTotal } from '../../core/metrics.ts';
import { backoffDelay } from '../../http/backoff.ts';
import { fromFetchHeaders, retryDelayFromHeaders } from '../../http/retry-after.ts';
import { silentLogger, type Logger } from '../../util/log.ts';
import {
  ChannelTypeSchema,
  parsePostEventData,
  PostSchema,
  type MattermostPost,
  type MattermostPostEvent,
} from './events.ts';
import { MattermostResync, type ResyncChannel, type ResyncResult, type ResyncTrigger } from './resync.ts';

const { Client4, ClientError, WebSocketClient } = mm;

/**
 * The Mattermost transport: the real @mattermost/client (Client4 for REST, WebSocketClient for
 * events) behind a small API the adapter glue calls. It owns everything about the connection and
 * nothing about answering:
 *
 * - `start()` checks the token (`GET /users/me`), reads `MaxPostSize` once and opens the
 *   websocket; a bad token, a wrong URL or a server out of reach fails with one line saying what
 *   to fix (`MattermostStartError`).
 * - The websocket authenticates at the upgrade (so the server can resume it after a short drop)
 *   and with the `authentication_challenge`; the client pings, and reconnects with backoff and
 *   jitter for as long as the process runs.
 * - Every frame is checked before the client sees it, and every post before the glue does: a bad
 *   frame is logged and skipped, never thrown.
 * - After any websocket trouble (a reconnect, a sequence gap, a `hello` with a new `connection_id`)
 *   a resync re-reads what was posted since the newest post seen in each channel and hands what no
 *   event delivered to the same `onPost` callback, each once (resync.ts). A socket
 *   that stays open but carries nothing is noticed by the client's ping deadline (no pong) or by
 *   the periodic check of each channel's newest post, and is reconnected.
 * - Every REST call has a timeout, waits out a 429's `Retry-After` (bounded), and retries a GET
 *   after a network error or 5xx; writes are not repeated after a failure that may have landed.
 *
 * Events (`on(...)`): `connected` {connectionId, resync} after each hello; `reconnected` {reason}
 * when a socket opens again; `disconnected` {failures} when one closes; `resynced` {trigger,
 * channels, behind, read, posts, failedChannels} after a re-read.
 */

/** The identity the token belongs to. */
export interface MattermostBot {
  id: string;
  username: string;
  isBot: boolean;
}

export interface MattermostConnectionOptions {
  /** Base URL of the server, e.g. `https://mattermost.web.cern.ch` (a trailing `/api/v4` is dropped). */
  url: string;
  /** A bot account's (or user's) personal access token. */
  token: string;
  /**
   * Every post the bot should look at, from the websocket and from resyncs; errors are logged. For
   * a re-read post the returned promise paces the hand-over (`resyncHandoff`): resolve it when the
   * post has been dealt with, e.g. answered.
   */
  onPost: (event: MattermostPostEvent) => void | Promise<void>;
  logger?: Logger;
  /** Per REST request, including reading the body; default 10 s. */
  requestTimeoutMs?: number;
  /** A missed post older than this is not answered by a resync (0: none is); default 10 minutes. */
  resyncMaxAgeMs?: number;
  /** Channels read by one resync at most (the most recently active first); default 500. */
  resyncMaxChannels?: number;
  /** Posts read per channel by one resync at most; default 5000. */
  resyncMaxPostsPerChannel?: number;
  /** How long after a socket reopens (or a `posted` event arrives broken) its resync starts: a resumed socket replays first; default 1 s. */
  reconnectResyncDelayMs?: number;
  /** Period of the check of each channel's newest post against what arrived (0: off); default 60 s. */
  checkIntervalMs?: number;
  /**
   * Re-read posts handed to `onPost` at the same time (until its promise settles): in all (default
   * 8) and of one author (default 1). Keep them under the conversation core's limits.
   */
  resyncHandoff?: { total?: number; perAuthor?: number };
  /** Websocket reconnect pacing: first retries at `minMs` (+ up to `jitterMs`), then quadratic up to `maxMs`. */
  reconnect?: { minMs?: number; maxMs?: number; jitterMs?: number; failuresBeforeBackoff?: number };
  /** The client's ping period; a ping unanswered by the next one reconnects (a dead socket is noticed within two periods). Default 30 s. */
  pingIntervalMs?: number;
  /** A 429 asking to wait longer than this fails instead of waiting; default 30 s. */
  maxRetryAfterMs?: number;
  /** How long `start()` waits for the websocket's first hello; default 15 s. */
  startTimeoutMs?: number;
}

/** Why the socket had to be opened again. */
export type ReconnectReason = 'sequence_gap' | 'ping_timeout' | 'stalled' | 'closed';

export interface ConnectionEvents {
  connected: [{ connectionId: string; resync: boolean }];
  reconnected: [{ reason: ReconnectReason }];
  disconnected: [{ failures: number }];
  resynced: [ResyncResult];
}

export type StartFailure = 'bad_url' | 'bad_token' | 'unreachable' | 'timeout' | 'not_mattermost' | 'websocket';

/** Why `start()` could not connect; the message is one line for the operator. */
export class MattermostStartError extends Error {
  constructor(
    readonly reason: StartFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MattermostStartError';
  }
}

/** A REST call that failed: `status` 0 for a network error or time-out. */
export class MattermostApiError extends Error {
  constructor(
    readonly route: string,
    readonly status: number,
    /** The server's error id (`api.context.permissions.app_error`, …), or `network` / `timeout`. */
    readonly errorId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MattermostApiError';
  }
}

/** The old-schema limit: what to assume when the server does not say. */
export const FALLBACK_MAX_POST_SIZE = 4000;

const DEFAULTS = {
  requestTimeoutMs: 10_000,
  resyncMaxAgeMs: 10 * 60_000,
  resyncMaxChannels: 500,
  resyncMaxPostsPerChannel: 5_000,
  reconnectResyncDelayMs: 1_000,
  checkIntervalMs: 60_000,
  pingIntervalMs: 30_000,
  maxRetryAfterMs: 30_000,
  startTimeoutMs: 15_000,
  reconnect: { minMs: 1_000, maxMs: 60_000, jitterMs: 2_000, failuresBeforeBackoff: 3 },
} as const;

/** A post committed just before the newest one seen can have its event sent after it. */
const RESYNC_OVERLAP_MS = 2_000;
/** Events in flight arrive within this on a healthy socket: a post read meanwhile is not "missed". */
const RESYNC_SETTLE_MS = 300;
/** The close codes WebSocketClient gives its own closes (sent back as `disconnect_err_code`). */
const CLIENT_CLOSE_REASONS: Record<string, ReconnectReason> = { '4000': 'ping_timeout', '4001': 'sequence_gap' };

const READ_RETRIES = 2;
/** A 429 that says nothing about when to come back (a proxy's, not the server's limiter) waits this long. */
const RATE_LIMIT_DEFAULT_WAIT_MS = 1000;
const RATE_LIMIT_RETRIES = 3;
const THREAD_MAX_POSTS = 200;

// ---------------------------------------------------------------------------------- Node 20 globals

/**
 * WebSocketClient reads the global `WebSocket` (for `WebSocket.OPEN`) and builds `CloseEvent`s on a
 * ping time-out or a sequence gap; Node 20 has neither, and the missing one would be an uncaught
 * ReferenceError on a timer. Installed once, before any client is constructed.
 */
export function installWebSocketGlobals(): void {
  const g = globalThis as Record<string, unknown>;
  g.WebSocket ??= NodeWebSocket;
  g.CloseEvent ??= class CloseEvent extends Event {
    readonly code: number;
    readonly reason: string;
    readonly wasClean: boolean;
    constructor(type: string, init: { code?: number; reason?: string; wasClean?: boolean } = {}) {
      super(type);
      this.code = init.code ?? 0;
      this.reason = init.reason ?? '';
      this.wasClean = init.wasClean ?? false;
    }
  };
}

// ---------------------------------------------------------------------------------- frames

/** A reply to something the client sent (`seq_reply`), or a server event (`event` with `seq`). */
const ReplyFrameSchema = z.object({
  seq_reply: z.number().int().positive(),
  status: z.string().optional(),
  error: z.unknown().optional(),
  data: z.unknown().optional(),
});
const EventFrameSchema = z.object({
  event: z.string().min(1),
  seq: z.number().int().nonnegative(),
  data: z.record(z.string(), z.unknown()),
  broadcast: z.record(z.string(), z.unknown()).nullish(),
});
const HelloDataSchema = z.object({ connection_id: z.string().min(1) });

/** The event name a rejected frame becomes, so its sequence number still counts. */
export const SKIPPED_EVENT = 'askpanda_skipped_frame';

/**
 * Checks a frame before the client sees it: undefined when it may pass, else the reason and what
 * to pass instead. A broken event that still has a usable `seq` is replaced by an empty stand-in
 * with that seq: dropping it would look like a gap to the client, which reconnects, and a resumed
 * connection would replay the same broken frame forever.
 */
function rejectFrame(text: string): { reason: string; replacement?: string } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { reason: 'not JSON' };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { reason: 'not an object' };
  if ('seq_reply' in parsed)
    return ReplyFrameSchema.safeParse(parsed).success ? undefined : { reason: 'malformed reply' };
  const event = EventFrameSchema.safeParse(parsed);
  // The client reads hello's connection_id without checking it.
  const badHello = event.success && event.data.event === 'hello' && !HelloDataSchema.safeParse(event.data.data).success;
  if (event.success && !badHello) return undefined;
  const { seq, event: name } = parsed as { seq?: unknown; event?: unknown };
  const reason = badHello ? 'hello without a connection id' : 'not an event';
  if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0) return { reason };
  // The stand-in says what it stood for: a skipped `posted` may be a question that needs a resync.
  const data = typeof name === 'string' ? { event: name.slice(0, 64) } : {};
  return { reason, replacement: JSON.stringify({ event: SKIPPED_EVENT, seq, data, broadcast: {} }) };
}

type Listener = ((event: Record<string, unknown>) => void) | null;

/**
 * What WebSocketClient sees as its socket: a `ws` socket whose frames are checked first, and whose
 * events reach the client through guarded calls (a throwing listener must not kill the process).
 */
class GuardedSocket {
  onopen: Listener = null;
  onclose: Listener = null;
  onerror: Listener = null;
  onmessage: Listener = null;
  /** A frame that passed the checks arrived: the server is talking on this socket. */
  heard = false;
  private readonly ws: NodeWebSocket;
  private closing = false;

  constructor(
    readonly url: string,
    token: string,
    handshakeTimeoutMs: number,
    private readonly logger: Logger,
  ) {
    // The Authorization header gives the upgrade a session, which is what lets the server resume
    // the connection after a drop instead of starting over (api4/websocket.go connectWebSocket).
    this.ws = new NodeWebSocket(url, {
      headers: { Authorization: `Bearer ${token}` },
      handshakeTimeout: handshakeTimeoutMs,
      maxPayload: 16 * 1024 * 1024,
    });
    this.ws.on('open', () => this.deliver(this.onopen, { type: 'open' }));
    this.ws.on('close', (code, reason) =>
      this.deliver(this.onclose, { type: 'close', code, reason: reason.toString(), wasClean: code === 1000 }),
    );
    this.ws.on('error', (err) => this.deliver(this.onerror, { type: 'error', message: err.message }));
    this.ws.on('message', (data, isBinary) => {
      // A browser WebSocket delivers nothing once close() was called: the client closes on a sequence
      // gap and would otherwise see every frame still in flight as one more gap (a log line each).
      if (this.closing) return;
      if (isBinary) return this.logger.warn('mattermost websocket: binary frame skipped');
      const text = data.toString();
      const rejected = rejectFrame(text);
      if (rejected) {
        this.logger.warn({ reason: rejected.reason, bytes: text.length }, 'mattermost websocket: frame skipped');
        if (rejected.replacement) this.deliver(this.onmessage, { type: 'message', data: rejected.replacement });
        return;
      }
      this.heard = true;
      this.deliver(this.onmessage, { type: 'message', data: text });
    });
  }

  get readyState(): number {
    return this.ws.readyState;
  }

  send(data: string): void {
    if (this.ws.readyState === NodeWebSocket.OPEN) this.ws.send(data);
  }

  close(code?: number): void {
    this.closing = true;
    this.ws.close(code);
  }

  /** Ends the socket at once and reports the close (a stalled socket: no close handshake to wait for). */
  kill(): void {
    this.closing = true;
    this.ws.terminate();
  }

  /** Stops reporting to the client and ends the socket at once (used by `stop()`). */
  destroy(): void {
    this.onopen = this.onclose = this.onerror = this.onmessage = null;
    this.ws.terminate();
  }

  private deliver(listener: Listener, event: Record<string, unknown>): void {
    try {
      listener?.(event);
    } catch (err) {
      this.logger.error({ err, event: event.type }, 'mattermost websocket: client handler failed');
    }
  }
}

// ---------------------------------------------------------------------------------- REST

const UserSchema = z.object({ id: z.string().min(1), username: z.string().min(1), is_bot: z.boolean().optional() });
const TeamsSchema = z.array(z.object({ id: z.string().min(1) }));
const ChannelsSchema = z.array(
  z.object({
    id: z.string().min(1),
    type: z.string(),
    team_id: z.string().default(''),
    last_post_at: z.number().default(0),
    delete_at: z.number().default(0),
  }),
);
const PostListSchema = z.object({
  order: z.array(z.string()),
  posts: z.record(z.string(), z.unknown()),
  has_next: z.boolean().optional(),
});
const ClientConfigSchema = z.object({ MaxPostSize: z.string().optional() });

interface Limits {
  timeoutMs: number;
  maxRetryAfterMs: number;
}

type FetchWithResponse = (
  url: string,
  options: Options,
) => Promise<{ response: Response; headers: Map<string, string>; data: unknown }>;

/**
 * Client4 with what a server process needs and the browser client leaves out: a time-out on every
 * request, waiting out 429s (the rate limiter answers plain text with `Retry-After`, which Client4
 * would turn into an error with no status), and a retry of reads after network errors or 5xx.
 */
class BoundedClient4 extends Client4 {
  constructor(private readonly limits: Limits) {
    super();
    // doFetchWithResponse is private in the typings but an instance field in 11.x; checked here
    // so a changed client fails at start, not on the first request.
    const inner = Reflect.get(this, 'doFetchWithResponse') as FetchWithResponse | undefined;
    if (typeof inner !== 'function')
      throw new Error('@mattermost/client has no doFetchWithResponse: this version is not supported (use 11.9.x)');
    const bounded: FetchWithResponse = async (url, options) => {
      const method = (options.method ?? 'get').toLowerCase();
      for (let attempt = 0; ; attempt++) {
        let result: Awaited<ReturnType<FetchWithResponse>>;
        try {
          result = await inner(url, { ...options, ignoreStatus: true });
        } catch (err) {
          if (method === 'get' && attempt < READ_RETRIES && !isTimeout(err)) {
            await sleep(readRetryDelay(attempt));
            continue;
          }
          throw err;
        }
        const { status } = result.response;
        if (status === 429 && attempt < RATE_LIMIT_RETRIES) {
          const waitMs = retryDelayFromHeaders(fromFetchHeaders(result.response.headers)) ?? RATE_LIMIT_DEFAULT_WAIT_MS;
          if (waitMs <= this.limits.maxRetryAfterMs) {
            await sleep(waitMs);
            continue;
          }
        }
        if (status >= 500 && method === 'get' && attempt < READ_RETRIES) {
          await sleep(readRetryDelay(attempt));
          continue;
        }
        if (result.response.ok || options.ignoreStatus) return result;
        const data = (result.data !== null && typeof result.data === 'object' ? result.data : {}) as {
          message?: unknown;
          id?: unknown;
          detailed_error?: unknown;
        };
        throw new ClientError(this.getUrl(), {
          message:
            typeof data.message === 'string' && data.message
              ? data.message
              : status === 429
                ? 'rate limited'
                : `HTTP ${status}`,
          server_error_id: typeof data.id === 'string' ? data.id : status === 429 ? 'rate_limited' : undefined,
          status_code: status,
          detailed_error: typeof data.detailed_error === 'string' ? data.detailed_error : undefined,
          url,
        });
      }
    };
    Reflect.set(this, 'doFetchWithResponse', bounded);
  }

  override getOptions(options: Options): ReturnType<InstanceType<typeof Client4>['getOptions']> {
    const base = super.getOptions(options);
    return { ...base, signal: options.signal ?? AbortSignal.timeout(this.limits.timeoutMs) };
  }

  /** `POST /users/{id}/typing`: Client4 has no method for it. */
  publishTyping(userId: string, channelId: string, parentId: string): Promise<unknown> {
    return this.doFetch(`${this.getUserRoute(userId)}/typing`, {
      method: 'post',
      body: JSON.stringify({ channel_id: channelId, parent_id: parentId }),
    });
  }
}

/** About 250 ms, then 1 s (jittered): a read retried sooner would meet the same hiccup. */
function readRetryDelay(attempt: number): number {
  return backoffDelay(attempt + 1, { baseMs: 250, factor: 4, maxMs: 5_000 });
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

/** The base URL without trailing slashes or `/api/v4`; undefined when it is not http(s). */
export function normalizeBaseUrl(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const path = url.pathname.replace(/\/+$/, '').replace(/\/api\/v4$/, '');
  return `${url.origin}${path}`;
}

/** A short reason from a failed fetch: ECONNREFUSED, ENOTFOUND, a certificate error, … */
function networkReason(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------------------------- the connection

type ClientInstance = InstanceType<typeof BoundedClient4>;
type WebSocketInstance = InstanceType<typeof WebSocketClient>;

export class MattermostConnection extends EventEmitter<ConnectionEvents> {
  private readonly baseUrl: string | undefined;
  private readonly logger: Logger;
  private readonly client: ClientInstance;
  private readonly settings: {
    requestTimeoutMs: number;
    reconnectResyncDelayMs: number;
    checkIntervalMs: number;
    pingIntervalMs: number;
    startTimeoutMs: number;
    reconnect: { minMs: number; maxMs: number; jitterMs: number; failuresBeforeBackoff: number };
  };
  private ws: WebSocketInstance | undefined;
  private socket: GuardedSocket | undefined;
  private me: MattermostBot | undefined;
  private postLimit = FALLBACK_MAX_POST_SIZE;
  private missedEvents = false;
  private helloSeen = false;
  private firstHello = true;
  private started = false;
  private stopped = false;
  private readonly resync: MattermostResync;
  /** Set when this side closed a socket that stayed open but carried nothing. */
  private forcedReason: ReconnectReason | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(private readonly options: MattermostConnectionOptions) {
    super();
    installWebSocketGlobals();
    this.baseUrl = normalizeBaseUrl(options.url);
    this.logger = options.logger ?? silentLogger;
    this.settings = {
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      reconnectResyncDelayMs: options.reconnectResyncDelayMs ?? DEFAULTS.reconnectResyncDelayMs,
      checkIntervalMs: options.checkIntervalMs ?? DEFAULTS.checkIntervalMs,
      pingIntervalMs: options.pingIntervalMs ?? DEFAULTS.pingIntervalMs,
      startTimeoutMs: options.startTimeoutMs ?? DEFAULTS.startTimeoutMs,
      reconnect: { ...DEFAULTS.reconnect, ...options.reconnect },
    };
    this.client = new BoundedClient4({
      timeoutMs: this.settings.requestTimeoutMs,
      maxRetryAfterMs: options.maxRetryAfterMs ?? DEFAULTS.maxRetryAfterMs,
    });
    if (this.baseUrl) this.client.setUrl(this.baseUrl);
    this.client.setToken(options.token);
    this.client.setIncludeCookies(false);
    this.client.setUserAgent('askpanda (+@mattermost/client)');
    this.resync = new MattermostResync(
      { listChannels: () => this.listChannels(), readPage: (id, page, perPage) => this.readPage(id, page, perPage) },
      {
        deliver: (post, channelType) =>
          this.deliver({ event: 'posted', post, channelType, mentions: [], source: 'resync' }),
        onDone: (result) => this.emit('resynced', result),
      },
      {
        maxAgeMs: options.resyncMaxAgeMs ?? DEFAULTS.resyncMaxAgeMs,
        maxChannels: options.resyncMaxChannels ?? DEFAULTS.resyncMaxChannels,
        maxPostsPerChannel: options.resyncMaxPostsPerChannel ?? DEFAULTS.resyncMaxPostsPerChannel,
        overlapMs: RESYNC_OVERLAP_MS,
        settleMs: RESYNC_SETTLE_MS,
        handoff: { total: options.resyncHandoff?.total ?? 8, perAuthor: options.resyncHandoff?.perAuthor ?? 1 },
      },
      this.logger,
    );
  }

  /** The bot's identity; available after `start()`. */
  get bot(): MattermostBot {
    if (!this.me) throw new Error('MattermostConnection: start() has not completed');
    return this.me;
  }

  /** The server's post limit in code points, read once at start. */
  get maxPostSize(): number {
    return this.postLimit;
  }

  /** True while a websocket is open and the server talks on it (a hello, or a resumed socket's replies). */
  get connected(): boolean {
    return this.socket?.readyState === NodeWebSocket.OPEN && (this.helloSeen || this.socket.heard);
  }

  /**
   * Checks the token, reads the post limit and opens the websocket; resolves with the bot once the
   * first hello arrived. Throws MattermostStartError (and leaves nothing running) otherwise.
   */
  async start(): Promise<MattermostBot> {
    if (this.started)
      throw new Error('MattermostConnection: start() may be called once; make a new connection to retry');
    this.started = true;
    const base = this.baseUrl;
    if (!base)
      throw new MattermostStartError(
        'bad_url',
        `MATTERMOST_URL "${this.options.url}" is not an http(s) URL: set it to your server's address, e.g. https://mattermost.example.org`,
      );
    this.me = await this.checkToken(base);
    this.postLimit = await this.readMaxPostSize();
    await this.resync
      .baseline()
      .catch((err: unknown) =>
        this.logger.warn(
          { err: describe(err) },
          'could not list the Mattermost channels at start; posts missed in them are looked for from now on',
        ),
      );
    try {
      await this.openWebsocket(base);
    } catch (err) {
      await this.stop();
      throw err;
    }
    return this.me;
  }

  /**
   * Checks the token and reads the post limit, without a websocket: for posting only
   * (`askpanda digest run` from system cron). Throws MattermostStartError like start().
   */
  async startRest(): Promise<MattermostBot> {
    if (this.started)
      throw new Error('MattermostConnection: start() may be called once; make a new connection to retry');
    this.started = true;
    const base = this.baseUrl;
    if (!base)
      throw new MattermostStartError(
        'bad_url',
        `MATTERMOST_URL "${this.options.url}" is not an http(s) URL: set it to your server's address, e.g. https://mattermost.example.org`,
      );
    this.me = await this.checkToken(base);
    this.postLimit = await this.readMaxPostSize();
    return this.me;
  }

  /** Closes the websocket and stops resyncing. REST helpers keep working, so answers can finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.resyncTimer);
    clearInterval(this.checkTimer);
    this.ws?.close();
    this.socket?.destroy();
    this.socket = undefined;
    await this.resync.stop();
  }

  /** Resolves when no resync runs and every missed post it handed over has been dealt with. */
  idle(): Promise<void> {
    return this.resync.idle();
  }

  // ------------------------------------------------------------------ REST helpers for the glue

  /** A new post; a reply when `rootId` is set (the thread's root id). */
  async createPost(input: {
    channelId: string;
    rootId?: string;
    message: string;
    props?: Record<string, unknown>;
  }): Promise<MattermostPost> {
    const body: Partial<Post> = { channel_id: input.channelId, root_id: input.rootId ?? '', message: input.message };
    if (input.props) body.props = input.props;
    const created = await this.call('createPost', () => this.client.createPost(body as Post));
    return this.checked('createPost', PostSchema, created);
  }

  /** Changes a post's message and/or props (every edit shows "Edited": throttle streaming). */
  async patchPost(
    postId: string,
    patch: { message?: string; props?: Record<string, unknown> },
  ): Promise<MattermostPost> {
    const patched = await this.call('patchPost', () =>
      this.client.patchPost({ id: postId, ...patch } as Partial<Post> & { id: string }),
    );
    return this.checked('patchPost', PostSchema, patched);
  }

  /** "askpanda is typing…" in a channel or, with `parentId`, in a thread; lasts a few seconds. */
  async sendTyping(channelId: string, parentId = ''): Promise<void> {
    await this.call('publishUserTyping', () => this.client.publishTyping(this.bot.id, channelId, parentId));
  }

  async addReaction(postId: string, emojiName: string): Promise<void> {
    await this.call('addReaction', () => this.client.addReaction(this.bot.id, postId, emojiName));
  }

  async removeReaction(postId: string, emojiName: string): Promise<void> {
    await this.call('removeReaction', () => this.client.removeReaction(this.bot.id, postId, emojiName));
  }

  /**
   * A thread oldest first, root included: the newest `maxPosts` replies (default 50, at most 200).
   * `truncated` says older replies were left out.
   */
  async readThread(
    postId: string,
    options: { maxPosts?: number } = {},
  ): Promise<{ posts: MattermostPost[]; truncated: boolean }> {
    const perPage = Math.max(1, Math.min(THREAD_MAX_POSTS, options.maxPosts ?? 50));
    const query: FetchPaginatedThreadOptions = {
      fetchThreads: true,
      collapsedThreads: false,
      direction: 'up',
      perPage,
    };
    const list = this.checked(
      'getPostThread',
      PostListSchema,
      await this.call('getPostThread', () => this.client.getPaginatedPostThread(postId, query)),
    );
    return { posts: this.postsOf('getPostThread', list), truncated: list.has_next === true };
  }

  /**
   * A message only `userId` sees. Returns false when the server refuses (403: the bot lacks the
   * `create_post_ephemeral` permission, as bot accounts often do); other failures throw.
   */
  async postEphemeral(
    userId: string,
    input: { channelId: string; rootId?: string; message: string },
  ): Promise<boolean> {
    try {
      await this.call('createPostEphemeral', () =>
        this.client.createPostEphemeral(userId, {
          channel_id: input.channelId,
          root_id: input.rootId ?? '',
          message: input.message,
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof MattermostApiError && err.status === 403) return false;
      throw err;
    }
  }

  async getUser(userId: string): Promise<MattermostBot> {
    const user = this.checked('getUser', UserSchema, await this.call('getUser', () => this.client.getUser(userId)));
    return { id: user.id, username: user.username, isBot: user.is_bot ?? false };
  }

  // ------------------------------------------------------------------ start

  private async checkToken(base: string): Promise<MattermostBot> {
    let raw: unknown;
    try {
      raw = await this.client.getMe();
    } catch (err) {
      throw startError(err, base, this.settings.requestTimeoutMs);
    }
    const user = UserSchema.safeParse(raw);
    if (!user.success) {
      throw new MattermostStartError(
        'not_mattermost',
        `${base} did not answer like a Mattermost server (GET /api/v4/users/me returned no user): check MATTERMOST_URL`,
      );
    }
    if (user.data.is_bot === false)
      this.logger.warn(
        { username: user.data.username },
        'MATTERMOST_TOKEN belongs to a person, not a bot account: answers will appear as that person',
      );
    return { id: user.data.id, username: user.data.username, isBot: user.data.is_bot ?? false };
  }

  private async readMaxPostSize(): Promise<number> {
    try {
      const config = ClientConfigSchema.safeParse(await this.client.getClientConfig());
      const size = config.success ? Number(config.data.MaxPostSize) : Number.NaN;
      if (Number.isInteger(size) && size > 0) return size;
      this.logger.warn('Mattermost did not report MaxPostSize; assuming the old limit of 4000 characters');
    } catch (err) {
      this.logger.warn(
        { err: describe(err) },
        'could not read Mattermost MaxPostSize; assuming the old limit of 4000 characters',
      );
    }
    return FALLBACK_MAX_POST_SIZE;
  }

  private openWebsocket(base: string): Promise<void> {
    const { reconnect, pingIntervalMs, requestTimeoutMs, startTimeoutMs } = this.settings;
    const ws = new WebSocketClient({
      minWebSocketRetryTime: reconnect.minMs,
      maxWebSocketRetryTime: reconnect.maxMs,
      reconnectJitterRange: reconnect.jitterMs,
      maxWebSocketFails: reconnect.failuresBeforeBackoff,
      clientPingInterval: pingIntervalMs,
      newWebSocketFn: (url: string) => {
        this.socket?.destroy();
        this.socket = new GuardedSocket(url, this.options.token, requestTimeoutMs, this.logger);
        return this.socket as unknown as WebSocket;
      },
    });
    this.ws = ws;
    const firstHello = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new MattermostStartError(
            'websocket',
            `Mattermost at ${base} accepted the token, but its websocket (/api/v4/websocket) did not connect within ${Math.round(startTimeoutMs / 1000)} s: check that proxies in between pass websocket upgrades`,
          ),
        );
      }, startTimeoutMs);
      this.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    // Listeners before initialize(): the hello that reports lost events can be the first frame.
    ws.addMessageListener((message) =>
      this.onFrame(message as unknown as { event: string; data: Record<string, unknown> }),
    );
    ws.addMissedMessageListener(() => {
      this.missedEvents = true;
      this.resync.trouble();
    });
    ws.addReconnectListener(() => this.onReconnect());
    ws.addCloseListener((failures) => {
      // The id is kept (the client sends it to resume); `connected` waits for the next hello.
      this.helloSeen = false;
      this.resync.trouble();
      if (failures === 1) this.logger.warn('Mattermost websocket closed; reconnecting');
      this.emit('disconnected', { failures });
    });
    ws.addErrorListener(() => undefined);
    const wsUrl = `${base.replace(/^http/, 'ws')}/api/v4/websocket`;
    ws.initialize(wsUrl, this.options.token);
    return firstHello;
  }

  // ------------------------------------------------------------------ events

  private onFrame(message: { event: string; data: Record<string, unknown> }): void {
    if (this.stopped) return;
    if (message.event === 'hello') {
      const hello = HelloDataSchema.safeParse(message.data);
      if (!hello.success) return; // the socket guard lets no such hello through
      const connectionId = hello.data.connection_id;
      const resync = this.missedEvents;
      this.missedEvents = false;
      this.helloSeen = true;
      this.logger.info({ connectionId, resync }, 'Mattermost websocket connected');
      this.emit('connected', { connectionId, resync });
      if (this.firstHello) {
        // Posts made between the channel listing and this hello came without an event.
        this.firstHello = false;
        this.resync.request('start');
        this.startChecks();
      } else if (resync) this.resync.request('new_connection');
      return;
    }
    if (message.event === SKIPPED_EVENT) {
      // A broken frame that may have carried a post (`posted`, or no readable name): read the channels.
      const original = message.data.event;
      if (original === 'posted' || typeof original !== 'string') this.postLost();
      return;
    }
    if (message.event !== 'posted' && message.event !== 'post_edited') return;
    const parsed = parsePostEventData(message.data);
    if (!parsed.ok) {
      this.logger.warn({ event: message.event, reason: parsed.reason }, 'mattermost websocket: post skipped');
      if (message.event === 'posted') this.postLost();
      return;
    }
    // A post a resync already handed over is not handed over again.
    if (message.event === 'posted' && !this.resync.live(parsed.post)) return;
    this.deliver({
      event: message.event,
      post: parsed.post,
      channelType: parsed.channelType,
      mentions: parsed.mentions,
      source: 'websocket',
    });
  }

  /** Hands a post to `onPost`; resolves when the handler's promise does, never rejects. */
  private deliver(event: MattermostPostEvent): Promise<void> {
    try {
      return Promise.resolve(this.options.onPost(event)).catch((err: unknown) =>
        this.logger.error({ err, postId: event.post.id }, 'Mattermost post handler failed'),
      );
    } catch (err) {
      this.logger.error({ err, postId: event.post.id }, 'Mattermost post handler failed');
      return Promise.resolve();
    }
  }

  // ------------------------------------------------------------------ trouble

  /**
   * A socket opened again. The reason is the close code the client puts in the new URL. A resumed
   * socket replays what the server still had before anything else, so the resync waits a moment:
   * it then reads the channels that had posts meanwhile (a page each) and finds only what the
   * server could not replay.
   */
  private onReconnect(): void {
    const code = this.socket ? new URL(this.socket.url).searchParams.get('disconnect_err_code') : null;
    const reason = this.forcedReason ?? CLIENT_CLOSE_REASONS[code ?? ''] ?? 'closed';
    this.forcedReason = undefined;
    mattermostReconnectsTotal.inc({ reason });
    this.logger.info({ reason }, 'Mattermost websocket reconnected');
    this.emit('reconnected', { reason });
    this.resyncSoon('reconnect');
  }

  /** A `posted` event arrived broken: its post is looked for by a resync like after a gap. */
  private postLost(): void {
    this.resync.trouble();
    this.resyncSoon('skipped_event');
  }

  /** A resync after `reconnectResyncDelayMs`; requests meanwhile join it. */
  private resyncSoon(trigger: ResyncTrigger): void {
    if (this.resyncTimer || this.stopped) return;
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = undefined;
      if (!this.stopped) this.resync.request(trigger);
    }, this.settings.reconnectResyncDelayMs);
    this.resyncTimer.unref();
  }

  /** The periodic check for a socket that is open but carries no events. */
  private startChecks(): void {
    if (this.settings.checkIntervalMs <= 0 || this.checkTimer) return;
    this.checkTimer = setInterval(() => void this.check(), this.settings.checkIntervalMs);
    this.checkTimer.unref();
  }

  private async check(): Promise<void> {
    // A socket being replaced or a resync under way says nothing about a stall: wait for the next tick.
    if (this.checking || this.stopped || !this.connected || this.resync.busy) return;
    this.checking = true;
    try {
      const stalled = await this.resync.checkStalled();
      if (stalled === 0 || this.stopped || !this.socket) return;
      this.logger.warn(
        { channels: stalled },
        'Mattermost websocket is open but delivered no events for posts made since the last check; reconnecting',
      );
      this.forcedReason = 'stalled';
      this.socket.kill();
      this.resync.request('stalled');
    } catch (err) {
      this.logger.warn({ err: describe(err) }, 'Mattermost websocket check failed; trying again at the next one');
    } finally {
      this.checking = false;
    }
  }

  // ------------------------------------------------------------------ resync reads

  /** Every channel of every team the bot is in (DMs and group messages come with each team: once). */
  private async listChannels(): Promise<ResyncChannel[]> {
    const teams = this.checked(
      'getMyTeams',
      TeamsSchema,
      await this.call('getMyTeams', () => this.client.getMyTeams()),
    );
    const channels = new Map<string, ResyncChannel>();
    for (const team of teams) {
      const list = this.checked(
        'getMyChannels',
        ChannelsSchema,
        await this.call('getMyChannels', () => this.client.getMyChannels(team.id)),
      );
      for (const channel of list) {
        if (channel.delete_at > 0) continue;
        const type = ChannelTypeSchema.safeParse(channel.type);
        channels.set(channel.id, {
          id: channel.id,
          type: type.success ? type.data : undefined,
          lastPostAt: channel.last_post_at,
        });
      }
    }
    return [...channels.values()];
  }

  /**
   * One page of a channel, newest first. Only the posts `order` lists belong to the page: the map
   * also carries thread roots (old posts, never to be answered again), left out here.
   */
  private async readPage(channelId: string, page: number, perPage: number): Promise<MattermostPost[]> {
    const list = this.checked(
      'getPosts',
      PostListSchema,
      await this.call('getPosts', () => this.client.getPosts(channelId, page, perPage, false)),
    );
    const posts: MattermostPost[] = [];
    for (const id of list.order) {
      const post = PostSchema.safeParse(list.posts[id]);
      if (post.success) posts.push(post.data);
      else this.logger.warn({ route: 'getPosts' }, 'Mattermost returned a malformed post; skipped');
    }
    return posts.sort((a, b) => b.create_at - a.create_at);
  }

  // ------------------------------------------------------------------ plumbing

  /** Posts of a post list, each checked (a bad one is skipped), oldest first. */
  private postsOf(route: string, list: z.infer<typeof PostListSchema>): MattermostPost[] {
    const posts: MattermostPost[] = [];
    for (const raw of Object.values(list.posts)) {
      const post = PostSchema.safeParse(raw);
      if (post.success) posts.push(post.data);
      else this.logger.warn({ route }, 'Mattermost returned a malformed post; skipped');
    }
    return posts.sort((a, b) => a.create_at - b.create_at);
  }

  private checked<T>(route: string, schema: z.ZodType<T>, value: unknown): T {
    const parsed = schema.safeParse(value);
    if (!parsed.success)
      throw new MattermostApiError(
        route,
        200,
        'unexpected_response',
        `Mattermost ${route} answered something unexpected (${parsed.error.issues[0]?.path.join('.') || 'shape'})`,
      );
    return parsed.data;
  }

  /** Runs one Client4 call, turning its failures into MattermostApiError. */
  private async call<T>(route: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw apiError(route, err);
    }
  }
}

function apiError(route: string, err: unknown): MattermostApiError {
  if (err instanceof MattermostApiError) return err;
  if (err instanceof ClientError) {
    return new MattermostApiError(
      route,
      err.status_code ?? 0,
      err.server_error_id ?? 'unknown',
      `Mattermost ${route} failed (${err.status_code ?? '?'}): ${err.message}`,
      { cause: err },
    );
  }
  if (isTimeout(err))
    return new MattermostApiError(route, 0, 'timeout', `Mattermost ${route} timed out`, { cause: err });
  return new MattermostApiError(route, 0, 'network', `Mattermost ${route} failed: ${networkReason(err)}`, {
    cause: err,
  });
}

function startError(err: unknown, base: string, timeoutMs: number): MattermostStartError {
  if (err instanceof ClientError) {
    const status = err.status_code ?? 0;
    if (status === 401)
      return new MattermostStartError(
        'bad_token',
        `Mattermost at ${base} refused MATTERMOST_TOKEN (401: ${err.message || 'invalid or expired session'}): create an access token for the bot account (System Console → Integrations → Bot Accounts) and set MATTERMOST_TOKEN to it`,
        { cause: err },
      );
    if (status === 404)
      return new MattermostStartError(
        'not_mattermost',
        `${base} answered 404 for /api/v4/users/me: set MATTERMOST_URL to the Mattermost server's base address (without /api/v4)`,
        { cause: err },
      );
    if (status === 403)
      return new MattermostStartError(
        'bad_token',
        `Mattermost at ${base} refused MATTERMOST_TOKEN (403: ${err.message}): the account may be deactivated or not allowed to use access tokens`,
        { cause: err },
      );
    return new MattermostStartError(
      'unreachable',
      `Mattermost at ${base} answered ${status || 'an error'} for /api/v4/users/me${err.message ? ` (${err.message})` : ''}: try again when the server is up, or check MATTERMOST_URL`,
      { cause: err },
    );
  }
  if (isTimeout(err))
    return new MattermostStartError(
      'timeout',
      `Mattermost at ${base} did not answer within ${Math.round(timeoutMs / 1000)} s: check MATTERMOST_URL and the network`,
      { cause: err },
    );
  return new MattermostStartError(
    'unreachable',
    `Cannot reach Mattermost at ${base} (${networkReason(err)}): check MATTERMOST_URL and that the server is up`,
    { cause: err },
  );
}

/** A loggable summary of an error (no request bodies, no tokens). */
function describe(err: unknown): Record<string, unknown> {
  if (err instanceof MattermostApiError)
    return { route: err.route, status: err.status, id: err.errorId, message: err.message };
  return { message: err instanceof Error ? err.message : String(err) };
}
