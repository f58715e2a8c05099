import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderName } from '../../src/llm/providers.ts';
import {
  ModelUnavailableError,
  type ChatModel,
  type ChatRequest,
  type StreamRequest,
} from '../../src/llm/chat-model.ts';
import { FallbackChatModel } from '../../src/llm/fallback.ts';
import { OfflineModel } from '../../src/llm/offline.ts';
import { runToolLoop } from '../../src/llm/tool-loop.ts';
import { FAKES, status, text, toolCalls, type LlmFake } from '../fakes/llm/index.ts';
import { modelFor, PROVIDER_NAMES } from './helpers.ts';
import { panDaTools, QUESTION } from './tool-tools.ts';

const OPTIONS = {
  timeoutMs: 3_000,
  concurrency: 2,
  breakerFailures: 5,
  breakerCooldownMs: 60_000,
  maxInputTokens: 8_000,
  maxOutputTokens: 800,
};

/** A model that answers in text but cannot be given tools (a compatible server without function calling). */
class TextOnlyModel implements ChatModel {
  readonly offline = false;
  constructor(private readonly inner: ChatModel) {}
  get id(): string {
    return this.inner.id;
  }
  complete(request: ChatRequest) {
    return this.inner.complete(request);
  }
  stream(request: StreamRequest) {
    return this.inner.stream(request);
  }
}

const fakes = {} as Record<ProviderName, LlmFake>;
beforeAll(async () => {
  for (const name of PROVIDER_NAMES) fakes[name] = await FAKES[name]().start();
});
afterEach(() => {
  for (const name of PROVIDER_NAMES) fakes[name].reset();
});
afterAll(async () => {
  for (const name of PROVIDER_NAMES) await fakes[name].close();
});

/**
 * Each provider takes over a conversation another began: the first makes a tool call, then fails
 * (500); the next one gets the same neutral messages, the call and its result in its own wire format
 * (ids renamed where its API wants, Gemini 3 given a signature for a call it did not make).
 */
const HANDOVERS: Array<[ProviderName, ProviderName, string?]> = [
  ['openai', 'anthropic'],
  ['anthropic', 'mistral'],
  ['mistral', 'gemini', 'gemini-3-flash-preview'],
  ['gemini', 'ollama'],
  ['ollama', 'openai'],
];

describe.each(HANDOVERS)('a tool loop that %s began and then failed', (first, next, nextModel) => {
  it(`is continued by ${next} from the same messages`, async () => {
    fakes[first].enqueue(toolCalls({ name: 'job_status', arguments: { pandaid: 6802258254 } }), status(500));
    fakes[next].enqueue(text(`${next} continued: the job failed in stage-in.`));
    const chain = new FallbackChatModel(
      [modelFor(first, fakes[first]), modelFor(next, fakes[next], nextModel), new OfflineModel()],
      OPTIONS,
    );
    const { tools, executed } = panDaTools();
    const result = await runToolLoop(chain, { messages: QUESTION, tools });

    expect(result.text).toBe(`${next} continued: the job failed in stage-in.`);
    expect(result.model).toBe(`${next}:${nextModel ?? `fake-${next}-model`}`);
    expect(result.calls.map((c) => [c.name, c.ok])).toEqual([['job_status', true]]);
    expect(executed).toHaveLength(1);
    expect(fakes[first].requests).toHaveLength(2);
    expect(fakes[next].requests).toHaveLength(1);
    const results = fakes[next].toolResults();
    expect(results).toHaveLength(1);
    expect(results[0]!.content).toContain('"pilotErrorCode":1305');
  });
});

describe('tool support across the chain', () => {
  it('a chain whose only member is offline reports no tool support, and the loop asks no model', async () => {
    const chain = new FallbackChatModel([new OfflineModel()], OPTIONS);
    expect(chain.supportsTools).toBe(false);
    expect(new OfflineModel().supportsTools).toBeFalsy();
    const { tools, executed } = panDaTools();
    const result = await runToolLoop(chain, { messages: QUESTION, tools });
    expect(result).toEqual({
      toolsUsed: false,
      text: '',
      calls: [],
      usage: { inputTokens: 0, outputTokens: 0 },
      model: 'offline',
    });
    expect(executed).toEqual([]);
  });

  it('a call with tools passes over members that cannot call tools; a call without them does not', async () => {
    const chain = new FallbackChatModel(
      [new TextOnlyModel(modelFor('openai', fakes.openai)), modelFor('anthropic', fakes.anthropic)],
      OPTIONS,
    );
    expect(chain.supportsTools).toBe(true);
    fakes.anthropic.enqueue(text('anthropic answered with tools offered'));
    const { tools } = panDaTools();
    const withTools = await runToolLoop(chain, { messages: QUESTION, tools });
    expect(withTools).toMatchObject({ toolsUsed: true, model: 'anthropic:fake-anthropic-model' });
    expect(fakes.openai.requests).toHaveLength(0);

    fakes.openai.enqueue(text('openai answered in text'));
    const plain = await chain.complete({ messages: QUESTION });
    expect(plain.model).toBe('openai:fake-openai-model');
    expect(fakes.openai.offeredTools().names).toEqual([]);
  });

  it('a chain of members without tool support reports none, and a call with tools is refused by name', async () => {
    const chain = new FallbackChatModel(
      [new TextOnlyModel(modelFor('openai', fakes.openai)), new OfflineModel()],
      OPTIONS,
    );
    expect(chain.supportsTools).toBe(false);
    const err = await chain
      .complete({
        messages: QUESTION,
        tools: [{ name: 'job_status', description: 'x', inputSchema: { type: 'object' } }],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelUnavailableError);
    expect((err as Error).message).toContain('openai:fake-openai-model: cannot call tools');
    expect(fakes.openai.requests).toHaveLength(0);
  });

  it('a model that still calls tools when told to answer fails over instead of looping', async () => {
    fakes.mistral.responder = () => toolCalls({ name: 'job_logs', arguments: { pandaid: 6802258254 } });
    fakes.ollama.enqueue(text('ollama answered after mistral would not'));
    try {
      const chain = new FallbackChatModel(
        [modelFor('mistral', fakes.mistral), modelFor('ollama', fakes.ollama), new OfflineModel()],
        OPTIONS,
      );
      const { tools, executed } = panDaTools();
      const result = await runToolLoop(chain, { messages: QUESTION, tools, maxToolCalls: 2 });
      expect(executed).toHaveLength(2);
      expect(fakes.mistral.requests).toHaveLength(3);
      expect(fakes.mistral.offeredTools(fakes.mistral.requests[2]).choice).toBe('none');
      expect(result).toMatchObject({
        text: 'ollama answered after mistral would not',
        model: 'ollama:fake-ollama-model',
      });
      expect(fakes.ollama.offeredTools().names).toEqual([]);
      expect(fakes.ollama.toolResults()).toHaveLength(2);
    } finally {
      fakes.mistral.responder = () => text('The pilot could not stage in the input file.');
    }
  });
});
