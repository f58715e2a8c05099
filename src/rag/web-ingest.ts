import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Catalog, FileEntry } from './catalog.ts';
import type { Chunk } from './chunk.ts';
import { chunkDocument, type ChunkOptions, type DocumentFormat } from './chunker.ts';
import type { Embedder } from './embedder.ts';
import { extractLinks } from './html.ts';
import { countChanges, IngestError, syncVectors, type IngestProgress, type IngestSummary } from './ingest.ts';
import { ALLOW_ALL, DISALLOW_ALL, parseRobots, type RobotsRules } from './robots.ts';
import type { VectorStore } from './vector-store.ts';
import { fetchPage, type FetchLimits } from './web-fetch.ts';

export interface CrawlLimits {
  /** Pages requested at most per run (every start URL's crawl shares the budget). */
  maxPages: number;
  /** Links followed from a start page: 0 = the start pages only. */
  depth: number;
  /** Pause between two requests to a site (robots.txt's Crawl-delay when it asks for more). */
  delayMs: number;
  timeoutMs: number;
  maxPageBytes: number;
  userAgent: string;
}

export interface WebIngestOptions extends CrawlLimits {
  catalog: Catalog;
  chunking: ChunkOptions;
  embedder?: Embedder;
  vectorStore?: VectorStore;
  onProgress?: (progress: IngestProgress) => void;
  signal?: AbortSignal;
}

export interface WebIngestSummary extends IngestSummary {
  /** Pages cut at the byte cap: their first maxPageBytes were indexed. */
  truncated: Array<{ url: string; bytes: number }>;
}

/** A site's Crawl-delay is honoured up to this; beyond it the site would take hours to index. */
const MAX_CRAWL_DELAY_MS = 60_000;
const ROBOTS_MAX_BYTES = 512 * 1024;
const MAX_REDIRECTS = 5;

/** The part of a site a crawl stays in: the start page's origin and folder. */
function scopeOf(start: URL): { origin: string; prefix: string } {
  return { origin: start.origin, prefix: start.pathname.slice(0, start.pathname.lastIndexOf('/') + 1) };
}

function inScope(url: URL, scope: { origin: string; prefix: string }): boolean {
  return url.origin === scope.origin && url.pathname.startsWith(scope.prefix);
}

function formatOf(contentType: string, url: string): DocumentFormat {
  if (/markdown/.test(contentType) || /\.(?:md|markdown)$/i.test(new URL(url).pathname)) return 'markdown';
  if (/text\/plain/.test(contentType)) return 'text';
  return 'html';
}

function titleFallback(url: URL): string {
  const last = url.pathname.split('/').filter(Boolean).pop();
  return last
    ? decodeURIComponent(last)
        .replace(/\.(?:html?|md)$/i, '')
        .replace(/[-_]+/g, ' ')
    : url.hostname;
}

/**
 * Indexes documentation sites: from each start URL, same-site links (same origin, under the start
 * page's folder) breadth-first up to `depth` links away, at most `maxPages` requests in all, one
 * request at a time with `delayMs` between them, robots.txt honoured. A re-run sends the stored
 * ETag/Last-Modified, so unchanged pages cost a 304 and no re-chunking; a page that now answers
 * 404 or 410 drops out of the index.
 */
export async function ingestUrls(starts: readonly string[], options: WebIngestOptions): Promise<WebIngestSummary> {
  const began = performance.now();
  const { catalog } = options;
  const summary: WebIngestSummary = {
    files: 0,
    chunks: 0,
    added: 0,
    updated: 0,
    removed: 0,
    unchangedFiles: 0,
    removedFiles: 0,
    skipped: [],
    embedded: 0,
    seconds: 0,
    truncated: [],
  };
  const robotsBySite = new Map<string, RobotsRules>();
  const lastRequestAt = new Map<string, number>();
  // lastRequestAt: when the last response from each site ended.
  const removedIds: string[] = [];
  let changed = false;
  let requests = 0;
  const fetchLimits: FetchLimits = {
    timeoutMs: options.timeoutMs,
    maxBytes: options.maxPageBytes,
    maxRedirects: MAX_REDIRECTS,
    userAgent: options.userAgent,
    signal: options.signal,
  };

  /** Waits out the pause since the last response from this site ended (a slow page does not shorten it). */
  const politely = async (origin: string, delayMs: number) => {
    const last = lastRequestAt.get(origin);
    if (last === undefined) return;
    const wait = last + delayMs - performance.now();
    if (wait > 0) await sleep(wait, undefined, { signal: options.signal });
  };
  const finished = (origin: string) => lastRequestAt.set(origin, performance.now());

  const robotsFor = async (origin: string): Promise<RobotsRules> => {
    const known = robotsBySite.get(origin);
    if (known) return known;
    await politely(origin, options.delayMs);
    const result = await fetchPage(
      `${origin}/robots.txt`,
      { ...fetchLimits, maxBytes: ROBOTS_MAX_BYTES },
      undefined,
      (u) => (u.origin === origin ? undefined : 'another site'),
    );
    finished(origin);
    let rules: RobotsRules;
    if (result.kind === 'page') rules = parseRobots(result.body, options.userAgent);
    // RFC 9309: robots.txt missing (4xx) means no rules; unreachable (5xx, network) means stay away.
    else if (result.kind === 'failed' && result.status !== undefined && result.status >= 400 && result.status < 500)
      rules = ALLOW_ALL;
    else {
      rules = DISALLOW_ALL;
      summary.skipped.push({
        file: `${origin}/robots.txt`,
        reason: `${result.kind === 'failed' ? result.reason : 'unusable'}; the site is not crawled until its robots.txt can be read`,
      });
    }
    robotsBySite.set(origin, rules);
    return rules;
  };

  for (const start of starts) {
    let startUrl: URL;
    try {
      startUrl = new URL(start);
    } catch {
      throw new IngestError(
        `${start} is not a URL. Give http:// or https:// addresses, e.g. https://panda-wms.readthedocs.io/en/latest/`,
      );
    }
    if (startUrl.protocol !== 'http:' && startUrl.protocol !== 'https:')
      throw new IngestError(`${start}: only http:// and https:// pages can be ingested.`);
    startUrl.hash = '';
    const scope = scopeOf(startUrl);
    const robots = await robotsFor(startUrl.origin);
    const delayMs = Math.max(options.delayMs, Math.min(MAX_CRAWL_DELAY_MS, (robots.crawlDelaySeconds ?? 0) * 1000));
    const check = (u: URL) =>
      !inScope(u, scope)
        ? `outside ${scope.origin}${scope.prefix}`
        : !robots.allows(`${u.pathname}${u.search}`)
          ? 'disallowed by robots.txt'
          : undefined;
    const queue: Array<{ url: string; depth: number }> = [{ url: startUrl.href, depth: 0 }];
    const seen = new Set<string>();

    while (queue.length > 0 && requests < options.maxPages) {
      options.signal?.throwIfAborted();
      const { url, depth } = queue.shift()!;
      if (seen.has(url)) continue;
      seen.add(url);
      const refused = check(new URL(url));
      if (refused) {
        summary.skipped.push({ file: url, reason: refused });
        continue;
      }
      options.onProgress?.({ phase: 'pages', done: requests, total: options.maxPages, current: url });
      await politely(startUrl.origin, delayMs);
      requests++;
      // An entry invalidated by other chunk settings has no validators: fetch it whole.
      const validatorsFor = (u: string) => {
        const entry = catalog.files.get(u);
        return entry?.hash ? { etag: entry.etag, lastModified: entry.lastModified } : {};
      };
      const result = await fetchPage(url, fetchLimits, validatorsFor, check).finally(() => finished(startUrl.origin));
      // Pages are kept under the URL that answered (after redirects), so a re-run finds their validators.
      const key = result.url;
      seen.add(key);
      const previous = catalog.files.get(key);
      let links: string[] = [];
      if (result.kind === 'failed') {
        summary.skipped.push({ file: url, reason: result.reason });
        if (result.gone && previous) {
          dropPage(key, previous);
          summary.removed += previous.chunkIds.length;
          summary.removedFiles++;
        }
        finished(startUrl.origin);
        continue;
      }
      summary.files++;
      if (result.kind === 'not-modified' && previous) {
        summary.unchangedFiles++;
        summary.chunks += previous.chunkIds.length;
        links = previous.links ?? [];
      } else if (result.kind === 'page') {
        const format = formatOf(result.contentType, result.url);
        links = extractLinks(result.body, result.url, format).filter((l) => inScope(new URL(l), scope));
        if (result.truncated) summary.truncated.push({ url: key, bytes: result.bytes });
        const hash = createHash('sha256').update(result.body).digest('hex');
        const validators = {
          ...(result.etag ? { etag: result.etag } : {}),
          ...(result.lastModified ? { lastModified: result.lastModified } : {}),
        };
        if (previous && previous.hash === hash) {
          summary.unchangedFiles++;
          summary.chunks += previous.chunkIds.length;
          catalog.files.set(key, { ...previous, ...validators, links });
          changed = true;
        } else {
          const chunks = chunkDocument(
            { source: key, format, text: result.body, fallbackTitle: titleFallback(new URL(result.url)) },
            options.chunking,
          ).map((c): Chunk => ({ ...c, url: result.url }));
          const before = new Set(previous?.chunkIds ?? []);
          const after = new Set(chunks.map((c) => c.id));
          const added = chunks.filter((c) => !before.has(c.id));
          const removed = [...before].filter((id) => !after.has(id));
          countChanges(
            summary,
            added,
            removed.map((id) => catalog.chunks.get(id)).filter((c): c is Chunk => c !== undefined),
          );
          for (const id of removed) {
            catalog.chunks.delete(id);
            catalog.vectorIds.delete(id);
            removedIds.push(id);
          }
          for (const chunk of added) catalog.chunks.set(chunk.id, chunk);
          catalog.files.set(key, {
            hash,
            size: result.bytes,
            mtimeMs: 0,
            source: key,
            chunkIds: chunks.map((c) => c.id),
            ...validators,
            links,
          });
          summary.chunks += chunks.length;
          changed = true;
        }
      }
      if (depth < options.depth)
        for (const link of links) if (!seen.has(link)) queue.push({ url: link, depth: depth + 1 });
      // The pause runs from when this page is done (chunked too): a big page does not shorten it.
      finished(startUrl.origin);
    }
    if (requests >= options.maxPages && queue.some((q) => !seen.has(q.url))) {
      summary.skipped.push({
        file: startUrl.href,
        reason:
          `stopped at --max-pages ${options.maxPages}; ` +
          `${new Set(queue.filter((q) => !seen.has(q.url)).map((q) => q.url)).size} more linked pages not ` +
          `fetched`,
      });
    }
  }
  options.onProgress?.({ phase: 'pages', done: requests, total: requests });

  function dropPage(url: string, entry: FileEntry): void {
    for (const id of entry.chunkIds) {
      catalog.chunks.delete(id);
      catalog.vectorIds.delete(id);
      removedIds.push(id);
    }
    catalog.files.delete(url);
    changed = true;
  }

  if (options.embedder && options.vectorStore) changed = (await syncVectors(options, removedIds, summary)) || changed;
  if (changed) {
    catalog.chunking = options.chunking;
    await catalog.save();
  }
  summary.seconds = (performance.now() - began) / 1000;
  return summary;
}

export function isUrl(arg: string): boolean {
  return /^https?:\/\//i.test(arg);
}
