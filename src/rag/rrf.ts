/**
 * Reciprocal-rank fusion: each ranking contributes 1 / (k + rank) per item. Scores of BM25 and of
 * cosine similarity are not comparable; ranks are. k = 60 is the constant of Cormack et al. (2009).
 */
export function reciprocalRankFusion(
  rankings: ReadonlyArray<readonly string[]>,
  k = 60,
): Array<{ id: string; score: number }> {
  const scores = new Map<string, number>();
  for (const ranking of rankings) {
    ranking.forEach((id, index) => scores.set(id, (scores.get(id) ?? 0) + 1 / (k + index + 1)));
  }
  return [...scores.entries()]
    .map(([id, score]) => ({ id, score }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
}
