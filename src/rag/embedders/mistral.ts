import { Mistral } from '@mistralai/mistralai';
import type { Embedder } from '../embedder.ts';

export interface MistralEmbedderOptions {
  apiKey: string;
  baseUrl?: string;
  model: string;
  timeoutMs: number;
}

/** Mistral embeddings; the SDK's backoff retries 429 and 5xx. */
export class MistralEmbedder implements Embedder {
  readonly id: string;
  readonly batchSize = 64;
  private readonly client: Mistral;

  constructor(private readonly options: MistralEmbedderOptions) {
    this.id = `mistral:${options.model}`;
    this.client = new Mistral({
      apiKey: options.apiKey,
      ...(options.baseUrl ? { serverURL: options.baseUrl } : {}),
      timeoutMs: options.timeoutMs,
      retryConfig: {
        strategy: 'backoff',
        backoff: { initialInterval: 500, maxInterval: 8000, exponent: 2, maxElapsedTime: options.timeoutMs },
        retryConnectionErrors: true,
      },
    });
  }

  async embed(texts: string[], _kind: 'query' | 'document', signal?: AbortSignal): Promise<number[][]> {
    const response = await this.client.embeddings.create(
      { model: this.options.model, inputs: texts },
      signal ? { fetchOptions: { signal } } : undefined,
    );
    const data = [...response.data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    return data.map((d) => {
      if (!d.embedding) throw new Error('Mistral returned an embedding without values');
      return d.embedding;
    });
  }
}
