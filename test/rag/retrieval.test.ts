import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../src/rag/catalog.ts';
import type { Chunk } from '../../src/rag/chunk.ts';
import type { Embedder } from '../../src/rag/embedder.ts';
import { answerable, evaluate, loadEvalSet } from '../../src/rag/evaluation.ts';
import { ingest } from '../../src/rag/ingest.ts';
import { LocalVectorStore } from '../../src/rag/local.ts';
import { Retriever } from '../../src/rag/retriever.ts';
import { reciprocalRankFusion } from '../../src/rag/rrf.ts';
import { stem, terms } from '../../src/rag/terms.ts';
import { acronymDefinitions } from '../../src/rag/acronyms.ts';
import { planQuery } from '../../src/rag/query.ts';
import { hashingEmbedding } from '../fakes/embeddings.ts';
import { referenceDir } from '../support/reference-dir.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const reference = referenceDir() ?? path.resolve(root, '../shared/reference');
const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

function catalogOf(chunks: Array<Omit<Chunk, 'id' | 'source' | 'title'> & { id: string }>): Catalog {
  const catalog = new Catalog('/nonexistent/catalog.json', { chunkChars: 1200, chunkOverlap: 150 });
  for (const c of chunks) catalog.chunks.set(c.id, { source: 'docs/t.md', title: 'T', ...c });
  return catalog;
}

describe('terms', () => {
  it('stems inflections to one term and drops stop words', () => {
    expect(['retries', 'retried', 'retrying', 'retry'].map(stem)).toEqual(['retry', 'retry', 'retry', 'retry']);
    expect(['jobs', 'failed', 'killed', 'running'].map(stem)).toEqual(['job', 'fail', 'kill', 'run']);
    expect(terms('What is the meaning of pilot error 1305?')).toEqual(['pilot', 'error', '1305']);
  });
});

describe('reciprocalRankFusion', () => {
  it('ranks items found by both rankings first, then by rank', () => {
    const fused = reciprocalRankFusion([
      ['a', 'b', 'c'],
      ['c', 'd', 'a'],
    ]);
    expect(fused.map((f) => f.id)).toEqual(['a', 'c', 'b', 'd']);
    expect(fused[0]!.score).toBeCloseTo(1 / 61 + 1 / 63, 10);
  });

  it('is deterministic for ties and handles empty rankings', () => {
    expect(reciprocalRankFusion([['x'], ['y']]).map((f) => f.id)).toEqual(['x', 'y']);
    expect(reciprocalRankFusion([[], []])).toEqual([]);
  });
});

describe('Retriever', () => {
  const catalog = catalogOf([
    { id: 'pilot', section: 'Pilot', text: 'A pilot runs on a worker node and fetches jobs from the PanDA server.' },
    { id: 'rucio', section: 'Rucio', text: 'Rucio moves datasets between storage elements and keeps replicas.' },
    {
      id: 'retry',
      section: 'Retrying tasks',
      text: 'Use pbook retry to process the failed input of a finished task again.',
    },
    { id: 'dl', section: 'Accessing files', text: 'The command that fetches DIDs to your laptop is rucio download.' },
  ]);

  it('BM25 finds the passage by its words and weighs headings, with coverage of the query', () => {
    const hits = new Retriever(catalog).searchBm25('how do I retry failed tasks', 3);
    expect(hits[0]!.chunk.id).toBe('retry');
    expect(hits[0]!.coverage).toBe(1);
    expect(hits[0]!.ranks).toEqual({ bm25: 1 });
  });

  it('hybrid fuses keyword and vector rankings; a passage only the vectors find still comes back', async () => {
    const embedder: Embedder = {
      id: 'fake:hash',
      batchSize: 16,
      embed: async (texts) => texts.map((t) => hashingEmbedding(t, 128)),
    };
    const dir = mkdtempSync(path.join(tmpdir(), 'askpanda-hybrid-'));
    temps.push(dir);
    const store = await LocalVectorStore.open(path.join(dir, 'v.json'), embedder.id);
    await store.upsert(
      await Promise.all(
        [...catalog.chunks.values()].map(async (c) => ({
          id: c.id,
          values: (await embedder.embed([c.text], 'document'))[0]!,
          metadata: { ...c },
        })),
      ),
    );
    const retriever = new Retriever(catalog, { embedder, vectorStore: store });
    expect(retriever.mode).toBe('hybrid');
    // "downloader" is not the term "download" for BM25, but shares most character trigrams with it.
    const keywordOnly = retriever.searchBm25('downloader', 4).map((h) => h.chunk.id);
    expect(keywordOnly).not.toContain('dl');
    const hybrid = await retriever.search('downloader', 4);
    expect(hybrid.map((h) => h.chunk.id)).toContain('dl');
    const both = await retriever.search('pilot worker node', 2);
    expect(both[0]!.chunk.id).toBe('pilot');
    expect(both[0]!.ranks).toEqual({ bm25: 1, vector: 1 });
  });

  it('falls back to BM25 when the embedder fails at query time', async () => {
    const broken: Embedder = {
      id: 'fake:down',
      batchSize: 1,
      embed: async () => Promise.reject(new Error('connection refused')),
    };
    const store = await LocalVectorStore.open('/nonexistent/v.json', broken.id);
    const hits = await new Retriever(catalog, { embedder: broken, vectorStore: store }).search('rucio replicas', 2);
    expect(hits[0]!.chunk.id).toBe('rucio');
  });
});

describe('query plan', () => {
  it('drops question words and framing, keeps the words that decide', () => {
    expect(planQuery('How often does the pilot send a heartbeat?').groups).toEqual(['pilot', 'send', 'heartbeat']);
    expect(planQuery('Is there a way to skip the build job?').groups).toEqual(['skip', 'build', 'job']);
    expect(planQuery('how does it work?').groups).toEqual(['work']);
  });

  it('recognises acronym questions and keeps capital acronyms that spell stop words', () => {
    expect(planQuery('What does RSE stand for?')).toMatchObject({ acronym: 'rse', groups: ['rse'] });
    expect(planQuery('What does DID stand for in Rucio?')).toMatchObject({ acronym: 'did', groups: ['did', 'rucio'] });
    expect(planQuery('meaning of the acronym LFN').acronym).toBe('lfn');
    expect(planQuery('what is a pilot?').acronym).toBeUndefined();
  });

  it('adds the glossary synonyms at half weight, in the group of the word they stand for', () => {
    const plan = planQuery('how do I resubmit my jobs at a computingsite');
    const retry = plan.terms.find((t) => t.term === 'retry')!;
    expect(retry).toMatchObject({ weight: 0.5, group: plan.groups.indexOf('resubmit') });
    expect(plan.terms.find((t) => t.term === 'queue')).toMatchObject({
      weight: 0.5,
      group: plan.groups.indexOf('computingsite'),
    });
  });
});

describe('acronym definitions', () => {
  it.each([
    ['A Rucio Storage Element (RSE) is the logical abstraction', 'RSE', 'Rucio Storage Element'],
    [
      'JEDI (Job Execution and Definition Interface) is the part of PanDA',
      'JEDI',
      'Job Execution and Definition Interface',
    ],
    ['Rucio replaced the Don Quijote (DQ2) data management system', 'DQ2', 'Don Quijote'],
    ['also known as Grand-Unified-Queues (GUQs)', 'GUQs', 'Grand-Unified-Queues'],
    ['LFN stands for Logical File Name.', 'LFN', 'Logical File Name'],
  ])('%s', (text, short, long) => {
    expect(acronymDefinitions(text)).toContainEqual({ short, long });
  });

  it('does not take any parenthesis for a definition', () => {
    expect(acronymDefinitions('the storage (RSE) is full, use the default (ALL) grouping')).toEqual([]);
  });

  it('ranks the passage that spells an acronym out above passages that merely use it', () => {
    const catalog = catalogOf([
      {
        id: 'uses-1',
        section: 'Listing RSEs',
        text: 'rucio list-rses shows every RSE; an RSE expression selects RSEs by attributes such as tier=1. RSE RSE RSE.',
      },
      {
        id: 'uses-2',
        section: 'RSE attributes',
        text: 'Each RSE has attributes; RSE names are upper case. Distances between RSE pairs are defined per RSE.',
      },
      {
        id: 'defines',
        section: 'Storage',
        text: 'A Rucio Storage Element (RSE) is the logical abstraction of a storage system for physical files.',
      },
    ]);
    const hits = new Retriever(catalog).searchBm25('What does RSE stand for?', 3);
    expect(hits[0]!.chunk.id).toBe('defines');
    expect(hits[0]!.coverage).toBe(1);
  });
});

describe('ranking signals', () => {
  it("prefers a passage where the question's words stand together", () => {
    const catalog = catalogOf([
      {
        id: 'scattered',
        section: 'Notes',
        text: 'The rucio client is configured per site. Some environment settings differ. Variables of the batch system are described elsewhere.',
      },
      {
        id: 'together',
        section: 'Notes',
        text: 'The pilot expects several rucio environment variables to be set before it starts.',
      },
    ]);
    expect(
      new Retriever(catalog).searchBm25('Which Rucio environment variables does the pilot need?', 2)[0]!.chunk.id,
    ).toBe('together');
  });

  it('finds a camelCase option by its words ("skip the build job" → --noBuild, buildJob)', () => {
    const catalog = catalogOf([
      { id: 'nobuild', section: 'FAQ', text: 'It is possible to skip buildJob using --noBuild.' },
      { id: 'other', section: 'Jobs', text: 'A job is one piece of a task; jobs run on worker nodes.' },
    ]);
    expect(new Retriever(catalog).searchBm25('How can I skip the build job?', 2)[0]!.chunk.id).toBe('nobuild');
  });
});

describe('the evaluation set (test/rag/eval/questions.json)', () => {
  const questions = loadEvalSet(path.join(root, 'test/rag/eval/questions.json'));

  it('has at least 150 questions, split into a tuning half and a held-out half', () => {
    expect(questions.length).toBeGreaterThanOrEqual(150);
    const held = questions.filter((q) => q.split === 'heldout').length;
    expect(questions.every((q) => q.split === 'tune' || q.split === 'heldout')).toBe(true);
    expect(Math.abs(held - (questions.length - held))).toBeLessThanOrEqual(1);
    expect(new Set(questions.map((q) => q.question)).size).toBe(questions.length);
  });

  it.skipIf(!existsSync(reference))('every question is answerable by a passage of the indexed corpus', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'askpanda-eval-set-'));
    temps.push(dir);
    const chunking = { chunkChars: 1200, chunkOverlap: 150 };
    const catalog = new Catalog(path.join(dir, 'catalog.json'), chunking);
    await ingest([path.join(root, 'config/bot-handbook'), reference], { catalog, chunking, displayRoot: root });
    const missing = questions.filter((q) => !answerable([q], catalog.chunks.values()).length).map((q) => q.question);
    expect(missing).toEqual([]);
  });
});

describe('retrieval evaluation (handbook + ../shared/reference)', () => {
  const questions = loadEvalSet(path.join(root, 'test/rag/eval/retrieval-eval.json'));

  it('has at least 40 questions, each answerable from a passage of the corpus', async () => {
    expect(questions.length).toBeGreaterThanOrEqual(40);
    expect(questions.filter((q) => q.source.startsWith('config/bot-handbook/')).length).toBeGreaterThanOrEqual(15);
  });

  it.skipIf(!existsSync(reference))('BM25 recall@5 >= 0.9 over handbook and reference texts', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'askpanda-eval-'));
    temps.push(dir);
    const chunking = { chunkChars: 1200, chunkOverlap: 150 };
    const catalog = new Catalog(path.join(dir, 'catalog.json'), chunking);
    await ingest([path.join(root, 'config/bot-handbook'), reference], { catalog, chunking, displayRoot: root });
    expect(answerable(questions, catalog.chunks.values())).toHaveLength(questions.length);
    const result = await evaluate(new Retriever(catalog), questions, 'bm25');
    expect(result.recallAtK, JSON.stringify(result.misses, null, 1)).toBeGreaterThanOrEqual(0.9);
    expect(result.mrr).toBeGreaterThan(0.7);
  });

  it.skipIf(existsSync(reference))(
    'reference texts absent: skipped (needs ../shared/reference beside the repo)',
    () => {
      console.warn(`retrieval evaluation skipped: ${reference} not found`);
    },
  );
});
