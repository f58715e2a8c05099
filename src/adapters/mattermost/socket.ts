import mm from '@mattermost/client';
import { WebSocket as NodeWebSocket } from 'ws';
import { z } from 'zod';
import type { Logger } from '../../util/log.ts';

const { WebSocketClient } = mm;

/**
 * The websocket the bot's events arrive on: WebSocketClient's pings, sequence checks and
 * reconnects (backoff and jitter, for as long as the process runs) over a `ws` socket that
 * authenticates at the upgrade, so the server can resume it after a short drop. Every frame is
 * checked before the client sees it: a bad frame is logged and skipped, never thrown.
 */

/** Why the socket had to be opened again. */
export type ReconnectReason = 'sequence_gap' | 'ping_timeout' | 'stalled' | 'closed';

/** The close codes WebSocketClient gives its own closes (sent back as `disconnect_err_code`). */
const CLIENT_CLOSE_REASONS: Record<string, ReconnectReason> = { '4000': 'ping_timeout', '4001': 'sequence_gap' };

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
export const HelloDataSchema = z.object({ connection_id: z.string().min(1) });

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

/** A frame as the client hands it on: a server event, a hello, or a skipped frame's stand-in. */
export interface EventFrame {
  event: string;
  data: Record<string, unknown>;
}

/** First retries at `minMs` (+ up to `jitterMs`), then quadratic up to `maxMs`. */
export interface ReconnectPacing {
  minMs: number;
  maxMs: number;
  jitterMs: number;
  failuresBeforeBackoff: number;
}

export interface EventSocketOptions {
  token: string;
  reconnect: ReconnectPacing;
  /** A ping unanswered by the next one reconnects. */
  pingIntervalMs: number;
  handshakeTimeoutMs: number;
  logger: Logger;
}

export interface EventSocketListeners {
  frame(frame: EventFrame): void;
  /** The client saw a sequence gap or a hello with a new connection id: events were lost. */
  missed(): void;
  /** A socket opened again; `reason` says why the one before it closed. */
  reconnected(reason: ReconnectReason): void;
  closed(failures: number): void;
}

/** WebSocketClient over GuardedSockets, and the reason behind each reconnect. */
export class EventSocket {
  private readonly client: InstanceType<typeof WebSocketClient>;
  private socket: GuardedSocket | undefined;
  /** Set when this side ended a socket that stayed open but carried nothing. */
  private forcedReason: ReconnectReason | undefined;

  constructor(
    private readonly options: EventSocketOptions,
    listeners: EventSocketListeners,
  ) {
    installWebSocketGlobals();
    const { reconnect, pingIntervalMs, handshakeTimeoutMs, token, logger } = options;
    this.client = new WebSocketClient({
      minWebSocketRetryTime: reconnect.minMs,
      maxWebSocketRetryTime: reconnect.maxMs,
      reconnectJitterRange: reconnect.jitterMs,
      maxWebSocketFails: reconnect.failuresBeforeBackoff,
      clientPingInterval: pingIntervalMs,
      newWebSocketFn: (url: string) => {
        this.socket?.destroy();
        this.socket = new GuardedSocket(url, token, handshakeTimeoutMs, logger);
        return this.socket as unknown as WebSocket;
      },
    });
    this.client.addMessageListener((message) => listeners.frame(message as unknown as EventFrame));
    this.client.addMissedMessageListener(() => listeners.missed());
    this.client.addReconnectListener(() => listeners.reconnected(this.reconnectReason()));
    this.client.addCloseListener((failures) => listeners.closed(failures));
    this.client.addErrorListener(() => undefined);
  }

  /** Connects to `url` (`wss://…/api/v4/websocket`); the listeners hear everything from here on. */
  open(url: string): void {
    this.client.initialize(url, this.options.token);
  }

  get isOpen(): boolean {
    return this.socket?.readyState === NodeWebSocket.OPEN;
  }

  /** The server has talked on the current socket (a resumed socket sends no hello). */
  get heard(): boolean {
    return this.socket?.heard ?? false;
  }

  /** Ends the current socket at once; the client reconnects, and the reconnect reports `reason`. */
  kill(reason: ReconnectReason): void {
    if (!this.socket) return;
    this.forcedReason = reason;
    this.socket.kill();
  }

  /** Closes for good: no reconnect, nothing reported. */
  close(): void {
    this.client.close();
    this.socket?.destroy();
    this.socket = undefined;
  }

  /** The reason is the close code the client puts in the new socket's URL, unless this side ended the last one. */
  private reconnectReason(): ReconnectReason {
    const code = this.socket ? new URL(this.socket.url).searchParams.get('disconnect_err_code') : null;
    const reason = this.forcedReason ?? CLIENT_CLOSE_REASONS[code ?? ''] ?? 'closed';
    this.forcedReason = undefined;
    return reason;
  }
}
