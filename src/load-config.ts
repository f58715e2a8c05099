import { envNamesFor as envNamesWith, loadConfigWith, type LoadOptions } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { PROVIDERS, type ProviderSettingsOf } from './llm/providers.ts';

/** The configuration with every language model provider's settings, typed as their descriptors declare them. */
export type LoadedConfig = Config & { llm: ProviderSettingsOf<(typeof PROVIDERS)[number]> };

/**
 * Loads the configuration (src/config/load.ts) with the providers of src/llm/providers.ts: the
 * settings live below the models in the layer table, so the registry is handed down from here.
 */
export function loadConfigDetailed(options: LoadOptions = {}): {
  config: LoadedConfig;
  origin: ReadonlyMap<string, string>;
} {
  const { config, origin } = loadConfigWith(PROVIDERS, options);
  // configSchemaWith(PROVIDERS) checked every provider's section: the type says what the check made sure of.
  return { config: config as LoadedConfig, origin };
}

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  return loadConfigDetailed(options).config;
}

/** Env names for a setting: its own name first (DESIGN.md's or its provider's), then the generic ASKPANDA_ name. */
export function envNamesFor(keyPath: string): string[] {
  return envNamesWith(keyPath, PROVIDERS);
}
