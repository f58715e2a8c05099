import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PineconeConfigError, PineconeVectorStore } from '../../src/rag/pinecone.ts';
import { Catalog } from '../../src/rag/catalog.ts';
import { ingest } from '../../src/rag/ingest.ts';
import { Retriever } from '../../src/rag/retriever.ts';
import { OpenAiEmbedder } from '../../src/rag/embedders/openai.ts';
import { startFakePinecone, type FakePinecone } from '../fakes/pinecone.ts';
import { startFakeEmbeddings, type FakeEmbeddings } from '../fakes/embeddings.ts';

let pinecone: FakePinecone;
let embeddings: FakeEmbeddings;
const temps: string[] = [];
beforeAll(async () => {
  pinecone = await startFakePinecone({ apiKey: 'pc-key' });
  embeddings = await startFakeEmbeddings({ dims: 128 });
});
afterAll(async () => {
  await pinecone.close();
  await embeddings.close();
});
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const unit = (i: number, dims = 4) => Array.from({ length: dims }, (_, j) => (j === i ? 1 : 0.01));
const meta = (text: string) => ({ source: 'docs/a.md', title: 'A', section: 'S', text });

describe('PineconeVectorStore (real SDK, loopback fake of the REST API)', () => {
  it('upserts with metadata into its namespace, queries by cosine, deletes', async () => {
    const store = new PineconeVectorStore({
      apiKey: 'pc-key',
      index: pinecone.indexName,
      host: pinecone.url,
      namespace: 'ns-basic',
    });
    await store.upsert([0, 1, 2].map((i) => ({ id: `c${i}`, values: unit(i), metadata: meta(`chunk ${i}`) })));
    const ns = pinecone.namespaces.get('ns-basic')!;
    expect([...ns.keys()].sort()).toEqual(['c0', 'c1', 'c2']);
    expect(ns.get('c1')!.metadata).toEqual(meta('chunk 1'));
    const upsert = pinecone.requests.find((r) => r.path === '/vectors/upsert')!;
    expect(upsert.apiKey).toBe('pc-key');
    expect(upsert.apiVersion).toMatch(/^\d{4}-\d{2}/);

    const matches = await store.query(unit(2), 2);
    expect(matches.map((m) => m.id)).toEqual(['c2', expect.any(String)]);
    expect(matches[0]!.score).toBeGreaterThan(0.99);

    await store.delete(['c2']);
    expect(ns.has('c2')).toBe(false);
    expect((await store.query(unit(2), 1))[0]!.id).not.toBe('c2');
  });

  it('splits large upserts into batches Pinecone accepts', async () => {
    const store = new PineconeVectorStore({
      apiKey: 'pc-key',
      index: pinecone.indexName,
      host: pinecone.url,
      namespace: 'ns-batch',
    });
    const before = pinecone.requests.filter((r) => r.path === '/vectors/upsert').length;
    await store.upsert(
      Array.from({ length: 250 }, (_, i) => ({ id: `b${i}`, values: unit(i % 4), metadata: meta('x'.repeat(20_000)) })),
    );
    const upserts = pinecone.requests.filter((r) => r.path === '/vectors/upsert').slice(before);
    expect(upserts).toHaveLength(3);
    expect(pinecone.namespaces.get('ns-batch')!.size).toBe(250);
    // Metadata text is cut below Pinecone's 40 kB per-record limit.
    expect(String(pinecone.namespaces.get('ns-batch')!.get('b0')!.metadata!.text).length).toBeLessThanOrEqual(8000);
  });

  it('resolves the index host through describe_index when only the name is configured', async () => {
    const store = new PineconeVectorStore({
      apiKey: 'pc-key',
      index: pinecone.indexName,
      namespace: 'ns-resolve',
      controllerHostUrl: pinecone.url,
    });
    await store.upsert([{ id: 'r1', values: unit(0), metadata: meta('r') }]);
    expect(pinecone.requests.some((r) => r.method === 'GET' && r.path === `/indexes/${pinecone.indexName}`)).toBe(true);
    expect(pinecone.namespaces.get('ns-resolve')!.has('r1')).toBe(true);
  });

  it('surfaces a rejected API key as an error', async () => {
    const store = new PineconeVectorStore({
      apiKey: 'wrong',
      index: pinecone.indexName,
      host: pinecone.url,
      namespace: 'ns-x',
    });
    await expect(store.query(unit(0), 1)).rejects.toThrow(/401|auth|api key/i);
  });

  it('retries a 5xx from the data plane', async () => {
    const store = new PineconeVectorStore({
      apiKey: 'pc-key',
      index: pinecone.indexName,
      host: pinecone.url,
      namespace: 'ns-retry',
    });
    pinecone.failNext(503, 1);
    await store.upsert([{ id: 'x1', values: unit(1), metadata: meta('x') }]);
    expect(pinecone.namespaces.get('ns-retry')!.has('x1')).toBe(true);
  });

  it('refuses a configuration without key or index', () => {
    expect(() => new PineconeVectorStore({ apiKey: '', index: 'i', namespace: 'n' })).toThrow(PineconeConfigError);
    expect(() => new PineconeVectorStore({ apiKey: 'k', index: '', namespace: 'n' })).toThrow(/PINECONE_INDEX/);
  });

  it('ingest embeds into Pinecone, re-ingest deletes removed chunks, hybrid search finds them', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'askpanda-pc-'));
    temps.push(dir);
    mkdirSync(path.join(dir, 'docs'));
    writeFileSync(
      path.join(dir, 'docs', 'pilot.md'),
      '# Pilot\n\nA pilot is started on a worker node and fetches a job from the PanDA server.\n',
    );
    writeFileSync(
      path.join(dir, 'docs', 'rucio.md'),
      '# Rucio\n\nRucio keeps track of datasets and their replicas on storage elements.\n',
    );
    const chunking = { chunkChars: 400, chunkOverlap: 50 };
    const catalog = new Catalog(path.join(dir, 'catalog.json'), chunking);
    const embedder = new OpenAiEmbedder({
      apiKey: 'test-key',
      baseUrl: `${embeddings.url}/v1`,
      model: 'fake-embed',
      timeoutMs: 5000,
    });
    const vectorStore = new PineconeVectorStore({
      apiKey: 'pc-key',
      index: pinecone.indexName,
      host: pinecone.url,
      namespace: 'ns-ingest',
    });
    const first = await ingest([path.join(dir, 'docs')], {
      catalog,
      chunking,
      displayRoot: dir,
      embedder,
      vectorStore,
    });
    expect(first.embedded).toBe(2);
    expect(pinecone.namespaces.get('ns-ingest')!.size).toBe(2);

    const retriever = new Retriever(catalog, { embedder, vectorStore });
    expect(retriever.mode).toBe('hybrid');
    const hits = await retriever.search('what does a pilot fetch', 2);
    expect(hits[0]!.chunk.section).toBe('Pilot');
    expect(hits[0]!.ranks.bm25).toBe(1);
    expect(hits[0]!.ranks.vector).toBe(1);

    rmSync(path.join(dir, 'docs', 'rucio.md'));
    const second = await ingest([path.join(dir, 'docs')], {
      catalog,
      chunking,
      displayRoot: dir,
      embedder,
      vectorStore,
    });
    expect(second.removed).toBe(1);
    expect(second.embedded).toBe(0);
    expect(pinecone.namespaces.get('ns-ingest')!.size).toBe(1);
  });
});
