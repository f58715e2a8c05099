import { GoogleGenAI } from '@google/genai';
import type { Embedder } from '../embedder.ts';

export interface GeminiEmbedderOptions {
  apiKey: string;
  baseUrl?: string;
  model: string;
  timeoutMs: number;
}

/** Gemini embeddings via @google/genai (batchEmbedContents); queries and passages use their own task types. */
export class GeminiEmbedder implements Embedder {
  readonly id: string;
  readonly batchSize = 100;
  private readonly client: GoogleGenAI;

  constructor(private readonly options: GeminiEmbedderOptions) {
    this.id = `gemini:${options.model}`;
    this.client = new GoogleGenAI({
      apiKey: options.apiKey,
      httpOptions: { ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}), timeout: options.timeoutMs },
    });
  }

  async embed(texts: string[], kind: 'query' | 'document', signal?: AbortSignal): Promise<number[][]> {
    const response = await this.client.models.embedContent({
      model: this.options.model,
      contents: texts,
      config: {
        taskType: kind === 'query' ? 'RETRIEVAL_QUERY' : 'RETRIEVAL_DOCUMENT',
        ...(signal ? { abortSignal: signal } : {}),
      },
    });
    const vectors = (response.embeddings ?? []).map((e) => e.values ?? []);
    if (vectors.length !== texts.length || vectors.some((v) => v.length === 0)) {
      throw new Error(`Gemini returned ${vectors.length} embeddings for ${texts.length} texts`);
    }
    return vectors;
  }
}
