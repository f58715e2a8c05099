import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { PACKAGE_ROOT } from '../config/load.ts';
import { silentLogger } from '../util/log.ts';
import { Catalog } from './catalog.ts';
import type { ChunkOptions } from './chunker.ts';
import type { Embedder } from './embedder.ts';
import { ingest, type IngestProgress, type IngestSummary } from './ingest.ts';
import { LocalVectorStore } from './local.ts';
import { Retriever } from './retriever.ts';
import type { VectorStore } from './vector-store.ts';

type RagConfig = Pick<Config, 'rag' | 'llm' | 'dataDir'>;

export interface RagParts {
  catalog: Catalog;
  chunking: ChunkOptions;
  embedder?: Embedder;
  vectorStore?: VectorStore;
  /** Configuration problems that reduced retrieval to keyword search, for the user. */
  notices: string[];
}

export function catalogFile(config: Pick<Config, 'dataDir'>): string {
  return path.resolve(config.dataDir, 'rag', 'catalog.json');
}

/** The configured handbook folders, relative to the package (so any working directory works). */
export function handbookPaths(config: Pick<Config, 'rag'>): string[] {
  return config.rag.docs.map((p) => path.resolve(PACKAGE_ROOT, p));
}

/** Catalog, embedder and vector store as configured; embedding problems degrade to BM25 with a notice. */
export async function openRagParts(config: RagConfig, logger: Logger = silentLogger): Promise<RagParts> {
  const chunking = {
    chunkChars: config.rag.chunkChars,
    chunkOverlap: Math.min(config.rag.chunkOverlap, Math.floor(config.rag.chunkChars / 2)),
  };
  const notices: string[] = [];
  const catalog = await Catalog.open(catalogFile(config), chunking, (err) => {
    notices.push(err.message);
    logger.warn({ file: err.file }, err.message);
  });
  let embedder: Embedder | undefined;
  let vectorStore: VectorStore | undefined;
  try {
    // Provider SDKs load only when configured: a keyword-only index (the default) starts without them.
    if (config.rag.embeddings !== 'none') embedder = (await import('./embedders/index.ts')).createEmbedder(config);
    if (config.rag.vectors === 'pinecone') {
      if (!embedder)
        throw new Error(
          'ASKPANDA_VECTORS is pinecone but rag.embeddings is none: ' +
            'Pinecone stores vectors, so set ASKPANDA_RAG_EMBEDDINGS to openai, gemini, mistral or ollama.',
        );
      const p = config.rag.pinecone;
      const { PineconeVectorStore } = await import('./pinecone.ts');
      vectorStore = new PineconeVectorStore({
        apiKey: p.apiKey,
        index: p.index,
        host: p.host || undefined,
        namespace: p.namespace,
      });
    } else if (embedder) {
      const id = embedder.id;
      vectorStore = await LocalVectorStore.open(path.resolve(config.dataDir, 'rag', 'vectors.json'), id, (err) =>
        logger.warn({ file: err.file }, err.message),
      );
    }
  } catch (err) {
    embedder = undefined;
    vectorStore = undefined;
    const message = `${err instanceof Error ? err.message : String(err)} Answering from keyword search (BM25) only.`;
    notices.push(message);
    logger.warn(message);
  }
  return { catalog, chunking, embedder, vectorStore, notices };
}

export interface OpenDocsIndexOptions {
  logger?: Logger;
  onProgress?: (progress: IngestProgress) => void;
}

/**
 * The documents agent's index: the catalog from the data dir, brought up to date with the
 * handbook (a stat per file when nothing changed), and a BM25 index built in memory.
 */
export async function openDocsIndex(
  config: RagConfig,
  options: OpenDocsIndexOptions = {},
): Promise<{ retriever: Retriever; parts: RagParts; summary?: IngestSummary }> {
  const logger = options.logger ?? silentLogger;
  const parts = await openRagParts(config, logger);
  const base = {
    catalog: parts.catalog,
    chunking: parts.chunking,
    displayRoot: PACKAGE_ROOT,
    trustMtime: true,
    onProgress: options.onProgress,
  };
  let summary: IngestSummary | undefined;
  try {
    summary = await ingest(handbookPaths(config), {
      ...base,
      embedder: parts.embedder,
      vectorStore: parts.vectorStore,
    });
  } catch (err) {
    if (isWriteError(err)) {
      // A read-only or full data dir: answer from the index built in memory, say why it is not kept.
      const message =
        `Cannot save the docs index under ${path.dirname(parts.catalog.file)} ` +
        `(${(err as NodeJS.ErrnoException).code}); ` +
        `it is rebuilt on every start until ASKPANDA_DATA_DIR is writable.`;
      logger.warn(message);
      parts.notices.push(message);
      return {
        retriever: new Retriever(parts.catalog, { embedder: parts.embedder, vectorStore: parts.vectorStore, logger }),
        parts,
      };
    }
    if (!parts.embedder) throw err;
    logger.warn({ err: String(err) }, 'embedding the handbook failed; keyword search only until the next start');
    parts.notices.push('Embedding the handbook failed; answering from keyword search only.');
    parts.embedder = undefined;
    parts.vectorStore = undefined;
    summary = await ingest(handbookPaths(config), base);
  }
  if (summary.added + summary.updated + summary.removed > 0)
    logger.debug({ ...summary, skipped: summary.skipped.length }, 'handbook index updated');
  const retriever = new Retriever(parts.catalog, { embedder: parts.embedder, vectorStore: parts.vectorStore, logger });
  return { retriever, parts, summary };
}

function isWriteError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EACCES' || code === 'EROFS' || code === 'ENOSPC' || code === 'EPERM' || code === 'EDQUOT';
}

/**
 * The documents agent's index provider: opens the index on the first call, then reuses it while
 * the catalog file is unchanged; after an `askpanda ingest` (or another replica's write) the next
 * question reopens it, so a running server answers from new documents without a restart. One
 * open at a time; a failed open is retried by the next question.
 */
export function lazyDocsIndex(config: RagConfig, logger: Logger = silentLogger): () => Promise<Retriever> {
  let current: { retriever: Retriever; stamp: string } | undefined;
  let opening: Promise<Retriever> | undefined;
  const stampOf = async () => {
    const stat = await fs.stat(catalogFile(config)).catch(() => undefined);
    return stat ? `${stat.mtimeMs}:${stat.size}:${stat.ino}` : 'missing';
  };
  return async () => {
    if (opening) return opening;
    if (current && current.stamp === (await stampOf())) return current.retriever;
    opening = (async () => {
      const { retriever } = await openDocsIndex(config, { logger });
      current = { retriever, stamp: await stampOf() };
      return retriever;
    })().finally(() => {
      opening = undefined;
    });
    return opening;
  };
}
