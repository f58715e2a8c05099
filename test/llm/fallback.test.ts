import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderName } from '../../src/llm/providers.ts';
import { ModelUnavailableError, type ChatModel } from '../../src/llm/chat-model.ts';
import { FallbackChatModel, type FallbackOptions } from '../../src/llm/fallback.ts';
import { OfflineModel } from '../../src/llm/offline.ts';
import { processUsage } from '../../src/llm/usage.ts';
import { FAKES, hang, slow, status, text, type LlmFake } from '../fakes/llm/index.ts';
import { collect, modelFor, PROVIDER_NAMES } from './helpers.ts';

const QUESTION = [{ role: 'user' as const, content: 'Why did job 6802258254 fail?' }];

const fakes = {} as Record<ProviderName, LlmFake>;
beforeAll(async () => {
  for (const name of PROVIDER_NAMES) {
    fakes[name] = await FAKES[name]().start();
    fakes[name].responder = () => text(`answer from ${name}`);
  }
});
afterAll(async () => {
  for (const name of PROVIDER_NAMES) await fakes[name].close();
});
afterEach(() => {
  for (const name of PROVIDER_NAMES) {
    fakes[name].requests.length = 0;
    fakes[name].responder = () => text(`answer from ${name}`);
  }
});

function chain(names: Array<ProviderName | 'offline'>, options: Partial<FallbackOptions> = {}): FallbackChatModel {
  const models: ChatModel[] = names.map((n) => (n === 'offline' ? new OfflineModel() : modelFor(n, fakes[n])));
  return new FallbackChatModel(models, {
    timeoutMs: 2_000,
    concurrency: 4,
    breakerFailures: 3,
    breakerCooldownMs: 60_000,
    maxInputTokens: 4_000,
    maxOutputTokens: 300,
    ...options,
  });
}

describe('fallback chain', () => {
  it('moves to the next provider on a 500 and names who answered', async () => {
    fakes.anthropic.enqueue(status(500));
    const result = await chain(['anthropic', 'openai', 'offline']).complete({ messages: QUESTION });
    expect(result).toMatchObject({ text: 'answer from openai', model: 'openai:fake-openai-model' });
    expect(fakes.anthropic.requests).toHaveLength(1);
  });

  it('honours a 429 Retry-After: the provider is skipped until then, and asked again after', async () => {
    let now = 1_000_000;
    const model = chain(['gemini', 'mistral'], { now: () => now });
    fakes.gemini.enqueue(status(429, { 'retry-after': '30' }));
    expect((await model.complete({ messages: QUESTION })).model).toBe('mistral:fake-mistral-model');
    expect((await model.complete({ messages: QUESTION })).model).toBe('mistral:fake-mistral-model');
    expect(fakes.gemini.requests).toHaveLength(1);
    now += 31_000;
    expect((await model.complete({ messages: QUESTION })).model).toBe('gemini:fake-gemini-model');
  });

  it('gives up on a provider that does not answer within the timeout', async () => {
    fakes.ollama.enqueue(hang());
    const started = Date.now();
    const result = await chain(['ollama', 'anthropic'], { timeoutMs: 300 }).complete({ messages: QUESTION });
    expect(result.model).toBe('anthropic:fake-anthropic-model');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('moves on when the connection is refused', async () => {
    const dead = FAKES.openai();
    await dead.start();
    const origin = dead.origin;
    await dead.close();
    const model = new FallbackChatModel([modelFor('openai', { origin }), modelFor('gemini', fakes.gemini)], {
      timeoutMs: 2_000,
      concurrency: 2,
      breakerFailures: 3,
      breakerCooldownMs: 60_000,
      maxInputTokens: 4_000,
      maxOutputTokens: 300,
    });
    expect((await model.complete({ messages: QUESTION })).model).toBe('gemini:fake-gemini-model');
  });

  it('opens the circuit breaker after repeated failures and half-opens after the cool-down', async () => {
    let now = 5_000_000;
    const model = chain(['mistral', 'openai'], { breakerFailures: 2, breakerCooldownMs: 10_000, now: () => now });
    fakes.mistral.responder = () => status(503);
    await model.complete({ messages: QUESTION });
    await model.complete({ messages: QUESTION });
    expect(fakes.mistral.requests).toHaveLength(2);
    expect(model.status()[0]).toMatchObject({ model: 'mistral:fake-mistral-model', open: true });
    for (let i = 0; i < 3; i++)
      expect((await model.complete({ messages: QUESTION })).model).toBe('openai:fake-openai-model');
    expect(fakes.mistral.requests).toHaveLength(2);

    now += 10_001;
    fakes.mistral.responder = () => text('mistral is back');
    expect((await model.complete({ messages: QUESTION })).text).toBe('mistral is back');
    expect(model.status()[0]!.open).toBe(false);
  });

  it('throws ModelUnavailableError naming every provider when all remote models are down', async () => {
    fakes.openai.responder = () => status(500);
    fakes.anthropic.responder = () => status(429, { 'retry-after': '5' });
    const err = await chain(['openai', 'anthropic', 'offline'])
      .complete({ messages: QUESTION })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelUnavailableError);
    expect((err as Error).message).toMatch(/openai:fake-openai-model: server error 500/);
    expect((err as Error).message).toMatch(/anthropic:fake-anthropic-model: rate limited \(429, retry after 5 s\)/);
  });

  it('caps calls in flight per provider and spills over to a healthy next provider', async () => {
    fakes.openai.responder = () => slow(150, text('slow openai'));
    const single = chain(['openai'], { concurrency: 1 });
    const answers = await Promise.all([1, 2, 3].map(() => single.complete({ messages: QUESTION })));
    expect(answers.map((a) => a.text)).toEqual(['slow openai', 'slow openai', 'slow openai']);
    expect(fakes.openai.maxActive).toBe(1);

    const spilling = chain(['openai', 'ollama'], { concurrency: 1 });
    const both = await Promise.all([1, 2].map(() => spilling.complete({ messages: QUESTION })));
    expect(both.map((a) => a.model).sort()).toEqual(['ollama:fake-ollama-model', 'openai:fake-openai-model']);
  });

  it('a slow provider queue times out instead of clogging the process', async () => {
    fakes.anthropic.responder = () => slow(400, text('late'));
    const model = chain(['anthropic', 'gemini'], { concurrency: 1, timeoutMs: 250 });
    const results = await Promise.all([1, 2, 3].map(() => model.complete({ messages: QUESTION })));
    expect(results.every((r) => r.model === 'gemini:fake-gemini-model')).toBe(true);
  });

  it('streams from the next provider when the first fails before any text', async () => {
    fakes.gemini.enqueue(status(500));
    const { deltas, result } = await collect(chain(['gemini', 'anthropic']).stream({ messages: QUESTION }));
    expect(deltas.join('')).toBe('answer from anthropic');
    expect(result?.model).toBe('anthropic:fake-anthropic-model');
  });

  it('does not replay a stream that died midway on another provider', async () => {
    fakes.openai.enqueue({ kind: 'cut', text: 'The job failed because the input file was missing at the site.' });
    const err = await collect(chain(['openai', 'mistral']).stream({ messages: QUESTION })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelUnavailableError);
    expect(fakes.mistral.requests).toHaveLength(0);
  });

  it('counts tokens of every answer into the process totals', async () => {
    const before = processUsage.totals();
    fakes.anthropic.enqueue(text('ok', { inputTokens: 1000, outputTokens: 100 }));
    await new FallbackChatModel([modelFor('anthropic', fakes.anthropic, 'claude-sonnet-4-6')], {
      timeoutMs: 2_000,
      concurrency: 1,
      breakerFailures: 3,
      breakerCooldownMs: 1_000,
      maxInputTokens: 4_000,
      maxOutputTokens: 300,
    }).complete({ messages: QUESTION });
    const after = processUsage.totals();
    expect(after.inputTokens - before.inputTokens).toBe(1000);
    expect(after.outputTokens - before.outputTokens).toBe(100);
    expect(after.costUsd - before.costUsd).toBeCloseTo((1000 * 3 + 100 * 15) / 1e6, 9);
  });

  it('trims an oversized prompt to the token budget instead of failing', async () => {
    const log = Array.from(
      { length: 3000 },
      (_, i) => `2026-11-27 10:${String(i % 60).padStart(2, '0')}:00 | INFO | pilot | step ${i} ok`,
    ).join('\n');
    const messages = [
      { role: 'system' as const, content: 'You are askpanda.' },
      { role: 'user' as const, content: 'earlier question' },
      { role: 'assistant' as const, content: 'earlier answer' },
      { role: 'user' as const, content: `Log excerpt (untrusted):\n${log}\nERROR: stage-in failed` },
    ];
    await chain(['openai'], { maxInputTokens: 1_500 }).complete({ messages });
    const sent = fakes.openai.requests.at(-1)!.body as { messages: Array<{ content: string }> };
    const joined = sent.messages.map((m) => m.content).join('\n');
    expect(joined).toContain('lines trimmed to fit the token budget');
    expect(joined).toContain('ERROR: stage-in failed');
    expect(joined).not.toContain('earlier question');
    expect(joined.length).toBeLessThan(log.length / 5);
  });
});

describe('secrets never reach a provider', () => {
  it('redacts keys, tokens, passwords and proxies from every message before any call', async () => {
    for (const name of PROVIDER_NAMES.slice(0, -1)) fakes[name].enqueue(status(503));
    const seeded = [
      'export OPENAI_API_KEY=sk-proj-SEEDEDSECRET0123456789abcdef',
      'curl -H "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJTRUVERUQifQ.U0VFREVEU0lHTkFUVVJF"',
      'rucio password=SeededHunter2 slack xoxb-111-222-SEEDEDslack',
      '-----BEGIN CERTIFICATE-----\nMIIDSEEDEDPROXYBLOCK\n-----END CERTIFICATE-----',
    ].join('\n');
    const model = chain([...PROVIDER_NAMES]);
    const result = await model.complete({
      messages: [
        { role: 'system', content: 'askpanda' },
        { role: 'user', content: `Job log:\n${seeded}\nwhy did it fail?` },
      ],
    });
    expect(result.model).toBe('ollama:fake-ollama-model');
    for (const name of PROVIDER_NAMES) {
      const bodies = fakes[name].allBodies();
      expect(bodies, name).toContain('why did it fail?');
      for (const secret of ['SEEDEDSECRET', 'SEEDED', 'U0VFREVE', 'SeededHunter2', 'MIIDSEEDEDPROXYBLOCK'])
        expect(bodies, `${name} got ${secret}`).not.toContain(secret);
    }
  });
});
