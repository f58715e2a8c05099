import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MattermostConnection } from '../../src/adapters/mattermost/connection.ts';
import {
  classifyPost,
  mentionsUser,
  parsePostEventData,
  type MattermostPostEvent,
  type PostDecision,
} from '../../src/adapters/mattermost/events.ts';
import { FakeMattermost, type FakeChannel, type FakePost, type FakeUser } from '../fakes/mattermost.ts';
import { connectTo, waitForReceived } from './helpers.ts';

/** Posts made on the fake, delivered by the real client, classified: the table the glue relies on. */
describe('classifyPost on events from the websocket', () => {
  let fake: FakeMattermost;
  let connection: MattermostConnection;
  let received: MattermostPostEvent[];
  let ana: FakeUser;
  let otherBot: FakeUser;
  let town: FakeChannel;
  let dm: FakeChannel;
  let group: FakeChannel;

  beforeAll(async () => {
    fake = await FakeMattermost.start();
    ana = fake.addUser({ username: 'ana' });
    otherBot = fake.addUser({ username: 'jira', isBot: true });
    town = fake.addChannel({ name: 'adc-operations', members: [ana, otherBot] });
    dm = fake.directChannel(ana);
    group = fake.groupChannel([ana, otherBot]);
    ({ connection, received } = connectTo(fake));
    await connection.start();
  });

  afterAll(async () => {
    await connection.stop();
    await fake.close();
  });

  async function decide(make: () => FakePost): Promise<PostDecision> {
    const post = make();
    const [event] = await waitForReceived(fake, received, (e) => e.post.id === post.id);
    return classifyPost(event!, connection.bot);
  }

  it('a mention in a channel is a question answered in a new thread', async () => {
    let post: FakePost | undefined;
    const decision = await decide(() => (post = fake.userPosts(ana, town, '@askpanda why did job 6802258254 fail?')));
    expect(decision).toEqual({
      kind: 'question',
      postId: post!.id,
      channelId: town.id,
      userId: ana.id,
      text: '@askpanda why did job 6802258254 fail?',
      threadId: post!.id,
      isDirect: false,
      source: 'websocket',
    });
  });

  it('a mention inside a thread answers in that thread (root_id)', async () => {
    const root = fake.userPosts(ana, town, 'task 46374283 looks stuck');
    const decision = await decide(() => fake.userPosts(ana, town, '@askpanda can you check?', { rootId: root.id }));
    expect(decision).toMatchObject({ kind: 'question', threadId: root.id });
  });

  it('any post in a DM is a question, with or without a mention, in or out of a thread', async () => {
    const first = fake.userPosts(ana, dm, 'what does pilot error 1213 mean?');
    expect(await decide(() => first)).toMatchObject({ kind: 'question', isDirect: true, threadId: first.id });
    expect(await decide(() => fake.userPosts(ana, dm, 'and how do I fix it?', { rootId: first.id }))).toMatchObject({
      kind: 'question',
      isDirect: true,
      threadId: first.id,
    });
  });

  it('a reply without a mention in a channel thread is a thread reply', async () => {
    const root = fake.userPosts(ana, town, '@askpanda what is happening with task 46374283?');
    expect(await decide(() => fake.userPosts(ana, town, 'how can I fix it?', { rootId: root.id }))).toMatchObject({
      kind: 'thread-reply',
      threadId: root.id,
      isDirect: false,
    });
  });

  it('a group message needs a mention like a channel', async () => {
    expect(await decide(() => fake.userPosts(ana, group, 'lunch?'))).toEqual({
      kind: 'ignore',
      reason: 'channel post not addressed to the bot',
    });
    expect(await decide(() => fake.userPosts(ana, group, '@askpanda job 6802258254?'))).toMatchObject({
      kind: 'question',
      isDirect: false,
    });
  });

  it.each([
    ['its own post', () => fake.userPosts(fake.bot, town, '@askpanda I answer myself'), 'own post'],
    [
      'another bot (props.from_bot set by the server)',
      () => fake.userPosts(otherBot, town, '@askpanda JIRA-123 created'),
      'post by another bot',
    ],
    ['another bot in a DM-like group', () => fake.userPosts(otherBot, group, 'reminder'), 'post by another bot'],
    ['a webhook', () => fake.webhookPosts(ana, town, '@askpanda build failed'), 'webhook post'],
    ['a plugin', () => fake.userPosts(ana, town, '@askpanda hi', { props: { from_plugin: 'true' } }), 'plugin post'],
    [
      'a system message',
      () => fake.systemPosts(ana, town, 'system_join_channel', 'ana joined the channel.'),
      'system post (system_join_channel)',
    ],
    [
      'a channel post without a mention',
      () => fake.userPosts(ana, town, 'the grid is slow today'),
      'channel post not addressed to the bot',
    ],
    [
      'an @here announcement (lists the bot in mentions)',
      () => fake.userPosts(ana, town, '@here downtime at 14:00'),
      'channel post not addressed to the bot',
    ],
    [
      'a mention inside code',
      () => fake.userPosts(ana, town, 'type `@askpanda help` to start'),
      'channel post not addressed to the bot',
    ],
    [
      'a longer username',
      () => fake.userPosts(ana, town, '@askpanda-dev are you the test bot?'),
      'channel post not addressed to the bot',
    ],
  ])('ignores %s', async (_what, make, reason) => {
    expect(await decide(make)).toEqual({ kind: 'ignore', reason });
  });

  it('ignores edits, even of a mention', async () => {
    const post = fake.userPosts(ana, town, '@askpanda typo');
    await waitForReceived(fake, received, (e) => e.post.id === post.id);
    fake.userEdits(post.id, '@askpanda fixed');
    const [edit] = await waitForReceived(fake, received, (e) => e.post.id === post.id && e.event === 'post_edited');
    expect(classifyPost(edit!, connection.bot)).toEqual({ kind: 'ignore', reason: 'edit of an earlier post' });
  });

  it('confirms the @here post really listed the bot in data.mentions', () => {
    const frame = fake.framesSent.find(
      (f) => f.event === 'posted' && String((f.data as { post: string }).post).includes('@here'),
    );
    expect(JSON.parse(String((frame!.data as { mentions: string }).mentions))).toContain(fake.bot.id);
  });
});

describe('classifyPost on re-read posts', () => {
  const bot = { id: 'b7ot3askpandabotid00000000', username: 'askpanda' };
  const base = {
    id: 'p1',
    create_at: 1,
    update_at: 1,
    edit_at: 0,
    delete_at: 0,
    user_id: 'u1',
    channel_id: 'c1',
    root_id: '',
    message: '',
    type: '',
    props: {},
  };
  const event = (
    post: Partial<typeof base>,
    channelType: MattermostPostEvent['channelType'] = 'O',
  ): MattermostPostEvent => ({
    event: 'posted',
    post: { ...base, ...post },
    channelType,
    mentions: [],
    source: 'resync',
  });

  it('finds the mention in the text, since a resync has no data.mentions', () => {
    expect(classifyPost(event({ message: 'Hey @AskPanda: task 46374283?' }), bot)).toMatchObject({
      kind: 'question',
      source: 'resync',
    });
  });

  it('ignores deleted posts and boolean flags from plugins', () => {
    expect(classifyPost(event({ message: '@askpanda x', delete_at: 5 }), bot)).toEqual({
      kind: 'ignore',
      reason: 'deleted post',
    });
    expect(classifyPost(event({ message: '@askpanda x', props: { from_bot: true } }), bot)).toEqual({
      kind: 'ignore',
      reason: 'post by another bot',
    });
  });

  it('treats an unknown channel type as a channel', () => {
    expect(classifyPost(event({ message: 'no mention' }, undefined), bot)).toEqual({
      kind: 'ignore',
      reason: 'channel post not addressed to the bot',
    });
  });
});

describe('mentionsUser', () => {
  it.each([
    ['@askpanda hi', true],
    ['hi @askpanda', true],
    ['hi @askpanda.', true],
    ['(@askpanda)', true],
    ['@ASKPANDA', true],
    ['hello\n@askpanda, task 1?', true],
    ['email me at x@askpanda.org', false],
    ['@askpanda.test is another bot', false],
    ['@askpanda_dev', false],
    ['@@askpanda', false],
    ['```\n@askpanda\n```', false],
    ['~~~\n@askpanda', false],
    ['use `@askpanda` then', false],
    ['no mention at all', false],
  ])('%j → %s', (message, expected) => {
    expect(mentionsUser(message, 'askpanda')).toBe(expected);
  });
});

describe('parsePostEventData', () => {
  it('rejects what is not a post and tolerates odd mentions', () => {
    expect(parsePostEventData({ post: 42 })).toMatchObject({ ok: false });
    expect(parsePostEventData({ post: '{' })).toMatchObject({ ok: false });
    expect(parsePostEventData({ post: '{"id":"x"}' })).toMatchObject({ ok: false });
    const ok = parsePostEventData({
      post: JSON.stringify({ id: 'x', create_at: 1, user_id: 'u', channel_id: 'c', props: null }),
      channel_type: 'Z',
      mentions: 'oops',
    });
    expect(ok).toMatchObject({
      ok: true,
      channelType: undefined,
      mentions: [],
      post: { props: {}, root_id: '', type: '' },
    });
  });
});
