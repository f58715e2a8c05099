import { z } from 'zod';
import { CorruptIndexError, readJsonIndex, writeFileAtomic } from './atomic-file.ts';
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
  /** Row i of `matrix` is the unit vector of ids[i]: one contiguous array scans fastest. */
  private ids: string[] = [];
  private readonly rowOf = new Map<string, number>();
  private matrix = new Float32Array(0);
  private dimensions = 0;
  private dirty = false;

  private constructor(
    readonly file: string,
    readonly embedder: string,
  ) {}

  static async open(
    file: string,
    embedder: string,
    onDamaged?: (err: CorruptIndexError) => void,
  ): Promise<LocalVectorStore> {
    const store = new LocalVectorStore(file, embedder);
    const data = await readJsonIndex(file, LocalVectorsSchema, onDamaged);
    if (!data) return store;
    // Vectors of another embedder are meaningless for this one's queries: start empty.
    if (data.embedder !== embedder) return store;
    const { ids, dimensions } = data;
    const raw = Buffer.from(data.values, 'base64');
    if (raw.length !== ids.length * dimensions * 4) {
      onDamaged?.(new CorruptIndexError(file, 'vector data has the wrong length'));
      return store;
    }
    store.dimensions = dimensions;
    store.matrix = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
    store.ids = [...ids];
    ids.forEach((id, i) => store.rowOf.set(id, i));
    return store;
  }

  get size(): number {
    return this.ids.length;
  }

  has(id: string): boolean {
    return this.rowOf.has(id);
  }

  async upsert(records: VectorRecord[]): Promise<void> {
    for (const record of records) {
      if (this.dimensions === 0) this.dimensions = record.values.length;
      if (record.values.length !== this.dimensions) {
        throw new Error(
          `Vector for ${record.id} has ${record.values.length} dimensions; this store holds ${this.dimensions}. ` +
            `Re-ingest after changing the embedding model.`,
        );
      }
      let row = this.rowOf.get(record.id);
      if (row === undefined) {
        row = this.ids.length;
        this.ids.push(record.id);
        this.rowOf.set(record.id, row);
        if (this.matrix.length < (row + 1) * this.dimensions) {
          const grown = new Float32Array(Math.max(64, (row + 1) * 2) * this.dimensions);
          grown.set(this.matrix);
          this.matrix = grown;
        }
      }
      this.matrix.set(normalize(record.values), row * this.dimensions);
    }
    if (records.length) this.dirty = true;
  }

  async delete(ids: string[]): Promise<void> {
    for (const id of ids) {
      const row = this.rowOf.get(id);
      if (row === undefined) continue;
      // Move the last row into the hole so rows stay contiguous.
      const last = this.ids.length - 1;
      const lastId = this.ids[last]!;
      if (row !== last) {
        this.matrix.copyWithin(row * this.dimensions, last * this.dimensions, (last + 1) * this.dimensions);
        this.ids[row] = lastId;
        this.rowOf.set(lastId, row);
      }
      this.ids.pop();
      this.rowOf.delete(id);
      this.dirty = true;
    }
  }

  async query(values: number[], topK: number): Promise<VectorMatch[]> {
    const dims = this.dimensions;
    if (values.length !== dims || topK <= 0) return [];
    const q = Float32Array.from(normalize(values));
    const m = this.matrix;
    const bestRows: number[] = [];
    const bestScores: number[] = [];
    const tail = dims - (dims % 4);
    for (let row = 0, offset = 0; row < this.ids.length; row++, offset += dims) {
      // Four independent sums: the CPU overlaps them instead of waiting on one chain of additions.
      let a = 0;
      let b = 0;
      let c = 0;
      let d = 0;
      let i = 0;
      for (; i < tail; i += 4) {
        a += q[i]! * m[offset + i]!;
        b += q[i + 1]! * m[offset + i + 1]!;
        c += q[i + 2]! * m[offset + i + 2]!;
        d += q[i + 3]! * m[offset + i + 3]!;
      }
      for (; i < dims; i++) a += q[i]! * m[offset + i]!;
      const dot = a + b + c + d;
      if (bestRows.length === topK && dot <= bestScores[topK - 1]!) continue;
      let at = bestRows.length;
      while (at > 0 && bestScores[at - 1]! < dot) at--;
      bestRows.splice(at, 0, row);
      bestScores.splice(at, 0, dot);
      if (bestRows.length > topK) {
        bestRows.pop();
        bestScores.pop();
      }
    }
    return bestRows.map((row, i) => ({ id: this.ids[row]!, score: bestScores[i]! }));
  }

  async flush(): Promise<void> {
    if (!this.dirty) return;
    const used = this.matrix.subarray(0, this.ids.length * this.dimensions);
    const values = Buffer.from(used.buffer, used.byteOffset, used.byteLength).toString('base64');
    await writeFileAtomic(
      this.file,
      JSON.stringify({
        format: 'askpanda-vectors',
        version: 1,
        embedder: this.embedder,
        dimensions: this.dimensions,
        ids: this.ids,
        values,
      }),
    );
    this.dirty = false;
  }
}
