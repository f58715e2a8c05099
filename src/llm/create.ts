import type { Logger } from 'pino';
import type { Config, ProviderName } from '../config/schema.ts';
import { AnthropicChatModel } from './anthropic.ts';
import type { ChatModel } from './chat-model.ts';
import { FallbackChatModel } from './fallback.ts';
import { GeminiChatModel } from './gemini.ts';
import { MistralChatModel } from './mistral.ts';
import { OfflineModel } from './offline.ts';
import { OllamaChatModel } from './ollama.ts';
import { OpenAIChatModel } from './openai.ts';

const KEY_ENV: Record<Exclude<ProviderName, 'ollama'>, string> = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  gemini: 'GEMINI_API_KEY',
  mistral: 'MISTRAL_API_KEY',
};

function providerModel(name: ProviderName, config: Config): ChatModel {
  const llm = config.llm;
  const maxOutputTokens = llm.maxOutputTokens;
  switch (name) {
    case 'openai':
      return new OpenAIChatModel({ ...llm.openai, maxOutputTokens });
    case 'anthropic':
      return new AnthropicChatModel({ ...llm.anthropic, maxOutputTokens });
    case 'gemini':
      return new GeminiChatModel({ ...llm.gemini, maxOutputTokens });
    case 'mistral':
      return new MistralChatModel({ ...llm.mistral, maxOutputTokens });
    case 'ollama':
      return new OllamaChatModel({ ...llm.ollama, maxOutputTokens });
  }
}

/**
 * The model the bot uses: the fallback chain of `llm.chain` (ASKPANDA_LLM). A provider without its
 * API key is left out with a warning rather than failing every call with 401. `notices` receives
 * one line per dropped provider, for the start-up banner.
 */
export function createChatModel(config: Config, logger: Logger, notices: string[] = []): ChatModel {
  const models: ChatModel[] = [];
  for (const name of config.llm.chain) {
    if (name === 'offline') {
      models.push(new OfflineModel());
      break;
    }
    if (name !== 'ollama' && !config.llm[name].apiKey) {
      const notice = `ASKPANDA_LLM names ${name} but ${KEY_ENV[name]} is empty: ${name} is skipped.`;
      logger.warn(notice);
      notices.push(notice);
      continue;
    }
    models.push(providerModel(name, config));
  }
  if (models.length === 0 || !models.some((m) => !m.offline)) return new OfflineModel();
  return new FallbackChatModel(models, {
    timeoutMs: config.llm.timeoutMs,
    concurrency: config.llm.concurrency,
    breakerFailures: config.llm.breakerFailures,
    breakerCooldownMs: config.llm.breakerCooldownSeconds * 1000,
    maxInputTokens: config.llm.maxInputTokens,
    maxOutputTokens: config.llm.maxOutputTokens,
    logger,
  });
}
