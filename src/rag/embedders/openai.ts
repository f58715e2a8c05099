import OpenAI from 'openai';
import type { Embedder } from '../embedder.ts';

export interface OpenAiEmbedderOptions {
  apiKey: string;
  baseUrl?: string;
  model: string;
  timeoutMs: number;
}

/** OpenAI embeddings (and compatible servers via baseUrl); the SDK retries 429/5xx honouring Retry-After. */
export class OpenAiEmbedder implements Embedder {
  readonly id: string;
  readonly batchSize = 96;
  private readonly client: OpenAI;

  constructor(private readonly options: OpenAiEmbedderOptions) {
    this.id = `openai:${options.model}`;
    this.client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseUrl || undefined,
      timeout: options.timeoutMs,
      maxRetries: 2,
    });
  }

  async embed(texts: string[], _kind: 'query' | 'document', signal?: AbortSignal): Promise<number[][]> {
    const response = await this.client.embeddings.create(
      { model: this.options.model, input: texts, encoding_format: 'float' },
      { signal },
    );
    return [...response.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
  }
}
