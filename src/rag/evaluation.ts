import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Chunk } from './chunk.ts';
import type { Hit, RetrievalMode, Retriever } from './retriever.ts';

export const EvalSetSchema = z.object({
  questions: z
    .array(
      z.object({
        question: z.string().min(1),
        /** `tune`: may be looked at while tuning; `heldout`: only reported. Fixed when the set was written. */
        split: z.enum(['tune', 'heldout']).optional(),
        source: z.string().min(1),
        expect: z.string().min(3),
        /** Other passages that answer the question just as well (the handbook restates the references). */
        also: z.array(z.object({ source: z.string().min(1), expect: z.string().min(3) })).optional(),
      }),
    )
    .min(1),
});
export type EvalQuestion = z.infer<typeof EvalSetSchema>['questions'][number];

export function loadEvalSet(file: string): EvalQuestion[] {
  return EvalSetSchema.parse(JSON.parse(readFileSync(file, 'utf8'))).questions;
}

/** The questions of one half of a split set. */
export function splitOf(questions: EvalQuestion[], split: 'tune' | 'heldout'): EvalQuestion[] {
  return questions.filter((q) => q.split === split);
}

const squash = (s: string) => s.toLowerCase().replace(/\s+/g, ' ').trim();

/** A chunk answers a question when it comes from the named file and holds the expected phrase. */
export function isRelevant(chunk: Chunk, q: EvalQuestion): boolean {
  return [q, ...(q.also ?? [])].some((answer) => {
    const fromFile = chunk.source === answer.source || chunk.source.endsWith(`/${answer.source}`);
    return fromFile && squash(`${chunk.section}\n${chunk.text}`).includes(squash(answer.expect));
  });
}

export interface EvalResult {
  mode: RetrievalMode;
  questions: number;
  /** Share of questions with a relevant chunk in the top k. */
  recallAtK: number;
  /** Mean reciprocal rank of the first relevant chunk (0 when none in the top `depth`). */
  mrr: number;
  k: number;
  misses: Array<{ question: string; firstRelevantRank?: number; top: string[] }>;
}

/** The questions whose answering passage is in the index at all (the eval can run on a partial corpus). */
export function answerable(questions: EvalQuestion[], chunks: Iterable<Chunk>): EvalQuestion[] {
  const all = [...chunks];
  return questions.filter((q) => all.some((c) => isRelevant(c, q)));
}

export async function evaluate(
  retriever: Retriever,
  questions: EvalQuestion[],
  mode: RetrievalMode,
  k = 5,
  depth = 20,
): Promise<EvalResult> {
  let found = 0;
  let reciprocal = 0;
  const misses: EvalResult['misses'] = [];
  for (const q of questions) {
    const hits: Hit[] = await retriever.search(q.question, depth, { mode });
    const rank = hits.findIndex((h) => isRelevant(h.chunk, q)) + 1;
    if (rank > 0) reciprocal += 1 / rank;
    if (rank > 0 && rank <= k) found++;
    else
      misses.push({
        question: q.question,
        ...(rank > 0 ? { firstRelevantRank: rank } : {}),
        top: hits.slice(0, 3).map((h) => `${h.chunk.source} › ${h.chunk.section}`),
      });
  }
  return {
    mode,
    questions: questions.length,
    recallAtK: found / questions.length,
    mrr: reciprocal / questions.length,
    k,
    misses,
  };
}
