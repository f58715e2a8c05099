/**
 * Text → vectors, behind one interface so the provider is configuration (rag.embeddings).
 * `kind` lets providers that distinguish them (Gemini task types) embed queries and passages
 * differently; the others ignore it.
 */
export interface Embedder {
  /** "<provider>:<model>": vectors of different embedders are never mixed in one store. */
  readonly id: string;
  /** Texts per request; ingest batches by it. */
  readonly batchSize: number;
  embed(texts: string[], kind: 'query' | 'document', signal?: AbortSignal): Promise<number[][]>;
}

/** Unit length, so cosine similarity is a dot product. */
export function normalize(vector: readonly number[]): number[] {
  let sum = 0;
  for (const v of vector) sum += v * v;
  const norm = Math.sqrt(sum) || 1;
  return vector.map((v) => v / norm);
}

/** Embeds many texts in batches of the embedder's size, a few requests in flight at a time. */
export async function embedAll(
  embedder: Embedder,
  texts: string[],
  options: { concurrency?: number; onBatch?: (done: number, total: number) => void; signal?: AbortSignal } = {},
): Promise<number[][]> {
  const out: number[][] = new Array<number[]>(texts.length);
  const batches: Array<[number, string[]]> = [];
  for (let i = 0; i < texts.length; i += embedder.batchSize) batches.push([i, texts.slice(i, i + embedder.batchSize)]);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < batches.length) {
      const [start, batch] = batches[next++]!;
      const vectors = await embedder.embed(batch, 'document', options.signal);
      if (vectors.length !== batch.length)
        throw new Error(`${embedder.id} returned ${vectors.length} vectors for ${batch.length} texts`);
      vectors.forEach((v, j) => (out[start + j] = v));
      done += batch.length;
      options.onBatch?.(done, texts.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 2, batches.length) }, worker));
  return out;
}
