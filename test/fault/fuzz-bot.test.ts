import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { BUILT_IN_SURFACES, type Incoming } from '../../src/core/incoming.ts';
import { CHAT_PLATFORMS } from '../../src/adapters/registry.ts';
import { answerProblems, fuzzSeed, guardNetwork, Random, scaled, SOAK, trackProcessFaults } from './helpers.ts';
import { startFakeApp, startFakeWorld, type FakeWorld } from './harness.ts';
import { chatMessage } from './messages.ts';

/**
 * Item 8 of issue 13: random and adversarial chat messages through the real bot (every agent,
 * offline model) on the fakes. Every message gets a non-empty answer or a refusal with an error
 * kind and one clear sentence; nothing throws, no rejection goes unhandled, no link is fetched.
 * The seed is printed; ASKPANDA_FUZZ_SEED=<seed> replays a run.
 */

const MESSAGES = scaled(10_000, 100_000);
/** Questions answered at once (the conversation core allows 16; handle() itself has no cap). */
const CONCURRENCY = 8;
/** No single answer may take longer (the slowest fault case is a monitor time-out of 0.5 s plus a log cut at 1 s). */
const MAX_ANSWER_MS = 5_000;

const CHANNELS = [
  'C0123',
  'C0456PANDA',
  'D0789',
  'cli',
  'mm-channel-26-characters-00',
  'tab:ŝ',
  '#general',
  'C'.repeat(200),
];
const SURFACES = [...CHAT_PLATFORMS.map((p) => p.name), ...BUILT_IN_SURFACES];
const USERS = ['U042', 'U0ADMIN', 'ana.physicist', 'user\u202e', '🐼', 'u'.repeat(300)];

/** An Incoming as an adapter would build it, sometimes broken in the ways a buggy adapter could break it. */
function incoming(r: Random, text: string, threads: readonly string[]): Incoming {
  if (r.chance(0.01)) {
    return r.pick<unknown>([
      null,
      undefined,
      {},
      [],
      'text',
      42,
      { text },
      { platform: 'slack', channel: 'C1', thread: 't', user: 'u', text: 5, isDirect: false },
      { platform: 'irc', channel: 'C1', thread: 't', user: 'u', text, isDirect: true },
      { platform: 'slack', channel: '', thread: '', user: '', text, isDirect: 'yes' },
    ]) as Incoming;
  }
  return {
    platform: r.pick(SURFACES),
    channel: r.pick(CHANNELS),
    thread: r.pick(threads),
    user: r.pick(USERS),
    text,
    isDirect: r.chance(0.3),
    ...(r.chance(0.5) ? { messageId: `m${r.int(1, 1e9)}` } : {}),
  };
}

describe('fuzz: chat messages through Bot.handle', () => {
  let world: FakeWorld;
  let app: App;
  const faults = trackProcessFaults();
  const network = guardNetwork();

  beforeAll(async () => {
    world = await startFakeWorld();
    app = await startFakeApp(world, { ASKPANDA_HISTORY_MAX_TURNS: '6' });
  });
  afterAll(async () => {
    network.stop();
    faults.stop();
    await app?.close();
    await world?.close();
  });

  it(
    `answers or refuses clearly each of ${MESSAGES.toLocaleString('en-US')} random and adversarial messages`,
    { timeout: SOAK ? 900_000 : 120_000 },
    async () => {
      const seed = fuzzSeed(20_250_908);
      const r = new Random(seed);
      console.log(`fuzz-bot: seed ${seed} (ASKPANDA_FUZZ_SEED=${seed} replays it), ${MESSAGES} messages`);
      // A few hundred threads, so many messages are follow-ups with history.
      const threads = Array.from({ length: 300 }, (_, i) => (i % 50 === 0 ? `thread-${'ŝ'.repeat(i)}` : `t${i}`));
      const failures: string[] = [];
      const byKind = new Map<string, { count: number; errors: number; maxMs: number }>();
      const context = {
        foreignUrls: [world.trap.url, `http://127.0.0.1:${world.trap.port}`],
        botUserId: 'U07ASKPANDA',
        botName: 'askpanda',
      };
      const started = performance.now();
      let next = 0;
      const worker = async () => {
        while (next < MESSAGES) {
          const index = next++;
          const message = chatMessage(r, context);
          const input = incoming(r, message.text, threads);
          const t0 = performance.now();
          let problems: string[];
          let isError = false;
          try {
            const answer = await app.bot.handle(input);
            problems = answerProblems(answer, message.text);
            isError = answer.error !== undefined;
          } catch (err) {
            problems = [`threw ${err instanceof Error ? err.stack : String(err)}`];
          }
          const ms = performance.now() - t0;
          if (ms > MAX_ANSWER_MS) problems.push(`took ${Math.round(ms)} ms`);
          const stats = byKind.get(message.kind) ?? { count: 0, errors: 0, maxMs: 0 };
          byKind.set(message.kind, {
            count: stats.count + 1,
            errors: stats.errors + (isError ? 1 : 0),
            maxMs: Math.max(stats.maxMs, ms),
          });
          if (problems.length && failures.length < 20)
            failures.push(
              `#${index} [${message.kind}] ${JSON.stringify(message.text.slice(0, 160))}: ${problems.join('; ')}`,
            );
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      const seconds = (performance.now() - started) / 1000;
      const kinds = [...byKind].map(([k, s]) => `${k} ${s.count}/${s.errors}/${Math.round(s.maxMs)}`).join(', ');
      console.log(
        `fuzz-bot: ${MESSAGES} messages in ${seconds.toFixed(1)} s; per kind (count, refused, slowest ms): ${kinds}`,
      );

      expect(failures, `seed ${seed}`).toEqual([]);
      expect(faults.unhandledRejections, `seed ${seed}`).toEqual([]);
      expect(faults.uncaughtExceptions, `seed ${seed}`).toEqual([]);
      // Links to other hosts were read for ids, never fetched; only the configured fakes were contacted.
      expect(world.trap.requests, `seed ${seed}`).toEqual([]);
      expect(network.outside(world.allowedPorts), `seed ${seed}`).toEqual([]);
    },
  );
});
