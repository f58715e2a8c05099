import type { Chunk } from './chunk.ts';
import type { QueryTerm } from './query.ts';
import { terms } from './terms.ts';

export interface Bm25Match {
  id: string;
  score: number;
  /** Distinct query words (synonyms count for their word) found in the chunk. */
  matchedTerms: number;
}

/** Section, title, text. Headings weigh double: a question naming a glossary term should find that entry first. Titles barely count: a file name says little about one passage. */
const FIELDS = ['section', 'title', 'text'] as const;
const FIELD_WEIGHTS = [2, 0.1, 1] as const;
/** BM25+ parameters (Lv & Zhai 2011): the lower bound `D` keeps long passages from scoring near zero. */
const K1 = 1.2;
const B = 0.7;
const D = 0.5;

interface Posting {
  docs: number[];
  /** Term frequency per field, parallel to `docs`. */
  tfs: [number[], number[], number[]];
}

interface Impacts {
  docs: Int32Array;
  scores: Float32Array;
}

/**
 * Keyword ranking, the offline default: BM25+ per field (heading, title, text) summed with field
 * weights, times the number of distinct query terms matched (the scoring MiniSearch uses, which this
 * replaces for speed). Scores per (term, chunk) are precomputed after each change,
 * so a query only adds up the posting lists of its few terms into one array: well under a
 * millisecond on 20k chunks, where a general-purpose search library spends tens of milliseconds
 * sorting every document that shares one common word with the question.
 */
export class Bm25Index {
  private readonly ids: string[] = [];
  private readonly rowOf = new Map<string, number>();
  private readonly lengths: [number[], number[], number[]] = [[], [], []];
  private readonly alive: boolean[] = [];
  private readonly postings = new Map<string, Posting>();
  private impacts: Map<string, Impacts> | undefined;
  private live = 0;
  private scratch = new Float32Array(0);
  private matched = new Uint8Array(0);
  private lastGroup = new Int32Array(0);
  private touched = new Int32Array(0);

  constructor(chunks: Iterable<Chunk> = []) {
    for (const chunk of chunks) this.add(chunk);
  }

  get size(): number {
    return this.live;
  }

  add(chunk: Chunk): void {
    if (this.rowOf.has(chunk.id)) this.remove(chunk.id);
    const row = this.ids.length;
    this.ids.push(chunk.id);
    this.rowOf.set(chunk.id, row);
    this.alive.push(true);
    this.live++;
    const counts = new Map<string, [number, number, number]>();
    FIELDS.forEach((field, f) => {
      const words = terms(chunk[field]);
      // Length in distinct terms: a listing that repeats one word is not a long passage.
      this.lengths[f as 0 | 1 | 2].push(new Set(words).size);
      for (const term of words) {
        const tf = counts.get(term) ?? [0, 0, 0];
        tf[f]! += 1;
        counts.set(term, tf);
      }
    });
    for (const [term, tf] of counts) {
      let posting = this.postings.get(term);
      if (!posting) this.postings.set(term, (posting = { docs: [], tfs: [[], [], []] }));
      posting.docs.push(row);
      for (let f = 0; f < 3; f++) posting.tfs[f as 0 | 1 | 2].push(tf[f]!);
    }
    this.impacts = undefined;
  }

  /** Removed rows stay as tombstones until the next rebuild; they never match. */
  remove(id: string): void {
    const row = this.rowOf.get(id);
    if (row === undefined) return;
    this.rowOf.delete(id);
    this.alive[row] = false;
    this.live--;
    this.impacts = undefined;
  }

  /** Every distinct term of the text, weight 1: the plain keyword query. */
  query(text: string, limit: number): Bm25Match[] {
    return this.queryTerms(
      [...new Set(terms(text))].map((term, group) => ({ term, weight: 1, group })),
      limit,
    );
  }

  /**
   * Weighted terms (a query plan): each term's impact is scaled by its weight, and a chunk's
   * coordination counts the distinct groups it matches, so a synonym never counts twice.
   */
  queryTerms(wanted: readonly QueryTerm[], limit: number): Bm25Match[] {
    if (wanted.length === 0 || limit <= 0) return [];
    const impacts = this.computeImpacts();
    if (this.scratch.length < this.ids.length) {
      this.scratch = new Float32Array(this.ids.length);
      this.matched = new Uint8Array(this.ids.length);
      this.lastGroup = new Int32Array(this.ids.length);
      this.touched = new Int32Array(this.ids.length);
    }
    // Preallocated buffers: a query allocates almost nothing, so garbage collection stays off the p99.
    const scores = this.scratch;
    const matched = this.matched;
    const lastGroup = this.lastGroup;
    const touched = this.touched;
    let count = 0;
    for (const { term, weight, group } of wanted) {
      const list = impacts.get(term);
      if (!list) continue;
      const { docs, scores: add } = list;
      const mark = group + 1;
      for (let i = 0; i < docs.length; i++) {
        const row = docs[i]!;
        if (lastGroup[row] === 0) touched[count++] = row;
        scores[row]! += weight * add[i]!;
        if (lastGroup[row] !== mark) {
          lastGroup[row] = mark;
          matched[row]!++;
        }
      }
    }

    // Top `limit` by score times matched terms (coordination: more of the question's words rank
    // higher); ties keep index order, so results are deterministic.
    const best: number[] = [];
    const bestScores: number[] = [];
    for (let t = 0; t < count; t++) {
      const row = touched[t]!;
      const score = scores[row]! * matched[row]!;
      if (best.length === limit && score <= bestScores[limit - 1]!) continue;
      let at = best.length;
      while (at > 0 && (bestScores[at - 1]! < score || (bestScores[at - 1]! === score && best[at - 1]! > row))) at--;
      best.splice(at, 0, row);
      bestScores.splice(at, 0, score);
      if (best.length > limit) {
        best.pop();
        bestScores.pop();
      }
    }
    const out = best.map((row, i) => ({ id: this.ids[row]!, score: bestScores[i]!, matchedTerms: matched[row]! }));
    for (let t = 0; t < count; t++) {
      scores[touched[t]!] = 0;
      matched[touched[t]!] = 0;
      lastGroup[touched[t]!] = 0;
    }
    return out;
  }

  /** BM25+ weight of every (term, live chunk) pair, recomputed after adds and removes. */
  private computeImpacts(): Map<string, Impacts> {
    if (this.impacts) return this.impacts;
    const n = this.live;
    const averages = this.lengths.map((lengths) => {
      let total = 0;
      for (let row = 0; row < lengths.length; row++) if (this.alive[row]) total += lengths[row]!;
      return n ? total / n || 1 : 1;
    });
    const impacts = new Map<string, Impacts>();
    for (const [term, posting] of this.postings) {
      const live: number[] = [];
      const df = [0, 0, 0];
      posting.docs.forEach((row, i) => {
        if (!this.alive[row]) return;
        live.push(i);
        for (let f = 0; f < 3; f++) if (posting.tfs[f as 0 | 1 | 2][i]! > 0) df[f]!++;
      });
      if (live.length === 0) continue;
      const idf = df.map((d) => Math.log(1 + (n - d + 0.5) / (d + 0.5)));
      const docs = new Int32Array(live.length);
      const scores = new Float32Array(live.length);
      live.forEach((i, j) => {
        const row = posting.docs[i]!;
        let score = 0;
        for (let f = 0; f < 3; f++) {
          const tf = posting.tfs[f as 0 | 1 | 2][i]!;
          if (tf === 0) continue;
          const norm = 1 - B + (B * this.lengths[f as 0 | 1 | 2][row]!) / averages[f]!;
          score += FIELD_WEIGHTS[f as 0 | 1 | 2] * idf[f]! * (D + (tf * (K1 + 1)) / (tf + K1 * norm));
        }
        docs[j] = row;
        scores[j] = score;
      });
      impacts.set(term, { docs, scores });
    }
    this.impacts = impacts;
    return impacts;
  }
}
