import { Pinecone, type Index } from '@pinecone-database/pinecone';
import type { VectorMatch, VectorRecord, VectorStore } from './vector-store.ts';

export interface PineconeStoreOptions {
  apiKey: string;
  /** Index name; the SDK resolves its host through the control plane when `host` is empty. */
  index: string;
  /** Index host (from the console or describe_index); also points the SDK at a compatible server. */
  host?: string;
  namespace: string;
  /** Control-plane URL override (tests). */
  controllerHostUrl?: string;
}

type ChunkMetadata = { source: string; title: string; section: string; text: string };

/** Pinecone allows 2 MB and 1000 records per upsert; 100 records of ~1-5 kB stay well inside. */
const UPSERT_BATCH = 100;
const DELETE_BATCH = 1000;
/** Pinecone's metadata limit is 40 kB per record; the text is a citation aid, so it is cut well below. */
const MAX_METADATA_TEXT = 8000;

export class PineconeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PineconeConfigError';
  }
}

/** Vectors in a Pinecone index namespace, through the official SDK (which retries 5xx itself). */
export class PineconeVectorStore implements VectorStore {
  readonly kind = 'pinecone' as const;
  private readonly index: Index<ChunkMetadata>;

  constructor(options: PineconeStoreOptions) {
    if (!options.apiKey) throw new PineconeConfigError('ASKPANDA_VECTORS is pinecone but PINECONE_API_KEY is not set.');
    if (!options.index && !options.host)
      throw new PineconeConfigError(
        'ASKPANDA_VECTORS is pinecone: set PINECONE_INDEX (index name) or PINECONE_HOST (index host).',
      );
    const client = new Pinecone({
      apiKey: options.apiKey,
      maxRetries: 3,
      ...(options.controllerHostUrl ? { controllerHostUrl: options.controllerHostUrl } : {}),
    });
    this.index = client.index<ChunkMetadata>({
      ...(options.index ? { name: options.index } : {}),
      ...(options.host ? { host: options.host } : {}),
      namespace: options.namespace,
    });
  }

  async upsert(records: VectorRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += UPSERT_BATCH) {
      const batch = records.slice(i, i + UPSERT_BATCH).map((r) => ({
        id: r.id,
        values: r.values,
        metadata: { ...r.metadata, text: r.metadata.text.slice(0, MAX_METADATA_TEXT) },
      }));
      await this.index.upsert({ records: batch });
    }
  }

  async delete(ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += DELETE_BATCH) {
      await this.index.deleteMany({ ids: ids.slice(i, i + DELETE_BATCH) });
    }
  }

  async query(values: number[], topK: number): Promise<VectorMatch[]> {
    const response = await this.index.query({ vector: values, topK, includeMetadata: false, includeValues: false });
    return response.matches.map((m) => ({ id: m.id, score: m.score ?? 0 }));
  }

  async flush(): Promise<void> {
    // Pinecone writes are durable when the request returns.
  }
}
