import { Writable } from 'node:stream';
import mm from '@mattermost/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebSocket as NodeWebSocket } from 'ws';
import { MattermostConnection } from '../../src/adapters/mattermost/connection.ts';
import { MattermostApiError, MattermostStartError } from '../../src/adapters/mattermost/errors.ts';
import { normalizeBaseUrl } from '../../src/adapters/mattermost/rest.ts';
import { installWebSocketGlobals } from '../../src/adapters/mattermost/socket.ts';
import type { ResyncResult, ResyncTrigger } from '../../src/adapters/mattermost/resync.ts';
import { mattermostReconnectsTotal, mattermostResyncPostsTotal } from '../../src/core/metrics.ts';
import { createLogger } from '../../src/util/log.ts';
import { BOT_TOKEN, FakeMattermost, type FakeChannel, type FakeUser } from '../fakes/mattermost.ts';
import { closedPort, connectTo, delay, waitForReceived } from './helpers.ts';

let fake: FakeMattermost;
let ana: FakeUser;
let town: FakeChannel;
const connections: MattermostConnection[] = [];

beforeEach(async () => {
  fake = await FakeMattermost.start({ maxPostSize: 5000 });
  ana = fake.addUser({ username: 'ana' });
  town = fake.addChannel({ name: 'adc-operations', members: [ana] });
});

afterEach(async () => {
  for (const connection of connections.splice(0)) await connection.stop();
  await fake.close();
});

function open(overrides: Parameters<typeof connectTo>[1] = {}) {
  const made = connectTo(fake, overrides);
  connections.push(made.connection);
  return made;
}

/** Every resync the connection reports, in order. */
function resyncsOf(connection: MattermostConnection): ResyncResult[] {
  const results: ResyncResult[] = [];
  connection.on('resynced', (result) => {
    results.push(result);
    fake.emit('change');
  });
  return results;
}

function waitForResync(results: ResyncResult[], trigger: ResyncTrigger, timeoutMs = 5_000): Promise<ResyncResult> {
  return fake.waitUntil(() => results.find((r) => r.trigger === trigger), timeoutMs, `a resync (${trigger})`);
}

describe('start: the token check', () => {
  it('identifies the bot, reads MaxPostSize once and opens the websocket', async () => {
    const { connection } = open();
    const bot = await connection.start();
    expect(bot).toEqual({ id: fake.bot.id, username: 'askpanda', isBot: true });
    expect(connection.maxPostSize).toBe(5000);
    expect(connection.connected).toBe(true);
    expect(fake.callsTo('getMe')).toHaveLength(1);
    expect(fake.callsTo('getMe')[0]!.token).toBe(BOT_TOKEN);
    expect(fake.callsTo('getClientConfig')[0]!.query).toMatchObject({ format: 'old' });
    await connection.rest.sendTyping(town.id);
    await connection.rest.createPost({ channelId: town.id, message: 'hello' });
    expect(fake.callsTo('getClientConfig')).toHaveLength(1);
  });

  it('stops with one line naming the setting for a bad token, without printing it', async () => {
    const { connection } = open({ token: 'wrongtoken00000000000000aa' });
    const error = await connection.start().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MattermostStartError);
    const { reason, message } = error as MattermostStartError;
    expect(reason).toBe('bad_token');
    expect(message).toContain('MATTERMOST_TOKEN');
    expect(message).toContain('401');
    expect(message).not.toContain('wrongtoken');
    expect(message).not.toContain('\n');
    expect(fake.upgrades).toHaveLength(0);
  });

  it('says the server cannot be reached when nothing listens at the URL', async () => {
    const port = await closedPort();
    const { connection } = open({ url: `http://127.0.0.1:${port}` });
    const error = (await connection.start().catch((err: unknown) => err)) as MattermostStartError;
    expect(error.reason).toBe('unreachable');
    expect(error.message).toContain(`http://127.0.0.1:${port}`);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).toContain('MATTERMOST_URL');
  });

  it('gives up on a server that does not answer, within the request time-out', async () => {
    fake.fail('getMe', { hangMs: 10_000 });
    const { connection } = open({ requestTimeoutMs: 300 });
    const started = Date.now();
    const error = (await connection.start().catch((err: unknown) => err)) as MattermostStartError;
    expect(error.reason).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('tells a wrong base URL and a non-URL apart from a bad token', async () => {
    const wrongPath = open({ url: `${fake.url}/mattermost` });
    expect(((await wrongPath.connection.start().catch((e: unknown) => e)) as MattermostStartError).reason).toBe(
      'not_mattermost',
    );
    const notUrl = open({ url: 'mattermost.cern.ch' });
    const error = (await notUrl.connection.start().catch((e: unknown) => e)) as MattermostStartError;
    expect(error.reason).toBe('bad_url');
    expect(error.message).toContain('MATTERMOST_URL');
  });

  it('accepts a URL with /api/v4 or a trailing slash', () => {
    expect(normalizeBaseUrl('https://mm.cern.ch/api/v4/')).toBe('https://mm.cern.ch');
    expect(normalizeBaseUrl('https://mm.cern.ch/chat/')).toBe('https://mm.cern.ch/chat');
    expect(normalizeBaseUrl('ftp://mm.cern.ch')).toBeUndefined();
  });

  it('falls back to the old 4000 limit when the server does not say', async () => {
    fake.fail('getClientConfig', { status: 500 }, 3);
    const { connection } = open();
    await connection.start();
    expect(connection.maxPostSize).toBe(4000);
  });
});

describe('websocket framing', () => {
  it('authenticates with the challenge (seq 1) and gets hello at seq 0 with a connection id', async () => {
    // The real client on its own socket without an upgrade header: the challenge is the only auth.
    installWebSocketGlobals();
    const seen: Array<Record<string, unknown>> = [];
    const messages: Array<{ event: string; seq: number; data: Record<string, unknown> }> = [];
    const client = new mm.WebSocketClient({
      newWebSocketFn: (url) => {
        const socket = new NodeWebSocket(url);
        socket.on('message', (data) => seen.push(JSON.parse(String(data)) as Record<string, unknown>));
        return socket as unknown as WebSocket;
      },
    });
    client.addMessageListener((message) => messages.push(message as unknown as (typeof messages)[number]));
    try {
      client.initialize(`ws://127.0.0.1:${fake.port}/api/v4/websocket`, BOT_TOKEN);
      await fake.waitUntil(
        () => (seen.some((f) => f.seq_reply === 1) ? true : undefined),
        5_000,
        'the challenge reply',
      );
      expect(fake.framesReceived[0]).toEqual({
        action: 'authentication_challenge',
        seq: 1,
        data: { token: BOT_TOKEN },
      });
      const hello = seen.find((f) => f.event === 'hello')!;
      expect(hello.seq).toBe(0);
      expect(typeof (hello.data as Record<string, unknown>).connection_id).toBe('string');
      expect(seen.find((f) => f.seq_reply === 1)).toMatchObject({ status: 'OK', seq_reply: 1 });
      expect(messages[0]?.event).toBe('hello');
    } finally {
      client.close();
    }
  });

  it('closes a challenge with a bad token without a hello', async () => {
    const socket = new NodeWebSocket(`ws://127.0.0.1:${fake.port}/api/v4/websocket`);
    const frames: string[] = [];
    socket.on('message', (d) => frames.push(String(d)));
    await new Promise((resolve) => socket.on('open', resolve));
    socket.send(JSON.stringify({ action: 'authentication_challenge', seq: 1, data: { token: 'nope' } }));
    await new Promise((resolve) => socket.on('close', resolve));
    expect(frames).toEqual([]);
  });

  it('authenticates the upgrade too and sends the challenge; the server numbers events from 1', async () => {
    const { connection, received } = open();
    await connection.start();
    expect(fake.upgrades[0]).toMatchObject({ withToken: true, connectionId: '', sequenceNumber: '0' });
    const challenge = await fake.waitUntil(
      () => fake.framesReceived.find((f) => f.action === 'authentication_challenge'),
      2_000,
      'the challenge',
    );
    expect(challenge).toMatchObject({ seq: 1, data: { token: BOT_TOKEN } });
    // Authenticated at the upgrade already: the server ignores the challenge and does not reply.
    expect(fake.framesSent.some((f) => f.seq_reply === 1)).toBe(false);
    fake.userPosts(ana, town, 'first');
    fake.userPosts(ana, town, 'second');
    await waitForReceived(fake, received, () => true, 2);
    expect(fake.framesSent.filter((f) => 'event' in f).map((f) => [f.event, f.seq])).toEqual([
      ['hello', 0],
      ['posted', 1],
      ['posted', 2],
    ]);
  });

  it('answers pings and keeps one connection while they are answered', async () => {
    // A generous period: a stalled event loop longer than one period would look like a lost pong.
    const { connection } = open({ pingIntervalMs: 500 });
    await connection.start();
    await delay(1_200);
    expect(fake.framesReceived.filter((f) => f.action === 'ping').length).toBeGreaterThanOrEqual(2);
    expect(fake.upgrades).toHaveLength(1);
  });
});

describe('posted events', () => {
  it('hands over a channel mention with the post decoded, its channel type and mentions', async () => {
    const { connection, received } = open();
    await connection.start();
    const post = fake.userPosts(ana, town, '@askpanda why did job 6802258254 fail?');
    const [event] = await waitForReceived(fake, received, (e) => e.post.id === post.id);
    expect(event).toMatchObject({ event: 'posted', channelType: 'O', mentions: [fake.bot.id], source: 'websocket' });
    expect(event!.post).toMatchObject({
      id: post.id,
      user_id: ana.id,
      channel_id: town.id,
      root_id: '',
      message: post.message,
      type: '',
      props: {},
    });
  });

  it('leaves mentions empty when the server sends none, and marks DMs as D', async () => {
    const { connection, received } = open();
    await connection.start();
    const plain = fake.userPosts(ana, town, 'nothing for the bot here');
    const dm = fake.userPosts(ana, fake.directChannel(ana), 'what does pilot error 1213 mean?');
    await waitForReceived(fake, received, (e) => e.post.id === dm.id);
    const posted = fake.framesSent.filter((f) => f.event === 'posted').map((f) => f.data as Record<string, unknown>);
    expect(posted[0]).not.toHaveProperty('mentions');
    expect(typeof posted[0]!.post).toBe('string');
    expect(received.find((e) => e.post.id === plain.id)!.mentions).toEqual([]);
    expect(received.find((e) => e.post.id === dm.id)).toMatchObject({ channelType: 'D', mentions: [fake.bot.id] });
  });

  it('hands over edits as post_edited and its own posts too (the classifier drops them)', async () => {
    const { connection, received } = open();
    await connection.start();
    const post = fake.userPosts(ana, town, '@askpanda typo');
    fake.userEdits(post.id, '@askpanda fixed');
    const own = await connection.rest.createPost({ channelId: town.id, rootId: post.id, message: 'an answer' });
    await waitForReceived(fake, received, (e) => e.post.id === own.id);
    expect(received.map((e) => e.event)).toEqual(['posted', 'post_edited', 'posted']);
    expect(received[1]!.post.message).toBe('@askpanda fixed');
  });

  it('hands over a replayed event again (exactly-once is the store claim’s job)', async () => {
    const { connection, received } = open();
    await connection.start();
    const post = fake.userPosts(ana, town, '@askpanda hi');
    await waitForReceived(fake, received, (e) => e.post.id === post.id);
    fake.replayPosted(post.id);
    await waitForReceived(fake, received, (e) => e.post.id === post.id, 2);
  });

  it('skips bad frames and bad posts without a crash or a reconnect', async () => {
    const { connection, received } = open();
    await connection.start();
    fake.sendRaw('this is not json');
    fake.sendRaw('[1,2,3]');
    fake.sendWithNextSeq((seq) => JSON.stringify({ event: 'posted', seq })); // no data: replaced, seq kept
    fake.sendEvent('posted', { post: '{not json', channel_type: 'O' });
    fake.sendEvent('posted', { post: JSON.stringify({ id: 'x', message: 'no channel or user' }), channel_type: 'O' });
    fake.sendEvent('posted', {
      post: JSON.stringify({ id: 'y', create_at: 1, user_id: ana.id, channel_id: town.id }),
      channel_type: 'O',
      mentions: '{"not":"an array"}',
    });
    const good = fake.userPosts(ana, town, '@askpanda still there?');
    await waitForReceived(fake, received, (e) => e.post.id === good.id);
    expect(received.map((e) => e.post.id)).toEqual(['y', good.id]);
    expect(received[0]!.mentions).toEqual([]);
    expect(fake.upgrades).toHaveLength(1);
    expect(connection.connected).toBe(true);
  });

  it('keeps delivering when the post handler throws or rejects', async () => {
    let calls = 0;
    const { connection } = open({
      onPost: () => {
        calls++;
        fake.emit('change');
        if (calls === 1) throw new Error('boom');
        if (calls === 2) return Promise.reject(new Error('async boom'));
      },
    });
    await connection.start();
    for (const text of ['one', 'two', 'three']) fake.userPosts(ana, town, text);
    await fake.waitUntil(() => (calls >= 3 ? true : undefined), 5_000, 'three deliveries');
  });
});

describe('reconnects and resync', () => {
  it('resumes after a dropped socket: same connection, queued posts delivered once, the resync finds nothing missed', async () => {
    const { connection, received } = open({ reconnectResyncDelayMs: 20 });
    const resynced = resyncsOf(connection);
    await connection.start();
    await waitForResync(resynced, 'start');
    const before = fake.userPosts(ana, town, '@askpanda before');
    await waitForReceived(fake, received, (e) => e.post.id === before.id);
    fake.acceptWebsockets = false;
    fake.dropWebsockets();
    await fake.waitUntil(() => (fake.upgrades.length >= 2 ? true : undefined), 5_000, 'a refused reconnect');
    const during = fake.userPosts(ana, town, '@askpanda during the outage');
    fake.acceptWebsockets = true;
    await waitForReceived(fake, received, (e) => e.post.id === during.id);
    const after = fake.userPosts(ana, town, '@askpanda after');
    await waitForReceived(fake, received, (e) => e.post.id === after.id);
    expect(received.map((e) => e.post.id)).toEqual([before.id, during.id, after.id]);
    expect(received.map((e) => e.source)).toEqual(['websocket', 'websocket', 'websocket']);
    expect(fake.hellos).toHaveLength(1);
    const resumed = fake.upgrades[fake.upgrades.length - 1]!;
    expect(resumed.connectionId).toBe(fake.hellos[0]!.connectionId);
    // A resumed socket has no hello: it counts as connected once the server answers on it.
    expect(connection.connected).toBe(true);
    // The resync after the reconnect reads the one channel that had posts meanwhile (one page) and
    // finds every post already delivered by the replay.
    await waitForResync(resynced, 'reconnect');
    expect(resynced.find((r) => r.trigger === 'reconnect')).toMatchObject({ behind: 1, posts: 0 });
    expect(fake.callsTo('getPosts')).toHaveLength(1);
    expect(fake.callsTo('getPostsSince')).toHaveLength(0);
  });

  it('after a restart (new connection id) re-reads only what was missed in each channel, DM and group, each once', async () => {
    const elsewhere = fake.addChannel({ name: 'distributed-computing', members: [ana], type: 'P' });
    const dmChannel = fake.directChannel(ana);
    const ben = fake.addUser({ username: 'ben' });
    const group = fake.groupChannel([ana, ben]);
    const idle = fake.addChannel({ name: 'idle', members: [ana] });
    fake.pastPost(ana, idle, 'last week', Date.now() - 7 * 24 * 3600_000);
    const { connection, received } = open();
    const resynced = resyncsOf(connection);
    await connection.start();
    await waitForResync(resynced, 'start');
    const seen = fake.userPosts(ana, town, '@askpanda seen before the restart');
    const threadRoot = fake.userPosts(ana, town, '@askpanda thread root');
    await waitForReceived(fake, received, (e) => e.post.id === threadRoot.id);

    fake.acceptWebsockets = false;
    fake.restart();
    await fake.waitUntil(() => (fake.upgrades.length >= 2 ? true : undefined), 5_000, 'a refused reconnect');
    const missed = [
      fake.userPosts(ana, town, '@askpanda missed in the channel'),
      fake.userPosts(ana, elsewhere, '@askpanda missed in a private channel'),
      fake.userPosts(ana, dmChannel, 'missed in the DM'),
      fake.userPosts(ben, group, '@askpanda missed in a group message'),
      fake.userPosts(ana, town, 'missed reply', { rootId: threadRoot.id }),
    ];
    fake.acceptWebsockets = true;
    const result = await waitForResync(resynced, 'new_connection');
    const live = fake.userPosts(ana, town, '@askpanda live after the restart');
    await waitForReceived(fake, received, (e) => e.post.id === live.id);

    expect(fake.hellos).toHaveLength(2);
    expect(fake.hellos[1]!.connectionId).not.toBe(fake.hellos[0]!.connectionId);
    const fromResync = received.filter((e) => e.source === 'resync');
    // Each author's posts oldest first; authors side by side.
    expect(fromResync.filter((e) => e.post.user_id === ana.id).map((e) => e.post.id)).toEqual(
      missed.filter((p) => p.user_id === ana.id).map((p) => p.id),
    );
    expect(new Map(fromResync.map((e) => [e.post.id, e.channelType]))).toEqual(
      new Map(missed.map((p, i) => [p.id, (['O', 'P', 'D', 'G', 'O'] as const)[i]])),
    );
    const ids = received.map((e) => e.post.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => id === seen.id)).toHaveLength(1);
    expect(result).toMatchObject({ behind: 4, posts: 5, failedChannels: 0 });
    // Only the four channels with new posts are read, each with one first page, without thread context.
    const reads = fake.callsTo('getPosts');
    expect(new Set(reads.map((c) => c.path))).toEqual(
      new Set([town, elsewhere, dmChannel, group].map((c) => `/api/v4/channels/${c.id}/posts`)),
    );
    expect(reads.map((c) => c.query)).toEqual(
      reads.map(() => expect.objectContaining({ page: '0', per_page: '25', skipFetchThreads: 'true' })),
    );
    expect(fake.callsTo('getPostsSince')).toHaveLength(0);
  });

  it('never hands over history: posts from before the start, thread roots, posts past the age limit', async () => {
    const oldRoot = fake.pastPost(ana, town, '@askpanda asked before the bot started', Date.now() - 120_000);
    const { connection, received } = open({ resyncMaxAgeMs: 60_000 });
    const resynced = resyncsOf(connection);
    await connection.start();
    await waitForResync(resynced, 'start');
    fake.restart();
    const tooOld = fake.pastPost(ana, town, '@askpanda stamped 90 s ago', Date.now() - 90_000);
    const reply = fake.userPosts(ana, town, 'a new reply to the old question', { rootId: oldRoot.id });
    const recent = fake.userPosts(ana, town, '@askpanda recent');
    await waitForResync(resynced, 'new_connection');
    await waitForReceived(fake, received, (e) => e.post.id === recent.id);
    // The page the server returns carries the old root as thread context: only the page's posts count.
    expect(received.map((e) => e.post.id)).toEqual([reply.id, recent.id]);
    expect(received.map((e) => e.post.id)).not.toContain(tooOld.id);
    expect(received.map((e) => e.post.id)).not.toContain(oldRoot.id);
  });

  it('recovers from a sequence gap: reconnect, new hello, the skipped post re-read once', async () => {
    const { connection, received } = open();
    const resynced = resyncsOf(connection);
    const reasons: string[] = [];
    connection.on('reconnected', ({ reason }) => reasons.push(reason));
    await connection.start();
    await waitForResync(resynced, 'start');
    fake.skipSequence();
    const post = fake.userPosts(ana, town, '@askpanda arrives out of sequence');
    const [event] = await waitForReceived(fake, received, (e) => e.post.id === post.id);
    expect(event!.source).toBe('resync');
    expect(fake.hellos).toHaveLength(2);
    expect(reasons).toEqual(['sequence_gap']);
    await delay(200);
    expect(received.filter((e) => e.post.id === post.id)).toHaveLength(1);
  });

  it('reads what it missed, not the history: pages double from 25 and stop at the newest post seen', async () => {
    const { connection, received } = open();
    const resynced = resyncsOf(connection);
    await connection.start();
    await waitForResync(resynced, 'start');
    // A long history the bot saw live.
    for (let i = 0; i < 300; i++) fake.userPosts(ana, town, `chatter ${i}`);
    await waitForReceived(fake, received, () => true, 300);
    fake.restart();
    const missed = Array.from({ length: 60 }, (_, i) => fake.userPosts(ana, town, `@askpanda missed ${i}`));
    const result = await waitForResync(resynced, 'new_connection');
    await connection.idle();
    expect(received.filter((e) => e.source === 'resync').map((e) => e.post.id)).toEqual(missed.map((p) => p.id));
    // Offsets 0-25, 25-50, 50-100: the third page reaches a post seen before; the rest is not read.
    expect(fake.callsTo('getPosts').map((c) => [c.query.page, c.query.per_page])).toEqual([
      ['0', '25'],
      ['1', '25'],
      ['1', '50'],
    ]);
    expect(result).toMatchObject({ posts: 60 });
    expect(result.read).toBeLessThanOrEqual(100);
  });

  it('a busy channel cannot outrun it: 1,500 posts missed in one channel are all handed over', async () => {
    const { connection, received } = open();
    const resynced = resyncsOf(connection);
    await connection.start();
    await waitForResync(resynced, 'start');
    fake.restart();
    const missed = Array.from({ length: 1_500 }, (_, i) => fake.userPosts(ana, town, `@askpanda question ${i}`));
    await waitForResync(resynced, 'new_connection');
    await connection.idle();
    const ids = received.map((e) => e.post.id);
    expect(ids).toEqual(missed.map((p) => p.id));
    // The server's `since` query would have returned 1000 of them.
    expect(fake.callsTo('getPostsSince')).toHaveLength(0);
  });

  it('reads a channel again after its read failed; live posts meanwhile do not hide what it missed', async () => {
    const { connection, received } = open();
    const resynced = resyncsOf(connection);
    await connection.start();
    await waitForResync(resynced, 'start');
    fake.acceptWebsockets = false;
    fake.restart();
    await fake.waitUntil(() => (fake.upgrades.length >= 2 ? true : undefined), 5_000, 'a refused reconnect');
    const missed = fake.userPosts(ana, town, '@askpanda asked while the bot was away');
    // The first read and its two retries fail: the channel is skipped by that resync.
    fake.fail('getPosts', { status: 503 }, 3);
    fake.acceptWebsockets = true;
    const first = await waitForResync(resynced, 'new_connection');
    expect(first).toMatchObject({ failedChannels: 1, posts: 0 });
    const live = fake.userPosts(ana, town, '@askpanda asked after the reconnect');
    await waitForReceived(fake, received, (e) => e.post.id === live.id);
    await waitForReceived(fake, received, (e) => e.post.id === missed.id, 1, 8_000);
    await connection.idle();
    expect(received.filter((e) => e.post.id === missed.id).map((e) => e.source)).toEqual(['resync']);
  });

  it('counts reconnects by reason and re-read posts by result, and warns when a resync finds posts no event delivered', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger(
      'info',
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          done();
        },
      }),
    );
    const { connection, received } = open({ logger });
    const resynced = resyncsOf(connection);
    const counted = async () => ({
      gaps: (await mattermostReconnectsTotal.get()).values.find((v) => v.labels.reason === 'sequence_gap')?.value ?? 0,
      missed: (await mattermostResyncPostsTotal.get()).values.find((v) => v.labels.result === 'missed')?.value ?? 0,
    });
    await connection.start();
    await waitForResync(resynced, 'start');
    const before = await counted();
    fake.skipSequence();
    const post = fake.userPosts(ana, town, '@askpanda lost in a gap');
    await waitForReceived(fake, received, (e) => e.post.id === post.id);
    const after = await counted();
    expect(after.gaps - before.gaps).toBe(1);
    expect(after.missed - before.missed).toBe(1);
    const warning = lines.find(
      (l) => l.msg === 'Mattermost resync found posts no websocket event delivered; answering them now',
    );
    expect(warning).toMatchObject({ level: 40, trigger: 'new_connection', posts: 1 });
    // Ids and text stay out of the log line.
    expect(JSON.stringify(warning)).not.toContain(post.id);
    expect(JSON.stringify(warning)).not.toContain('lost in a gap');
  });

  it(
    'replaces a half-open socket (no pongs, no events, the server still holds it) within two ping periods ' +
      'and hands over what was posted meanwhile',
    async () => {
      const pingIntervalMs = 300;
      const { connection, received } = open({ pingIntervalMs, reconnectResyncDelayMs: 20 });
      const resynced = resyncsOf(connection);
      const reasons: string[] = [];
      connection.on('reconnected', ({ reason }) => reasons.push(reason));
      await connection.start();
      await waitForResync(resynced, 'start');
      const cutAt = Date.now();
      fake.halfOpenWebsockets();
      const lost = [
        fake.userPosts(ana, town, '@askpanda into the void'),
        fake.userPosts(ana, town, '@askpanda hello?'),
      ];
      await waitForReceived(fake, received, (e) => lost.some((p) => p.id === e.post.id), 2, 5_000);
      const recoveredMs = Date.now() - cutAt;
      expect(reasons).toEqual(['ping_timeout']);
      // The server had not seen the old socket close: the reconnect got a new connection id.
      expect(fake.hellos).toHaveLength(2);
      expect(received.filter((e) => lost.some((p) => p.id === e.post.id)).map((e) => e.source)).toEqual([
        'resync',
        'resync',
      ]);
      // Two ping periods, then the reconnect pause (50-100 ms), the resync delay and two REST reads.
      expect(recoveredMs).toBeLessThan(2 * pingIntervalMs + 1_500);
      const after = fake.userPosts(ana, town, '@askpanda and now?');
      await waitForReceived(fake, received, (e) => e.post.id === after.id);
    },
  );

  it(
    'finds a socket that answers pings but carries no events by the channel check, ' +
      'reconnects and hands over what it missed once',
    async () => {
      const checkIntervalMs = 200;
      const { connection, received } = open({ checkIntervalMs, reconnectResyncDelayMs: 20 });
      const resynced = resyncsOf(connection);
      const reasons: string[] = [];
      connection.on('reconnected', ({ reason }) => reasons.push(reason));
      await connection.start();
      await waitForResync(resynced, 'start');
      const mutedAt = Date.now();
      fake.muteWebsockets();
      const lost = fake.userPosts(ana, town, '@askpanda is anyone listening?');
      await waitForReceived(fake, received, (e) => e.post.id === lost.id, 1, 5_000);
      const recoveredMs = Date.now() - mutedAt;
      await fake.waitUntil(() => (reasons.length > 0 ? true : undefined), 5_000, 'the reconnect');
      expect(reasons).toEqual(['stalled']);
      // Seen behind at one check, still behind at the next: within three periods of the post.
      expect(recoveredMs).toBeLessThan(3 * checkIntervalMs + 1_500);
      const after = fake.userPosts(ana, town, '@askpanda and now?');
      await waitForReceived(fake, received, (e) => e.post.id === after.id);
      await delay(3 * checkIntervalMs);
      expect(received.filter((e) => e.post.id === lost.id)).toHaveLength(1);
      expect(reasons).toEqual(['stalled']);
    },
  );

  it('drops the frames still in flight on a socket it closed after a gap: one gap logged, not one per frame', async () => {
    const { connection, received } = open();
    await connection.start();
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
    try {
      fake.skipSequence();
      // Written at once: the client meets the gap with the rest of the burst already in its buffer.
      const burst = Array.from({ length: 200 }, (_, i) => fake.userPosts(ana, town, `@askpanda burst ${i}`));
      await waitForReceived(fake, received, (e) => e.post.id === burst[199]!.id, 1, 10_000);
    } finally {
      spy.mockRestore();
    }
    expect(lines.filter((l) => l.startsWith('missed websocket event'))).toHaveLength(1);
  });

  it('reconnects when pings go unanswered (the CloseEvent polyfill path)', async () => {
    const { connection, received } = open({ pingIntervalMs: 100 });
    const disconnects: number[] = [];
    connection.on('disconnected', ({ failures }) => disconnects.push(failures));
    await connection.start();
    fake.answerPings = false;
    await fake.waitUntil(() => (fake.upgrades.length >= 2 ? true : undefined), 5_000, 'a reconnect after missed pongs');
    fake.answerPings = true;
    expect(disconnects.length).toBeGreaterThanOrEqual(1);
    const post = fake.userPosts(ana, town, '@askpanda after the ping time-out');
    await waitForReceived(fake, received, (e) => e.post.id === post.id);
  });

  it('keeps retrying with growing, jittered pauses until the server accepts again', async () => {
    const { connection, received } = open({
      reconnect: { minMs: 40, maxMs: 2_000, jitterMs: 20, failuresBeforeBackoff: 1 },
    });
    await connection.start();
    fake.acceptWebsockets = false;
    fake.dropWebsockets();
    await fake.waitUntil(() => (fake.upgrades.length >= 5 ? true : undefined), 10_000, 'four refused reconnects');
    const refused = fake.upgrades.slice(1).map((u) => u.at);
    const gaps = refused.slice(1).map((at, i) => at - refused[i]!);
    expect(gaps[gaps.length - 1]!).toBeGreaterThan(gaps[0]!);
    fake.acceptWebsockets = true;
    const post = fake.userPosts(ana, town, '@askpanda back');
    await waitForReceived(fake, received, (e) => e.post.id === post.id, 1, 10_000);
  });

  it('stops cleanly: no socket, no reconnect, no more posts', async () => {
    const { connection, received } = open();
    await connection.start();
    await connection.stop();
    await fake.waitUntil(() => (fake.socketCount === 0 ? true : undefined), 2_000, 'the socket to close');
    fake.userPosts(ana, town, '@askpanda anyone?');
    await delay(300);
    expect(received).toHaveLength(0);
    expect(fake.upgrades).toHaveLength(1);
    // REST still works for answers being finished.
    await connection.rest.createPost({ channelId: town.id, message: 'finishing an answer' });
  });

  it('stops while waiting to reconnect', async () => {
    const { connection } = open({ reconnect: { minMs: 600, maxMs: 1_000, jitterMs: 10, failuresBeforeBackoff: 3 } });
    await connection.start();
    fake.dropWebsockets();
    await delay(50);
    await connection.stop();
    await delay(1_200);
    expect(fake.upgrades).toHaveLength(1);
  });

  it('fails start with one line when the websocket never connects, leaving nothing running', async () => {
    fake.acceptWebsockets = false;
    const { connection } = open({ startTimeoutMs: 400 });
    const error = (await connection.start().catch((e: unknown) => e)) as MattermostStartError;
    expect(error.reason).toBe('websocket');
    expect(error.message).toContain('/api/v4/websocket');
    const attempts = fake.upgrades.length;
    await delay(300);
    expect(fake.upgrades.length).toBe(attempts);
  });
});

describe('REST helpers', () => {
  let connection: MattermostConnection;
  beforeEach(async () => {
    connection = open().connection;
    await connection.start();
  });

  it('posts in a thread, patches, types in the thread and reacts', async () => {
    const question = fake.userPosts(ana, town, '@askpanda why did job 6802258254 fail?');
    const reply = await connection.rest.createPost({
      channelId: town.id,
      rootId: question.id,
      message: 'Looking…',
      props: { askpanda: { question: question.id } },
    });
    expect(fake.posts.get(reply.id)).toMatchObject({
      root_id: question.id,
      user_id: fake.bot.id,
      props: { from_bot: 'true', askpanda: { question: question.id } },
    });
    const patched = await connection.rest.patchPost(reply.id, {
      message: 'Job 6802258254 failed with pilot error 1305.',
    });
    expect(patched.edit_at).toBeGreaterThan(0);
    expect(fake.posts.get(reply.id)!.message).toBe('Job 6802258254 failed with pilot error 1305.');
    await connection.rest.sendTyping(town.id, question.id);
    expect(fake.typing).toEqual([
      expect.objectContaining({ userId: fake.bot.id, channelId: town.id, parentId: question.id, via: 'rest' }),
    ]);
    await connection.rest.addReaction(question.id, 'eyes');
    expect(fake.reactions).toEqual([
      expect.objectContaining({ user_id: fake.bot.id, post_id: question.id, emoji_name: 'eyes' }),
    ]);
    await connection.rest.removeReaction(question.id, 'eyes');
    expect(fake.reactions).toEqual([]);
  });

  it('reads a thread oldest first with the root, bounded to the newest replies', async () => {
    const root = fake.userPosts(ana, town, '@askpanda task 46374283?');
    const replies = Array.from({ length: 10 }, (_, i) => fake.userPosts(ana, town, `reply ${i}`, { rootId: root.id }));
    const { posts, truncated } = await connection.rest.readThread(replies[4]!.id, { maxPosts: 3 });
    expect(posts.map((p) => p.id)).toEqual([root.id, ...replies.slice(-3).map((p) => p.id)]);
    expect(truncated).toBe(true);
    const whole = await connection.rest.readThread(root.id);
    expect(whole.posts).toHaveLength(11);
    expect(whole.truncated).toBe(false);
    expect(fake.callsTo('getPostThread')[0]!.query).toMatchObject({ direction: 'up', perPage: '3' });
  });

  it('sends an ephemeral post, and reports a refusal as false', async () => {
    expect(await connection.rest.postEphemeral(ana.id, { channelId: town.id, message: 'only you see this' })).toBe(
      true,
    );
    expect(fake.ephemeral[0]).toMatchObject({
      userId: ana.id,
      post: { message: 'only you see this', channel_id: town.id },
    });
    fake.ephemeralAllowed = false;
    expect(await connection.rest.postEphemeral(ana.id, { channelId: town.id, message: 'refused' })).toBe(false);
    expect(fake.callsTo('createPostEphemeral').map((c) => c.status)).toEqual([201, 403]);
  });

  it('gets a 400 for a post over MaxPostSize (counted in code points)', async () => {
    await connection.rest.createPost({ channelId: town.id, message: '😀'.repeat(5000) });
    const error = (await connection.rest
      .createPost({ channelId: town.id, message: '😀'.repeat(5001) })
      .catch((e: unknown) => e)) as MattermostApiError;
    expect(error).toBeInstanceOf(MattermostApiError);
    expect(error).toMatchObject({
      route: 'createPost',
      status: 400,
      errorId: 'model.post.is_valid.message_length.app_error',
    });
  });

  it('reports permission errors with the server error id', async () => {
    const closed = fake.addChannel({ name: 'secret', type: 'P', members: [ana], withBot: false });
    const error = (await connection.rest
      .createPost({ channelId: closed.id, message: 'x' })
      .catch((e: unknown) => e)) as MattermostApiError;
    expect(error).toMatchObject({ status: 403, errorId: 'api.context.permissions.app_error' });
  });

  it('waits out a 429 with Retry-After and then succeeds', async () => {
    fake.fail('createPost', { status: 429, retryAfterSeconds: 1 });
    const started = Date.now();
    const post = await connection.rest.createPost({ channelId: town.id, message: 'after the rate limit' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(fake.callsTo('createPost').map((c) => c.status)).toEqual([429, 201]);
    expect(fake.botPosts().map((p) => p.id)).toEqual([post.id]);
  });

  it('waits a second on a 429 that says nothing about when to come back', async () => {
    fake.fail('createPost', { status: 429 });
    const started = Date.now();
    const post = await connection.rest.createPost({ channelId: town.id, message: 'after a bare 429' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(fake.callsTo('createPost').map((c) => c.status)).toEqual([429, 201]);
    expect(fake.botPosts().map((p) => p.id)).toEqual([post.id]);
  });

  it('fails at once on a 429 that asks for too long a wait', async () => {
    const impatient = open({ maxRetryAfterMs: 500 }).connection;
    await impatient.start();
    fake.fail('createPost', { status: 429, retryAfterSeconds: 60 });
    const started = Date.now();
    const error = (await impatient.rest
      .createPost({ channelId: town.id, message: 'x' })
      .catch((e: unknown) => e)) as MattermostApiError;
    expect(error).toMatchObject({ status: 429, errorId: 'rate_limited' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('times out a hanging write without repeating it', async () => {
    const quick = open({ requestTimeoutMs: 200 }).connection;
    await quick.start();
    const post = await quick.rest.createPost({ channelId: town.id, message: 'draft' });
    fake.fail('patchPost', { hangMs: 5_000 });
    const error = (await quick.rest
      .patchPost(post.id, { message: 'final' })
      .catch((e: unknown) => e)) as MattermostApiError;
    expect(error).toMatchObject({ status: 0, errorId: 'timeout' });
    expect(fake.callsTo('patchPost')).toHaveLength(1);
  });

  it('retries a read after a 5xx', async () => {
    const root = fake.userPosts(ana, town, 'root');
    fake.fail('getPostThread', { status: 502 });
    const { posts } = await connection.rest.readThread(root.id);
    expect(posts.map((p) => p.id)).toEqual([root.id]);
    expect(fake.callsTo('getPostThread').map((c) => c.status)).toEqual([502, 200]);
  });

  it('reads users', async () => {
    expect(await connection.rest.getUser(ana.id)).toEqual({ id: ana.id, username: 'ana', isBot: false });
  });
});
