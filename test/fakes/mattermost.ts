import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A loopback Mattermost server: the REST v4 routes and the websocket a bot uses, with the wire
 * behaviour of mattermost-server (checked against its source: api4/post.go, api4/websocket.go,
 * app/platform/web_conn.go, web_hub.go, websocket_router.go, app/post_action.go, app/command.go).
 *
 * - REST: `Authorization: Bearer|Token <token>`; errors are `{id, message, detailed_error,
 *   request_id, status_code}` with `Content-Type: application/json` exactly (Client4 parses JSON
 *   only for that); a 429 is the rate limiter's plain-text `limit exceeded` with `Retry-After` and
 *   `X-Ratelimit-*` headers. Posts longer than `maxPostSize` code points get a 400.
 * - Websocket `/api/v4/websocket`: a session from the upgrade's Authorization header, or from the
 *   `authentication_challenge` action (answered `{status:"OK", seq_reply}`; a bad token closes the
 *   socket). A fresh connection gets `hello` at seq 0 with a new `connection_id`; events follow with
 *   seq 1, 2, …. A reconnect that names a known, inactive `connection_id` with a session at upgrade
 *   resumes: missed events are replayed from the dead queue (same seqs, no hello) and queued ones
 *   follow; a sequence the server no longer has means a new connection id and a new `hello`. A
 *   connection id whose old socket the server still holds open (it has not seen that socket close:
 *   a half-open TCP connection) is not resumed: the reconnect gets a new id and a `hello`, as
 *   hub.CheckConn finds only inactive connections. A challenge-only client (no session at upgrade)
 *   always gets a new connection id, as the real server does.
 * - `posted` carries `data.post` as a JSON string and `data.mentions` as a JSON string array only
 *   when someone is mentioned; in a DM the other member is always mentioned.
 * - `GET /channels/{id}/posts` like api4 getPostsForChannel: `since` returns at most 1000 posts
 *   updated since then (deleted ones too) plus their thread roots, `order` listing only the updated
 *   ones; `page`/`per_page` (60 by default, 200 at most) pages newest first, `order` listing the
 *   page and `posts` adding the page's thread roots (and, unless `skipFetchThreads`, their replies).
 * - Test controls: users, channels, users posting, dropping the socket, a restart, replays, gaps
 *   (once, or on every event), a half-open socket, a socket that stops carrying events while it
 *   still answers pings, bad frames, faults per route, and the server's outbound calls (slash
 *   commands, button clicks).
 */

export const BOT_TOKEN = 'b7ot3askpandatoken8e1kmcpq'; // 26 characters, like a personal access token
export const BOT_USERNAME = 'askpanda';
export const SITE_VERSION = '11.9.0';

const ID_ALPHABET = 'ybndrfg8ejkmcpqxot1uwisza345h769';

/** A Mattermost id: 26 characters of its base32 alphabet. */
export function newId(): string {
  const bytes = randomBytes(26);
  let id = '';
  for (const byte of bytes) id += ID_ALPHABET[byte & 31];
  return id;
}

export type ChannelType = 'O' | 'P' | 'D' | 'G';

export interface FakeUser {
  id: string;
  username: string;
  is_bot: boolean;
  first_name: string;
  last_name: string;
  nickname: string;
  email: string;
  roles: string;
  create_at: number;
  update_at: number;
  delete_at: number;
  locale: string;
}

export interface FakeChannel {
  id: string;
  team_id: string;
  type: ChannelType;
  name: string;
  display_name: string;
  create_at: number;
  last_post_at: number;
  members: Set<string>;
}

export interface FakePost {
  id: string;
  create_at: number;
  update_at: number;
  edit_at: number;
  delete_at: number;
  is_pinned: boolean;
  user_id: string;
  channel_id: string;
  root_id: string;
  original_id: string;
  message: string;
  type: string;
  props: Record<string, unknown>;
  hashtags: string;
  pending_post_id: string;
  reply_count: number;
  metadata: Record<string, unknown>;
}

export interface RestCall {
  /** Client4's name for the route: createPost, patchPost, getPostThread, getPostsSince, … */
  route: string;
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  token: string | undefined;
  status: number;
  at: number;
}

export interface TypingCall {
  userId: string;
  channelId: string;
  parentId: string;
  via: 'rest' | 'websocket';
  at: number;
}

export interface EphemeralPost {
  userId: string;
  post: FakePost;
}

export interface Reaction {
  user_id: string;
  post_id: string;
  emoji_name: string;
  create_at: number;
}

/** What the server sent back to the bot's `response_url` after a slash command. */
export interface ResponseUrlCall {
  hookId: string;
  body: unknown;
  contentType: string | undefined;
  at: number;
}

export type Fault =
  /** Without `retryAfterSeconds`: a 429 from something in front of the server, with no rate limit headers. */
  | { status: 429; retryAfterSeconds?: number }
  | { status: number; id?: string; message?: string }
  | { hangMs: number }
  | { destroy: true };

interface Frame {
  event: string;
  data: Record<string, unknown>;
  broadcast: Record<string, unknown>;
}

/** One websocket connection as the server's hub keeps it: alive across drops until a restart. */
interface Connection {
  id: string;
  userId: string;
  /** The seq the next event gets. */
  nextSeq: number;
  /** Events already sent, with their seq (the last 128), for a lossless resume. */
  dead: Array<{ seq: number; frame: Frame }>;
  /** Events produced while no socket was attached, sent on resume. */
  pending: Frame[];
  socket: WebSocket | undefined;
}

interface SocketState {
  ws: WebSocket;
  userId: string | undefined;
  connection: Connection | undefined;
}

interface CommandHook {
  id: string;
  userId: string;
  channelId: string;
  uses: number;
}

const DEAD_QUEUE_SIZE = 128;
const SEND_QUEUE_SIZE = 256;

function jsonError(status: number, id: string, message: string): { status: number; body: Record<string, unknown> } {
  return { status, body: { id, message, detailed_error: '', request_id: newId(), status_code: status } };
}

const UNAUTHORIZED = () =>
  jsonError(401, 'api.context.session_expired.app_error', 'Invalid or expired session, please login again.');
const FORBIDDEN = () =>
  jsonError(403, 'api.context.permissions.app_error', 'You do not have the appropriate permissions.');
const NOT_FOUND = () => jsonError(404, 'api.context.404.app_error', 'Sorry, we could not find the page.');

/** Mattermost counts message length in runes (code points). */
function runeCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

type Handler = (ctx: RequestContext) => Promise<{ status: number; body: unknown }> | { status: number; body: unknown };

interface RequestContext {
  req: IncomingMessage;
  params: string[];
  query: URLSearchParams;
  body: unknown;
  user: FakeUser;
}

export interface StartOptions {
  /** MaxPostSize reported by /config/client and enforced on posts; default 16383. */
  maxPostSize?: number;
  botUsername?: string;
}

export class FakeMattermost extends EventEmitter {
  readonly users = new Map<string, FakeUser>();
  readonly channels = new Map<string, FakeChannel>();
  readonly posts = new Map<string, FakePost>();
  readonly calls: RestCall[] = [];
  readonly typing: TypingCall[] = [];
  readonly ephemeral: EphemeralPost[] = [];
  readonly reactions: Reaction[] = [];
  readonly responseUrlCalls: ResponseUrlCall[] = [];
  /** Every hello the server sent, in order: a new id is a new connection from the client's view. */
  readonly hellos: Array<{ connectionId: string; userId: string; at: number }> = [];
  readonly team = { id: newId(), name: 'atlas', display_name: 'ATLAS', type: 'O' };
  readonly bot: FakeUser;
  /** Tokens the server knows, and whose session each is. */
  readonly tokens = new Map<string, string>();
  maxPostSize: number;
  /** `POST /posts/ephemeral` needs `create_post_ephemeral`, which bot accounts often lack. */
  ephemeralAllowed = true;
  /** Answer the client's websocket `ping` action (turn off to make the client time out). */
  answerPings = true;
  /** Accept websocket upgrades (turn off to make reconnects fail with 503). */
  acceptWebsockets = true;
  /**
   * Skip a sequence number before every event (not hellos): each event then reaches the client as
   * a gap, and each resume asks for a seq the server never used (so a new connection id follows).
   */
  gapEveryEvent = false;
  port = 0;

  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sockets = new Set<SocketState>();
  /**
   * Sockets that no longer carry events: `muted` (events are numbered, kept in the dead queue and
   * dropped, pings still answered) or `halfOpen` (nothing in either direction, and the server never
   * learns that the client closed it).
   */
  private readonly socketFaults = new WeakMap<WebSocket, 'muted' | 'halfOpen'>();
  private readonly connections = new Map<string, Connection>();
  private readonly hooks = new Map<string, CommandHook>();
  private readonly faults = new Map<string, Fault[]>();
  private readonly openSockets = new Set<Socket>();
  /** Requests held by a `hangMs` fault, released early on close. */
  private readonly hanging = new Map<ServerResponse, () => void>();
  private lastMillis = 0;
  private readonly routes: Array<{
    method: string;
    pattern: RegExp;
    name: string | ((query: URLSearchParams) => string);
    handler: Handler;
  }> = [];

  private constructor(options: StartOptions) {
    super();
    this.setMaxListeners(0);
    this.maxPostSize = options.maxPostSize ?? 16383;
    this.bot = this.addUser({ username: options.botUsername ?? BOT_USERNAME, isBot: true });
    this.tokens.set(BOT_TOKEN, this.bot.id);
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.openSockets.add(socket);
      socket.on('close', () => this.openSockets.delete(socket));
    });
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket as Socket, head));
    this.defineRoutes();
  }

  static async start(options: StartOptions = {}): Promise<FakeMattermost> {
    const fake = new FakeMattermost(options);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.port = (fake.server.address() as AddressInfo).port;
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const state of this.sockets) state.ws.terminate();
    this.wss.close();
    for (const [res, release] of this.hanging) {
      res.destroy();
      release();
    }
    this.server.closeAllConnections();
    for (const socket of this.openSockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ------------------------------------------------------------------ people and places

  addUser(options: { username: string; isBot?: boolean; firstName?: string }): FakeUser {
    const now = this.millis();
    const user: FakeUser = {
      id: newId(),
      username: options.username,
      is_bot: options.isBot ?? false,
      first_name: options.firstName ?? '',
      last_name: '',
      nickname: '',
      email: options.isBot ? '' : `${options.username}@cern.ch`,
      roles: 'system_user',
      create_at: now,
      update_at: now,
      delete_at: 0,
      locale: 'en',
    };
    this.users.set(user.id, user);
    this.emit('change');
    return user;
  }

  /** A public (`O`) or private (`P`) channel of the team; the bot is a member unless told not to. */
  addChannel(options: { name: string; type?: 'O' | 'P'; members?: FakeUser[]; withBot?: boolean }): FakeChannel {
    const members = new Set((options.members ?? []).map((u) => u.id));
    if (options.withBot ?? true) members.add(this.bot.id);
    return this.storeChannel({
      team_id: this.team.id,
      type: options.type ?? 'O',
      name: options.name,
      display_name: options.name,
      members,
    });
  }

  /** The DM channel between the bot and `user` (created once, like the real one). */
  directChannel(user: FakeUser): FakeChannel {
    const name = [this.bot.id, user.id].sort().join('__');
    const existing = [...this.channels.values()].find((c) => c.name === name);
    if (existing) return existing;
    return this.storeChannel({
      team_id: '',
      type: 'D',
      name,
      display_name: '',
      members: new Set([this.bot.id, user.id]),
    });
  }

  /** A group message channel of the bot and `users`. */
  groupChannel(users: FakeUser[]): FakeChannel {
    return this.storeChannel({
      team_id: '',
      type: 'G',
      name: newId(),
      display_name: users.map((u) => u.username).join(', '),
      members: new Set([this.bot.id, ...users.map((u) => u.id)]),
    });
  }

  private storeChannel(fields: Omit<FakeChannel, 'id' | 'create_at' | 'last_post_at'>): FakeChannel {
    const channel: FakeChannel = { id: newId(), create_at: this.millis(), last_post_at: 0, ...fields };
    this.channels.set(channel.id, channel);
    return channel;
  }

  // ------------------------------------------------------------------ posting as people

  /**
   * `user` writes in `channel` (a reply when `rootId` is given): stored, then broadcast as `posted`
   * to the members' websockets. A bot author gets `props.from_bot`, as the server adds it.
   */
  userPosts(
    user: FakeUser,
    channel: FakeChannel,
    message: string,
    options: { rootId?: string; props?: Record<string, unknown>; type?: string; createAt?: number } = {},
  ): FakePost {
    const post = this.storePost(
      {
        user_id: user.id,
        channel_id: channel.id,
        root_id: options.rootId ?? '',
        message,
        type: options.type ?? '',
        props: { ...(options.props ?? {}) },
      },
      options.createAt,
    );
    this.broadcastPosted(post);
    return post;
  }

  /** An incoming webhook's post: made as its creator with `props.from_webhook`. */
  webhookPosts(creator: FakeUser, channel: FakeChannel, message: string): FakePost {
    return this.userPosts(creator, channel, message, { props: { from_webhook: 'true', override_username: 'jenkins' } });
  }

  /** A system message such as `system_join_channel`. */
  systemPosts(user: FakeUser, channel: FakeChannel, type: string, message: string): FakePost {
    return this.userPosts(user, channel, message, { type });
  }

  /** A post made earlier (`createAt` in the past), stored without any event: history. */
  pastPost(
    user: FakeUser,
    channel: FakeChannel,
    message: string,
    createAt: number,
    options: { rootId?: string } = {},
  ): FakePost {
    return this.storePost(
      { user_id: user.id, channel_id: channel.id, root_id: options.rootId ?? '', message, type: '', props: {} },
      createAt,
    );
  }

  /** `user` edits a post: stored, `post_edited` broadcast. */
  userEdits(postId: string, message: string): FakePost {
    const post = this.posts.get(postId);
    if (!post) throw new Error(`no post ${postId}`);
    const now = this.millis();
    Object.assign(post, { message, edit_at: now, update_at: now });
    this.broadcastToChannel(post.channel_id, {
      event: 'post_edited',
      data: { post: JSON.stringify(post) },
      broadcast: this.channelBroadcast(post.channel_id),
    });
    this.emit('change');
    return post;
  }

  /** Posts the bot made, in order (optionally only in one channel or thread). */
  botPosts(filter: { channelId?: string; rootId?: string } = {}): FakePost[] {
    return [...this.posts.values()].filter(
      (p) =>
        p.user_id === this.bot.id &&
        (filter.channelId === undefined || p.channel_id === filter.channelId) &&
        (filter.rootId === undefined || p.root_id === filter.rootId),
    );
  }

  // ------------------------------------------------------------------ websocket controls

  get socketCount(): number {
    return [...this.sockets].filter((s) => s.connection !== undefined).length;
  }

  /** Frames the bot sent on its sockets (the challenge, pings, actions), parsed. */
  readonly framesReceived: Array<Record<string, unknown>> = [];
  /** Frames the server sent (events with their seq, replies), in order. */
  readonly framesSent: Array<Record<string, unknown>> = [];
  /** Websocket upgrade requests, accepted or refused, with their query. */
  readonly upgrades: Array<{
    at: number;
    accepted: boolean;
    connectionId: string;
    sequenceNumber: string;
    withToken: boolean;
  }> = [];

  /** Cuts every websocket (the server keeps the connections' state: a reconnect resumes). */
  dropWebsockets(): void {
    for (const state of this.sockets) state.ws.terminate();
  }

  /**
   * A server restart: sockets cut and every connection forgotten, so a reconnect gets a new
   * connection id and `hello`; what was posted meanwhile is only readable over REST.
   */
  restart(): void {
    this.connections.clear();
    for (const state of this.sockets) state.ws.terminate();
  }

  /** Sends the `posted` event of an existing post again, as a new event (next seq). */
  replayPosted(postId: string): void {
    const post = this.posts.get(postId);
    if (!post) throw new Error(`no post ${postId}`);
    this.broadcastPosted(post);
  }

  /** Skips `count` sequence numbers on every live connection: the client sees a gap and reconnects. */
  skipSequence(count = 1): void {
    for (const connection of this.connections.values()) connection.nextSeq += count;
  }

  /**
   * Every current socket goes half-open: the TCP connection stays up but nothing crosses it any
   * more, events and ping replies included; events are still numbered and kept in the dead queue,
   * as the server believes it sent them. The server never sees these sockets close (it would after
   * its 100 s read deadline; tests are shorter), so their connections stay active and a reconnect
   * naming one gets a new connection id.
   */
  halfOpenWebsockets(): void {
    for (const state of this.sockets) this.socketFaults.set(state.ws, 'halfOpen');
  }

  /**
   * Every current socket stops carrying events but still answers pings: the client sees a healthy
   * connection that tells it nothing. Events are numbered and kept in the dead queue (a resume can
   * replay the last 128).
   */
  muteWebsockets(): void {
    for (const state of this.sockets) this.socketFaults.set(state.ws, 'muted');
  }

  /** Sends raw text on every authenticated socket (bad frames, odd events). */
  sendRaw(text: string): void {
    for (const state of this.sockets) if (state.connection && !this.socketFaults.has(state.ws)) state.ws.send(text);
  }

  /** Sends a frame of the bot's choosing with the next seq of each connection (malformed events). */
  sendWithNextSeq(build: (seq: number) => string): void {
    for (const connection of this.connections.values()) {
      if (!connection.socket || connection.userId !== this.bot.id) continue;
      // A frame outside the dead queue: a resume asking for this seq finds it missing.
      const seq = connection.nextSeq++;
      if (!this.socketFaults.has(connection.socket)) connection.socket.send(build(seq));
    }
  }

  /** Sends an event (with the next seq) to every authenticated connection of the bot. */
  sendEvent(event: string, data: Record<string, unknown>, broadcast: Record<string, unknown> = {}): void {
    for (const connection of this.connections.values()) {
      if (connection.userId === this.bot.id)
        this.sendToConnection(connection, {
          event,
          data,
          broadcast: {
            omit_users: null,
            user_id: '',
            channel_id: '',
            team_id: '',
            connection_id: '',
            omit_connection_id: '',
            ...broadcast,
          },
        });
    }
  }

  async waitForSocket(count = 1, timeoutMs = 5_000): Promise<void> {
    await this.waitUntil(
      () => this.socketCount >= count || undefined,
      timeoutMs,
      `${count} authenticated websocket(s)`,
    );
  }

  // ------------------------------------------------------------------ recording and waiting

  /** The next `times` calls of a route (Client4's name, e.g. `createPost`) fail this way. */
  fail(route: string, fault: Fault, times = 1): void {
    const list = this.faults.get(route) ?? [];
    for (let i = 0; i < times; i++) list.push(fault);
    this.faults.set(route, list);
  }

  callsTo(route: string): RestCall[] {
    return this.calls.filter((c) => c.route === route);
  }

  /**
   * Resolves when `check` returns a value; rejects after `timeoutMs` saying what it waited for.
   * Checked on every change of the fake and every 10 ms (for state outside it, like a test's list).
   */
  async waitUntil<T>(check: () => T | undefined, timeoutMs = 5_000, what = 'a condition'): Promise<T> {
    const first = check();
    if (first !== undefined) return first;
    return new Promise<T>((resolve, reject) => {
      const onChange = () => {
        const value = check();
        if (value !== undefined) {
          cleanup();
          resolve(value);
        }
      };
      const poll = setInterval(onChange, 10);
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what} ` +
              `(REST calls: ${this.calls.map((c) => `${c.route}:${c.status}`).join(', ') || 'none'})`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        clearInterval(poll);
        this.off('change', onChange);
      };
      this.on('change', onChange);
    });
  }

  /** Waits for `count` posts by the bot matching `filter`; resolves with all that match. */
  waitForBotPosts(count = 1, filter: (post: FakePost) => boolean = () => true, timeoutMs = 5_000): Promise<FakePost[]> {
    return this.waitUntil(
      () => {
        const found = this.botPosts().filter(filter);
        return found.length >= count ? found : undefined;
      },
      timeoutMs,
      `${count} bot post(s)`,
    );
  }

  /** Waits for `count` successful edits (`patchPost`) of a post. */
  waitForEdits(postId: string, count = 1, timeoutMs = 5_000): Promise<RestCall[]> {
    return this.waitUntil(
      () => {
        const found = this.callsTo('patchPost').filter((c) => c.path.includes(`/posts/${postId}/`) && c.status === 200);
        return found.length >= count ? found : undefined;
      },
      timeoutMs,
      `${count} edit(s) of ${postId}`,
    );
  }

  waitForTyping(count = 1, filter: (t: TypingCall) => boolean = () => true, timeoutMs = 5_000): Promise<TypingCall[]> {
    return this.waitUntil(
      () => {
        const found = this.typing.filter(filter);
        return found.length >= count ? found : undefined;
      },
      timeoutMs,
      `${count} typing indicator(s)`,
    );
  }

  // ------------------------------------------------------------------ the server calling the bot

  /**
   * Runs a custom slash command the way the server does: a form-encoded POST to `url` with
   * `Authorization: Token <token>`, then posts the immediate answer (`in_channel` as a post by the
   * user with `from_webhook`, `ephemeral` to the user alone). `response_url` points back here.
   */
  async slashCommand(options: {
    url: string;
    token: string;
    user: FakeUser;
    channel: FakeChannel;
    text: string;
    command?: string;
    timeoutMs?: number;
  }): Promise<{ status: number; body: unknown; responseUrl: string }> {
    const hook: CommandHook = { id: newId(), userId: options.user.id, channelId: options.channel.id, uses: 0 };
    this.hooks.set(hook.id, hook);
    const responseUrl = `${this.url}/hooks/commands/${hook.id}`;
    const form = new URLSearchParams({
      channel_id: options.channel.id,
      channel_name: options.channel.name,
      command: options.command ?? '/askpanda',
      response_url: responseUrl,
      team_domain: this.team.name,
      team_id: this.team.id,
      text: options.text,
      token: options.token,
      trigger_id: randomBytes(24).toString('base64url'),
      user_id: options.user.id,
      user_name: options.user.username,
    });
    const res = await fetch(options.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Accept: 'application/json',
        Authorization: `Token ${options.token}`,
      },
      body: form.toString(),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    const body = await readBody(res);
    if (res.status === 200 && body && typeof body === 'object')
      this.applyCommandResponse(hook, body as Record<string, unknown>);
    return { status: res.status, body, responseUrl };
  }

  /**
   * A user clicks an interactive button: the server finds the action on the post, POSTs
   * `{user_id, user_name, channel_id, channel_name, team_id, team_name, post_id, trigger_id, type,
   * context}` to its integration URL, then applies `update` (replacing the post's message and
   * props) and shows `ephemeral_text` to the user. An action id outside `[A-Za-z0-9]+` never
   * reaches the bot: the server's route does not match it (404).
   */
  async clickButton(options: {
    postId: string;
    actionId: string;
    user: FakeUser;
  }): Promise<{ status: number; body: unknown; request?: Record<string, unknown> }> {
    if (!/^[A-Za-z0-9]+$/.test(options.actionId)) return NOT_FOUND();
    const post = this.posts.get(options.postId);
    if (!post) return jsonError(404, 'app.post.get.app_error', 'Unable to get the post.');
    const action = findAction(post, options.actionId);
    if (!action?.integration?.url)
      return jsonError(404, 'api.post.do_action.action_id.app_error', 'Invalid action id.');
    const channel = this.channels.get(post.channel_id);
    const request = {
      user_id: options.user.id,
      user_name: options.user.username,
      channel_id: post.channel_id,
      channel_name: channel?.name ?? '',
      team_id: channel?.team_id ?? '',
      team_name: channel?.team_id ? this.team.name : '',
      post_id: post.id,
      trigger_id: randomBytes(24).toString('base64url'),
      type: action.type ?? '',
      context: action.integration.context ?? {},
    };
    const { status, body } = await this.postAction(action.integration.url, request);
    if (status !== 200)
      return {
        ...jsonError(400, 'api.post.do_action.action_integration.app_error', 'Action integration error.'),
        request,
      };
    const response = (body && typeof body === 'object' ? body : {}) as {
      update?: { message?: string; props?: Record<string, unknown> };
      ephemeral_text?: string;
    };
    if (response.update) {
      // UpdatePost replaces the message: an update without one empties the post.
      const now = this.millis();
      Object.assign(post, {
        message: response.update.message ?? '',
        props: response.update.props ?? post.props,
        edit_at: now,
        update_at: now,
      });
      this.broadcastToChannel(post.channel_id, {
        event: 'post_edited',
        data: { post: JSON.stringify(post) },
        broadcast: this.channelBroadcast(post.channel_id),
      });
    }
    if (response.ephemeral_text) {
      this.ephemeral.push({
        userId: options.user.id,
        post: this.ephemeralPost(options.user.id, post.channel_id, response.ephemeral_text, post.root_id || post.id),
      });
    }
    this.emit('change');
    return { status, body, request };
  }

  /** The raw integration call (a forged or altered click, for instance). */
  async postAction(url: string, request: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(30_000),
    });
    return { status: res.status, body: await readBody(res) };
  }

  // ------------------------------------------------------------------ internals: storage and events

  private millis(): number {
    this.lastMillis = Math.max(Date.now(), this.lastMillis + 1);
    return this.lastMillis;
  }

  private storePost(
    fields: Pick<FakePost, 'user_id' | 'channel_id' | 'root_id' | 'message' | 'type' | 'props'>,
    createAt?: number,
  ): FakePost {
    const now = createAt ?? this.millis();
    const author = this.users.get(fields.user_id);
    const props = { ...fields.props };
    if (author?.is_bot) props.from_bot = 'true';
    const post: FakePost = {
      id: newId(),
      create_at: now,
      update_at: now,
      edit_at: 0,
      delete_at: 0,
      is_pinned: false,
      original_id: '',
      hashtags: '',
      pending_post_id: '',
      reply_count: 0,
      metadata: {},
      ...fields,
      props,
    };
    this.posts.set(post.id, post);
    const channel = this.channels.get(post.channel_id);
    if (channel) channel.last_post_at = Math.max(channel.last_post_at, now);
    if (post.root_id) {
      const root = this.posts.get(post.root_id);
      if (root) root.reply_count++;
    }
    // Benchmarks time replies from this event, without scanning every post.
    this.emit('post', post);
    this.emit('change');
    return post;
  }

  private ephemeralPost(userId: string, channelId: string, message: string, rootId = ''): FakePost {
    const now = this.millis();
    return {
      id: newId(),
      create_at: now,
      update_at: now,
      edit_at: 0,
      delete_at: 0,
      is_pinned: false,
      user_id: this.bot.id,
      channel_id: channelId,
      root_id: rootId,
      original_id: '',
      message,
      type: 'system_ephemeral',
      props: {},
      hashtags: '',
      pending_post_id: '',
      reply_count: 0,
      metadata: {},
    };
  }

  private channelBroadcast(channelId: string): Record<string, unknown> {
    return {
      omit_users: null,
      user_id: '',
      channel_id: channelId,
      team_id: '',
      connection_id: '',
      omit_connection_id: '',
    };
  }

  /** Who a post notifies: @usernames in it, everyone for @channel/@all/@here, the other DM member. */
  private mentionsOf(post: FakePost, channel: FakeChannel): string[] {
    const mentioned = new Set<string>();
    if (channel.type === 'D') {
      for (const id of channel.members) if (id !== post.user_id) mentioned.add(id);
    }
    for (const match of post.message.matchAll(/(?:^|[^\w@.-])@([a-z0-9][a-z0-9._-]*)/gi)) {
      const name = match[1]!.toLowerCase().replace(/[._-]+$/, '');
      if (name === 'channel' || name === 'all' || name === 'here') {
        if (channel.type !== 'D') for (const id of channel.members) mentioned.add(id);
        continue;
      }
      const user = [...this.users.values()].find((u) => u.username === name);
      if (user && channel.members.has(user.id)) mentioned.add(user.id);
    }
    mentioned.delete(post.user_id);
    return [...mentioned];
  }

  private broadcastPosted(post: FakePost): void {
    const channel = this.channels.get(post.channel_id);
    if (!channel) throw new Error(`no channel ${post.channel_id}`);
    const sender = this.users.get(post.user_id);
    const mentions = this.mentionsOf(post, channel);
    const data: Record<string, unknown> = {
      channel_display_name: channel.type === 'D' ? `@${sender?.username ?? ''}` : channel.display_name,
      channel_name: channel.name,
      channel_type: channel.type,
      post: JSON.stringify(post),
      sender_name: `@${sender?.username ?? ''}`,
      set_online: true,
      team_id: channel.team_id,
    };
    if (mentions.length > 0) data.mentions = JSON.stringify(mentions);
    this.broadcastToChannel(channel.id, { event: 'posted', data, broadcast: this.channelBroadcast(channel.id) });
  }

  private broadcastToChannel(channelId: string, frame: Frame): void {
    const channel = this.channels.get(channelId);
    if (!channel) return;
    for (const connection of this.connections.values()) {
      if (channel.members.has(connection.userId)) this.sendToConnection(connection, frame);
    }
  }

  private sendToConnection(connection: Connection, frame: Frame): void {
    const ws = connection.socket;
    if (!ws || (ws.readyState !== ws.OPEN && this.socketFaults.get(ws) !== 'halfOpen')) {
      connection.pending.push(frame);
      // The hub drops a connection whose queue overflows: its client starts over with a new id.
      if (connection.pending.length > SEND_QUEUE_SIZE) this.connections.delete(connection.id);
      return;
    }
    this.writeEvent(connection, frame);
  }

  /** Numbers a new event (or re-sends a dead-queue one with its `replaySeq`) and writes it. */
  private writeEvent(connection: Connection, frame: Frame, replaySeq?: number): void {
    if (replaySeq === undefined && this.gapEveryEvent && frame.event !== 'hello') connection.nextSeq++;
    const seq = replaySeq ?? connection.nextSeq++;
    const withSeq = { ...frame, seq };
    connection.dead.push({ seq, frame });
    if (connection.dead.length > DEAD_QUEUE_SIZE) connection.dead.shift();
    this.framesSent.push(withSeq);
    // A faulty socket swallows the frame; the server believes it was sent.
    if (connection.socket && !this.socketFaults.has(connection.socket)) connection.socket.send(JSON.stringify(withSeq));
  }

  private hello(connection: Connection): void {
    this.hellos.push({ connectionId: connection.id, userId: connection.userId, at: Date.now() });
    this.writeEvent(connection, {
      event: 'hello',
      data: {
        connection_id: connection.id,
        server_version: `${SITE_VERSION}.${SITE_VERSION}.fakeconfighash.false`,
        server_hostname: 'fake-mattermost',
      },
      broadcast: {
        omit_users: null,
        user_id: connection.userId,
        channel_id: '',
        team_id: '',
        connection_id: '',
        omit_connection_id: '',
      },
    });
    this.emit('change');
  }

  private flushPending(connection: Connection): void {
    const pending = connection.pending.splice(0);
    for (const frame of pending) this.writeEvent(connection, frame);
  }

  // ------------------------------------------------------------------ internals: websocket

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/api/v4/websocket') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const upgrade = {
      at: Date.now(),
      accepted: this.acceptWebsockets,
      connectionId: url.searchParams.get('connection_id') ?? '',
      sequenceNumber: url.searchParams.get('sequence_number') ?? '',
      withToken: req.headers.authorization !== undefined,
    };
    this.upgrades.push(upgrade);
    this.emit('change');
    if (!this.acceptWebsockets) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const sessionUser = this.userForToken(tokenFromHeader(req.headers.authorization));
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const state: SocketState = { ws, userId: sessionUser?.id, connection: undefined };
      this.sockets.add(state);
      ws.on('close', () => {
        this.sockets.delete(state);
        // The server never learns that a half-open socket closed: its connection stays active.
        if (state.connection?.socket === ws && this.socketFaults.get(ws) !== 'halfOpen')
          state.connection.socket = undefined;
        this.emit('change');
      });
      ws.on('error', () => undefined);
      ws.on('message', (data) => this.onClientFrame(state, String(data)));
      if (sessionUser)
        this.register(
          state,
          url.searchParams.get('connection_id') ?? '',
          url.searchParams.get('sequence_number') ?? '',
        );
    });
  }

  /**
   * HubRegister: a known connection without a socket resumes; an unknown one, or one whose socket
   * the server still holds (hub.CheckConn looks at inactive connections only), starts fresh with a
   * new id and a hello.
   */
  private register(state: SocketState, requestedId: string, sequence: string): void {
    const userId = state.userId!;
    const known = requestedId ? this.connections.get(requestedId) : undefined;
    if (known && known.userId === userId && known.socket === undefined) {
      known.socket = state.ws;
      state.connection = known;
      const seq = Number(sequence);
      const index = Number.isInteger(seq) && seq > 0 ? known.dead.findIndex((d) => d.seq === seq) : -1;
      if (index >= 0) {
        for (const { seq: s, frame } of known.dead.splice(index)) this.writeEvent(known, frame, s);
      } else if (Number.isInteger(seq) && seq !== known.nextSeq && known.dead.length > 0) {
        // The client wants events the server no longer has: it must start over.
        this.connections.delete(known.id);
        known.id = newId();
        known.nextSeq = 0;
        known.dead = [];
        this.connections.set(known.id, known);
        this.hello(known);
      }
      this.flushPending(known);
      this.emit('change');
      return;
    }
    const connection: Connection = { id: newId(), userId, nextSeq: 0, dead: [], pending: [], socket: state.ws };
    this.connections.set(connection.id, connection);
    state.connection = connection;
    this.hello(connection);
  }

  private onClientFrame(state: SocketState, text: string): void {
    if (this.socketFaults.get(state.ws) === 'halfOpen') return; // nothing reaches the server
    let message: { action?: unknown; seq?: unknown; data?: Record<string, unknown> };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      state.ws.close(); // the server's read pump ends on a frame it cannot decode
      return;
    }
    this.framesReceived.push(message as Record<string, unknown>);
    const seq = typeof message.seq === 'number' ? message.seq : 0;
    const reply = (body: Record<string, unknown>) => {
      const frame = { seq_reply: seq, ...body };
      this.framesSent.push(frame);
      state.ws.send(JSON.stringify(frame));
    };
    if (typeof message.action !== 'string' || message.action === '')
      return reply({ status: 'FAIL', error: { id: 'api.web_socket_router.no_action.app_error' } });
    if (seq <= 0) return reply({ status: 'FAIL', error: { id: 'api.web_socket_router.bad_seq.app_error' } });
    if (message.action === 'authentication_challenge') {
      if (state.userId) return; // already authenticated at upgrade: the server ignores it, no reply
      const user = this.userForToken(typeof message.data?.token === 'string' ? message.data.token : undefined);
      if (!user) {
        state.ws.close();
        return;
      }
      state.userId = user.id;
      // A session only known from the challenge never resumes: the id is always new.
      this.register(state, '', '');
      reply({ status: 'OK' });
      this.emit('change');
      return;
    }
    if (!state.connection)
      return reply({
        status: 'FAIL',
        error: { id: 'api.web_socket_router.not_authenticated.app_error', message: 'No websocket session.' },
      });
    if (message.action === 'ping') {
      if (this.answerPings)
        reply({ status: 'OK', data: { text: 'pong', version: SITE_VERSION, server_time: Date.now(), node_id: '' } });
      return;
    }
    if (message.action === 'user_typing') {
      this.typing.push({
        userId: state.userId!,
        channelId: String(message.data?.channel_id ?? ''),
        parentId: String(message.data?.parent_id ?? ''),
        via: 'websocket',
        at: Date.now(),
      });
      this.emit('change');
      return reply({ status: 'OK' });
    }
    reply({ status: 'OK' });
  }

  private userForToken(token: string | undefined): FakeUser | undefined {
    const id = token ? this.tokens.get(token) : undefined;
    return id ? this.users.get(id) : undefined;
  }

  // ------------------------------------------------------------------ internals: REST

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const raw = await readRequest(req);
    const hookMatch = /^\/hooks\/commands\/([a-z0-9]{26})$/.exec(url.pathname);
    if (req.method === 'POST' && hookMatch) return this.commandHook(hookMatch[1]!, req, raw, res);

    const route = this.routes.find((r) => r.method === req.method && r.pattern.test(url.pathname));
    const name = route ? (typeof route.name === 'string' ? route.name : route.name(url.searchParams)) : 'unknown';
    let body: unknown = raw;
    if (raw && (req.headers['content-type'] ?? '').includes('json')) {
      try {
        body = JSON.parse(raw);
      } catch {
        return this.finish(
          res,
          this.record(name, req, url, raw, undefined),
          jsonError(400, 'api.context.invalid_body_param.app_error', 'Invalid or missing body in request body.'),
        );
      }
    }
    const token = tokenFromHeader(req.headers.authorization);
    // Recorded on arrival (status 0 until answered), so a test sees a call that is still hanging.
    const call = this.record(name, req, url, body, token);

    const fault = this.faults.get(name)?.shift();
    if (fault) {
      if ('destroy' in fault) {
        req.socket.destroy();
        return;
      }
      if ('hangMs' in fault) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(release, fault.hangMs);
          function release() {
            clearTimeout(timer);
            resolve();
          }
          this.hanging.set(res, release);
        });
        this.hanging.delete(res);
        if (res.destroyed) return;
      } else if (fault.status === 429) {
        call.status = 429;
        this.emit('change');
        const retryAfter = (fault as { retryAfterSeconds?: number }).retryAfterSeconds;
        const limiter =
          retryAfter === undefined
            ? {}
            : {
                'Retry-After': String(retryAfter),
                'X-Ratelimit-Limit': '10',
                'X-Ratelimit-Remaining': '0',
                'X-Ratelimit-Reset': String(retryAfter),
              };
        res.writeHead(429, {
          'Content-Type': 'text/plain; charset=utf-8',
          'X-Content-Type-Options': 'nosniff',
          ...limiter,
        });
        res.end('limit exceeded\n');
        return;
      } else {
        const f = fault as { status: number; id?: string; message?: string };
        return this.finish(
          res,
          call,
          jsonError(f.status, f.id ?? 'app.fake.injected_fault', f.message ?? 'Injected failure.'),
        );
      }
    }

    if (!route) return this.finish(res, call, NOT_FOUND());
    const user = this.userForToken(token);
    if (!user) return this.finish(res, call, UNAUTHORIZED());
    const match = route.pattern.exec(url.pathname)!;
    const result = await route.handler({ req, params: match.slice(1), query: url.searchParams, body, user });
    return this.finish(res, call, result);
  }

  private record(route: string, req: IncomingMessage, url: URL, body: unknown, token: string | undefined): RestCall {
    const call: RestCall = {
      route,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body,
      token,
      status: 0,
      at: Date.now(),
    };
    this.calls.push(call);
    this.emit('change');
    return call;
  }

  private finish(res: ServerResponse, call: RestCall, result: { status: number; body: unknown }): void {
    call.status = result.status;
    this.emit('change');
    if (res.destroyed) return;
    res.writeHead(result.status, {
      'Content-Type': 'application/json',
      'X-Version-Id': `${SITE_VERSION}.${SITE_VERSION}.fakeconfighash.false`,
      'X-Request-Id': newId(),
    });
    res.end(JSON.stringify(result.body));
  }

  private commandHook(hookId: string, req: IncomingMessage, raw: string, res: ServerResponse): void {
    const contentType = req.headers['content-type'];
    let body: unknown = raw;
    try {
      body = contentType?.includes('json') ? JSON.parse(raw) : Object.fromEntries(new URLSearchParams(raw));
    } catch {
      body = raw;
    }
    this.responseUrlCalls.push({ hookId, body, contentType, at: Date.now() });
    const hook = this.hooks.get(hookId);
    // A command webhook works five times (app/webhook.go HandleCommandWebhook).
    if (!hook || hook.uses >= 5 || !body || typeof body !== 'object') {
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(jsonError(400, 'web.command_webhook.invalid.app_error', 'Invalid webhook.').body));
      this.emit('change');
      return;
    }
    hook.uses++;
    this.applyCommandResponse(hook, body as Record<string, unknown>);
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok');
  }

  /** HandleCommandResponsePost: `in_channel` is posted as the user (marked from_webhook), else ephemeral. */
  private applyCommandResponse(hook: CommandHook, response: Record<string, unknown>): void {
    const text = typeof response.text === 'string' ? response.text : '';
    const attachments = response.attachments;
    if (!text && !attachments) return;
    const user = this.users.get(hook.userId)!;
    const channel = this.channels.get(hook.channelId)!;
    if (response.response_type === 'in_channel') {
      this.userPosts(user, channel, text, { props: { from_webhook: 'true', ...(attachments ? { attachments } : {}) } });
    } else {
      this.ephemeral.push({ userId: user.id, post: this.ephemeralPost(user.id, channel.id, text) });
      this.emit('change');
    }
  }

  private defineRoutes(): void {
    const id = '([a-z0-9]{26})';
    const route = (
      method: string,
      path: string,
      name: string | ((query: URLSearchParams) => string),
      handler: Handler,
    ) => {
      this.routes.push({
        method,
        pattern: new RegExp(`^/api/v4${path.replace(/\{id\}/g, id).replace('{emoji}', '([a-z0-9_+-]+)')}$`),
        name,
        handler,
      });
    };

    route('GET', '/users/me', 'getMe', ({ user }) => ({ status: 200, body: userJson(user) }));
    route('GET', '/users/{id}', 'getUser', ({ params }) => {
      const found = this.users.get(params[0]!);
      return found
        ? { status: 200, body: userJson(found) }
        : jsonError(404, 'app.user.missing_account.const', 'Unable to find the user.');
    });
    route('POST', '/users/ids', 'getProfilesByIds', ({ body }) => ({
      status: 200,
      body: (Array.isArray(body) ? body : [])
        .map((uid) => this.users.get(String(uid)))
        .filter((u): u is FakeUser => u !== undefined)
        .map(userJson),
    }));
    route('GET', '/config/client', 'getClientConfig', ({ query }) => {
      if (query.get('format') !== 'old')
        return jsonError(
          501,
          'api.config.client.old_format.app_error',
          'New format for the client configuration is not supported yet. Please specify format=old in the query string.',
        );
      // The old format is a map of strings.
      return {
        status: 200,
        body: {
          Version: SITE_VERSION,
          BuildNumber: SITE_VERSION,
          SiteName: 'CERN Mattermost',
          SiteURL: this.url,
          MaxPostSize: String(this.maxPostSize),
          EnablePostUsernameOverride: 'false',
          EnableCommands: 'true',
        },
      };
    });
    route('GET', '/users/me/teams', 'getMyTeams', () => ({
      status: 200,
      body: [{ ...this.team, create_at: 0, update_at: 0, delete_at: 0 }],
    }));
    route('GET', '/users/me/teams/{id}/channels', 'getMyChannels', ({ params, user }) => {
      if (params[0] !== this.team.id) return FORBIDDEN();
      // The team's channels the user is in, and every DM and group message of theirs.
      const list = [...this.channels.values()].filter(
        (c) => c.members.has(user.id) && (c.team_id === params[0] || c.team_id === ''),
      );
      return { status: 200, body: list.map(channelJson) };
    });
    route('GET', '/channels/{id}', 'getChannel', ({ params, user }) => {
      const channel = this.channels.get(params[0]!);
      if (!channel) return jsonError(404, 'app.channel.get.existing.app_error', 'Unable to find the existing channel.');
      if (!this.canRead(user, channel)) return FORBIDDEN();
      return { status: 200, body: channelJson(channel) };
    });
    // api4 getPostsForChannel: one route, named here by the Client4 method that sends each query.
    const postsRouteName = (query: URLSearchParams) =>
      query.has('since')
        ? 'getPostsSince'
        : query.has('after')
          ? 'getPostsAfter'
          : query.has('before')
            ? 'getPostsBefore'
            : 'getPosts';
    route('GET', '/channels/{id}/posts', postsRouteName, ({ params, query, user }) => {
      const channel = this.channels.get(params[0]!);
      if (!channel) return jsonError(404, 'app.channel.get.existing.app_error', 'Unable to find the existing channel.');
      if (!this.canRead(user, channel)) return FORBIDDEN();
      if (query.has('after') || query.has('before'))
        return jsonError(501, 'app.fake.not_implemented', 'The fake does not serve after/before paging.');
      const inChannel = [...this.posts.values()].filter((p) => p.channel_id === channel.id);
      const since = Number(query.get('since') ?? '0');
      if (since > 0) {
        // SqlPostStore.GetPostsSince: posts updated after `since`, deleted ones included, LIMIT 1000
        // without an ORDER BY (whichever 1000 the database returns: the oldest here), plus the roots
        // of those replies; `order` lists only the updated posts, newest first.
        const updated = inChannel
          .filter((p) => p.update_at > since)
          .sort((a, b) => a.create_at - b.create_at)
          .slice(0, 1000);
        return { status: 200, body: postList(updated, this.rootsOf(updated, false)) };
      }
      // GetPostsPage: the page newest first (per_page 60 by default, 200 at most, as web/params.go),
      // plus the thread context the webapp renders it with.
      const perPageRaw = Number(query.get('per_page') ?? '60');
      const perPage = Number.isInteger(perPageRaw) && perPageRaw >= 0 ? Math.min(200, perPageRaw) : 60;
      const pageRaw = Number(query.get('page') ?? '0');
      const page = Number.isInteger(pageRaw) && pageRaw >= 0 ? pageRaw : 0;
      const selected = inChannel
        .filter((p) => p.delete_at === 0)
        .sort((a, b) => b.create_at - a.create_at)
        .slice(page * perPage, (page + 1) * perPage);
      return {
        status: 200,
        body: postList(selected, this.rootsOf(selected, query.get('skipFetchThreads') !== 'true')),
      };
    });
    route('POST', '/posts', 'createPost', ({ body, user }) => {
      const input = (body ?? {}) as Partial<FakePost> & { file_ids?: unknown };
      const channel = typeof input.channel_id === 'string' ? this.channels.get(input.channel_id) : undefined;
      if (!channel || !channel.members.has(user.id)) return FORBIDDEN();
      const rootId = typeof input.root_id === 'string' ? input.root_id : '';
      if (rootId) {
        const root = this.posts.get(rootId);
        if (!root || root.channel_id !== channel.id || root.root_id !== '' || root.delete_at !== 0)
          return jsonError(400, 'api.post.create_post.root_id.app_error', 'Invalid RootId parameter.');
      }
      const message = typeof input.message === 'string' ? input.message : '';
      const invalid = this.invalidMessage(message) ?? invalidProps(input.props);
      if (invalid) return invalid;
      const post = this.storePost({
        user_id: user.id,
        channel_id: channel.id,
        root_id: rootId,
        message,
        type: typeof input.type === 'string' ? input.type : '',
        props: (input.props as Record<string, unknown>) ?? {},
      });
      this.broadcastPosted(post);
      return { status: 201, body: post };
    });
    route('PUT', '/posts/{id}/patch', 'patchPost', ({ params, body, user }) => {
      const post = this.posts.get(params[0]!);
      if (!post || post.delete_at !== 0) return FORBIDDEN();
      if (post.user_id !== user.id) return FORBIDDEN();
      const patch = (body ?? {}) as { message?: unknown; props?: unknown; is_pinned?: unknown };
      if (patch.message !== undefined) {
        if (typeof patch.message !== 'string')
          return jsonError(400, 'api.context.invalid_body_param.app_error', 'Invalid or missing post in request body.');
        const invalid = this.invalidMessage(patch.message);
        if (invalid) return invalid;
      }
      const invalidP = patch.props !== undefined ? invalidProps(patch.props) : undefined;
      if (invalidP) return invalidP;
      const now = this.millis();
      if (typeof patch.message === 'string') post.message = patch.message;
      if (patch.props && typeof patch.props === 'object')
        post.props = {
          ...(patch.props as Record<string, unknown>),
          ...(this.users.get(post.user_id)?.is_bot ? { from_bot: 'true' } : {}),
        };
      if (typeof patch.is_pinned === 'boolean') post.is_pinned = patch.is_pinned;
      post.edit_at = now;
      post.update_at = now;
      this.broadcastToChannel(post.channel_id, {
        event: 'post_edited',
        data: { post: JSON.stringify(post) },
        broadcast: this.channelBroadcast(post.channel_id),
      });
      return { status: 200, body: post };
    });
    route('GET', '/posts/{id}', 'getPost', ({ params, user }) => {
      const post = this.posts.get(params[0]!);
      const channel = post ? this.channels.get(post.channel_id) : undefined;
      if (!post || !channel || post.delete_at !== 0)
        return jsonError(404, 'app.post.get.app_error', 'Unable to get the post.');
      if (!this.canRead(user, channel)) return FORBIDDEN();
      return { status: 200, body: post };
    });
    route('GET', '/posts/{id}/thread', 'getPostThread', ({ params, query, user }) => {
      const post = this.posts.get(params[0]!);
      const channel = post ? this.channels.get(post.channel_id) : undefined;
      if (!post || !channel)
        return jsonError(
          400,
          'api.context.invalid_url_param.app_error',
          'Invalid or missing post_id parameter in request URL.',
        );
      if (!this.canRead(user, channel)) return FORBIDDEN();
      const root = post.root_id ? this.posts.get(post.root_id)! : post;
      let replies = [...this.posts.values()]
        .filter((p) => p.root_id === root.id && p.delete_at === 0)
        .sort((a, b) => a.create_at - b.create_at);
      const direction = query.get('direction') ?? '';
      if (direction !== '' && direction !== 'up' && direction !== 'down')
        return jsonError(400, 'api.context.invalid_param.app_error', 'Invalid direction parameter.');
      const perPage = query.get('perPage') ? Number(query.get('perPage')) : undefined;
      let hasNext = false;
      if (perPage !== undefined && perPage > 0) {
        // "up" pages from the newest reply backwards, "down" from the oldest forwards.
        if (direction === 'up') replies = replies.reverse();
        hasNext = replies.length > perPage;
        replies = replies.slice(0, perPage);
      }
      const list = postList([root, ...replies]);
      return { status: 200, body: { ...list, has_next: hasNext } };
    });
    route('POST', '/posts/ephemeral', 'createPostEphemeral', ({ body, user }) => {
      if (!this.ephemeralAllowed) return FORBIDDEN();
      const input = (body ?? {}) as {
        user_id?: unknown;
        post?: { channel_id?: unknown; message?: unknown; root_id?: unknown };
      };
      if (typeof input.user_id !== 'string' || !input.user_id)
        return jsonError(
          400,
          'api.context.invalid_body_param.app_error',
          'Invalid or missing user_id in request body.',
        );
      if (!input.post || typeof input.post.channel_id !== 'string')
        return jsonError(400, 'api.context.invalid_body_param.app_error', 'Invalid or missing post in request body.');
      const post = this.ephemeralPost(
        input.user_id,
        input.post.channel_id,
        String(input.post.message ?? ''),
        typeof input.post.root_id === 'string' ? input.post.root_id : '',
      );
      post.user_id = user.id;
      this.ephemeral.push({ userId: input.user_id, post });
      this.emit('change');
      return { status: 201, body: post };
    });
    route('POST', '/users/{id}/typing', 'publishUserTyping', ({ params, body, user }) => {
      if (params[0] !== user.id) return FORBIDDEN();
      const input = (body ?? {}) as { channel_id?: unknown; parent_id?: unknown };
      const channel = typeof input.channel_id === 'string' ? this.channels.get(input.channel_id) : undefined;
      if (!channel || !channel.members.has(user.id)) return FORBIDDEN();
      this.typing.push({
        userId: user.id,
        channelId: channel.id,
        parentId: typeof input.parent_id === 'string' ? input.parent_id : '',
        via: 'rest',
        at: Date.now(),
      });
      return { status: 200, body: { status: 'OK' } };
    });
    route('POST', '/reactions', 'addReaction', ({ body, user }) => {
      const input = (body ?? {}) as Partial<Reaction>;
      if (input.user_id !== user.id) return FORBIDDEN();
      const post = typeof input.post_id === 'string' ? this.posts.get(input.post_id) : undefined;
      if (!post || typeof input.emoji_name !== 'string' || !/^[a-z0-9_+-]{1,64}$/.test(input.emoji_name))
        return jsonError(400, 'model.reaction.is_valid.emoji_name.app_error', 'Invalid emoji name.');
      let reaction = this.reactions.find(
        (r) => r.user_id === user.id && r.post_id === post.id && r.emoji_name === input.emoji_name,
      );
      if (!reaction) {
        reaction = { user_id: user.id, post_id: post.id, emoji_name: input.emoji_name, create_at: this.millis() };
        this.reactions.push(reaction);
      }
      return {
        status: 201,
        body: { ...reaction, update_at: reaction.create_at, delete_at: 0, remote_id: '', channel_id: post.channel_id },
      };
    });
    route('DELETE', '/users/{id}/posts/{id}/reactions/{emoji}', 'removeReaction', ({ params, user }) => {
      if (params[0] !== user.id) return FORBIDDEN();
      const index = this.reactions.findIndex(
        (r) => r.user_id === user.id && r.post_id === params[1] && r.emoji_name === params[2],
      );
      if (index >= 0) this.reactions.splice(index, 1);
      return { status: 200, body: { status: 'OK' } };
    });
  }

  /**
   * The thread context a post list carries besides its own posts: the roots of its replies and,
   * with `withReplies` (getParentsPosts without skipFetchThreads), every reply in those threads.
   */
  private rootsOf(posts: FakePost[], withReplies: boolean): FakePost[] {
    const rootIds = new Set(posts.filter((p) => p.root_id).map((p) => p.root_id));
    return [...this.posts.values()].filter(
      (p) => p.delete_at === 0 && (rootIds.has(p.id) || (withReplies && rootIds.has(p.root_id))),
    );
  }

  private canRead(user: FakeUser, channel: FakeChannel): boolean {
    return channel.members.has(user.id) || (channel.type === 'O' && channel.team_id === this.team.id);
  }

  private invalidMessage(message: string): { status: number; body: Record<string, unknown> } | undefined {
    const length = runeCount(message);
    if (length <= this.maxPostSize) return undefined;
    return jsonError(
      400,
      'model.post.is_valid.message_length.app_error',
      `Post Message property length ${length} is longer than the maximum of ${this.maxPostSize} characters.`,
    );
  }
}

/** The server's post props check: attachments must be a list; a button needs a name. */
function invalidProps(props: unknown): { status: number; body: Record<string, unknown> } | undefined {
  if (props === undefined || props === null) return undefined;
  if (typeof props !== 'object' || Array.isArray(props))
    return jsonError(400, 'model.post.is_valid.props.app_error', 'Invalid props.');
  const attachments = (props as Record<string, unknown>).attachments;
  if (attachments === undefined) return undefined;
  if (!Array.isArray(attachments))
    return jsonError(400, 'model.post.is_valid.attachments.app_error', 'Invalid attachments.');
  for (const attachment of attachments as Array<{ actions?: unknown }>) {
    if (attachment.actions === undefined) continue;
    if (!Array.isArray(attachment.actions))
      return jsonError(400, 'model.post.is_valid.attachments.app_error', 'Invalid attachments.');
    for (const action of attachment.actions as Array<{ name?: unknown }>) {
      if (typeof action.name !== 'string' || action.name === '')
        return jsonError(400, 'model.post.is_valid.action_name.app_error', 'Action name is required.');
    }
  }
  return JSON.stringify(props).length > 800_000
    ? jsonError(400, 'model.post.is_valid.props.app_error', 'Invalid props.')
    : undefined;
}

interface FoundAction {
  id?: string;
  name?: string;
  type?: string;
  integration?: { url?: string; context?: Record<string, unknown> };
}

function findAction(post: FakePost, actionId: string): FoundAction | undefined {
  const attachments = post.props.attachments;
  if (!Array.isArray(attachments)) return undefined;
  for (const attachment of attachments as Array<{ actions?: FoundAction[] }>) {
    const action = attachment.actions?.find((a) => a.id === actionId);
    if (action) return action;
  }
  return undefined;
}

function tokenFromHeader(header: string | undefined): string | undefined {
  const match = /^(?:bearer|token)\s+(\S+)$/i.exec(header ?? '');
  return match?.[1];
}

function userJson(user: FakeUser): Record<string, unknown> {
  return {
    id: user.id,
    create_at: user.create_at,
    update_at: user.update_at,
    delete_at: user.delete_at,
    username: user.username,
    auth_data: '',
    auth_service: '',
    email: user.email,
    nickname: user.nickname,
    first_name: user.first_name,
    last_name: user.last_name,
    position: '',
    roles: user.roles,
    locale: user.locale,
    timezone: { automaticTimezone: 'Europe/Zurich', manualTimezone: '', useAutomaticTimezone: 'true' },
    is_bot: user.is_bot,
    disable_welcome_email: false,
    ...(user.is_bot ? { bot_description: 'Answers PanDA questions' } : {}),
  };
}

function channelJson(channel: FakeChannel): Record<string, unknown> {
  const { members: _members, ...rest } = channel;
  return {
    ...rest,
    update_at: channel.create_at,
    delete_at: 0,
    header: '',
    purpose: '',
    total_msg_count: 0,
    creator_id: '',
    group_constrained: null,
    shared: false,
  };
}

/** A PostList: `order` lists `posts` newest first; `context` (thread roots, replies) is only in the map. */
function postList(posts: FakePost[], context: FakePost[] = []): Record<string, unknown> {
  const sorted = [...posts].sort((a, b) => b.create_at - a.create_at);
  return {
    order: sorted.map((p) => p.id),
    posts: Object.fromEntries([...context, ...sorted].map((p) => [p.id, p])),
    next_post_id: '',
    prev_post_id: '',
    has_next: false,
    first_inaccessible_post_time: 0,
  };
}

async function readRequest(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
