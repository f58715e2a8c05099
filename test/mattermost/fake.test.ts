import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import mm from '@mattermost/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket as NodeWebSocket } from 'ws';
import { installWebSocketGlobals } from '../../src/adapters/mattermost/socket.ts';
import { classifyPost } from '../../src/adapters/mattermost/events.ts';
import { BOT_TOKEN, FakeMattermost, type FakeChannel, type FakeUser } from '../fakes/mattermost.ts';
import { connectTo, waitForReceived } from './helpers.ts';

/** The fake's own contract: what tests of the adapter may rely on it to do like the real server. */
let fake: FakeMattermost;
let ana: FakeUser;
let town: FakeChannel;

beforeEach(async () => {
  fake = await FakeMattermost.start();
  ana = fake.addUser({ username: 'ana' });
  town = fake.addChannel({ name: 'adc-operations', members: [ana] });
});

afterEach(async () => {
  await fake.close();
});

describe('REST like the real server', () => {
  it('answers a bad token with the server’s 401 error body, as application/json exactly', async () => {
    const res = await fetch(`${fake.url}/api/v4/users/me`, { headers: { Authorization: 'Bearer nope' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toMatchObject({
      id: 'api.context.session_expired.app_error',
      message: 'Invalid or expired session, please login again.',
      status_code: 401,
    });
  });

  it('lets Client4 read the error: message, server error id and status', async () => {
    const client = new mm.Client4();
    client.setUrl(fake.url);
    client.setToken('nope');
    const error = (await client.getMe().catch((e: unknown) => e)) as InstanceType<typeof mm.ClientError>;
    expect(error).toBeInstanceOf(mm.ClientError);
    expect(error).toMatchObject({ status_code: 401, server_error_id: 'api.context.session_expired.app_error' });
  });

  it('rate limits like the real limiter: plain text with Retry-After and X-Ratelimit headers', async () => {
    fake.fail('getMe', { status: 429, retryAfterSeconds: 7 });
    const res = await fetch(`${fake.url}/api/v4/users/me`, { headers: { Authorization: `Bearer ${BOT_TOKEN}` } });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(await res.text()).toBe('limit exceeded\n');
  });

  it('serves the client config only in the old format, MaxPostSize as a string', async () => {
    fake.maxPostSize = 4000;
    const client = new mm.Client4();
    client.setUrl(fake.url);
    client.setToken(BOT_TOKEN);
    expect(await client.getClientConfig()).toMatchObject({ MaxPostSize: '4000' });
    expect(
      (await fetch(`${fake.url}/api/v4/config/client`, { headers: { Authorization: `Bearer ${BOT_TOKEN}` } })).status,
    ).toBe(501);
  });

  it('refuses a reply to a reply and a post where the bot is not a member', async () => {
    const client = new mm.Client4();
    client.setUrl(fake.url);
    client.setToken(BOT_TOKEN);
    const root = fake.userPosts(ana, town, 'root');
    const reply = fake.userPosts(ana, town, 'reply', { rootId: root.id });
    await expect(
      client.createPost({ channel_id: town.id, root_id: reply.id, message: 'x' } as never),
    ).rejects.toMatchObject({ status_code: 400, server_error_id: 'api.post.create_post.root_id.app_error' });
    const outside = fake.addChannel({ name: 'outside', withBot: false, members: [ana] });
    await expect(client.createPost({ channel_id: outside.id, message: 'x' } as never)).rejects.toMatchObject({
      status_code: 403,
    });
  });
});

describe('reading a channel like api4 getPostsForChannel', () => {
  type PostList = { order: string[]; posts: Record<string, { id: string }> };
  const client = () => {
    const c = new mm.Client4();
    c.setUrl(fake.url);
    c.setToken(BOT_TOKEN);
    return c;
  };

  it('since: at most 1000 posts updated since then, deleted ones included, with the roots of replies outside `order`', async () => {
    const start = Date.now() - 1;
    const oldRoot = fake.pastPost(ana, town, 'an old question', start - 60_000);
    const posts = Array.from({ length: 1_100 }, (_, i) => fake.userPosts(ana, town, `post ${i}`));
    const reply = fake.userPosts(ana, town, 'a reply to the old question', { rootId: oldRoot.id });
    posts[5]!.delete_at = posts[5]!.update_at;
    const list = (await client().getPostsSince(town.id, start)) as unknown as PostList;
    expect(list.order).toHaveLength(1_000);
    // The database picks which 1000 (no ORDER BY); the fake returns the oldest: the reply is left out.
    expect(list.order).toContain(posts[5]!.id);
    expect(list.order).not.toContain(reply.id);
    expect(fake.callsTo('getPostsSince')).toHaveLength(1);
    const few = (await client().getPostsSince(town.id, reply.create_at - 1)) as unknown as PostList;
    expect(few.order).toEqual([reply.id]);
    expect(Object.keys(few.posts).sort()).toEqual([oldRoot.id, reply.id].sort());
  });

  it('pages newest first: 60 by default, 200 at most, thread roots (and their replies unless skipped) outside `order`', async () => {
    const root = fake.userPosts(ana, town, 'the root');
    const earlyReply = fake.userPosts(ana, town, 'an early reply', { rootId: root.id });
    const posts = Array.from({ length: 300 }, (_, i) => fake.userPosts(ana, town, `post ${i}`));
    const lateReply = fake.userPosts(ana, town, 'a late reply', { rootId: root.id });
    const first = (await client().getPosts(town.id)) as unknown as PostList;
    expect(first.order).toHaveLength(60);
    expect(first.order[0]).toBe(lateReply.id);
    expect(first.order[1]).toBe(posts[299]!.id);
    expect(Object.keys(first.posts)).toEqual(expect.arrayContaining([root.id, earlyReply.id]));
    const skipped = (await client().getPosts(town.id, 0, 60, false)) as unknown as PostList;
    expect(Object.keys(skipped.posts)).toContain(root.id);
    expect(Object.keys(skipped.posts)).not.toContain(earlyReply.id);
    const capped = (await client().getPosts(town.id, 1, 500, false)) as unknown as PostList;
    expect(capped.order).toHaveLength(103);
    expect(capped.order[0]).toBe(posts[100]!.id);
    expect(fake.callsTo('getPosts').map((c) => c.query.per_page)).toEqual(['60', '60', '500']);
  });
});

describe('websocket sessions like the real hub', () => {
  it('gives a challenge-only client a new connection id on every reconnect', async () => {
    // No Authorization header at the upgrade: the server has no session to resume with.
    installWebSocketGlobals();
    const sockets: NodeWebSocket[] = [];
    const client = new mm.WebSocketClient({
      minWebSocketRetryTime: 20,
      reconnectJitterRange: 10,
      newWebSocketFn: (url) => {
        const socket = new NodeWebSocket(url);
        sockets.push(socket);
        return socket as unknown as WebSocket;
      },
    });
    const missed: number[] = [];
    client.addMessageListener(() => undefined);
    client.addMissedMessageListener(() => missed.push(Date.now()));
    try {
      client.initialize(`ws://127.0.0.1:${fake.port}/api/v4/websocket`, BOT_TOKEN);
      await fake.waitUntil(() => (fake.hellos.length === 1 ? true : undefined));
      fake.dropWebsockets();
      await fake.waitUntil(() => (fake.hellos.length === 2 ? true : undefined));
      expect(fake.hellos[1]!.connectionId).not.toBe(fake.hellos[0]!.connectionId);
      expect(fake.upgrades[1]!.connectionId).toBe(fake.hellos[0]!.connectionId);
      await fake.waitUntil(() => (missed.length === 1 ? true : undefined));
    } finally {
      client.close();
      for (const s of sockets) s.terminate();
    }
  });

  it('does not resume a connection whose old socket it still holds open (half-open): new id and hello', async () => {
    const { connection } = connectTo(fake, { pingIntervalMs: 150 });
    try {
      await connection.start();
      fake.halfOpenWebsockets();
      await fake.waitUntil(() => (fake.hellos.length === 2 ? true : undefined), 5_000, 'a second hello');
      const reconnect = fake.upgrades[1]!;
      expect(reconnect.connectionId).toBe(fake.hellos[0]!.connectionId);
      expect(fake.hellos[1]!.connectionId).not.toBe(fake.hellos[0]!.connectionId);
    } finally {
      await connection.stop();
    }
  });

  it('on every event a skipped seq while gapEveryEvent is on; a resume asking for it gets a new id', async () => {
    const { connection } = connectTo(fake);
    try {
      await connection.start();
      fake.gapEveryEvent = true;
      fake.userPosts(ana, town, 'one');
      await fake.waitUntil(() => (fake.hellos.length === 2 ? true : undefined), 5_000, 'a second hello');
      fake.gapEveryEvent = false;
      const events = fake.framesSent.filter((f) => typeof f.event === 'string');
      // hello 0, then the post at 2 (1 skipped), then the new connection's hello at 0.
      expect(events.slice(0, 3).map((f) => [f.event, f.seq])).toEqual([
        ['hello', 0],
        ['posted', 2],
        ['hello', 0],
      ]);
      expect(fake.upgrades[1]!.sequenceNumber).toBe('1');
    } finally {
      await connection.stop();
    }
  });

  it('routes events only to members of the channel', async () => {
    const { connection, received } = connectTo(fake);
    await connection.start();
    const elsewhere = fake.addChannel({ name: 'no-bot', withBot: false, members: [ana] });
    fake.userPosts(ana, elsewhere, '@askpanda you cannot see this');
    const seen = fake.userPosts(ana, town, '@askpanda but this');
    await waitForReceived(fake, received, (e) => e.post.id === seen.id);
    expect(received.map((e) => e.post.id)).toEqual([seen.id]);
    await connection.stop();
  });
});

describe('the server calling out to the bot', () => {
  let bot: Server;
  let botUrl: string;
  const requests: Array<{ headers: IncomingMessage['headers']; body: string }> = [];
  let answer: (form: URLSearchParams) => { status: number; body: unknown } = () => ({ status: 200, body: {} });

  beforeEach(async () => {
    requests.length = 0;
    bot = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        requests.push({ headers: req.headers, body });
        const reply = answer(new URLSearchParams(body));
        res.writeHead(reply.status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) => bot.listen(0, '127.0.0.1', resolve));
    botUrl = `http://127.0.0.1:${(bot.address() as AddressInfo).port}/mattermost/command`;
  });

  afterEach(async () => {
    await new Promise((resolve) => bot.close(resolve));
  });

  it('sends a slash command as a form with the token in the Authorization header', async () => {
    answer = () => ({ status: 200, body: { response_type: 'ephemeral', text: 'Commands: help, subscribe task N …' } });
    const result = await fake.slashCommand({
      url: botUrl,
      token: 'slashtoken',
      user: ana,
      channel: town,
      text: 'help',
    });
    expect(result.status).toBe(200);
    const [request] = requests;
    expect(request!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request!.headers.authorization).toBe('Token slashtoken');
    const form = Object.fromEntries(new URLSearchParams(request!.body));
    expect(form).toMatchObject({
      token: 'slashtoken',
      text: 'help',
      command: '/askpanda',
      channel_id: town.id,
      channel_name: 'adc-operations',
      user_id: ana.id,
      user_name: 'ana',
      team_id: fake.team.id,
      team_domain: 'atlas',
    });
    expect(form.response_url).toBe(result.responseUrl);
    expect(form.trigger_id).toBeTruthy();
    expect(fake.ephemeral).toEqual([
      expect.objectContaining({
        userId: ana.id,
        post: expect.objectContaining({ message: 'Commands: help, subscribe task N …' }),
      }),
    ]);
  });

  it('posts an in_channel answer as the user, marked from_webhook, which the bot then ignores', async () => {
    const { connection, received } = connectTo(fake);
    await connection.start();
    answer = () => ({
      status: 200,
      body: { response_type: 'in_channel', text: '@ana asked: why did job 6802258254 fail?' },
    });
    await fake.slashCommand({
      url: botUrl,
      token: 'slashtoken',
      user: ana,
      channel: town,
      text: 'why did job 6802258254 fail?',
    });
    const [event] = await waitForReceived(fake, received, () => true);
    expect(event!.post).toMatchObject({ user_id: ana.id, props: { from_webhook: 'true' } });
    expect(classifyPost(event!, connection.bot)).toEqual({ kind: 'ignore', reason: 'webhook post' });
    await connection.stop();
  });

  it('records what the bot sends to response_url and applies it, five times at most', async () => {
    answer = () => ({ status: 200, body: {} });
    const { responseUrl } = await fake.slashCommand({
      url: botUrl,
      token: 'slashtoken',
      user: ana,
      channel: town,
      text: 'slow question',
    });
    const send = (body: unknown) =>
      fetch(responseUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await send({ response_type: 'in_channel', text: 'the answer' })).status).toBe(200);
    expect([...fake.posts.values()].some((p) => p.message === 'the answer' && p.user_id === ana.id)).toBe(true);
    for (let i = 0; i < 4; i++) expect((await send({ text: `ephemeral ${i}` })).status).toBe(200);
    expect((await send({ text: 'sixth' })).status).toBe(400);
    expect(fake.responseUrlCalls).toHaveLength(6);
    expect(fake.responseUrlCalls[0]).toMatchObject({
      body: { response_type: 'in_channel', text: 'the answer' },
      contentType: 'application/json',
    });
  });

  it('reports a slow or failing command handler as the server would see it', async () => {
    answer = () => ({ status: 401, body: { error: 'bad token' } });
    const result = await fake.slashCommand({ url: botUrl, token: 'wrong', user: ana, channel: town, text: 'help' });
    expect(result.status).toBe(401);
    expect(fake.ephemeral).toHaveLength(0);
  });
});
