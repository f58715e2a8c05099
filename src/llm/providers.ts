import { anthropic } from './anthropic.ts';
import { gemini } from './gemini.ts';
import { mistral } from './mistral.ts';
import { offline } from './offline.ts';
import { ollama } from './ollama.ts';
import { openai } from './openai.ts';
import type { ProviderDescriptor } from './provider.ts';

/** Every language model ASKPANDA_LLM can name, one line each, in the order help and errors list them. */
export const PROVIDERS = [openai, anthropic, gemini, mistral, ollama, offline] as const;

/** A provider that answers with a model of its own (all but `offline`). */
export type ProviderName = Exclude<(typeof PROVIDERS)[number]['name'], typeof offline.name>;

/** The settings of each provider that has some, as the configuration holds them: llm.<name>.<key>. */
export type ProviderSettingsOf<P extends ProviderDescriptor> = {
  [D in P as keyof D['settings'] extends never ? never : D['name']]: Readonly<Record<keyof D['settings'], string>>;
};
