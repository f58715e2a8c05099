import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import type { PlatformMessage } from '../../src/bot/platform-message.ts';
import type { ThreadMessage } from '../../src/bot/surface.ts';
import { answerProblems, fuzzSeed, guardNetwork, Random, scaled, SOAK, trackProcessFaults } from './helpers.ts';
import { startFakeApp, startFakeWorld, type FakeWorld } from './harness.ts';
import { chatMessage } from './messages.ts';
import { RecordingSurface } from '../support/recording-surface.ts';

/**
 * Random and adversarial messages through the conversation core every chat adapter shares
 * (claims, order per thread, status, drafts, splitting, seeding from the platform's thread,
 * fallbacks), on a surface that records what it is asked to post and sometimes refuses like a
 * platform does. Every question addressed to the bot gets exactly one answer or refusal in its
 * thread, re-deliveries none, and thread replies in threads the bot is not part of none.
 */

const MESSAGES = scaled(3_000, 30_000);
describe('fuzz: chat messages through the conversation core', () => {
  let world: FakeWorld;
  let app: App;
  const faults = trackProcessFaults();
  const network = guardNetwork();

  beforeAll(async () => {
    world = await startFakeWorld();
    // Limits high enough that back-pressure is not what this run is about (the busy reply is tested below).
    app = await startFakeApp(world, {
      ASKPANDA_LIMITS_MAX_QUEUED: '100000',
      ASKPANDA_LIMITS_PER_USER_IN_FLIGHT: '1000',
      ASKPANDA_LIMITS_PER_USER_PER_MINUTE: '100000',
      ASKPANDA_LIMITS_PER_MINUTE: '1000000',
    });
  });
  afterAll(async () => {
    network.stop();
    faults.stop();
    await app?.close();
    await world?.close();
  });

  it(
    `answers every addressed message once, re-deliveries never, of ${MESSAGES.toLocaleString('en-US')}`,
    { timeout: SOAK ? 900_000 : 120_000 },
    async () => {
      const seed = fuzzSeed(20_251_203);
      const r = new Random(seed);
      console.log(`fuzz-conversation: seed ${seed} (ASKPANDA_FUZZ_SEED=${seed} replays it), ${MESSAGES} messages`);
      const earlier = new Map<string, ThreadMessage[]>();
      const surface = new RecordingSurface({ random: r, earlier, refuseFormatted: 0.03, refuseThreadRead: 0.1 });
      const context = { foreignUrls: [world.trap.url], botName: 'askpanda' };
      const expected = new Map<string, number>();
      const quiet = new Set<string>();
      const delivered: PlatformMessage[] = [];
      const receiving: Array<Promise<void>> = [];
      const started = performance.now();
      for (let i = 0; i < MESSAGES; i++) {
        const { text } = chatMessage(r, context);
        const channel = r.pick(['C1', 'C2', 'D3']);
        const messageId = `m${i}`;
        const redeliver = delivered.length > 0 && r.chance(0.05);
        if (redeliver) {
          // Slack's retries, a websocket replay, another replica: the same message again.
          receiving.push(app.conversation.receive(surface, r.pick(delivered)));
          continue;
        }
        let message: PlatformMessage;
        if (r.chance(0.1)) {
          // A reply without a mention in a thread the bot never answered in: not its business.
          const thread = `quiet-${r.int(1, 20)}`;
          quiet.add(`${channel}:${thread}`);
          message = { channel, thread, messageId, user: 'U1', text, isDirect: false, addressed: 'thread-reply' };
        } else {
          const newThread = r.chance(0.4);
          const thread = newThread ? messageId : `t${r.int(1, 60)}`;
          const readThreadFirst = !newThread && r.chance(0.3);
          if (readThreadFirst && !earlier.has(`${channel}:${thread}`)) {
            earlier.set(
              `${channel}:${thread}`,
              Array.from({ length: r.int(0, 5) }, (_, k) => ({
                id: `e${k}`,
                text: chatMessage(r, context).text,
                fromBot: r.chance(0.3),
                at: Date.now() - 60_000 + k,
              })),
            );
          }
          message = {
            channel,
            thread,
            messageId,
            user: r.pick(['U1', 'U2', 'U3', 'ana']),
            text,
            isDirect: channel.startsWith('D'),
            addressed: 'directly',
            readThreadFirst,
            ...(r.chance(0.05) ? { preface: `@ana asked: ${text.slice(0, 50)}` } : {}),
          };
          expected.set(`${channel}:${thread}`, (expected.get(`${channel}:${thread}`) ?? 0) + 1);
        }
        delivered.push(message);
        receiving.push(app.conversation.receive(surface, message));
        // Let the core run while messages keep coming, as on a live platform.
        if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      const settled = await Promise.allSettled(receiving);
      await app.conversation.idle();
      const seconds = (performance.now() - started) / 1000;
      console.log(`fuzz-conversation: ${MESSAGES} messages in ${seconds.toFixed(1)} s, ${surface.posts.length} posts`);

      const problems: string[] = [];
      for (const s of settled) if (s.status === 'rejected') problems.push(`receive rejected: ${String(s.reason)}`);
      const answersIn = new Map<string, number>();
      for (const post of surface.posts) {
        if (!post.thread) continue;
        if (post.text.startsWith('[answer] ') || post.text.startsWith('[notice] '))
          answersIn.set(`${post.channel}:${post.thread}`, (answersIn.get(`${post.channel}:${post.thread}`) ?? 0) + 1);
        if (post.text.startsWith('[draft] ')) problems.push(`a draft was left in ${post.channel}:${post.thread}`);
      }
      for (const [thread, count] of expected)
        if (answersIn.get(thread) !== count)
          problems.push(`${thread}: ${count} questions, ${answersIn.get(thread) ?? 0} answers`);
      for (const thread of quiet)
        if (answersIn.has(thread))
          problems.push(`${thread}: answered a thread reply in a thread the bot is not part of`);
      for (const { answer } of surface.answers) {
        // Echoed input may contain anything: only the structure is checked here (fuzz-bot checks the wording).
        const found = answerProblems(answer);
        if (found.some((p) => /not a valid Answer|empty text|unknown error kind/.test(p)))
          problems.push(found.join('; '));
      }
      expect(problems.slice(0, 20), `seed ${seed}`).toEqual([]);
      expect(faults.unhandledRejections, `seed ${seed}`).toEqual([]);
      expect(faults.uncaughtExceptions, `seed ${seed}`).toEqual([]);
      expect(world.trap.requests, `seed ${seed}`).toEqual([]);
      expect(network.outside(world.allowedPorts), `seed ${seed}`).toEqual([]);
    },
  );

  it('over the limits, a burst from one person gets a clear "busy" refusal, once per message, in its thread', async () => {
    const limited = await startFakeApp(world, {
      ASKPANDA_LIMITS_PER_USER_IN_FLIGHT: '1',
      ASKPANDA_LIMITS_PER_USER_PER_MINUTE: '3',
    });
    try {
      const surface = new RecordingSurface();
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          limited.conversation.receive(surface, {
            channel: 'C9',
            thread: `b${i}`,
            messageId: `b${i}`,
            user: 'U9',
            text: 'what is a pilot?',
            isDirect: false,
            addressed: 'directly',
          }),
        ),
      );
      await limited.conversation.idle();
      const busy = surface.answers.filter((a) => a.answer.error?.kind === 'busy');
      expect(busy.length).toBeGreaterThanOrEqual(7);
      for (const { answer } of busy)
        expect(answer.error?.message).toMatch(/^I am busy right now \(.+\)\. Please ask again in about \d+ s\.$/);
      expect(surface.posts.filter((p) => p.text.startsWith('[answer] '))).toHaveLength(10);
    } finally {
      await limited.close();
    }
  });
});
