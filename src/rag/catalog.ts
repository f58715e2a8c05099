import { z } from 'zod';
import type { Chunk } from './chunk.ts';
import { CHUNKER_VERSION, type ChunkOptions } from './chunker.ts';
import { readJsonIndex, writeFileAtomic, type CorruptIndexError } from './atomic-file.ts';

const ChunkSchema = z.object({
  id: z.string(),
  source: z.string(),
  title: z.string(),
  section: z.string(),
  text: z.string(),
  url: z.string().optional(),
});

const FileEntrySchema = z.object({
  hash: z.string(),
  size: z.number(),
  mtimeMs: z.number(),
  source: z.string(),
  chunkIds: z.array(z.string()),
  /** Web pages: the validators for a conditional re-fetch, and the same-site links found on the page. */
  etag: z.string().optional(),
  lastModified: z.string().optional(),
  links: z.array(z.string()).optional(),
});
export type FileEntry = z.infer<typeof FileEntrySchema>;

const CatalogFileSchema = z.object({
  format: z.literal('askpanda-docs-catalog'),
  version: z.literal(1),
  chunking: z.object({ chunkChars: z.number(), chunkOverlap: z.number() }),
  /** The chunker's version: passages made by another version are remade on the next ingest. */
  chunker: z.number().optional(),
  files: z.record(z.string(), FileEntrySchema),
  chunks: z.array(ChunkSchema),
  /** Which embedder's vectors the vector store holds, and for which chunks. */
  vectors: z.object({ embedder: z.string(), ids: z.array(z.string()) }).optional(),
});

/**
 * What has been ingested: per file its content hash and chunk ids, and every chunk's text (BM25
 * and citations need it whichever vector store holds the vectors). One durable local file.
 */
export class Catalog {
  readonly files = new Map<string, FileEntry>();
  readonly chunks = new Map<string, Chunk>();
  vectorEmbedder: string | undefined;
  readonly vectorIds = new Set<string>();

  constructor(
    readonly file: string,
    public chunking: ChunkOptions,
  ) {}

  /** Loads the catalog; a missing file is an empty catalog, a damaged one is set aside and reported. */
  static async open(
    file: string,
    chunking: ChunkOptions,
    onDamaged?: (err: CorruptIndexError) => void,
  ): Promise<Catalog> {
    const catalog = new Catalog(file, chunking);
    const data = await readJsonIndex(file, CatalogFileSchema, onDamaged);
    if (!data) return catalog;
    const sameChunking =
      data.chunking.chunkChars === chunking.chunkChars &&
      data.chunking.chunkOverlap === chunking.chunkOverlap &&
      (data.chunker ?? 1) === CHUNKER_VERSION;
    for (const chunk of data.chunks) catalog.chunks.set(chunk.id, chunk);
    for (const [name, entry] of Object.entries(data.files)) {
      // Other chunk settings or chunker: every file counts as changed, so the next ingest re-chunks it
      // (and a web page is fetched again without validators).
      catalog.files.set(
        name,
        sameChunking ? entry : { ...entry, hash: '', mtimeMs: -1, etag: undefined, lastModified: undefined },
      );
    }
    if (data.vectors) {
      catalog.vectorEmbedder = data.vectors.embedder;
      for (const id of data.vectors.ids) if (catalog.chunks.has(id)) catalog.vectorIds.add(id);
    }
    return catalog;
  }

  async save(): Promise<void> {
    const data: z.infer<typeof CatalogFileSchema> = {
      format: 'askpanda-docs-catalog',
      version: 1,
      chunking: this.chunking,
      chunker: CHUNKER_VERSION,
      files: Object.fromEntries(this.files),
      chunks: [...this.chunks.values()],
      ...(this.vectorEmbedder ? { vectors: { embedder: this.vectorEmbedder, ids: [...this.vectorIds] } } : {}),
    };
    await writeFileAtomic(this.file, JSON.stringify(data));
  }
}
