import { providerSettings } from '../../config/provider-settings.ts';
import type { Config } from '../../config/schema.ts';
import type { Embedder } from '../embedder.ts';
import { GeminiEmbedder } from './gemini.ts';
import { MistralEmbedder } from './mistral.ts';
import { OllamaEmbedder } from './ollama.ts';
import { OpenAiEmbedder } from './openai.ts';

/** Used when rag.embeddingModel is empty. */
export const DEFAULT_EMBEDDING_MODELS = {
  openai: 'text-embedding-3-small',
  gemini: 'gemini-embedding-001',
  mistral: 'mistral-embed',
  ollama: 'nomic-embed-text',
} as const;

export class EmbedderConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmbedderConfigError';
  }
}

/** The configured embedder, or undefined for rag.embeddings = none (BM25 only). */
export function createEmbedder(config: Pick<Config, 'rag' | 'llm'>): Embedder | undefined {
  const provider = config.rag.embeddings;
  if (provider === 'none') return undefined;
  const model = config.rag.embeddingModel || DEFAULT_EMBEDDING_MODELS[provider];
  const timeoutMs = config.llm.timeoutMs;
  // The embedding providers use the credentials of the language model providers of the same name.
  const settings = providerSettings(config, provider);
  if (provider === 'ollama') return new OllamaEmbedder({ host: settings.host ?? '', model, timeoutMs });
  if (!settings.apiKey) {
    const env = { openai: 'OPENAI_API_KEY', gemini: 'GEMINI_API_KEY', mistral: 'MISTRAL_API_KEY' }[provider];
    throw new EmbedderConfigError(
      `rag.embeddings is ${provider} but ${env} is not set. Set it, or set ASKPANDA_RAG_EMBEDDINGS=none for keyword search only.`,
    );
  }
  const options = { apiKey: settings.apiKey, baseUrl: settings.baseUrl || undefined, model, timeoutMs };
  if (provider === 'openai') return new OpenAiEmbedder(options);
  if (provider === 'gemini') return new GeminiEmbedder(options);
  return new MistralEmbedder(options);
}
