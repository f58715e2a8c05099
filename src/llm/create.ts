import type { Logger } from 'pino';
import type { Config, ProviderName } from '../config/schema.ts';
import type { ChatModel } from './chat-model.ts';
import { OfflineModel } from './offline.ts';

const KEY_ENV: Record<Exclude<ProviderName, 'ollama'>, string> = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  gemini: 'GEMINI_API_KEY',
  mistral: 'MISTRAL_API_KEY',
};

/** Each provider's SDK is imported only when the chain names it, so an offline start loads none. */
async function providerModel(name: ProviderName, config: Config): Promise<ChatModel> {
  const llm = config.llm;
  const maxOutputTokens = llm.maxOutputTokens;
  switch (name) {
    case 'openai':
      return new (await import('./openai.ts')).OpenAIChatModel({ ...llm.openai, maxOutputTokens });
    case 'anthropic':
      return new (await import('./anthropic.ts')).AnthropicChatModel({ ...llm.anthropic, maxOutputTokens });
    case 'gemini':
      return new (await import('./gemini.ts')).GeminiChatModel({ ...llm.gemini, maxOutputTokens });
    case 'mistral':
      return new (await import('./mistral.ts')).MistralChatModel({ ...llm.mistral, maxOutputTokens });
    case 'ollama':
      return new (await import('./ollama.ts')).OllamaChatModel({ ...llm.ollama, maxOutputTokens });
  }
}

/**
 * The model the bot uses: the fallback chain of `llm.chain` (ASKPANDA_LLM). A provider without its
 * API key is left out with a warning rather than failing every call with 401. `notices` receives
 * one line per dropped provider, for the start-up banner.
 */
export async function createChatModel(config: Config, logger: Logger, notices: string[] = []): Promise<ChatModel> {
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
    models.push(await providerModel(name, config));
  }
  if (models.length === 0 || !models.some((m) => !m.offline)) return new OfflineModel();
  const { FallbackChatModel } = await import('./fallback.ts');
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
