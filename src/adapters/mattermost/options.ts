import type { Logger } from '../../util/log.ts';
import type { MattermostPostEvent } from './events.ts';
import type { ReconnectPacing } from './socket.ts';

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
  /**
   * How long after a socket reopens (or a `posted` event arrives broken) its resync starts: a
   * resumed socket replays first; default 1 s.
   */
  reconnectResyncDelayMs?: number;
  /** Period of the check of each channel's newest post against what arrived (0: off); default 60 s. */
  checkIntervalMs?: number;
  /**
   * Re-read posts handed to `onPost` at the same time (until its promise settles): in all (default
   * 8) and of one author (default 1). Keep them under the conversation core's limits.
   */
  resyncHandoff?: { total?: number; perAuthor?: number };
  /** Websocket reconnect pacing: first retries at `minMs` (+ up to `jitterMs`), then quadratic up to `maxMs`. */
  reconnect?: Partial<ReconnectPacing>;
  /**
   * The client's ping period; a ping unanswered by the next one reconnects (a dead socket is
   * noticed within two periods). Default 30 s.
   */
  pingIntervalMs?: number;
  /** A 429 asking to wait longer than this fails instead of waiting; default 30 s. */
  maxRetryAfterMs?: number;
  /** How long `start()` waits for the websocket's first hello; default 15 s. */
  startTimeoutMs?: number;
}

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
  resyncHandoff: { total: 8, perAuthor: 1 },
} as const;

/** The options with every default filled in. */
export type ConnectionSettings = Required<
  Omit<MattermostConnectionOptions, 'logger' | 'reconnect' | 'resyncHandoff'>
> & {
  reconnect: ReconnectPacing;
  resyncHandoff: { total: number; perAuthor: number };
};

export function withDefaults(options: MattermostConnectionOptions): ConnectionSettings {
  return {
    url: options.url,
    token: options.token,
    onPost: options.onPost,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
    resyncMaxAgeMs: options.resyncMaxAgeMs ?? DEFAULTS.resyncMaxAgeMs,
    resyncMaxChannels: options.resyncMaxChannels ?? DEFAULTS.resyncMaxChannels,
    resyncMaxPostsPerChannel: options.resyncMaxPostsPerChannel ?? DEFAULTS.resyncMaxPostsPerChannel,
    reconnectResyncDelayMs: options.reconnectResyncDelayMs ?? DEFAULTS.reconnectResyncDelayMs,
    checkIntervalMs: options.checkIntervalMs ?? DEFAULTS.checkIntervalMs,
    pingIntervalMs: options.pingIntervalMs ?? DEFAULTS.pingIntervalMs,
    maxRetryAfterMs: options.maxRetryAfterMs ?? DEFAULTS.maxRetryAfterMs,
    startTimeoutMs: options.startTimeoutMs ?? DEFAULTS.startTimeoutMs,
    reconnect: { ...DEFAULTS.reconnect, ...options.reconnect },
    resyncHandoff: {
      total: options.resyncHandoff?.total ?? DEFAULTS.resyncHandoff.total,
      perAuthor: options.resyncHandoff?.perAuthor ?? DEFAULTS.resyncHandoff.perAuthor,
    },
  };
}
