import type { Logger } from 'pino';
import { Bm25Index } from './bm25.ts';
import type { Catalog } from './catalog.ts';
import type { Chunk } from './chunk.ts';
import type { Embedder } from './embedder.ts';
import { reciprocalRankFusion } from './rrf.ts';
import { acronymDefinitions } from './acronyms.ts';
import { planQuery, type QueryPlan } from './query.ts';
import { termSet, terms } from './terms.ts';
import type { VectorStore } from './vector-store.ts';

export interface Hit {
  chunk: Chunk;
  /** Fused (RRF) score in hybrid mode, BM25 score otherwise. */
  score: number;
  /** Share of the query's distinct terms found in the chunk's heading and text (0-1). */
  coverage: number;
  /** 1-based ranks in each ranking that found it. */
  ranks: { bm25?: number; vector?: number };
  vectorScore?: number;
}

export type RetrievalMode = 'bm25' | 'vector' | 'hybrid';

export interface RetrieverOptions {
  embedder?: Embedder;
  vectorStore?: VectorStore;
  logger?: Logger;
}

/** Candidates each ranking contributes before fusion. */
const FUSION_DEPTH = 30;

/**
 * BM25 over every catalog chunk, plus vector search when an embedder and store are configured,
 * fused by reciprocal rank. If the embedder fails at query time the answer still comes from BM25.
 */
export class Retriever {
  readonly bm25: Bm25Index;

  /** Acronym (as a term) → the chunks that define it, in catalog order. */
  private readonly acronyms = new Map<string, string[]>();

  constructor(
    readonly catalog: Catalog,
    private readonly options: RetrieverOptions = {},
  ) {
    this.bm25 = new Bm25Index(catalog.chunks.values());
    for (const chunk of catalog.chunks.values()) {
      for (const { short } of acronymDefinitions(`${chunk.section}\n${chunk.text}`)) {
        const term = terms(short)[0];
        if (!term) continue;
        const list = this.acronyms.get(term) ?? [];
        list.push(chunk.id);
        this.acronyms.set(term, list);
      }
    }
  }

  get mode(): RetrievalMode {
    return this.options.embedder && this.options.vectorStore ? 'hybrid' : 'bm25';
  }

  get size(): number {
    return this.catalog.chunks.size;
  }

  /** Documents (files and pages) the passages come from. */
  get documentCount(): number {
    return new Set([...this.catalog.chunks.values()].map((c) => c.source)).size;
  }

  /** The question as the keyword search reads it (filler dropped, synonyms added, acronym questions recognised). */
  plan(query: string): QueryPlan {
    return planQuery(query);
  }

  searchBm25(query: string, k: number): Hit[] {
    const plan = this.plan(query);
    const wanted = plan.groups.length;
    const matches = this.bm25.queryTerms(plan.terms, k);
    // "What does RSE stand for?": the passages that spell RSE out come first, best-scored first.
    const definers = plan.acronym ? this.acronyms.get(plan.acronym) : undefined;
    const ordered = definers
      ? [
          ...definers.map((id) => ({ id, score: Infinity, matchedTerms: wanted })),
          ...matches.filter((m) => !definers.includes(m.id)),
        ]
      : matches;
    const hits: Hit[] = [];
    for (const m of ordered.slice(0, k)) {
      const chunk = this.catalog.chunks.get(m.id);
      // The index knows how many query words each chunk holds: no need to re-read its text.
      if (chunk)
        hits.push({
          chunk,
          score: m.score,
          ranks: { bm25: hits.length + 1 },
          coverage: wanted ? m.matchedTerms / wanted : 0,
        });
    }
    return hits;
  }

  async searchVector(query: string, k: number, signal?: AbortSignal): Promise<Hit[]> {
    const { embedder, vectorStore } = this.options;
    if (!embedder || !vectorStore) return [];
    const [vector] = await embedder.embed([query], 'query', signal);
    if (!vector) return [];
    const matches = await vectorStore.query(vector, k, signal);
    return this.toHits(
      query,
      matches.map((m, i) => ({ id: m.id, score: m.score, ranks: { vector: i + 1 }, vectorScore: m.score })),
    );
  }

  async search(query: string, k: number, options: { mode?: RetrievalMode; signal?: AbortSignal } = {}): Promise<Hit[]> {
    const mode = options.mode ?? this.mode;
    if (mode === 'bm25' || !this.options.embedder) return this.searchBm25(query, k);
    let vectorHits: Hit[];
    try {
      vectorHits = await this.searchVector(query, mode === 'vector' ? k : FUSION_DEPTH, options.signal);
    } catch (err) {
      if (options.signal?.aborted) throw err;
      this.options.logger?.warn({ err: String(err) }, 'vector search failed; answering from keyword search');
      return this.searchBm25(query, k);
    }
    if (mode === 'vector') return vectorHits.slice(0, k);
    const keywordHits = this.searchBm25(query, FUSION_DEPTH);
    const byId = new Map<string, Hit>();
    for (const hit of [...keywordHits, ...vectorHits]) {
      const seen = byId.get(hit.chunk.id);
      byId.set(
        hit.chunk.id,
        seen
          ? { ...seen, ranks: { ...seen.ranks, ...hit.ranks }, vectorScore: hit.vectorScore ?? seen.vectorScore }
          : hit,
      );
    }
    const fused = reciprocalRankFusion([keywordHits.map((h) => h.chunk.id), vectorHits.map((h) => h.chunk.id)]);
    return fused.slice(0, k).map(({ id, score }) => ({ ...byId.get(id)!, score }));
  }

  private toHits(
    query: string,
    matches: Array<{ id: string; score: number; ranks: Hit['ranks']; vectorScore?: number }>,
  ): Hit[] {
    const wanted = this.plan(query);
    const hits: Hit[] = [];
    for (const match of matches) {
      const chunk = this.catalog.chunks.get(match.id);
      if (!chunk) continue; // a vector left in a shared store by another catalog
      hits.push({
        chunk,
        score: match.score,
        ranks: match.ranks,
        coverage: coverage(wanted, chunk),
        ...(match.vectorScore !== undefined ? { vectorScore: match.vectorScore } : {}),
      });
    }
    return hits;
  }
}

/** Share of the query's words (a synonym stands in for its word) found in the chunk. */
function coverage(plan: QueryPlan, chunk: Chunk): number {
  if (plan.groups.length === 0) return 0;
  const have = termSet(`${chunk.title} ${chunk.section} ${chunk.text}`);
  const found = new Set(plan.terms.filter((t) => have.has(t.term)).map((t) => t.group));
  return found.size / plan.groups.length;
}
