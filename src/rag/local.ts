import { z } from 'zod';
import { CorruptIndexError, quarantine, readFileChecked, removeStaleTemps, writeFileAtomic } from './atomic-file.ts';
import { normalize } from './embedder.ts';
import type { VectorMatch, VectorRecord, VectorStore } from './vector-store.ts';

const LocalVectorsSchema = z.object({
  format: z.literal('askpanda-vectors'),
  version: z.literal(1),
  embedder: z.string(),
  dimensions: z.number().int().nonnegative(),
  ids: z.array(z.string()),
  /** All vectors, Float32 little-endian, concatenated, base64. */
  values: z.string(),
});

/**
 * The default vector store: vectors in memory for exact cosine search, persisted as one durable
 * file (see atomic-file.ts). Metadata is not kept here: the catalog already holds the chunks.
 */
export class LocalVectorStore implements VectorStore {
  readonly kind = 'local' as const;
  private readonly vectors = new Map<string, Float32Array>();
  private dimensions = 0;
  private dirty = false;

  private constructor(
    readonly file: string,
    readonly embedder: string,
  ) {}

  static async open(file: string, embedder: string, onDamaged?: (err: CorruptIndexError) => void): Promise<LocalVectorStore> {
    const store = new LocalVectorStore(file, embedder);
    await removeStaleTemps(file);
    let body: Buffer | undefined;
    try {
      body = await readFileChecked(file);
    } catch (err) {
      if (!(err instanceof CorruptIndexError)) throw err;
      onDamaged?.(err);
      await quarantine(file);
      return store;
    }
    if (!body) return store;
    let parsed;
    try {
      parsed = LocalVectorsSchema.safeParse(JSON.parse(body.toString('utf8')));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) {
      onDamaged?.(new CorruptIndexError(file, 'unexpected content'));
      await quarantine(file);
      return store;
    }
    // Vectors of another embedder are meaningless for this one's queries: start empty.
    if (parsed.data.embedder !== embedder) return store;
    const { ids, dimensions } = parsed.data;
    const raw = Buffer.from(parsed.data.values, 'base64');
    if (raw.length !== ids.length * dimensions * 4) {
      onDamaged?.(new CorruptIndexError(file, 'vector data has the wrong length'));
      return store;
    }
    const all = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
    store.dimensions = dimensions;
    ids.forEach((id, i) => store.vectors.set(id, all.slice(i * dimensions, (i + 1) * dimensions)));
    return store;
  }

  get size(): number {
    return this.vectors.size;
  }

  has(id: string): boolean {
    return this.vectors.has(id);
  }

  async upsert(records: VectorRecord[]): Promise<void> {
    for (const record of records) {
      if (this.dimensions === 0) this.dimensions = record.values.length;
      if (record.values.length !== this.dimensions) {
        throw new Error(`Vector for ${record.id} has ${record.values.length} dimensions; this store holds ${this.dimensions}. Re-ingest after changing the embedding model.`);
      }
      this.vectors.set(record.id, Float32Array.from(normalize(record.values)));
    }
    if (records.length) this.dirty = true;
  }

  async delete(ids: string[]): Promise<void> {
    for (const id of ids) if (this.vectors.delete(id)) this.dirty = true;
  }

  async query(values: number[], topK: number): Promise<VectorMatch[]> {
    if (values.length !== this.dimensions || topK <= 0) return [];
    const q = Float32Array.from(normalize(values));
    const best: VectorMatch[] = [];
    for (const [id, v] of this.vectors) {
      let dot = 0;
      for (let i = 0; i < q.length; i++) dot += q[i]! * v[i]!;
      if (best.length < topK) {
        best.push({ id, score: dot });
        if (best.length === topK) best.sort((a, b) => b.score - a.score);
      } else if (dot > best[topK - 1]!.score) {
        best[topK - 1] = { id, score: dot };
        best.sort((a, b) => b.score - a.score);
      }
    }
    return best.sort((a, b) => b.score - a.score);
  }

  async flush(): Promise<void> {
    if (!this.dirty) return;
    const ids = [...this.vectors.keys()];
    const all = new Float32Array(ids.length * this.dimensions);
    ids.forEach((id, i) => all.set(this.vectors.get(id)!, i * this.dimensions));
    const values = Buffer.from(all.buffer, all.byteOffset, all.byteLength).toString('base64');
    await writeFileAtomic(this.file, JSON.stringify({ format: 'askpanda-vectors', version: 1, embedder: this.embedder, dimensions: this.dimensions, ids, values }));
    this.dirty = false;
  }
}
