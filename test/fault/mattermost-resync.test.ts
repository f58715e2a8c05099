import { afterEach, describe, expect, it } from 'vitest';
import { mattermostReconnectsTotal } from '../../src/core/metrics.ts';
import type { FakeChannel, FakePost, FakeUser } from '../fakes/mattermost.ts';
import { answersIn, startMattermost, type MattermostHarness } from '../mattermost/adapter-helpers.ts';
import { sleep, trackProcessFaults } from './helpers.ts';

/**
 * No mention lost across websocket trouble, end to end: the real app behind the real Mattermost
 * adapter, the loopback fake misbehaving the ways a real server and network do (dropped sockets,
 * restarts, sequence gaps, a gap on every event, a half-open socket, a socket that answers pings
 * but carries no events). Every mention and DM is answered exactly once, in its thread; nothing
 * else is answered; nobody is told "busy" for questions the bot itself missed.
 */

const LIMITS = {
  ASKPANDA_LIMITS_MAX_QUEUED: '100000',
  ASKPANDA_LIMITS_PER_USER_IN_FLIGHT: '1000',
  ASKPANDA_LIMITS_PER_USER_PER_MINUTE: '100000',
  ASKPANDA_LIMITS_PER_MINUTE: '1000000',
};

let h: MattermostHarness | undefined;
const faults = trackProcessFaults();

afterEach(async () => {
  await h?.close();
  h = undefined;
  expect(faults.unhandledRejections).toEqual([]);
  expect(faults.uncaughtExceptions).toEqual([]);
});

interface Sent {
  post: FakePost;
  addressed: boolean;
}

/** Per thread root: the bot's posts there (answers, busy notices, anything). */
function botPostsByRoot(harness: MattermostHarness): Map<string, FakePost[]> {
  const byRoot = new Map<string, FakePost[]>();
  for (const post of harness.fake.botPosts()) {
    if (!post.root_id) continue;
    byRoot.set(post.root_id, [...(byRoot.get(post.root_id) ?? []), post]);
  }
  return byRoot;
}

/**
 * Waits (one deadline for all) until each addressed post has an answer, then checks each has
 * exactly one, with no busy notice, and that nothing else got a reply; returns the problems.
 */
async function problemsAfterAnswers(harness: MattermostHarness, sent: Sent[], timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (sent.every(({ post, addressed }) => !addressed || answersIn(harness.fake, post.id).length > 0)) break;
    await sleep(100);
  }
  await harness.adapter.idle();
  await sleep(200);
  const byRoot = botPostsByRoot(harness);
  const problems: string[] = [];
  for (const { post, addressed } of sent) {
    const replies = byRoot.get(post.id) ?? [];
    const answers = answersIn(harness.fake, post.id).length;
    if (addressed && answers !== 1) problems.push(`${answers} answers to ${JSON.stringify(post.message)}`);
    if (replies.some((p) => p.message.startsWith('I am busy right now')))
      problems.push(`busy notice for ${JSON.stringify(post.message)}`);
    if (!addressed && replies.length > 0) problems.push(`answered ${JSON.stringify(post.message)}`);
  }
  return problems;
}

async function reconnects(reason: string): Promise<number> {
  return (await mattermostReconnectsTotal.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

/** Rows the resyncs asked for (per_page summed over every page read). */
function rowsRequested(harness: MattermostHarness): number {
  return harness.fake.callsTo('getPosts').reduce((n, c) => n + Number(c.query.per_page), 0);
}

describe('Mattermost: no mention lost across websocket trouble', () => {
  it(
    'a reconnect while a thousand posts arrive: every mention and DM answered exactly once',
    { timeout: 120_000 },
    async () => {
      h = await startMattermost({ env: LIMITS });
      const { fake } = h;
      const people = ['ana', 'ben', 'chiara'].map((username) => fake.addUser({ username }));
      const channel = fake.addChannel({ name: 'adc-operations', members: people });
      const dms = people.map((p) => fake.directChannel(p));
      const sent: Sent[] = [];
      for (let i = 0; i < 1_000; i++) {
        const who = people[i % people.length]!;
        // Mostly chatter, as in a busy channel: 300 questions among the 1,000 posts.
        const kind = i % 10;
        if (kind < 2)
          sent.push({
            post: fake.userPosts(who, channel, `@askpanda question ${i} about task ${40_000_000 + i}`),
            addressed: true,
          });
        else if (kind < 3)
          sent.push({ post: fake.userPosts(who, dms[i % dms.length]!, `DM question ${i}`), addressed: true });
        else sent.push({ post: fake.userPosts(who, channel, `chatter ${i}, nothing for the bot`), addressed: false });
        // The socket goes down three ways in the middle of the traffic: a drop the server resumes, a
        // restart (new connection id), a sequence gap.
        if (i === 250) fake.dropWebsockets();
        if (i === 500) fake.restart();
        if (i === 750) fake.skipSequence();
        if (i % 50 === 49) await sleep(5);
      }
      expect(await problemsAfterAnswers(h, sent, 90_000)).toEqual([]);
    },
  );

  it(
    'a gap on every event for a while, then quiet: each question answered once; the resyncs read what was missed, not the history',
    { timeout: 60_000 },
    async () => {
      h = await startMattermost({ env: LIMITS, connection: { reconnectResyncDelayMs: 50 } });
      const { fake } = h;
      const ana = fake.addUser({ username: 'ana' });
      const channel = fake.addChannel({ name: 'adc-operations', members: [ana] });
      // A history the bot saw live: a resync that read it again would cost hundreds of rows each time.
      for (let i = 0; i < 300; i++) fake.userPosts(ana, channel, `history ${i}`);
      const marker = fake.userPosts(ana, channel, '@askpanda is the history through?');
      await fake.waitUntil(() => (answersIn(fake, marker.id).length > 0 ? true : undefined), 20_000, 'the marker');
      const gapsBefore = await reconnects('sequence_gap');
      const listingsBefore = fake.callsTo('getMyTeams').length;
      const rowsBefore = rowsRequested(h);

      fake.gapEveryEvent = true;
      const sent: Sent[] = [];
      for (let i = 0; i < 40; i++) {
        sent.push({ post: fake.userPosts(ana, channel, `@askpanda storm question ${i}`), addressed: true });
        await sleep(40);
      }
      fake.gapEveryEvent = false;
      expect(await problemsAfterAnswers(h, sent, 40_000)).toEqual([]);

      expect(await reconnects('sequence_gap')).toBeGreaterThan(gapsBefore + 5);
      // Each resync lists the channels once and reads a first page of 25 where something is new; more
      // only while pages hold nothing seen before. History re-read would be ≥ 300 rows per resync.
      const listings = fake.callsTo('getMyTeams').length - listingsBefore;
      const rows = rowsRequested(h) - rowsBefore;
      expect(rows).toBeLessThanOrEqual(25 * listings + 4 * sent.length);
      expect(fake.callsTo('getPostsSince')).toHaveLength(0);
    },
  );

  it(
    'a half-open socket (no events, no pongs, never closed): questions answered again within two ping periods',
    { timeout: 30_000 },
    async () => {
      const pingIntervalMs = 500;
      h = await startMattermost({ connection: { pingIntervalMs, reconnectResyncDelayMs: 50 } });
      const { fake } = h;
      const ana = fake.addUser({ username: 'ana' });
      const channel = fake.addChannel({ name: 'adc-operations', members: [ana] });
      const warmUp = fake.userPosts(ana, channel, '@askpanda are you there?');
      await fake.waitUntil(() => (answersIn(fake, warmUp.id).length > 0 ? true : undefined), 10_000, 'a first answer');
      // The resync at start has run: what follows is the fault's doing.
      await h.adapter.idle();
      const before = await reconnects('ping_timeout');

      const cutAt = Date.now();
      fake.halfOpenWebsockets();
      const lost = fake.userPosts(ana, channel, '@askpanda what happened to task 46374283?');
      const sent = [{ post: lost, addressed: true }];
      await fake.waitUntil(() => (answersIn(fake, lost.id).length > 0 ? true : undefined), 10_000, 'the answer');
      const answeredMs = Date.now() - cutAt;
      console.log(`half-open: answered ${answeredMs} ms after the socket went half-open (ping ${pingIntervalMs} ms)`);
      expect(await reconnects('ping_timeout')).toBe(before + 1);
      // Two ping periods to notice, the reconnect pause, the resync, and the answer itself.
      expect(answeredMs).toBeLessThan(2 * pingIntervalMs + 3_000);
      expect(await problemsAfterAnswers(h, sent, 1_000)).toEqual([]);
    },
  );

  it(
    'a socket that answers pings but carries no events: found by the channel check, reconnected, questions answered',
    { timeout: 30_000 },
    async () => {
      const checkIntervalMs = 300;
      h = await startMattermost({ connection: { checkIntervalMs, reconnectResyncDelayMs: 50 } });
      const { fake } = h;
      const ana = fake.addUser({ username: 'ana' });
      const channel = fake.addChannel({ name: 'adc-operations', members: [ana] });
      const warmUp = fake.userPosts(ana, channel, '@askpanda are you there?');
      await fake.waitUntil(() => (answersIn(fake, warmUp.id).length > 0 ? true : undefined), 10_000, 'a first answer');
      // The resync at start has run: what follows is the fault's doing.
      await h.adapter.idle();
      const before = await reconnects('stalled');

      const mutedAt = Date.now();
      fake.muteWebsockets();
      const lost = fake.userPosts(ana, channel, '@askpanda anything on task 46374283?');
      await fake.waitUntil(() => (answersIn(fake, lost.id).length > 0 ? true : undefined), 10_000, 'the answer');
      const answeredMs = Date.now() - mutedAt;
      console.log(`muted socket: answered ${answeredMs} ms after events stopped (check every ${checkIntervalMs} ms)`);
      for (const until = Date.now() + 5_000; (await reconnects('stalled')) === before && Date.now() < until;)
        await sleep(50);
      expect(await reconnects('stalled')).toBe(before + 1);
      expect(answeredMs).toBeLessThan(3 * checkIntervalMs + 3_000);
      const after = fake.userPosts(ana, channel, '@askpanda and now?');
      const sent = [
        { post: lost, addressed: true },
        { post: after, addressed: true },
      ];
      expect(await problemsAfterAnswers(h, sent, 10_000)).toEqual([]);
    },
  );

  it(
    'after a restart, missed questions in several channels, a group and DMs are answered once each, in their threads',
    { timeout: 30_000 },
    async () => {
      h = await startMattermost({ env: LIMITS });
      const { fake } = h;
      const [ana, ben] = [fake.addUser({ username: 'ana' }), fake.addUser({ username: 'ben' })] as [FakeUser, FakeUser];
      const channels: FakeChannel[] = [
        fake.addChannel({ name: 'adc-operations', members: [ana, ben] }),
        fake.addChannel({ name: 'distributed-computing', members: [ana, ben], type: 'P' }),
        fake.addChannel({ name: 'panda-dev', members: [ana, ben] }),
        fake.groupChannel([ana, ben]),
        fake.directChannel(ana),
        fake.directChannel(ben),
      ];
      const root = fake.userPosts(ana, channels[0]!, '@askpanda what about task 46374283?');
      await fake.waitUntil(() => (answersIn(fake, root.id).length > 0 ? true : undefined), 10_000, 'a first answer');
      // The resync at start has run: what follows is the fault's doing.
      await h.adapter.idle();

      fake.acceptWebsockets = false;
      fake.restart();
      await fake.waitUntil(
        () => (fake.upgrades.filter((u) => !u.accepted).length > 0 ? true : undefined),
        5_000,
        'a refused reconnect',
      );
      const sent: Sent[] = [];
      for (const [i, channel] of channels.entries()) {
        const who = channel.type === 'D' && channel.members.has(ben.id) ? ben : ana;
        const text = channel.type === 'D' ? `missed DM ${i}` : `@askpanda missed question ${i}`;
        sent.push({ post: fake.userPosts(who, channel, text), addressed: true });
        sent.push({ post: fake.userPosts(who, channel, `missed chatter ${i}`), addressed: channel.type === 'D' });
      }
      // A follow-up in the thread the bot answered in before the restart.
      sent.push({
        post: fake.userPosts(ben, channels[0]!, '@askpanda and the retries?', { rootId: root.id }),
        addressed: true,
      });
      fake.acceptWebsockets = true;
      const problems = await problemsAfterAnswers(
        h,
        sent.filter((s) => s.post.root_id === ''),
        20_000,
      );
      expect(problems).toEqual([]);
      // Each answer is in its post's channel; the follow-up's answer is in the old thread.
      for (const { post } of sent.filter((s) => s.addressed && s.post.root_id === ''))
        expect(answersIn(fake, post.id)[0]!.channel_id).toBe(post.channel_id);
      await fake.waitUntil(
        () => (answersIn(fake, root.id).length >= 2 ? true : undefined),
        10_000,
        'the follow-up answer',
      );
      await h.adapter.idle();
      expect(answersIn(fake, root.id)).toHaveLength(2);
    },
  );

  it(
    'questions one person asked during an outage are answered, not turned away as busy (default limits: 3 in flight per person)',
    { timeout: 30_000 },
    async () => {
      h = await startMattermost();
      const { fake } = h;
      const ana = fake.addUser({ username: 'ana' });
      const channel = fake.addChannel({ name: 'adc-operations', members: [ana] });
      const dm = fake.directChannel(ana);
      fake.acceptWebsockets = false;
      fake.restart();
      await fake.waitUntil(
        () => (fake.upgrades.filter((u) => !u.accepted).length > 0 ? true : undefined),
        5_000,
        'a refused reconnect',
      );
      const sent: Sent[] = [];
      for (let i = 0; i < 6; i++)
        sent.push({ post: fake.userPosts(ana, dm, `what about task ${46_374_283 + i}?`), addressed: true });
      for (let i = 0; i < 3; i++)
        sent.push({ post: fake.userPosts(ana, channel, `@askpanda and job ${6_000_000_000 + i}?`), addressed: true });
      fake.acceptWebsockets = true;
      expect(await problemsAfterAnswers(h, sent, 20_000)).toEqual([]);
      // Nothing delivered twice is answered twice: the server sends two of them again, late.
      fake.replayPosted(sent[0]!.post.id);
      fake.replayPosted(sent[6]!.post.id);
      await sleep(300);
      expect(await problemsAfterAnswers(h, sent, 1_000)).toEqual([]);
    },
  );
});
