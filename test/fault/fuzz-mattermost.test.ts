import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeChannel, FakePost, FakeUser } from '../fakes/mattermost.ts';
import { answersIn, startMattermost, waitForAnswers, type MattermostHarness } from '../mattermost/adapter-helpers.ts';
import { fuzzSeed, guardNetwork, Random, scaled, SOAK, sleep, trackProcessFaults } from './helpers.ts';
import { chatMessage } from './messages.ts';

/**
 * Random and adversarial posts through the real Mattermost adapter (@mattermost/client's
 * websocket, our frame guard, the REST calls) against the loopback Mattermost fake, mixed with
 * websocket frames no server should send: malformed JSON, the wrong shapes, a `posted` whose post
 * is no post, binary and huge frames. Each mention or DM gets exactly one answer in its thread,
 * everything else none, and the adapter keeps answering (reconnecting where a frame forced it).
 */

const POSTS = scaled(250, 3_000);

/** Frames a server could send broken; each must be skipped (or, over the size cap, force a reconnect). */
function badFrame(r: Random, postJson: string): { kind: 'raw' | 'seq'; build: (seq: number) => string | Buffer } {
  const raw = (text: string | Buffer) => ({ kind: 'raw' as const, build: () => text });
  const seq = (build: (seq: number) => string) => ({ kind: 'seq' as const, build });
  return r.pick([
    raw('this is not json'),
    raw('[1,2,3]'),
    raw('null'),
    raw('{}'),
    raw(`{"event":"posted","seq":`),
    raw(Buffer.from([0xde, 0xad, 0xbe, 0xef])),
    seq((n) => JSON.stringify({ event: 'posted', seq: n })),
    seq((n) => JSON.stringify({ event: 'posted', seq: n, data: null, broadcast: null })),
    seq((n) => JSON.stringify({ event: 'posted', seq: n, data: { post: 'not json {' }, broadcast: {} })),
    seq((n) =>
      JSON.stringify({
        event: 'posted',
        seq: n,
        data: { post: JSON.stringify({ id: 5, message: ['x'] }) },
        broadcast: {},
      }),
    ),
    seq((n) =>
      JSON.stringify({
        event: 'posted',
        seq: n,
        data: { post: postJson, channel_type: 'X', mentions: '{not json' },
        broadcast: {},
      }),
    ),
    seq((n) =>
      JSON.stringify({
        event: 'posted',
        seq: n,
        data: {
          post: JSON.stringify({ ...(JSON.parse(postJson) as object), message: 'x'.repeat(200_000) }),
          channel_type: 'O',
          mentions: '["nobody"]',
        },
        broadcast: {},
      }),
    ),
    seq((n) => JSON.stringify({ event: 42, seq: n, data: {} })),
    seq((n) => JSON.stringify({ event: 'typing', seq: n, data: { parent_id: '', user_id: 'x' }, broadcast: {} })),
    seq((n) => JSON.stringify({ event: 'post_edited', seq: n, data: { post: postJson }, broadcast: {} })),
    seq((n) => JSON.stringify({ event: 'hello', seq: n, data: { connection_id: 5 } })),
    seq((n) => JSON.stringify({ seq_reply: n, status: 'FAIL', error: { id: 'x' } })),
    seq((n) =>
      JSON.stringify({
        event: 'posted',
        seq: n,
        data: { post: postJson.replace(/"id":"[^"]+"/, '"id":""') },
        broadcast: {},
      }),
    ),
  ]);
}

/** Waits until the conversation core has at most a few questions left (at most 10 s). */
async function drained(h: MattermostHarness): Promise<void> {
  const until = Date.now() + 10_000;
  while (h.app.conversation.queued > 16 && Date.now() < until) await sleep(10);
}

describe('fuzz: the Mattermost adapter over its websocket', () => {
  let h: MattermostHarness;
  let ana: FakeUser;
  let ben: FakeUser;
  let channel: FakeChannel;
  const faults = trackProcessFaults();
  const network = guardNetwork();

  beforeAll(async () => {
    h = await startMattermost({
      env: {
        ASKPANDA_LIMITS_MAX_QUEUED: '100000',
        ASKPANDA_LIMITS_PER_USER_IN_FLIGHT: '1000',
        ASKPANDA_LIMITS_PER_USER_PER_MINUTE: '100000',
        ASKPANDA_LIMITS_PER_MINUTE: '1000000',
      },
    });
    ana = h.fake.addUser({ username: 'ana' });
    ben = h.fake.addUser({ username: 'ben.physicist' });
    channel = h.fake.addChannel({ name: 'atlas-adc-fuzz', members: [ana, ben], withBot: true });
  });
  afterAll(async () => {
    network.stop();
    faults.stop();
    await h?.close();
  });

  it(
    `answers each of ${POSTS} fuzzed mentions and DMs once, and survives broken frames`,
    { timeout: SOAK ? 900_000 : 120_000 },
    async () => {
      const seed = fuzzSeed(20_251_206);
      const r = new Random(seed);
      console.log(`fuzz-mattermost: seed ${seed}, ${POSTS} posts`);
      const dm = h.fake.directChannel(ana);
      const sent: Array<{ post: FakePost; addressed: boolean }> = [];
      let lastPostJson = '';
      for (let i = 0; i < POSTS; i++) {
        const { text } = chatMessage(r, { foreignUrls: ['http://127.0.0.1:1'], botName: 'askpanda' });
        const user = r.pick([ana, ben]);
        const shape = r.weighted<'mention' | 'dm' | 'channel' | 'code'>([
          [60, 'mention'],
          [25, 'dm'],
          [10, 'channel'],
          [5, 'code'],
        ]);
        let post: FakePost;
        if (shape === 'dm') post = h.fake.userPosts(ana, dm, text);
        else if (shape === 'mention')
          post = h.fake.userPosts(user, channel, r.chance(0.5) ? `@askpanda ${text}` : `${text} @askpanda`);
        // Not addressed: no mention, or the mention only inside code.
        else if (shape === 'code')
          post = h.fake.userPosts(user, channel, `\`@askpanda\` ${text.replace(/@askpanda/gi, '')}`);
        else post = h.fake.userPosts(user, channel, text.replace(/@askpanda/gi, 'askpanda'));
        // A DM is always a question; in a channel only a mention outside code is.
        sent.push({ post, addressed: shape === 'dm' || shape === 'mention' });
        lastPostJson = JSON.stringify(post);
        if (r.chance(0.15)) {
          const frame = badFrame(r, lastPostJson);
          if (frame.kind === 'raw') {
            const built = frame.build(0);
            h.fake.sendRaw(typeof built === 'string' ? built : built.toString('latin1'));
          } else {
            h.fake.sendWithNextSeq((n) => String(frame.build(n)));
          }
        }
        // People write at a human pace: without a pause the run is a load test (the busy replies and
        // the fake's own slowness under a thousand posts at once), which is not what it is about.
        if (i % 25 === 24) await drained(h);
      }
      const problems: string[] = [];
      for (const { post, addressed } of sent) {
        if (!addressed) continue;
        try {
          await waitForAnswers(h.fake, post.id, 1, 20_000);
        } catch {
          problems.push(`no answer to ${JSON.stringify(post.message.slice(0, 80))}`);
        }
      }
      await h.adapter.idle();
      await sleep(300);
      for (const { post, addressed } of sent) {
        // An answer, or a clear refusal when over the limits ("I am busy right now …"): one of them, once.
        const answers =
          answersIn(h.fake, post.id).length +
          h.fake.botPosts({ rootId: post.id }).filter((p) => p.message.startsWith('I am busy right now')).length;
        if (addressed && answers !== 1)
          problems.push(`${answers} answers to ${JSON.stringify(post.message.slice(0, 80))}`);
        if (!addressed && h.fake.botPosts({ rootId: post.id }).length > 0)
          problems.push(`answered a post not addressed to the bot: ${JSON.stringify(post.message.slice(0, 80))}`);
      }
      expect(problems.slice(0, 20), `seed ${seed}`).toEqual([]);
      expect(faults.unhandledRejections, `seed ${seed}`).toEqual([]);
      expect(faults.uncaughtExceptions, `seed ${seed}`).toEqual([]);
    },
  );

  it(
    'a frame over the 16 MiB cap closes the websocket; the adapter reconnects and answers again',
    { timeout: 60_000 },
    async () => {
      const sockets = h.fake.upgrades.filter((u) => u.accepted).length;
      h.fake.sendRaw(JSON.stringify({ event: 'posted', seq: 999_999, data: { post: 'x'.repeat(17 * 1024 * 1024) } }));
      await h.fake.waitUntil(
        () => h.fake.upgrades.filter((u) => u.accepted).length > sockets || undefined,
        20_000,
        'a reconnect',
      );
      await h.fake.waitForSocket(1, 10_000);
      const question = h.fake.userPosts(ana, channel, '@askpanda what is happening with task 46374283?');
      const [answer] = await waitForAnswers(h.fake, question.id, 1, 15_000);
      expect(answer!.message).toContain('46374283');
      expect(faults.unhandledRejections).toEqual([]);
      expect(faults.uncaughtExceptions).toEqual([]);
      // Only loopback was contacted: the fake Mattermost, the demo monitor, the app's own callback server.
      expect(network.outside()).toEqual([]);
    },
  );
});
