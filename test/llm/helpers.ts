import { PROVIDERS, type ProviderName } from '../../src/llm/providers.ts';
import type { ProviderDescriptor } from '../../src/llm/provider.ts';
import { AnthropicChatModel } from '../../src/llm/anthropic.ts';
import type { ChatModel, ChatResult, ChatStreamEvent } from '../../src/llm/chat-model.ts';
import { GeminiChatModel } from '../../src/llm/gemini.ts';
import { MistralChatModel } from '../../src/llm/mistral.ts';
import { OllamaChatModel } from '../../src/llm/ollama.ts';
import { OpenAIChatModel } from '../../src/llm/openai.ts';
import { baseUrlFor, type LlmFake } from '../fakes/llm/index.ts';

export const PROVIDER_NAMES: ProviderName[] = ['openai', 'anthropic', 'gemini', 'mistral', 'ollama'];

// A provider's SDK loads when its first model is made through its descriptor (as at start-up).
// modelFor builds the classes directly, and the tests time their calls: make one model of each
// through its descriptor first, so no call below pays for an SDK import.
const providers: readonly ProviderDescriptor[] = PROVIDERS;
await Promise.all(
  providers.map((provider) =>
    provider.create(
      Object.fromEntries(Object.entries(provider.settings).map(([key, setting]) => [key, setting.default])),
      { maxOutputTokens: 1 },
    ),
  ),
);

/** The real provider class, configured against a loopback fake. */
export function modelFor(
  provider: ProviderName,
  fake: LlmFake | { origin: string },
  model = `fake-${provider}-model`,
): ChatModel {
  const options = {
    apiKey: `test-key-${provider}`,
    baseUrl: baseUrlFor(provider, fake.origin),
    model,
    maxOutputTokens: 256,
  };
  switch (provider) {
    case 'openai':
      return new OpenAIChatModel(options);
    case 'anthropic':
      return new AnthropicChatModel(options);
    case 'gemini':
      return new GeminiChatModel(options);
    case 'mistral':
      return new MistralChatModel(options);
    case 'ollama':
      return new OllamaChatModel({ host: fake.origin, model, maxOutputTokens: 256 });
  }
}

export async function collect(
  stream: AsyncIterable<ChatStreamEvent>,
): Promise<{ deltas: string[]; result?: ChatResult }> {
  const deltas: string[] = [];
  let result: ChatResult | undefined;
  for await (const event of stream) {
    if (event.type === 'delta') deltas.push(event.text);
    else result = event.result;
  }
  return { deltas, result };
}

import type { AgentContext, Route } from '../../src/agents/agent.ts';
import type { Turn } from '../../src/core/turn.ts';
import { FallbackChatModel } from '../../src/llm/fallback.ts';
import { OfflineModel } from '../../src/llm/offline.ts';

/** The production wrapper (redaction, budget, fallback to offline) around one provider. */
export function chainFor(model: ChatModel): FallbackChatModel {
  return new FallbackChatModel([model, new OfflineModel()], {
    timeoutMs: 3_000,
    concurrency: 2,
    breakerFailures: 5,
    breakerCooldownMs: 60_000,
    maxInputTokens: 8_000,
    maxOutputTokens: 800,
  });
}

export function agentContext(
  model: ChatModel,
  question: string,
  route: Route,
  history: Turn[] = [],
): AgentContext & { partials: string[] } {
  const partials: string[] = [];
  return {
    question,
    incoming: { platform: 'cli', channel: 'cli', thread: 't1', user: 'tester', text: question, isDirect: true },
    history,
    route,
    model,
    progress: () => undefined,
    onPartialText: (markdown: string) => partials.push(markdown),
    partials,
  };
}
