import type { ProviderName } from '../../../src/llm/providers.ts';
import { anthropicFake } from './anthropic.ts';
import { geminiFake } from './gemini.ts';
import { mistralFake } from './mistral.ts';
import { ollamaFake } from './ollama.ts';
import { openaiFake } from './openai.ts';
import type { LlmFake } from './server.ts';

export {
  LlmFake,
  text,
  status,
  slow,
  hang,
  raw,
  reset,
  flood,
  endless,
  toolCalls,
  type Reply,
  type RecordedRequest,
  type ScriptedCall,
  type SentToolResult,
  type OfferedTools,
} from './server.ts';

export const FAKES: Record<ProviderName, () => LlmFake> = {
  openai: openaiFake,
  anthropic: anthropicFake,
  gemini: geminiFake,
  mistral: mistralFake,
  ollama: ollamaFake,
};

/** The base URL each SDK expects for a fake at `origin` (DEPENDENCIES.md). */
export function baseUrlFor(provider: ProviderName, origin: string): string {
  return provider === 'openai' ? `${origin}/v1` : origin;
}

/** Environment that points askpanda's config at a started fake. */
export function envFor(
  provider: ProviderName,
  fake: LlmFake,
  model = `fake-${provider}-model`,
): Record<string, string> {
  const upper = provider.toUpperCase();
  if (provider === 'ollama') return { ASKPANDA_LLM: 'ollama', OLLAMA_HOST: fake.origin, ASKPANDA_OLLAMA_MODEL: model };
  return {
    ASKPANDA_LLM: provider,
    [`${upper}_API_KEY`]: `test-key-${provider}`,
    [`${upper}_BASE_URL`]: baseUrlFor(provider, fake.origin),
    [`ASKPANDA_${upper}_MODEL`]: model,
  };
}
