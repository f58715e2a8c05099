import type { Logger } from 'pino';
import { providerSettings } from '../config/provider-settings.ts';
import type { Config } from '../config/schema.ts';
import type { ChatModel } from './chat-model.ts';
import { OfflineModel } from './offline.ts';
import type { ProviderDescriptor } from './provider.ts';
import { PROVIDERS } from './providers.ts';

/** A provider's settings from the configuration, each falling back to the default its descriptor declares. */
export function settingsOf<Key extends string>(
  config: Config,
  provider: ProviderDescriptor<string, Key>,
): Readonly<Record<Key, string>> {
  const loaded = providerSettings(config, provider.name);
  const keys = Object.keys(provider.settings) as Key[];
  return Object.fromEntries(keys.map((key) => [key, loaded[key] ?? provider.settings[key].default])) as Record<
    Key,
    string
  >;
}

/**
 * The model the bot uses: the fallback chain of `llm.chain` (ASKPANDA_LLM), in order, up to the
 * first model that answers offline. A provider without the setting it requires (its API key) is
 * left out with a warning rather than failing every call with 401. `notices` receives one line per
 * dropped provider, for the start-up banner. `providers`: the registry (tests add their own).
 */
export async function createChatModel(
  config: Config,
  logger: Logger,
  notices: string[] = [],
  providers: readonly ProviderDescriptor[] = PROVIDERS,
): Promise<ChatModel> {
  const models: ChatModel[] = [];
  for (const name of config.llm.chain) {
    const provider = providers.find((p) => p.name === name);
    // The configuration was checked against the same registry: a name without a provider is a wiring mistake.
    if (!provider) throw new Error(`llm.chain names ${name}, which is not a provider in src/llm/providers.ts`);
    const settings = settingsOf(config, provider);
    if (provider.requires !== undefined && !settings[provider.requires]) {
      const notice = `ASKPANDA_LLM names ${name} but ${provider.settings[provider.requires]!.env} is empty: ${name} is skipped.`;
      logger.warn(notice);
      notices.push(notice);
      continue;
    }
    const model = await provider.create(settings, { maxOutputTokens: config.llm.maxOutputTokens });
    models.push(model);
    if (model.offline) break;
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
