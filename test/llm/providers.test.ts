import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/llm/provider-error.ts';
import { FAKES, status, text, type LlmFake } from '../fakes/llm/index.ts';
import { collect, modelFor, PROVIDER_NAMES } from './helpers.ts';

const ANSWER = 'Job 6802258254 failed in stage-in: the input file was not available at BNL.';
const MESSAGES = [
  { role: 'system' as const, content: 'You are askpanda. Answer briefly.' },
  { role: 'user' as const, content: 'Why did job 6802258254 fail?' },
];

describe.each(PROVIDER_NAMES)('%s through its official SDK against a loopback fake', (provider) => {
  let fake: LlmFake;
  beforeAll(async () => {
    fake = await FAKES[provider]().start();
  });
  afterAll(() => fake.close());

  it('answers a non-streaming request with text, model id and the usage the server reported', async () => {
    fake.enqueue(text(ANSWER, { inputTokens: 321, outputTokens: 54 }));
    const model = modelFor(provider, fake);
    const result = await model.complete({ messages: MESSAGES });
    expect(result.text).toBe(ANSWER);
    expect(result.model).toBe(`${provider}:fake-${provider}-model`);
    expect(result.usage).toEqual({ inputTokens: 321, outputTokens: 54 });
    const sent = fake.requests.at(-1)!;
    expect(sent.raw).toContain('Why did job 6802258254 fail?');
    expect(sent.raw).toContain('Answer briefly.');
  });

  it('streams deltas that add up to the answer, then one done event with usage', async () => {
    fake.enqueue(text(ANSWER, { inputTokens: 210, outputTokens: 33 }));
    const { deltas, result } = await collect(modelFor(provider, fake).stream({ messages: MESSAGES }));
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe(ANSWER);
    expect(result?.text).toBe(ANSWER);
    expect(result?.usage).toEqual({ inputTokens: 210, outputTokens: 33 });
  });

  it('reports a 500 as a server failure and a 429 with its Retry-After', async () => {
    fake.enqueue(status(500));
    const model = modelFor(provider, fake);
    const server = await model.complete({ messages: MESSAGES }).catch((e: unknown) => e);
    expect(server).toBeInstanceOf(ProviderError);
    expect((server as ProviderError).failure).toMatchObject({ kind: 'server', status: 500 });

    fake.enqueue(status(429, { 'retry-after': '17' }));
    const limited = await model.complete({ messages: MESSAGES }).catch((e: unknown) => e);
    expect((limited as ProviderError).failure).toMatchObject({
      kind: 'rate_limited',
      status: 429,
      retryAfterMs: 17_000,
    });
  });

  it('asks for JSON in the way the provider supports', async () => {
    fake.enqueue(text('{"summary":"ok"}'));
    await modelFor(provider, fake).complete({ messages: MESSAGES, json: true });
    const body = fake.requests.at(-1)!.body as Record<string, unknown>;
    const expected: Record<string, () => void> = {
      openai: () => expect(body.response_format).toEqual({ type: 'json_object' }),
      mistral: () => expect(body.response_format).toEqual({ type: 'json_object' }),
      gemini: () =>
        expect((body.generationConfig as Record<string, unknown>).responseMimeType).toBe('application/json'),
      ollama: () => expect(body.format).toBe('json'),
      // The Messages API has no JSON mode: the prompt asks for it and refine validates the reply.
      anthropic: () => expect(body.system).toContain('Answer briefly.'),
    };
    expected[provider]!();
  });

  it('reports a connection refused as a connection failure', async () => {
    const closed = FAKES[provider]();
    await closed.start();
    const origin = closed.origin;
    await closed.close();
    const err = await modelFor(provider, { origin })
      .complete({ messages: MESSAGES })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).failure.kind).toBe('connection');
  });
});
