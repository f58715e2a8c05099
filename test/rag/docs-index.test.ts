import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/load-config.ts';
import { createDocumentsAgent } from '../../src/agents/documents.ts';
import { OfflineModel } from '../../src/llm/offline.ts';
import { silentLogger } from '../../src/util/log.ts';
import { Catalog } from '../../src/rag/catalog.ts';
import { catalogFile, lazyDocsIndex, openDocsIndex, openRagParts } from '../../src/rag/docs-index.ts';
import { ingest } from '../../src/rag/ingest.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'askpanda-docs-index-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('docs index from the configuration', () => {
  it('indexes the bundled handbook on first open and reuses it afterwards', async () => {
    const config = loadConfig({ env: { ASKPANDA_DATA_DIR: path.join(dir, 'a') } });
    const first = await openDocsIndex(config);
    expect(first.summary!.added).toBeGreaterThan(50);
    expect(first.retriever.mode).toBe('bm25');
    const second = await openDocsIndex(config);
    expect(second.summary).toMatchObject({ added: 0, updated: 0, removed: 0 });
    expect(second.summary!.unchangedFiles).toBe(second.summary!.files);
    expect(second.retriever.size).toBe(first.retriever.size);
  });

  it('reuses the open index until the catalog changes, then sees newly ingested documents', async () => {
    const config = loadConfig({ env: { ASKPANDA_DATA_DIR: path.join(dir, 'b') } });
    const provider = lazyDocsIndex(config);
    const [one, two] = await Promise.all([provider(), provider()]);
    expect(two).toBe(one);
    expect(await provider()).toBe(one);
    expect(one.searchBm25('zanzibar quokka', 1)).toEqual([]);

    // Another process (askpanda ingest) adds a document.
    const extra = path.join(dir, 'extra');
    mkdirSync(extra);
    writeFileSync(
      path.join(extra, 'site.md'),
      '# Site notes\n\n## Zanzibar\n\nThe zanzibar quokka queue is for tests.\n',
    );
    const parts = await openRagParts(config);
    await ingest([extra], { catalog: parts.catalog, chunking: parts.chunking, displayRoot: dir });

    const three = await provider();
    expect(three).not.toBe(one);
    expect(three.searchBm25('zanzibar quokka', 1)[0]!.chunk.section).toBe('Zanzibar');
    // The handbook is still there.
    expect(three.searchBm25('What is a PanDA pilot?', 1)[0]!.chunk.source).toBe('config/bot-handbook/glossary.md');
  });

  it('falls back to keyword search with a notice when the configured embedder cannot work', async () => {
    const config = loadConfig({
      env: { ASKPANDA_DATA_DIR: path.join(dir, 'c'), ASKPANDA_RAG_EMBEDDINGS: 'openai', ASKPANDA_VECTORS: 'local' },
    });
    const parts = await openRagParts(config);
    expect(parts.embedder).toBeUndefined();
    expect(parts.notices.join(' ')).toMatch(/OPENAI_API_KEY.*keyword search/);
    const pinecone = await openRagParts(
      loadConfig({ env: { ASKPANDA_DATA_DIR: path.join(dir, 'c'), ASKPANDA_VECTORS: 'pinecone' } }),
    );
    expect(pinecone.vectorStore).toBeUndefined();
    expect(pinecone.notices.join(' ')).toMatch(/pinecone.*rag.embeddings is none/i);
  });

  it('the documents agent opens nothing until the first documentation question', async () => {
    const config = loadConfig({ env: { ASKPANDA_DATA_DIR: path.join(dir, 'e') } });
    const agent = createDocumentsAgent({ config, logger: silentLogger });
    expect(existsSync(catalogFile(config))).toBe(false);
    const draft = await agent.handle({
      question: 'What is a PanDA pilot?',
      incoming: {
        platform: 'cli',
        channel: 'c',
        thread: 't',
        user: 'u',
        text: 'What is a PanDA pilot?',
        isDirect: true,
      },
      history: [],
      route: { agent: 'documents', reason: 'test' },
      model: new OfflineModel(),
      progress: () => undefined,
    });
    expect(existsSync(catalogFile(config))).toBe(true);
    expect(draft.sources[0]!.title).toContain('config/bot-handbook/glossary.md');
  });

  it('a damaged catalog is set aside and rebuilt from the handbook', async () => {
    const config = loadConfig({ env: { ASKPANDA_DATA_DIR: path.join(dir, 'd') } });
    await openDocsIndex(config);
    writeFileSync(catalogFile(config), 'askpanda-index v1 bytes=3 sha256=' + '0'.repeat(64) + '\nabc');
    const reopened = await openDocsIndex(config);
    expect(reopened.parts.notices.join(' ')).toMatch(/damaged/);
    expect(reopened.retriever.size).toBeGreaterThan(50);
    expect((await Catalog.open(catalogFile(config), reopened.parts.chunking)).chunks.size).toBe(
      reopened.retriever.size,
    );
  });
});
