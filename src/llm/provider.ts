import type { ProviderSetting } from '../config/provider-settings.ts';
import { settingChecks } from '../config/schema.ts';
import type { ChatModel } from './chat-model.ts';
import type { ProviderOptions } from './provider-support.ts';

export interface ModelLimits {
  maxOutputTokens: number;
}

/**
 * A language model provider: its file in src/llm exports one, providers.ts lists it, and
 * ASKPANDA_LLM names it. Its settings are llm.<name>.<key>, each with its environment variable and
 * default; the configuration, the start-up notices and the model come from here. Loading a
 * descriptor loads no SDK: `create` imports it.
 */
export interface ProviderDescriptor<Name extends string = string, Key extends string = string> {
  readonly name: Name;
  readonly settings: { readonly [K in Key]: ProviderSetting };
  /** The setting without which it is left out of the chain (with a start-up notice) instead of failing every call. */
  readonly requires?: NoInfer<Key>;
  /** The model, once its SDK is loaded. */
  create(settings: Readonly<Record<Key, string>>, limits: ModelLimits): Promise<ChatModel>;
}

/** Keeps the literal name and setting keys of a descriptor for the typed configuration (src/load-config.ts). */
export function defineProvider<const Name extends string, Key extends string = never>(
  descriptor: ProviderDescriptor<Name, Key>,
): ProviderDescriptor<Name, Key> {
  return descriptor;
}

/**
 * A provider behind an API key (OpenAI, Anthropic, Gemini, Mistral): settings from apiSettings, left
 * out of the chain without its key, its model made once `sdk` has loaded.
 */
export function apiKeyProvider<const Name extends string>(spec: {
  name: Name;
  env: { apiKey: string; baseUrl: string; model: string };
  defaultModel: string;
  sdk: () => Promise<unknown>;
  model: (options: ProviderOptions) => ChatModel;
}): ProviderDescriptor<Name, 'apiKey' | 'baseUrl' | 'model'> {
  return {
    name: spec.name,
    settings: apiSettings(spec.env, spec.defaultModel),
    requires: 'apiKey',
    async create(settings, limits) {
      await spec.sdk();
      return spec.model({ ...settings, ...limits });
    },
  };
}

/** The settings of a hosted API: its key, a base URL (empty: the public endpoint) and the model. */
export function apiSettings(
  env: { apiKey: string; baseUrl: string; model: string },
  defaultModel: string,
): ProviderDescriptor<string, 'apiKey' | 'baseUrl' | 'model'>['settings'] {
  return {
    apiKey: { env: env.apiKey, default: '', check: settingChecks.text },
    baseUrl: { env: env.baseUrl, default: '', check: settingChecks.optionalHttpUrl },
    model: { env: env.model, default: defaultModel, check: settingChecks.modelName },
  };
}
