import type { Chunk } from './chunk.ts';

export interface VectorRecord {
  id: string;
  values: number[];
  /** Enough to cite the chunk without the local catalog (another replica reading Pinecone). */
  metadata: Pick<Chunk, 'source' | 'title' | 'section'> & { text: string };
}

export interface VectorMatch {
  id: string;
  /** Cosine similarity, higher is closer. */
  score: number;
}

/** Where chunk vectors live: a local durable file, or Pinecone for teams that outgrow one machine. */
export interface VectorStore {
  readonly kind: 'local' | 'pinecone';
  upsert(records: VectorRecord[]): Promise<void>;
  delete(ids: string[]): Promise<void>;
  query(values: number[], topK: number, signal?: AbortSignal): Promise<VectorMatch[]>;
  /** Makes the upserts and deletes so far durable (local: one atomic write; Pinecone: already). */
  flush(): Promise<void>;
}
