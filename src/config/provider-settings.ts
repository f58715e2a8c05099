import { z } from 'zod';

/** One setting of a language model provider, at llm.<provider>.<key>. */
export interface ProviderSetting {
  /** Its environment variable (OPENAI_API_KEY); the generic ASKPANDA_LLM_<PROVIDER>_<KEY> works too. */
  readonly env: string;
  readonly default: string;
  /** What a value must look like (schema.ts's settingChecks); its error message says what is expected. */
  readonly check: z.ZodType<string>;
}

/**
 * What the configuration needs to know of a language model provider: the name ASKPANDA_LLM uses and
 * its settings. Each provider file in src/llm declares this (with its factory), so a provider's
 * variables are spelled once, there; the loader is given the list (src/load-config.ts).
 */
export interface ProviderSettingsSpec {
  readonly name: string;
  readonly settings: Readonly<Record<string, ProviderSetting>>;
}

const SectionSchema = z.record(z.string(), z.string());

/** A provider's settings as loaded (checked by its own spec at load); empty when the configuration has none. */
export function providerSettings(config: { readonly llm: object }, name: string): Readonly<Record<string, string>> {
  const section: unknown = (config.llm as Readonly<Record<string, unknown>>)[name];
  const parsed = SectionSchema.safeParse(section);
  return parsed.success ? parsed.data : {};
}
