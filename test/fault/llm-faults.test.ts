import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import type { ProviderName } from '../../src/llm/providers.ts';
import { ModelUnavailableError, type ChatModel } from '../../src/llm/chat-model.ts';
import { FallbackChatModel } from '../../src/llm/fallback.ts';
import { OfflineModel } from '../../src/llm/offline.ts';
import { UNAVAILABLE_NOTE } from '../../src/agents/refine.ts';
import {
  endless,
  envFor,
  FAKES,
  flood,
  hang,
  raw,
  reset,
  status,
  type LlmFake,
  type Reply,
} from '../fakes/llm/index.ts';
import { modelFor, PROVIDER_NAMES } from '../llm/helpers.ts';
import { answerProblems, sentenceProblems, sleep, trackProcessFaults } from './helpers.ts';
import { startFakeApp, startFakeWorld, type FakeWorld } from './harness.ts';

/**
 * Every provider (openai, anthropic, gemini, mistral, ollama, each through its real SDK) against its
 * loopback fake while that stalls, resets the connection, answers 500 (JSON or an HTML error page),
 * 429, garbage, JSON of the wrong shape, HTML, a body that never ends, a stream that never ends or
 * breaks off. Through the fallback chain each call ends within its time-out, moves on (here to
 * offline) with one clear sentence, and releases its connection; through the bot the answer is
 * the offline one, saying that no model could answer.
 */

const TIMEOUT_MS = 600;
/** Slack for the SDKs' own bookkeeping after the time-out fired. */
const BOUND_MS = TIMEOUT_MS + 1_200;
const MAX_OUTPUT_TOKENS = 300;
const MESSAGES = [{ role: 'user' as const, content: 'Why did job 6802258254 fail?' }];
const JSON_HEAD =
  '{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"';

interface Fault {
  name: string;
  reply: () => Reply;
  /** A stream that never ends is cut at the output cap and answers; everything else falls through. */
  streamAnswers?: boolean;
}

const FAULTS: Fault[] = [
  { name: 'stalls (accepts, never answers)', reply: hang },
  { name: 'resets the connection', reply: reset },
  { name: 'answers 500 with its JSON error', reply: () => status(500) },
  {
    name: 'answers 502 with an HTML page',
    reply: () =>
      raw(502, '<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>', { 'content-type': 'text/html' }),
  },
  { name: 'answers 429 with Retry-After', reply: () => status(429, { 'retry-after': '30' }) },
  {
    name: 'answers 200 with garbage',
    reply: () => raw(200, '\u0000\u0001\u0002 not json {{{ \ufffd', { 'content-type': 'application/json' }),
  },
  {
    name: 'answers 200 with JSON of the wrong shape',
    reply: () =>
      raw(200, JSON.stringify({ choices: 5, content: null, candidates: 'x', message: 3, done: 'maybe' }), {
        'content-type': 'application/json',
      }),
  },
  {
    name: 'answers 200 with an HTML login page',
    reply: () =>
      raw(200, '<!DOCTYPE html><html><head><title>Sign in</title></head><body>SSO</body></html>', {
        'content-type': 'text/html; charset=utf-8',
      }),
  },
  { name: 'sends a body that never ends', reply: () => flood(JSON_HEAD, 'A') },
  { name: 'streams an answer that never ends', reply: () => endless('word '.repeat(20), 2), streamAnswers: true },
  {
    name: 'breaks off in the middle of a stream',
    reply: () => ({ kind: 'cut', text: 'The job failed because the input file was missing at the site.' }),
  },
];

const fakes = {} as Record<ProviderName, LlmFake>;
const faults = trackProcessFaults();

beforeAll(async () => {
  for (const name of PROVIDER_NAMES) fakes[name] = await FAKES[name]().start();
});
afterAll(async () => {
  faults.stop();
  for (const name of PROVIDER_NAMES) await fakes[name]?.close();
});

function chain(model: ChatModel): FallbackChatModel {
  // One failure must not open the breaker here: every call has to reach the provider.
  return new FallbackChatModel([model, new OfflineModel()], {
    timeoutMs: TIMEOUT_MS,
    concurrency: 4,
    breakerFailures: 1_000,
    breakerCooldownMs: 1,
    maxInputTokens: 4_000,
    maxOutputTokens: MAX_OUTPUT_TOKENS,
  });
}

/** Waits until the fake has no request open: the client let go of the connection. */
async function released(fake: LlmFake, withinMs = 1_500): Promise<boolean> {
  const until = Date.now() + withinMs;
  while (fake.active > 0 && Date.now() < until) await sleep(20);
  return fake.active === 0;
}

type Outcome = {
  provider: ProviderName;
  mode: 'complete' | 'stream';
  ms: number;
  text?: string;
  error?: unknown;
  released: boolean;
  floodBytes: number;
};

async function run(provider: ProviderName, mode: 'complete' | 'stream', fault: Fault): Promise<Outcome> {
  const fake = fakes[provider];
  fake.responder = fault.reply;
  fake.floodBytes = 0;
  const model = chain(modelFor(provider, fake));
  const started = performance.now();
  let text: string | undefined;
  let error: unknown;
  try {
    if (mode === 'complete') {
      text = (await model.complete({ messages: MESSAGES })).text;
    } else {
      for await (const event of model.stream({ messages: MESSAGES }))
        if (event.type === 'done') text = event.result.text;
    }
  } catch (err) {
    error = err;
  }
  const ms = performance.now() - started;
  return { provider, mode, ms, text, error, released: await released(fake), floodBytes: fake.floodBytes };
}

describe.each(FAULTS)('every provider when it $name', (fault) => {
  it('ends within the time-out, falls through with one clear sentence, and lets go of the connection', async () => {
    // Providers side by side (each has its own fake); complete, then stream, per provider.
    const outcomes = (
      await Promise.all(
        PROVIDER_NAMES.map(async (p) => [await run(p, 'complete', fault), await run(p, 'stream', fault)]),
      )
    ).flat();
    for (const o of outcomes) {
      const label = `${o.provider} ${o.mode}`;
      expect(o.ms, label).toBeLessThan(BOUND_MS);
      expect(o.released, `${label}: the connection is still open`).toBe(true);
      // A body that never ends is read up to the 8 MiB cap, not until the time-out (GBs on loopback).
      expect(o.floodBytes, label).toBeLessThan(48 * 1024 * 1024);
      if (fault.streamAnswers && o.mode === 'stream') {
        expect(o.error, label).toBeUndefined();
        // The output cap: 8 characters per allowed output token.
        expect(o.text?.length, label).toBe(MAX_OUTPUT_TOKENS * 8);
        continue;
      }
      expect(o.error, label).toBeInstanceOf(ModelUnavailableError);
      const message = (o.error as Error).message;
      expect(sentenceProblems(message), `${label}: ${message}`).toEqual([]);
      expect(message, label).toMatch(
        new RegExp(
          `^(?:No language model could answer \\(${o.provider}:\\S+: .+\\)\\.|The model ${o.provider}:\\S+ stopped in the middle of its answer\\.)$`,
        ),
      );
      // Parser internals of the SDKs are not what a person (or an operator) should have to read.
      expect(message, label).not.toMatch(/Unexpected token|Cannot read propert|JSON segment|\(200\)/);
    }
  });
});

describe('through the bot: a failing model means the offline answer, saying so', () => {
  let world: FakeWorld;
  const apps: App[] = [];
  beforeAll(async () => {
    world = await startFakeWorld();
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await world?.close();
  });

  it.each(PROVIDER_NAMES)(
    '%s stalling, then answering garbage: job and documentation questions still answered in bounded time',
    async (provider) => {
      const fake = fakes[provider];
      const app = await startFakeApp(world, {
        ...envFor(provider, fake),
        ASKPANDA_LLM: `${provider},offline`,
        ASKPANDA_LLM_TIMEOUT_MS: String(TIMEOUT_MS),
        ASKPANDA_LLM_BREAKER_FAILURES: '100',
      });
      apps.push(app);
      for (const [reply, question] of [
        [hang, 'why did job 6802258254 fail?'],
        [() => raw(200, '<html>oops</html>', { 'content-type': 'text/html' }), 'what is a pilot?'],
        [() => flood(JSON_HEAD, 'B'), `what is happening with task 46374283?`],
      ] as const) {
        fake.responder = reply;
        const started = performance.now();
        const answer = await app.bot.handle({
          platform: 'slack',
          channel: 'C0LLM',
          thread: `${provider}-${question}`,
          user: 'U042',
          text: question,
          isDirect: false,
        });
        const ms = performance.now() - started;
        expect(answerProblems(answer), question).toEqual([]);
        expect(answer.error, question).toBeUndefined();
        expect(answer.model, question).toBe('offline');
        // The job and task answers say UNAVAILABLE_NOTE; the documents agent its own variant.
        expect(answer.text, question).toMatch(
          question.includes('pilot')
            ? /No language model could answer just now, so here are the best passages from the documentation\./
            : new RegExp(UNAVAILABLE_NOTE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
        );
        // Selection, a streamed draft and one repair may each wait for the time-out.
        expect(ms, question).toBeLessThan(4 * BOUND_MS);
      }
      expect(await released(fake)).toBe(true);
    },
  );

  it('nothing went unhandled', () => {
    expect(faults.unhandledRejections).toEqual([]);
    expect(faults.uncaughtExceptions).toEqual([]);
  });
});
