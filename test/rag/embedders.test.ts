import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GeminiEmbedder } from '../../src/rag/embedders/gemini.ts';
import { MistralEmbedder } from '../../src/rag/embedders/mistral.ts';
import { OllamaEmbedder } from '../../src/rag/embedders/ollama.ts';
import { OpenAiEmbedder } from '../../src/rag/embedders/openai.ts';
import { createEmbedder, EmbedderConfigError } from '../../src/rag/embedders/index.ts';
import { embedAll, type Embedder } from '../../src/rag/embedder.ts';
import { loadConfig } from '../../src/load-config.ts';
import { hashingEmbedding, startFakeEmbeddings, type FakeEmbeddings } from '../fakes/embeddings.ts';

let fake: FakeEmbeddings;
beforeAll(async () => {
  fake = await startFakeEmbeddings({ dims: 64 });
});
afterAll(() => fake.close());

const texts = [
  'A pilot fetches a job from the PanDA server.',
  'Rucio moves datasets between storage elements.',
  'exhausted task',
];

function cases(): Array<[string, () => Embedder, string]> {
  return [
    [
      'openai',
      () =>
        new OpenAiEmbedder({
          apiKey: 'test-key',
          baseUrl: `${fake.url}/v1`,
          model: 'text-embedding-3-small',
          timeoutMs: 5000,
        }),
      '/v1/embeddings',
    ],
    [
      'mistral',
      () => new MistralEmbedder({ apiKey: 'test-key', baseUrl: fake.url, model: 'mistral-embed', timeoutMs: 5000 }),
      '/v1/embeddings',
    ],
    ['ollama', () => new OllamaEmbedder({ host: fake.url, model: 'nomic-embed-text', timeoutMs: 5000 }), '/api/embed'],
    [
      'gemini',
      () =>
        new GeminiEmbedder({ apiKey: 'test-key', baseUrl: fake.url, model: 'gemini-embedding-001', timeoutMs: 5000 }),
      '/v1beta/models/gemini-embedding-001:batchEmbedContents',
    ],
  ];
}

describe('provider embedders through their SDKs against a loopback fake', () => {
  for (const [name, make, path] of cases()) {
    it(`${name}: one vector per text, in order, from ${path}`, async () => {
      const embedder = make();
      const before = fake.requests.length;
      const vectors = await embedder.embed(texts, 'document');
      expect(vectors).toHaveLength(3);
      vectors.forEach((v, i) => {
        expect(v).toHaveLength(64);
        expect(v[0]).toBeCloseTo(hashingEmbedding(texts[i]!, 64)[0]!, 5);
      });
      const sent = fake.requests.slice(before);
      expect(sent.map((r) => r.path)).toEqual([path]);
      expect(embedder.id.startsWith(`${name}:`)).toBe(true);
    });
  }

  it('gemini sends RETRIEVAL_QUERY for queries and RETRIEVAL_DOCUMENT for passages', async () => {
    const embedder = new GeminiEmbedder({
      apiKey: 'test-key',
      baseUrl: fake.url,
      model: 'gemini-embedding-001',
      timeoutMs: 5000,
    });
    await embedder.embed(['what is a pilot'], 'query');
    const body = fake.requests.at(-1)!.body as { requests: Array<{ taskType?: string }> };
    expect(body.requests[0]!.taskType).toBe('RETRIEVAL_QUERY');
  });

  it('openai retries a 429 (Retry-After honoured by the SDK) and then succeeds', async () => {
    const embedder = new OpenAiEmbedder({ apiKey: 'test-key', baseUrl: `${fake.url}/v1`, model: 'm', timeoutMs: 5000 });
    const before = fake.requests.length;
    fake.failNext(429, 1);
    const vectors = await embedder.embed(['retry me'], 'document');
    expect(vectors).toHaveLength(1);
    expect(fake.requests.length - before).toBe(2);
  });

  it('a wrong key is an error, not an empty result', async () => {
    const embedder = new OpenAiEmbedder({ apiKey: 'wrong', baseUrl: `${fake.url}/v1`, model: 'm', timeoutMs: 5000 });
    await expect(embedder.embed(['x'], 'document')).rejects.toThrow(/401|API key/i);
  });

  it('embedAll batches by the embedder size and keeps the order', async () => {
    const embedder = new OllamaEmbedder({ host: fake.url, model: 'nomic-embed-text', timeoutMs: 5000 });
    const many = Array.from({ length: 70 }, (_, i) => `passage number ${i} about queue ${i % 7}`);
    const before = fake.requests.length;
    const vectors = await embedAll(embedder, many, { concurrency: 2 });
    expect(fake.requests.length - before).toBe(Math.ceil(70 / embedder.batchSize));
    vectors.forEach((v, i) => expect(v[3]).toBeCloseTo(hashingEmbedding(many[i]!, 64)[3]!, 5));
  });
});

describe('createEmbedder', () => {
  it('is undefined for rag.embeddings = none', () => {
    expect(createEmbedder(loadConfig({ env: {} }))).toBeUndefined();
  });

  it('says which key is missing', () => {
    const config = loadConfig({ env: { ASKPANDA_RAG_EMBEDDINGS: 'mistral' } });
    expect(() => createEmbedder(config)).toThrow(EmbedderConfigError);
    expect(() => createEmbedder(config)).toThrow(/MISTRAL_API_KEY/);
  });

  it('uses the provider default model unless rag.embeddingModel is set', () => {
    expect(createEmbedder(loadConfig({ env: { ASKPANDA_RAG_EMBEDDINGS: 'openai', OPENAI_API_KEY: 'k' } }))!.id).toBe(
      'openai:text-embedding-3-small',
    );
    expect(
      createEmbedder(
        loadConfig({ env: { ASKPANDA_RAG_EMBEDDINGS: 'ollama', ASKPANDA_RAG_EMBEDDING_MODEL: 'mxbai-embed-large' } }),
      )!.id,
    ).toBe('ollama:mxbai-embed-large');
  });
});
