import { EventEmitter } from 'node:events';
import { mattermostReconnectsTotal } from '../../core/metrics.ts';
import { silentLogger, type Logger } from '../../util/log.ts';
import { badUrlError, describeError, MattermostStartError } from './errors.ts';
import { parsePostEventData, type MattermostPostEvent } from './events.ts';
import { withDefaults, type ConnectionSettings, type MattermostConnectionOptions } from './options.ts';
import { MattermostResync, type ResyncResult, type ResyncTrigger } from './resync.ts';
import { MattermostRest, normalizeBaseUrl, type MattermostBot } from './rest.ts';
import { EventSocket, HelloDataSchema, SKIPPED_EVENT, type EventFrame, type ReconnectReason } from './socket.ts';

/**
 * The Mattermost transport: the real @mattermost/client (Client4 for REST, WebSocketClient for
 * events) behind a small API the adapter glue calls. It owns everything about the connection and
 * nothing about answering. This file is its lifecycle; the parts are in their own files:
 *
 * - `start()` checks the token (`GET /users/me`), reads `MaxPostSize` once and opens the
 *   websocket; a bad token, a wrong URL or a server out of reach fails with one line saying what
 *   to fix (`MattermostStartError`, errors.ts). `rest` (rest.ts) makes every REST call, each with
 *   a time-out, 429s waited out and reads retried (bounded-client4.ts).
 * - The websocket (socket.ts) authenticates at the upgrade and with the `authentication_challenge`,
 *   pings, reconnects, and checks every frame; every post is checked before the glue sees it.
 * - After any websocket trouble (a reconnect, a sequence gap, a `hello` with a new `connection_id`)
 *   a resync re-reads what was posted since the newest post seen in each channel and hands what no
 *   event delivered to the same `onPost` callback, each once (resync.ts). A socket that stays open
 *   but carries nothing is noticed by the client's ping deadline (no pong) or by the periodic check
 *   of each channel's newest post, and is reconnected.
 *
 * Events (`on(...)`): `connected` {connectionId, resync} after each hello; `reconnected` {reason}
 * when a socket opens again; `disconnected` {failures} when one closes; `resynced` {trigger,
 * channels, behind, read, posts, failedChannels} after a re-read.
 */

export interface ConnectionEvents {
  connected: [{ connectionId: string; resync: boolean }];
  reconnected: [{ reason: ReconnectReason }];
  disconnected: [{ failures: number }];
  resynced: [ResyncResult];
}

/** A post committed just before the newest one seen can have its event sent after it. */
const RESYNC_OVERLAP_MS = 2_000;
/** Events in flight arrive within this on a healthy socket: a post read meanwhile is not "missed". */
const RESYNC_SETTLE_MS = 300;

export class MattermostConnection extends EventEmitter<ConnectionEvents> {
  /** The REST calls; they keep working after `stop()`, so answers in progress can finish. */
  readonly rest: MattermostRest;
  private readonly baseUrl: string | undefined;
  private readonly logger: Logger;
  private readonly settings: ConnectionSettings;
  private readonly resync: MattermostResync;
  private socket: EventSocket | undefined;
  private missedEvents = false;
  private helloSeen = false;
  private firstHello = true;
  private started = false;
  private stopped = false;
  private resyncTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(options: MattermostConnectionOptions) {
    super();
    this.settings = withDefaults(options);
    this.baseUrl = normalizeBaseUrl(options.url);
    this.logger = options.logger ?? silentLogger;
    this.rest = new MattermostRest(
      {
        baseUrl: this.baseUrl,
        token: options.token,
        timeoutMs: this.settings.requestTimeoutMs,
        maxRetryAfterMs: this.settings.maxRetryAfterMs,
      },
      this.logger,
    );
    this.resync = new MattermostResync(
      this.rest,
      {
        deliver: (post, channelType) =>
          this.deliver({ event: 'posted', post, channelType, mentions: [], source: 'resync' }),
        onDone: (result) => this.emit('resynced', result),
      },
      {
        maxAgeMs: this.settings.resyncMaxAgeMs,
        maxChannels: this.settings.resyncMaxChannels,
        maxPostsPerChannel: this.settings.resyncMaxPostsPerChannel,
        overlapMs: RESYNC_OVERLAP_MS,
        settleMs: RESYNC_SETTLE_MS,
        handoff: this.settings.resyncHandoff,
      },
      this.logger,
    );
  }

  /** The bot's identity; available after `start()`. */
  get bot(): MattermostBot {
    return this.rest.bot;
  }

  /** The server's post limit in code points, read once at start. */
  get maxPostSize(): number {
    return this.rest.maxPostSize;
  }

  /** True while a websocket is open and the server talks on it (a hello, or a resumed socket's replies). */
  get connected(): boolean {
    return this.socket?.isOpen === true && (this.helloSeen || this.socket.heard);
  }

  /**
   * Checks the token, reads the post limit and opens the websocket; resolves with the bot once the
   * first hello arrived. Throws MattermostStartError (and leaves nothing running) otherwise.
   */
  async start(): Promise<MattermostBot> {
    const { base, bot } = await this.identify();
    await this.resync
      .baseline()
      .catch((err: unknown) =>
        this.logger.warn(
          { err: describeError(err) },
          'could not list the Mattermost channels at start; posts missed in them are looked for from now on',
        ),
      );
    try {
      await this.openWebsocket(base);
    } catch (err) {
      await this.stop();
      throw err;
    }
    return bot;
  }

  /**
   * Checks the token and reads the post limit, without a websocket: for posting only
   * (`askpanda digest run` from system cron). Throws MattermostStartError like start().
   */
  async startRest(): Promise<MattermostBot> {
    return (await this.identify()).bot;
  }

  /** Closes the websocket and stops resyncing. REST calls keep working, so answers can finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.resyncTimer);
    clearInterval(this.checkTimer);
    this.socket?.close();
    await this.resync.stop();
  }

  /** Resolves when no resync runs and every missed post it handed over has been dealt with. */
  idle(): Promise<void> {
    return this.resync.idle();
  }

  // ------------------------------------------------------------------ start

  private async identify(): Promise<{ base: string; bot: MattermostBot }> {
    if (this.started)
      throw new Error('MattermostConnection: start() may be called once; make a new connection to retry');
    this.started = true;
    const base = this.baseUrl;
    if (!base) throw badUrlError(this.settings.url);
    return { base, bot: await this.rest.identify(base) };
  }

  private openWebsocket(base: string): Promise<void> {
    const { reconnect, pingIntervalMs, requestTimeoutMs, startTimeoutMs, token } = this.settings;
    const socket = new EventSocket(
      { token, reconnect, pingIntervalMs, handshakeTimeoutMs: requestTimeoutMs, logger: this.logger },
      {
        frame: (frame) => this.onFrame(frame),
        missed: () => {
          this.missedEvents = true;
          this.resync.trouble();
        },
        reconnected: (reason) => this.onReconnect(reason),
        closed: (failures) => {
          // The id is kept (the client sends it to resume); `connected` waits for the next hello.
          this.helloSeen = false;
          this.resync.trouble();
          if (failures === 1) this.logger.warn('Mattermost websocket closed; reconnecting');
          this.emit('disconnected', { failures });
        },
      },
    );
    this.socket = socket;
    const firstHello = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new MattermostStartError(
            'websocket',
            `Mattermost at ${base} accepted the token, but its websocket (/api/v4/websocket) did not connect ` +
              `within ${Math.round(startTimeoutMs / 1000)} s: check that proxies in between pass websocket upgrades`,
          ),
        );
      }, startTimeoutMs);
      this.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    // The listeners are in place before the socket opens: the hello that reports lost events can be the first frame.
    socket.open(`${base.replace(/^http/, 'ws')}/api/v4/websocket`);
    return firstHello;
  }

  // ------------------------------------------------------------------ events

  private onFrame(message: EventFrame): void {
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
      return Promise.resolve(this.settings.onPost(event)).catch((err: unknown) =>
        this.logger.error({ err, postId: event.post.id }, 'Mattermost post handler failed'),
      );
    } catch (err) {
      this.logger.error({ err, postId: event.post.id }, 'Mattermost post handler failed');
      return Promise.resolve();
    }
  }

  // ------------------------------------------------------------------ trouble

  /**
   * A socket opened again. A resumed socket replays what the server still had before anything
   * else, so the resync waits a moment: it then reads the channels that had posts meanwhile (a page
   * each) and finds only what the server could not replay.
   */
  private onReconnect(reason: ReconnectReason): void {
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
      this.socket.kill('stalled');
      this.resync.request('stalled');
    } catch (err) {
      this.logger.warn({ err: describeError(err) }, 'Mattermost websocket check failed; trying again at the next one');
    } finally {
      this.checking = false;
    }
  }
}
