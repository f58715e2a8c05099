import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKES, text, type LlmFake } from '../fakes/llm/index.ts';
import { modelFor } from './helpers.ts';

const MESSAGES = [{ role: 'user' as const, content: 'Route: why did job 6802258254 fail?' }];

describe('provider-specific request shaping (sent through the real SDKs)', () => {
  let gemini: LlmFake;
  let openai: LlmFake;
  beforeAll(async () => {
    gemini = await FAKES.gemini().start();
    openai = await FAKES.openai().start();
  });
  afterAll(async () => {
    await gemini.close();
    await openai.close();
  });

  it('turns thinking off on Gemini 2.5 Flash so a small output budget is not eaten by thoughts', async () => {
    gemini.enqueue(text('{"agent":"job"}'));
    await modelFor('gemini', gemini, 'gemini-2.5-flash').complete({ messages: MESSAGES, maxOutputTokens: 150 });
    const config = (gemini.requests.at(-1)!.body as { generationConfig: Record<string, unknown> }).generationConfig;
    expect(config.maxOutputTokens).toBe(150);
    expect(config.thinkingConfig).toEqual({ thinkingBudget: 0 });
  });

  it('gives Gemini 2.5 Pro (which cannot stop thinking) a bounded thinking budget on top of the answer budget', async () => {
    gemini.enqueue(text('{"agent":"job"}'));
    await modelFor('gemini', gemini, 'gemini-2.5-pro').complete({ messages: MESSAGES, maxOutputTokens: 150 });
    const config = (gemini.requests.at(-1)!.body as { generationConfig: Record<string, unknown> }).generationConfig;
    expect(config.maxOutputTokens).toBe(1174);
    expect(config.thinkingConfig).toEqual({ thinkingBudget: 1024 });
  });

  it('sends OpenAI reasoning models no temperature, minimal reasoning and headroom', async () => {
    openai.enqueue(text('{"agent":"job"}'));
    await modelFor('openai', openai, 'gpt-5-mini').complete({
      messages: MESSAGES,
      maxOutputTokens: 150,
      temperature: 0,
    });
    const body = openai.requests.at(-1)!.body as Record<string, unknown>;
    expect(body.temperature).toBeUndefined();
    expect(body.reasoning_effort).toBe('minimal');
    expect(body.max_completion_tokens).toBe(150 + 2048);
  });

  it('keeps temperature and max_tokens for ordinary chat models on compatible servers', async () => {
    openai.enqueue(text('{"agent":"job"}'));
    await modelFor('openai', openai, 'gpt-4o-mini').complete({
      messages: MESSAGES,
      maxOutputTokens: 150,
      temperature: 0,
    });
    const body = openai.requests.at(-1)!.body as Record<string, unknown>;
    expect(body).toMatchObject({ temperature: 0, max_tokens: 150 });
    expect(body.reasoning_effort).toBeUndefined();
  });
});
