import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Chunk } from './chunk.ts';
import { chunkDocument, type ChunkOptions, type DocumentFormat } from './chunker.ts';
import type { Catalog } from './catalog.ts';
import { embedAll, type Embedder } from './embedder.ts';
import type { VectorStore } from './vector-store.ts';

const FORMATS: Record<string, DocumentFormat> = {
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.txt': 'text',
  '.text': 'text',
  '.html': 'html',
  '.htm': 'html',
};
/** A bigger "document" is almost certainly not documentation (a log, a dump): refused with a note. */
const MAX_FILE_BYTES = 20 * 1024 * 1024;

export interface IngestProgress {
  phase: 'files' | 'pages' | 'embeddings';
  done: number;
  total: number;
  current?: string;
}

export interface IngestOptions {
  catalog: Catalog;
  chunking: ChunkOptions;
  /** Shown paths are relative to this folder (the package root). */
  displayRoot: string;
  embedder?: Embedder;
  vectorStore?: VectorStore;
  /** Skip reading files whose size and mtime match the catalog (start-up check); ingest hashes every file. */
  trustMtime?: boolean;
  onProgress?: (progress: IngestProgress) => void;
  signal?: AbortSignal;
}

export interface IngestSummary {
  files: number;
  /** Chunks of the ingested files after this run. */
  chunks: number;
  added: number;
  updated: number;
  removed: number;
  unchangedFiles: number;
  removedFiles: number;
  skipped: Array<{ file: string; reason: string }>;
  embedded: number;
  seconds: number;
}

export class IngestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IngestError';
  }
}

/** Every Markdown, text and HTML file under the given paths (hidden folders and node_modules skipped). */
export async function findDocuments(paths: readonly string[]): Promise<{ files: string[]; roots: string[] }> {
  const files = new Set<string>();
  const roots: string[] = [];
  for (const given of paths) {
    const absolute = path.resolve(given);
    const stat = await fs.stat(absolute).catch(() => undefined);
    if (!stat)
      throw new IngestError(`${given} does not exist. Give Markdown, text or HTML files or folders holding them.`);
    roots.push(absolute);
    if (stat.isFile()) {
      if (!FORMATS[path.extname(absolute).toLowerCase()])
        throw new IngestError(`${given} is not a Markdown (.md), text (.txt) or HTML (.html) file.`);
      files.add(absolute);
    } else if (stat.isDirectory()) {
      for (const file of await walk(absolute)) files.add(file);
    }
  }
  return { files: [...files].sort(), roots };
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await fs.readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else if (entry.isFile() && FORMATS[path.extname(entry.name).toLowerCase()]) out.push(full);
  }
  return out;
}

function isUnder(file: string, root: string): boolean {
  return file === root || file.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

function fallbackTitle(file: string): string {
  // The shared reference copies carry an "askpanda-resources-" prefix that says nothing to a reader.
  const base = path
    .basename(file, path.extname(file))
    .replace(/^askpanda[-_](?:resources[-_])?/i, '')
    .replace(/[-_]+/g, ' ')
    .trim();
  return base.charAt(0).toUpperCase() + base.slice(1);
}

/**
 * Brings the catalog (and the vector store) in line with the given paths: new and changed files
 * are chunked, chunks whose content hash is unchanged keep their id and vector, chunks and files
 * that disappeared are removed. Saves only when something changed.
 */
export async function ingest(paths: readonly string[], options: IngestOptions): Promise<IngestSummary> {
  const started = performance.now();
  const { catalog } = options;
  const { files, roots } = await findDocuments(paths);
  const summary: IngestSummary = {
    files: files.length,
    chunks: 0,
    added: 0,
    updated: 0,
    removed: 0,
    unchangedFiles: 0,
    removedFiles: 0,
    skipped: [],
    embedded: 0,
    seconds: 0,
  };
  const addedIds: string[] = [];
  const removedIds: string[] = [];
  let changed = false;

  for (const [index, file] of files.entries()) {
    options.signal?.throwIfAborted();
    options.onProgress?.({
      phase: 'files',
      done: index,
      total: files.length,
      current: path.relative(options.displayRoot, file),
    });
    const stat = await fs.stat(file);
    const previous = catalog.files.get(file);
    if (stat.size > MAX_FILE_BYTES) {
      summary.skipped.push({ file, reason: `larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB` });
      continue;
    }
    if (options.trustMtime && previous && previous.size === stat.size && previous.mtimeMs === stat.mtimeMs) {
      summary.unchangedFiles++;
      summary.chunks += previous.chunkIds.length;
      continue;
    }
    const content = await fs.readFile(file);
    const hash = createHash('sha256').update(content).digest('hex');
    if (previous && previous.hash === hash) {
      summary.unchangedFiles++;
      summary.chunks += previous.chunkIds.length;
      if (previous.mtimeMs !== stat.mtimeMs) {
        catalog.files.set(file, { ...previous, mtimeMs: stat.mtimeMs, size: stat.size });
        changed = true;
      }
      continue;
    }
    const text = new TextDecoder('utf-8', { fatal: false }).decode(content);
    const source = path.relative(options.displayRoot, file).split(path.sep).join('/');
    const chunks = chunkDocument(
      { source, format: FORMATS[path.extname(file).toLowerCase()]!, text, fallbackTitle: fallbackTitle(file) },
      options.chunking,
    );
    const before = new Set(previous?.chunkIds ?? []);
    const after = new Set(chunks.map((c) => c.id));
    const fileAdded = chunks.filter((c) => !before.has(c.id));
    const fileRemoved = [...before].filter((id) => !after.has(id));
    countChanges(
      summary,
      fileAdded,
      fileRemoved.map((id) => catalog.chunks.get(id)).filter((c): c is Chunk => c !== undefined),
    );
    for (const id of fileRemoved) {
      catalog.chunks.delete(id);
      catalog.vectorIds.delete(id);
      removedIds.push(id);
    }
    for (const chunk of fileAdded) {
      catalog.chunks.set(chunk.id, chunk);
      addedIds.push(chunk.id);
    }
    catalog.files.set(file, {
      hash,
      size: stat.size,
      mtimeMs: stat.mtimeMs,
      source,
      chunkIds: chunks.map((c) => c.id),
    });
    summary.chunks += chunks.length;
    changed = true;
  }
  options.onProgress?.({ phase: 'files', done: files.length, total: files.length });

  const found = new Set(files);
  for (const [file, entry] of catalog.files) {
    if (found.has(file) || !roots.some((root) => isUnder(file, root))) continue;
    for (const id of entry.chunkIds) {
      catalog.chunks.delete(id);
      catalog.vectorIds.delete(id);
      removedIds.push(id);
    }
    summary.removed += entry.chunkIds.length;
    summary.removedFiles++;
    catalog.files.delete(file);
    changed = true;
  }

  if (options.embedder && options.vectorStore) {
    changed = (await syncVectors(options, removedIds, summary)) || changed;
  }
  if (changed) {
    catalog.chunking = options.chunking;
    await catalog.save();
  }
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}

/**
 * An edited passage is a removed chunk plus an added one (ids are content hashes); when both sit
 * in the same section of the same file they are reported as one update.
 */
export function countChanges(summary: IngestSummary, added: Chunk[], removed: Chunk[]): void {
  const removedBySection = new Map<string, number>();
  for (const chunk of removed) removedBySection.set(chunk.section, (removedBySection.get(chunk.section) ?? 0) + 1);
  let updated = 0;
  for (const chunk of added) {
    const left = removedBySection.get(chunk.section) ?? 0;
    if (left > 0) {
      removedBySection.set(chunk.section, left - 1);
      updated++;
    }
  }
  summary.updated += updated;
  summary.added += added.length - updated;
  summary.removed += removed.length - updated;
}

/** Embeds every catalog chunk the store lacks a vector for (all of them after a model change). */
export async function syncVectors(
  options: Pick<IngestOptions, 'catalog' | 'embedder' | 'vectorStore' | 'signal' | 'onProgress'>,
  removedIds: string[],
  summary: IngestSummary,
): Promise<boolean> {
  const { catalog, embedder, vectorStore } = options as Required<Pick<IngestOptions, 'embedder' | 'vectorStore'>> &
    Pick<IngestOptions, 'catalog' | 'signal' | 'onProgress'>;
  let changed = false;
  if (catalog.vectorEmbedder !== embedder.id) {
    catalog.vectorEmbedder = embedder.id;
    catalog.vectorIds.clear();
    changed = true;
  }
  if (removedIds.length) await vectorStore.delete(removedIds);
  const missing = [...catalog.chunks.values()].filter((c) => !catalog.vectorIds.has(c.id));
  if (missing.length) {
    const vectors = await embedAll(embedder, missing.map(embeddingText), {
      signal: options.signal,
      onBatch: (done, total) => options.onProgress?.({ phase: 'embeddings', done, total }),
    });
    for (let i = 0; i < missing.length; i += 100) {
      const batch = missing.slice(i, i + 100);
      await vectorStore.upsert(
        batch.map((chunk, j) => ({
          id: chunk.id,
          values: vectors[i + j]!,
          metadata: { source: chunk.source, title: chunk.title, section: chunk.section, text: chunk.text },
        })),
      );
    }
    for (const chunk of missing) catalog.vectorIds.add(chunk.id);
    summary.embedded = missing.length;
    changed = true;
  }
  await vectorStore.flush();
  return changed;
}

/** What is embedded for a chunk: its heading path gives short passages their topic. */
export function embeddingText(chunk: Pick<Chunk, 'title' | 'section' | 'text'>): string {
  return `${chunk.title}${chunk.section ? ` › ${chunk.section}` : ''}\n${chunk.text}`;
}
