/**
 * `npm run bench -- retrieval`: the documentation retrieval figures, each beside its goal, MET or MISSED.
 *
 * 1. Ingest time of the ../shared/reference text files into a fresh index (median of 5).
 * 2. The evaluation set (test/rag/eval/questions.json: questions written by reading the handbook and
 *    the reference texts, split once, before any tuning, into a tuning half and a held-out half).
 *    Recall@5 and MRR on the held-out half for BM25, vectors and hybrid (RRF); the tuning half and
 *    the older development set (test/rag/eval/retrieval-eval.json, written together with the first
 *    retriever) are printed for reference only, and only their misses are listed. The vectors come
 *    from a loopback OpenAI-compatible server through the OpenAI SDK; its embedding is a lexical
 *    hashing one (words and character trigrams), so those rows measure the plumbing and the fusion,
 *    not a semantic model.
 * 3. Query latency over an index of >= 20,000 chunks: the real chunks plus distractor chunks built
 *    of 150 words drawn at random from the corpus; p50/p99 of BM25 search, and of hybrid search with the
 *    local vector store (query embedding in-process), over 2,000 queries. Held-out recall@5 is measured
 *    again on the big index to show the distractors (random words of the corpus) do not push the answers out.
 * 4. The offline documents path on the held-out questions: which agent the router picks, and how many
 *    the documents agent answers with passages rather than declining.
 * 5. Cold start of a documentation answer: loading the saved catalog and building BM25 (median of 5).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Catalog } from '../src/rag/catalog.ts';
import type { Chunk } from '../src/rag/chunk.ts';
import type { Embedder } from '../src/rag/embedder.ts';
import { OpenAiEmbedder } from '../src/rag/embedders/openai.ts';
import { DocumentsAgent } from '../src/agents/documents.ts';
import { selectFast } from '../src/agents/selection.ts';
import { OfflineModel } from '../src/llm/offline.ts';
import { evaluate, loadEvalSet, splitOf, type EvalResult } from '../src/rag/evaluation.ts';
import { ingest } from '../src/rag/ingest.ts';
import { LocalVectorStore } from '../src/rag/local.ts';
import { Retriever } from '../src/rag/retriever.ts';
import { hashingEmbedding, startFakeEmbeddings } from '../test/fakes/embeddings.ts';
import { REFERENCE_HINT, referenceDir } from '../test/support/reference-dir.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const found = referenceDir();
const handbook = path.join(root, 'config/bot-handbook');
const chunking = { chunkChars: 1200, chunkOverlap: 150 };
/** The issue's goals: held-out recall@5 (BM25 alone), recall@5 with 20k chunks, p99 at 20k, ingest time. */
const GOALS = { heldOutRecall: 0.95, bigRecall: 0.9, p99Ms: 5, ingestSeconds: 10 };

if (!found) {
  console.log(`retrieval bench: the shared reference texts were not found (${REFERENCE_HINT}). Skipped.`);
  process.exit(0);
}
const reference = found;

const work = mkdtempSync(path.join(tmpdir(), 'askpanda-bench-rag-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
const row = (label: string, value: string, goal = '') =>
  console.log(`${label.padEnd(50)} ${value.padStart(12)}${goal ? `   ${goal}` : ''}`);
/** A figure against its goal: "goal >= 0.95 → MET". */
const verdict = (ok: boolean, goal: string) => `goal ${goal} → ${ok ? 'MET' : 'MISSED'}`;

try {
  // 1. Ingest time of the reference texts.
  const ingestRuns: number[] = [];
  let ingestSummary;
  for (let run = 0; run < 5; run++) {
    const catalog = new Catalog(path.join(work, `ingest-${run}`, 'catalog.json'), chunking);
    const started = performance.now();
    ingestSummary = await ingest([reference], { catalog, chunking, displayRoot: root });
    ingestRuns.push((performance.now() - started) / 1000);
  }
  console.log(`reference texts: ${ingestSummary!.files} files, ${ingestSummary!.chunks} chunks`);
  row(
    'ingest ../shared/reference (median of 5)',
    `${median(ingestRuns).toFixed(3)} s`,
    verdict(median(ingestRuns) <= GOALS.ingestSeconds, `<= ${GOALS.ingestSeconds} s`),
  );
  const reingest = new Catalog(path.join(work, 'ingest-0', 'catalog.json'), chunking);
  const again = await Catalog.open(reingest.file, chunking);
  const unchanged = await ingest([reference], { catalog: again, chunking, displayRoot: root });
  row('re-ingest, nothing changed', `${unchanged.seconds.toFixed(3)} s`, '(incremental)');

  // 2. Evaluation: handbook + reference.
  const evalSet = loadEvalSet(path.join(root, 'test/rag/eval/questions.json'));
  const heldOut = splitOf(evalSet, 'heldout');
  const tuning = splitOf(evalSet, 'tune');
  const development = loadEvalSet(path.join(root, 'test/rag/eval/retrieval-eval.json'));
  const catalog = await Catalog.open(path.join(work, 'eval', 'catalog.json'), chunking);
  await ingest([handbook, reference], { catalog, chunking, displayRoot: root });
  const fake = await startFakeEmbeddings({ dims: 1024 });
  const embedder = new OpenAiEmbedder({
    apiKey: 'test-key',
    baseUrl: `${fake.url}/v1`,
    model: 'hashing-1024',
    timeoutMs: 30_000,
  });
  const store = await LocalVectorStore.open(path.join(work, 'eval', 'vectors.json'), embedder.id);
  await ingest([handbook, reference], { catalog, chunking, displayRoot: root, embedder, vectorStore: store });
  const retriever = new Retriever(catalog, { embedder, vectorStore: store });
  const label = (mode: string) =>
    mode === 'bm25'
      ? 'BM25'
      : mode === 'vector'
        ? 'vectors (loopback hashing embedder)'
        : 'hybrid RRF (BM25 + hashing vectors)';
  console.log(
    `\nheld-out half: ${heldOut.length} of ${evalSet.length} questions (the figures the goals are judged on), over ${catalog.chunks.size} chunks (handbook + reference)`,
  );
  const heldOutResults: EvalResult[] = [];
  for (const mode of ['bm25', 'vector', 'hybrid'] as const) {
    const r = await evaluate(retriever, heldOut, mode);
    heldOutResults.push(r);
    row(
      `${label(mode)} recall@5`,
      r.recallAtK.toFixed(3),
      mode === 'bm25'
        ? verdict(r.recallAtK >= GOALS.heldOutRecall, `>= ${GOALS.heldOutRecall} (BM25 alone, offline)`)
        : '(no goal: the embedder is not semantic)',
    );
    row(`${label(mode)} MRR`, r.mrr.toFixed(3));
  }
  console.log(
    `  held-out BM25 misses: ${heldOutResults[0]!.misses.length} (not listed: looking at them would make them tuning questions)`,
  );
  console.log(
    `\nfor reference (not judged): tuning half (${tuning.length} questions) and the development set (${development.length}, written with the first retriever)`,
  );
  const tuned = await evaluate(retriever, tuning, 'bm25');
  row('tuning half, BM25 recall@5 / MRR', `${tuned.recallAtK.toFixed(3)} / ${tuned.mrr.toFixed(3)}`);
  const tunedHybrid = await evaluate(retriever, tuning, 'hybrid');
  row('tuning half, hybrid recall@5 / MRR', `${tunedHybrid.recallAtK.toFixed(3)} / ${tunedHybrid.mrr.toFixed(3)}`);
  const dev = await evaluate(retriever, development, 'bm25');
  row('development set, BM25 recall@5 / MRR', `${dev.recallAtK.toFixed(3)} / ${dev.mrr.toFixed(3)}`);
  await fake.close();
  for (const miss of [...tuned.misses, ...dev.misses])
    console.log(
      `  BM25 miss: "${miss.question}" (first relevant rank ${miss.firstRelevantRank ?? '> 20'}; top: ${miss.top[0] ?? '-'})`,
    );

  // 3. Latency over >= 20k chunks.
  const real = [...catalog.chunks.values()];
  // Distractors: words drawn at random from the corpus's own word stream, so term frequencies are
  // realistic (common words stay common) but no distractor repeats a real answer.
  const words = real.flatMap((c) => c.text.split(/\s+/).filter(Boolean));
  // mulberry32 in 32-bit integer arithmetic: the earlier LCG multiplied in floating point past 2^53,
  // lost its low bits and drew only about 16,000 distinct values, so distractors repeated each other.
  let seed = 42;
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const big = new Catalog(path.join(work, 'big', 'catalog.json'), chunking);
  for (const c of real) big.chunks.set(c.id, c);
  for (let i = 0; big.chunks.size < 20_000; i++) {
    const parts: string[] = [];
    for (let n = 0; n < 150; n++) parts.push(words[Math.floor(random() * words.length)]!);
    const like = real[Math.floor(random() * real.length)]!;
    const chunk: Chunk = {
      id: `d${i}`,
      source: `distractors/${i % 50}.txt`,
      title: `Distractor ${i % 50}`,
      section: like.section,
      text: parts.join(' '),
    };
    big.chunks.set(chunk.id, chunk);
  }
  let started = performance.now();
  const inProcess: Embedder = {
    id: 'hash:1024',
    batchSize: 512,
    embed: async (texts) => texts.map((t) => hashingEmbedding(t, 1024)),
  };
  const bigStore = await LocalVectorStore.open(path.join(work, 'big', 'vectors.json'), inProcess.id);
  const bigRetriever = new Retriever(big, { embedder: inProcess, vectorStore: bigStore });
  const buildMs = performance.now() - started;
  const all = [...big.chunks.values()];
  for (let i = 0; i < all.length; i += 2000) {
    const slice = all.slice(i, i + 2000);
    const vectors = await inProcess.embed(
      slice.map((c) => c.text),
      'document',
    );
    await bigStore.upsert(slice.map((c, j) => ({ id: c.id, values: vectors[j]!, metadata: c })));
  }
  const queries = Array.from({ length: 2000 }, (_, i) => evalSet[i % evalSet.length]!.question);
  for (const q of queries.slice(0, 100)) bigRetriever.searchBm25(q, 5); // warm-up
  // Five rounds of 2,000 queries; each figure is the median over rounds. CPU time per query is
  // measured too: on a shared machine the wall-clock tail is mostly time spent descheduled.
  const rounds: Array<{ p50: number; p99: number; cpuP99: number }> = [];
  for (let round = 0; round < 5; round++) {
    const wall: number[] = [];
    const cpu: number[] = [];
    for (const q of queries) {
      const cpuStart = process.cpuUsage();
      started = performance.now();
      bigRetriever.searchBm25(q, 5);
      wall.push(performance.now() - started);
      const used = process.cpuUsage(cpuStart);
      cpu.push((used.user + used.system) / 1000);
    }
    rounds.push({ p50: median(wall), p99: percentile(wall, 99), cpuP99: percentile(cpu, 99) });
  }
  const hybridTimes: number[] = [];
  for (const q of queries.slice(0, 500)) {
    started = performance.now();
    await bigRetriever.search(q, 5, { mode: 'hybrid' });
    hybridTimes.push(performance.now() - started);
  }
  const bigEval = await evaluate(bigRetriever, heldOut, 'bm25');
  console.log(
    `\nlatency: ${big.chunks.size} chunks (${real.length} real + distractors of random corpus words); BM25 index built in ${buildMs.toFixed(0)} ms`,
  );
  row('BM25 query p50 (5 x 2000 queries)', `${median(rounds.map((r) => r.p50)).toFixed(3)} ms`, '');
  const p99 = median(rounds.map((r) => r.p99));
  row('BM25 query p99 (wall clock)', `${p99.toFixed(3)} ms`, verdict(p99 <= GOALS.p99Ms, `<= ${GOALS.p99Ms} ms`));
  row('BM25 query p99 (CPU time)', `${median(rounds.map((r) => r.cpuP99)).toFixed(3)} ms`);
  console.log(
    `  per round p99 wall: ${rounds.map((r) => r.p99.toFixed(2)).join(', ')} ms; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${cpus().length} cores`,
  );
  row('hybrid p50 (500 queries, 1024-dim local store)', `${median(hybridTimes).toFixed(3)} ms`);
  row('hybrid query p99', `${percentile(hybridTimes, 99).toFixed(3)} ms`, '(no goal; exact cosine scan)');
  row(
    'held-out BM25 recall@5 on the 20k index',
    bigEval.recallAtK.toFixed(3),
    verdict(bigEval.recallAtK >= GOALS.bigRecall, `>= ${GOALS.bigRecall}`),
  );

  // 4. The offline documents path: routing and the documents agent's answer for each held-out question.
  const agent = new DocumentsAgent({ openIndex: async () => new Retriever(catalog), topK: 5 });
  const routes = new Map<string, number>();
  let declined = 0;
  for (const q of heldOut) {
    const fast = selectFast(q.question, []);
    const routed = 'route' in fast ? fast.route.agent : 'bad_input';
    routes.set(routed, (routes.get(routed) ?? 0) + 1);
    const draft = await agent.handle({
      question: q.question,
      incoming: { platform: 'cli', channel: 'bench', thread: 'bench', user: 'bench', text: q.question, isDirect: true },
      history: [],
      route: { agent: 'documents', reason: 'bench' },
      model: new OfflineModel(),
      progress: () => undefined,
    });
    if (draft.facts.covered === false) declined++;
  }
  console.log(`\noffline documents path, ${heldOut.length} held-out questions (handbook + reference indexed)`);
  const answering = (routes.get('documents') ?? 0) + (routes.get('error_code') ?? 0);
  row(
    'routed to documents or error_code (fast path)',
    `${answering}/${heldOut.length}`,
    verdict(answering === heldOut.length, 'all: none to the general agent ("I could not tell")'),
  );
  console.log(`  routes: ${[...routes.entries()].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  row(
    'documents agent answered with passages',
    `${heldOut.length - declined}/${heldOut.length}`,
    `(declined ${declined}: no passage covered the question)`,
  );

  // 5. Cold start: what the first documentation question of a CLI call pays.
  const saved = path.join(work, 'eval', 'catalog.json');
  const coldRuns: number[] = [];
  for (let run = 0; run < 5; run++) {
    started = performance.now();
    const loaded = await Catalog.open(saved, chunking);
    new Retriever(loaded).searchBm25('What is a PanDA pilot?', 5);
    coldRuns.push(performance.now() - started);
  }
  console.log('');
  row(
    `cold start: load ${catalog.chunks.size}-chunk catalog + BM25`,
    `${median(coldRuns).toFixed(1)} ms`,
    '(once per process)',
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
