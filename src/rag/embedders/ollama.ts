import { Ollama } from 'ollama';
import type { Embedder } from '../embedder.ts';

export interface OllamaEmbedderOptions {
  host: string;
  model: string;
  timeoutMs: number;
}

/** A local Ollama server's /api/embed (e.g. nomic-embed-text); each request is bounded by the timeout. */
export class OllamaEmbedder implements Embedder {
  readonly id: string;
  readonly batchSize = 32;
  private readonly client: Ollama;

  constructor(private readonly options: OllamaEmbedderOptions) {
    this.id = `ollama:${options.model}`;
    const timeoutMs = options.timeoutMs;
    this.client = new Ollama({
      host: options.host,
      fetch: (input, init) =>
        fetch(input, {
          ...init,
          signal: init?.signal
            ? AbortSignal.any([init.signal, AbortSignal.timeout(timeoutMs)])
            : AbortSignal.timeout(timeoutMs),
        }),
    });
  }

  async embed(texts: string[]): Promise<number[][]> {
    const response = await this.client.embed({ model: this.options.model, input: texts });
    if (response.embeddings.length !== texts.length)
      throw new Error(`Ollama returned ${response.embeddings.length} embeddings for ${texts.length} texts`);
    return response.embeddings;
  }
}
