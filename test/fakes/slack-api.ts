import { createHmac, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A loopback Slack: the Web API methods the adapter calls (form-encoded POSTs to /api/<method>, as
 * @slack/web-api sends them), `response_url` endpoints, and a Socket Mode websocket that
 * `apps.connections.open` hands out. It checks tokens and Block Kit limits like Slack does, records
 * every call, and can be told to fail a method (429 with Retry-After, or an error code).
 */

export const BOT_TOKEN = 'xoxb-0000000001-0000000002-fakebottokenvalue';
export const APP_TOKEN = 'xapp-1-A0APP000001-0000000003-fakeapptokenvalue';
export const SIGNING_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
export const TEAM_ID = 'T05PANDA01';
export const BOT_USER_ID = 'U07ASKPANDA';
export const BOT_ID = 'B07ASKPANDA';
export const APP_ID = 'A0APP000001';

export interface ApiCall {
  method: string;
  /** Form fields, with JSON-valued fields (blocks) decoded. */
  args: Record<string, unknown>;
  token: string | undefined;
  at: number;
}

export interface Posted {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks: unknown[];
  user: string;
  bot_id: string;
}

type Fault = { status: 429; retryAfter: number } | { error: string };

export interface ThreadMessage {
  ts: string;
  user?: string;
  bot_id?: string;
  text: string;
  thread_ts?: string;
}

const APP_TOKEN_METHODS = new Set(['apps.connections.open']);

export class FakeSlack extends EventEmitter {
  readonly calls: ApiCall[] = [];
  readonly responses: Array<{ id: string; body: Record<string, unknown> }> = [];
  readonly posted = new Map<string, Posted>();
  /** Earlier messages of threads, as conversations.replies returns them: key `${channel}:${thread_ts}`. */
  readonly threads = new Map<string, ThreadMessage[]>();
  /** Channels the bot is not a member of: posting there fails with not_in_channel. */
  readonly outsideChannels = new Set<string>();
  /** Error code for assistant.threads.setStatus (e.g. a workspace without assistant threads). */
  assistantStatusError: string | undefined;
  private readonly faults = new Map<string, Fault[]>();
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<WebSocket>();
  private readonly acks = new Map<string, (payload: unknown) => void>();
  private tsCounter = 0;
  private readonly tsBase = 1732806000;
  port = 0;

  constructor() {
    super();
    this.setMaxListeners(0);
    this.server = createServer((req, res) => void this.route(req, res));
    this.server.keepAliveTimeout = 5_000;
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname !== '/link' || !url.searchParams.get('ticket')) {
        socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws));
    });
  }

  static async start(): Promise<FakeSlack> {
    const fake = new FakeSlack();
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.port = (fake.server.address() as AddressInfo).port;
    return fake;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  get socketCount(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The next `times` calls of `method` fail this way. */
  fail(method: string, fault: Fault, times = 1): void {
    const list = this.faults.get(method) ?? [];
    for (let i = 0; i < times; i++) list.push(fault);
    this.faults.set(method, list);
  }

  callsOf(method: string): ApiCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Thread replies posted by the bot (chat.postMessage with a thread_ts), in order. */
  repliesIn(channel: string, threadTs: string): Posted[] {
    return [...this.posted.values()].filter((p) => p.channel === channel && p.thread_ts === threadTs);
  }

  /** Resolves with the calls once `count` calls of `method` match; rejects after `timeoutMs`. */
  async waitFor(
    method: string,
    predicate: (call: ApiCall) => boolean = () => true,
    count = 1,
    timeoutMs = 5_000,
  ): Promise<ApiCall[]> {
    const matching = () => this.calls.filter((c) => c.method === method && predicate(c));
    if (matching().length >= count) return matching();
    return new Promise((resolve, reject) => {
      const onCall = () => {
        const found = matching();
        if (found.length >= count) {
          clearTimeout(timer);
          this.off('call', onCall);
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        this.off('call', onCall);
        reject(
          new Error(
            `timed out waiting for ${count} × ${method} (saw ${matching().length}; all calls: ${this.calls.map((c) => c.method).join(', ')})`,
          ),
        );
      }, timeoutMs);
      this.on('call', onCall);
    });
  }

  nextTs(): string {
    this.tsCounter += 1;
    return `${this.tsBase + Math.floor(this.tsCounter / 1000)}.${String(this.tsCounter % 1000).padStart(3, '0')}100`;
  }

  // ---------------------------------------------------------------- Socket Mode

  /** Waits until the app has a Socket Mode connection. */
  async waitForSocket(timeoutMs = 5_000): Promise<void> {
    const start = Date.now();
    while (this.sockets.size === 0) {
      if (Date.now() - start > timeoutMs) throw new Error('no Socket Mode connection');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /**
   * Sends one envelope over one open socket (the first unless `socketIndex` says otherwise) and
   * resolves with the app's acknowledgement payload.
   */
  sendEnvelope(
    type: 'events_api' | 'slash_commands' | 'interactive',
    payload: unknown,
    options: { retryAttempt?: number; envelopeId?: string; socketIndex?: number } = {},
  ): Promise<unknown> {
    const envelopeId = options.envelopeId ?? randomUUID();
    const envelope = {
      envelope_id: envelopeId,
      payload,
      type,
      accepts_response_payload: type !== 'events_api',
      ...(type === 'events_api'
        ? { retry_attempt: options.retryAttempt ?? 0, retry_reason: options.retryAttempt ? 'timeout' : '' }
        : {}),
    };
    const acked = new Promise<unknown>((resolve) => this.acks.set(envelopeId, resolve));
    // Connections in the order they opened: a benchmark can drive two apps on one fake.
    const socket = [...this.sockets][options.socketIndex ?? 0];
    if (!socket) throw new Error('no Socket Mode connection to send on');
    socket.send(JSON.stringify(envelope));
    return acked;
  }

  /** Sends a frame as it is (malformed envelopes, binary, huge frames) on the first open socket. */
  sendRaw(frame: string | Buffer, options: { binary?: boolean; socketIndex?: number } = {}): void {
    const socket = [...this.sockets][options.socketIndex ?? 0];
    if (!socket) throw new Error('no Socket Mode connection to send on');
    socket.send(frame, { binary: options.binary ?? false });
  }

  /** Slack's "please reconnect" message (sent before it recycles a connection). */
  async sendDisconnect(reason = 'refresh_requested'): Promise<void> {
    for (const ws of this.sockets)
      ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-fake-1' } }));
  }

  private onSocket(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('message', (data) => {
      let message: { envelope_id?: string; payload?: unknown };
      try {
        message = JSON.parse(String(data)) as typeof message;
      } catch {
        return;
      }
      if (message.envelope_id) {
        this.acks.get(message.envelope_id)?.(message.payload ?? {});
        this.acks.delete(message.envelope_id);
      }
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.sockets.size,
        debug_info: { host: 'applink-fake-1', build_number: 118, approximate_connection_time: 18060 },
        connection_info: { app_id: APP_ID },
      }),
    );
  }

  // ---------------------------------------------------------------- Web API

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const raw = await readBody(req);
    if (url.pathname.startsWith('/respond/')) {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        res.writeHead(400).end('invalid_payload');
        return;
      }
      this.responses.push({ id: url.pathname.slice('/respond/'.length), body });
      this.emit('respond');
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (!url.pathname.startsWith('/api/') || req.method !== 'POST') {
      res.writeHead(404).end();
      return;
    }
    const method = url.pathname.slice('/api/'.length);
    const args = parseArgs(raw, String(req.headers['content-type'] ?? ''));
    const header = String(req.headers.authorization ?? '');
    const token = header.startsWith('Bearer ')
      ? header.slice(7)
      : typeof args.token === 'string'
        ? args.token
        : undefined;
    const call: ApiCall = { method, args, token, at: performance.now() };

    const fault = this.faults.get(method)?.shift();
    if (fault && 'status' in fault) {
      this.calls.push(call);
      this.emit('call', call);
      res
        .writeHead(429, { 'retry-after': String(fault.retryAfter), 'content-type': 'application/json' })
        .end(JSON.stringify({ ok: false, error: 'ratelimited' }));
      return;
    }
    const expected = APP_TOKEN_METHODS.has(method) ? APP_TOKEN : BOT_TOKEN;
    let result: Record<string, unknown>;
    if (token !== expected) result = { ok: false, error: token ? 'invalid_auth' : 'not_authed' };
    else if (fault) result = { ok: false, error: fault.error };
    else result = this.handle(method, args);
    this.calls.push(call);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(result));
    this.emit('call', call);
  }

  private handle(method: string, args: Record<string, unknown>): Record<string, unknown> {
    const channel = typeof args.channel === 'string' ? args.channel : '';
    switch (method) {
      case 'auth.test':
        return {
          ok: true,
          url: 'https://atlas-panda.slack.com/',
          team: 'ATLAS PanDA',
          user: 'askpanda',
          team_id: TEAM_ID,
          user_id: BOT_USER_ID,
          bot_id: BOT_ID,
          is_enterprise_install: false,
        };
      case 'apps.connections.open':
        return { ok: true, url: `ws://127.0.0.1:${this.port}/link?ticket=${randomUUID()}&app_id=${APP_ID}` };
      case 'chat.postMessage': {
        const problem = this.checkMessage(channel, args);
        if (problem) return { ok: false, error: problem };
        const ts = this.nextTs();
        const posted: Posted = {
          channel,
          ts,
          text: String(args.text ?? ''),
          blocks: Array.isArray(args.blocks) ? args.blocks : [],
          user: BOT_USER_ID,
          bot_id: BOT_ID,
          ...(typeof args.thread_ts === 'string' ? { thread_ts: args.thread_ts } : {}),
        };
        this.posted.set(`${channel}:${ts}`, posted);
        return {
          ok: true,
          channel,
          ts,
          message: {
            type: 'message',
            subtype: undefined,
            text: posted.text,
            user: BOT_USER_ID,
            bot_id: BOT_ID,
            ts,
            thread_ts: posted.thread_ts,
            blocks: posted.blocks,
          },
        };
      }
      case 'chat.update': {
        const key = `${channel}:${String(args.ts)}`;
        const existing = this.posted.get(key);
        if (!existing) return { ok: false, error: 'message_not_found' };
        const problem = this.checkMessage(channel, args);
        if (problem) return { ok: false, error: problem };
        existing.text = String(args.text ?? '');
        existing.blocks = Array.isArray(args.blocks) ? args.blocks : [];
        return { ok: true, channel, ts: existing.ts, text: existing.text };
      }
      case 'chat.postEphemeral':
        if (!channel || typeof args.user !== 'string') return { ok: false, error: 'invalid_arguments' };
        return { ok: true, message_ts: this.nextTs() };
      case 'conversations.replies': {
        const messages = this.threads.get(`${channel}:${String(args.ts)}`);
        if (!messages) return { ok: false, error: 'thread_not_found' };
        return { ok: true, messages, has_more: false, response_metadata: { next_cursor: '' } };
      }
      case 'reactions.add':
      case 'reactions.remove':
        if (!channel || typeof args.timestamp !== 'string' || typeof args.name !== 'string')
          return { ok: false, error: 'invalid_arguments' };
        return { ok: true };
      case 'assistant.threads.setStatus':
        if (
          typeof args.channel_id !== 'string' ||
          typeof args.thread_ts !== 'string' ||
          typeof args.status !== 'string'
        )
          return { ok: false, error: 'invalid_arguments' };
        return this.assistantStatusError ? { ok: false, error: this.assistantStatusError } : { ok: true };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  /** Slack's checks on a message: membership, 50 blocks, 3,000 characters per section, 40k text. */
  private checkMessage(channel: string, args: Record<string, unknown>): string | undefined {
    if (!channel) return 'channel_not_found';
    if (this.outsideChannels.has(channel)) return 'not_in_channel';
    const text = typeof args.text === 'string' ? args.text : '';
    const blocks = args.blocks;
    if (!text && !(Array.isArray(blocks) && blocks.length)) return 'no_text';
    if (text.length > 40_000) return 'msg_too_long';
    if (blocks !== undefined) {
      if (!Array.isArray(blocks) || blocks.length > 50) return 'invalid_blocks';
      for (const block of blocks as Array<Record<string, unknown>>) {
        const section = block.text as { text?: unknown } | undefined;
        if (
          block.type === 'section' &&
          (typeof section?.text !== 'string' || section.text.length > 3000 || section.text.length === 0)
        )
          return 'invalid_blocks';
        if (block.type === 'actions') {
          const elements = block.elements as Array<{ text?: { text?: string }; value?: string; action_id?: string }>;
          if (!Array.isArray(elements) || elements.length === 0 || elements.length > 25) return 'invalid_blocks';
          for (const e of elements) {
            if ((e.text?.text?.length ?? 0) > 75 || (e.value?.length ?? 0) > 2000 || !e.action_id)
              return 'invalid_blocks';
          }
        }
      }
    }
    return undefined;
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseArgs(raw: string, contentType: string): Record<string, unknown> {
  if (contentType.includes('application/json')) {
    try {
      return JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  const args: Record<string, unknown> = Object.fromEntries(new URLSearchParams(raw));
  for (const key of ['blocks', 'attachments', 'metadata']) {
    if (typeof args[key] === 'string') {
      try {
        args[key] = JSON.parse(args[key] as string);
      } catch {
        // left as the string Slack would reject
      }
    }
  }
  return args;
}

// ---------------------------------------------------------------- payload builders (what Slack sends)

let eventCounter = 0;

/** An Events API `event_callback` wrapping one event, as Slack posts it (HTTP) or wraps it (Socket Mode). */
export function eventCallback(
  event: Record<string, unknown>,
  eventId = `Ev0${(++eventCounter).toString().padStart(9, '0')}PANDA`,
): Record<string, unknown> {
  return {
    token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl',
    team_id: TEAM_ID,
    context_team_id: TEAM_ID,
    api_app_id: APP_ID,
    event: { event_ts: event.ts, ...event },
    type: 'event_callback',
    event_id: eventId,
    event_time: 1732806000,
    authorizations: [
      { enterprise_id: null, team_id: TEAM_ID, user_id: BOT_USER_ID, is_bot: true, is_enterprise_install: false },
    ],
    is_ext_shared_channel: false,
    event_context: '4-eyJldCI6ImFwcF9tZW50aW9uIiwidGlkIjoiVDA1UEFOREEwMSJ9',
  };
}

export function mentionEvent(
  channel: string,
  user: string,
  text: string,
  ts: string,
  threadTs?: string,
): Record<string, unknown> {
  return {
    type: 'app_mention',
    user,
    text,
    ts,
    channel,
    team: TEAM_ID,
    client_msg_id: randomUUID(),
    ...(threadTs ? { thread_ts: threadTs } : {}),
  };
}

export function messageEvent(
  channel: string,
  user: string,
  text: string,
  ts: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    type: 'message',
    user,
    text,
    ts,
    channel,
    team: TEAM_ID,
    client_msg_id: randomUUID(),
    channel_type: channel.startsWith('D') ? 'im' : 'channel',
    ...extra,
  };
}

/** A `block_actions` payload for a click on one of the bot's buttons. */
export function blockActions(options: {
  channel: string;
  user: string;
  messageTs: string;
  threadTs?: string;
  actionId: string;
  value: string;
  text?: string;
  responseUrl: string;
}): Record<string, unknown> {
  return {
    type: 'block_actions',
    user: { id: options.user, username: 'ana.physicist', name: 'ana.physicist', team_id: TEAM_ID },
    api_app_id: APP_ID,
    token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl',
    container: {
      type: 'message',
      message_ts: options.messageTs,
      channel_id: options.channel,
      is_ephemeral: false,
      ...(options.threadTs ? { thread_ts: options.threadTs } : {}),
    },
    trigger_id: `${Date.now()}.1234567890.abcdef`,
    team: { id: TEAM_ID, domain: 'atlas-panda' },
    channel: { id: options.channel, name: 'panda-help' },
    message: {
      type: 'message',
      user: BOT_USER_ID,
      bot_id: BOT_ID,
      ts: options.messageTs,
      text: options.text ?? 'answer',
      ...(options.threadTs ? { thread_ts: options.threadTs } : {}),
    },
    response_url: options.responseUrl,
    actions: [
      {
        action_id: options.actionId,
        block_id: 'askpanda_followups',
        text: { type: 'plain_text', text: 'button', emoji: true },
        value: options.value,
        type: 'button',
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
}

/** The fields Slack posts for a slash command. */
export function slashCommand(options: {
  channel: string;
  user: string;
  text: string;
  responseUrl: string;
  command?: string;
}): Record<string, string> {
  return {
    token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl',
    team_id: TEAM_ID,
    team_domain: 'atlas-panda',
    channel_id: options.channel,
    channel_name: 'panda-help',
    user_id: options.user,
    user_name: 'ana.physicist',
    command: options.command ?? '/askpanda',
    text: options.text,
    api_app_id: APP_ID,
    is_enterprise_install: 'false',
    response_url: options.responseUrl,
    trigger_id: `${Date.now()}.${Math.floor(Math.random() * 1e9)}.0f6a1b2c3d4e5f`,
  };
}

// ---------------------------------------------------------------- HTTP events (what Slack signs and posts)

/** Slack's v0 request signature: HMAC-SHA256 over `v0:<timestamp>:<raw body>`. */
export function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface SignedPostOptions {
  secret?: string;
  timestamp?: number;
  retryNum?: number;
  /** Overrides the computed signature (forgery tests). */
  signature?: string;
  form?: boolean;
}

/** Posts a body to the app's events URL the way Slack does: signed, JSON or form-encoded. */
/**
 * fetch, sent once more when the connection it reused turns out to be closed (reset before any
 * answer): the app's server closes keep-alive connections idle for 5 s, and on a loaded machine the
 * client can pick one up in the moment it does. Slack delivers such an event again too.
 */
export async function fetchToApp(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    const code = (err as { cause?: { code?: unknown } }).cause?.code;
    if (code !== 'ECONNRESET' && code !== 'EPIPE' && code !== 'UND_ERR_SOCKET') throw err;
    return fetch(url, init);
  }
}

export async function postSigned(
  url: string,
  payload: Record<string, unknown> | string,
  options: SignedPostOptions = {},
): Promise<Response> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const headers: Record<string, string> = {
    'content-type':
      options.form || typeof payload === 'string' ? 'application/x-www-form-urlencoded' : 'application/json',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': options.signature ?? slackSignature(options.secret ?? SIGNING_SECRET, timestamp, body),
    'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
  };
  if (options.retryNum !== undefined) {
    headers['x-slack-retry-num'] = String(options.retryNum);
    headers['x-slack-retry-reason'] = 'http_timeout';
  }
  return fetchToApp(url, { method: 'POST', headers, body });
}

/** Form body of an interactive payload (`payload=<json>`), as Slack posts button clicks. */
export function interactiveForm(payload: Record<string, unknown>): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
