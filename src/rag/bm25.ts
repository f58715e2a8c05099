import MiniSearch from 'minisearch';
import type { Chunk } from './chunk.ts';
import { termOf } from './terms.ts';

export interface Bm25Match {
  id: string;
  score: number;
  /** Distinct query terms found in the chunk. */
  matchedTerms: number;
}

const WORDS = /[\p{L}\p{N}]+/gu;

/**
 * Keyword ranking (MiniSearch's BM25+), the offline default. Headings weigh double: a question
 * that names a glossary term should find that entry before passages that merely mention it.
 * No fuzzy or prefix matching: both cost milliseconds on 20k chunks and add noise.
 */
export class Bm25Index {
  private readonly search: MiniSearch<Chunk>;

  constructor(chunks: Iterable<Chunk>) {
    this.search = new MiniSearch<Chunk>({
      fields: ['section', 'title', 'text'],
      storeFields: [],
      tokenize: (text) => text.match(WORDS) ?? [],
      processTerm: termOf,
      searchOptions: { boost: { section: 2, title: 0.5 }, combineWith: 'OR' },
    });
    this.search.addAll([...chunks]);
  }

  get size(): number {
    return this.search.documentCount;
  }

  add(chunk: Chunk): void {
    this.search.add(chunk);
  }

  remove(id: string): void {
    if (this.search.has(id)) this.search.discard(id);
  }

  query(text: string, limit: number): Bm25Match[] {
    const results = this.search.search(text);
    return results.slice(0, limit).map((r) => ({ id: String(r.id), score: r.score, matchedTerms: r.queryTerms.length }));
  }
}
