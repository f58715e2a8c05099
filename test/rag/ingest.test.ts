import { mkdirSync, mkdtempSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Catalog } from '../../src/rag/catalog.ts';
import { ingest, IngestError } from '../../src/rag/ingest.ts';
import { LocalVectorStore } from '../../src/rag/local.ts';
import type { Embedder } from '../../src/rag/embedder.ts';
import { hashingEmbedding } from '../fakes/embeddings.ts';

const chunking = { chunkChars: 400, chunkOverlap: 60 };
let dir: string;
let docs: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'askpanda-ingest-'));
  docs = path.join(dir, 'docs');
  mkdirSync(path.join(docs, 'sub'), { recursive: true });
  writeFileSync(
    path.join(docs, 'glossary.md'),
    '# Glossary\n\n## Pilot\n\nA pilot fetches jobs.\n\n## Payload\n\nThe program a job runs.\n',
  );
  writeFileSync(path.join(docs, 'sub', 'faq.txt'), 'Question:\nHow do I get help?\n\nAnswer:\nAsk the DAST team.\n');
  writeFileSync(path.join(docs, 'sub', 'page.html'), '<h1>Monitor</h1><p>The task page shows the status.</p>');
  writeFileSync(path.join(docs, 'notes.pdf'), 'binary, not indexed');
  mkdirSync(path.join(docs, '.git'));
  writeFileSync(path.join(docs, '.git', 'HEAD.md'), '# hidden\n\nnot indexed\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const catalogFile = () => path.join(dir, 'data', 'catalog.json');
const run = async (paths = [docs], extra: Partial<Parameters<typeof ingest>[1]> = {}) => {
  const catalog = await Catalog.open(catalogFile(), chunking);
  const summary = await ingest(paths, { catalog, chunking, displayRoot: dir, ...extra });
  return { catalog, summary };
};

describe('ingest', () => {
  it('indexes Markdown, text and HTML files of folders, skipping hidden folders and other types', async () => {
    const { catalog, summary } = await run();
    expect(summary).toMatchObject({ files: 3, chunks: 4, added: 4, updated: 0, removed: 0, unchangedFiles: 0 });
    expect([...catalog.files.values()].map((f) => f.source).sort()).toEqual([
      'docs/glossary.md',
      'docs/sub/faq.txt',
      'docs/sub/page.html',
    ]);
    expect([...catalog.chunks.values()].map((c) => c.section).sort()).toEqual([
      'How do I get help?',
      'Monitor',
      'Payload',
      'Pilot',
    ]);
  });

  it('re-ingest of unchanged files touches nothing and does not rewrite the index', async () => {
    await run();
    const { summary } = await run();
    expect(summary).toMatchObject({ added: 0, updated: 0, removed: 0, unchangedFiles: 3, chunks: 4 });
  });

  it('an edited section is one update; other chunks keep their ids', async () => {
    const first = await run();
    const pilotId = [...first.catalog.chunks.values()].find((c) => c.section === 'Pilot')!.id;
    writeFileSync(
      path.join(docs, 'glossary.md'),
      '# Glossary\n\n## Pilot\n\nA pilot fetches jobs.\n\n## Payload\n\nThe program that a job runs, started by the pilot.\n',
    );
    const { catalog, summary } = await run();
    expect(summary).toMatchObject({ added: 0, updated: 1, removed: 0, unchangedFiles: 2 });
    expect(catalog.chunks.has(pilotId)).toBe(true);
    expect([...catalog.chunks.values()].find((c) => c.section === 'Payload')!.text).toContain('started by the pilot');
    // Persisted: a fresh open sees the new text.
    const reopened = await Catalog.open(catalogFile(), chunking);
    expect([...reopened.chunks.values()].find((c) => c.section === 'Payload')!.text).toContain('started by the pilot');
  });

  it('new sections are added, deleted sections and deleted files drop out', async () => {
    await run();
    writeFileSync(
      path.join(docs, 'glossary.md'),
      '# Glossary\n\n## Pilot\n\nA pilot fetches jobs.\n\n## Harvester\n\nProvides pilots.\n\n## Rucio\n\nData management.\n',
    );
    rmSync(path.join(docs, 'sub', 'page.html'));
    const { catalog, summary } = await run();
    // Payload gone, Harvester and Rucio new (different sections: not updates), page.html deleted.
    expect(summary).toMatchObject({ files: 2, updated: 0, added: 2, removed: 2, removedFiles: 1 });
    expect([...catalog.chunks.values()].map((c) => c.section).sort()).toEqual([
      'Harvester',
      'How do I get help?',
      'Pilot',
      'Rucio',
    ]);
    expect([...catalog.files.keys()].some((f) => f.endsWith('page.html'))).toBe(false);
  });

  it('ingesting one folder leaves documents of other folders alone', async () => {
    const other = path.join(dir, 'other');
    mkdirSync(other);
    writeFileSync(path.join(other, 'rucio.md'), '# Rucio\n\nRucio manages data.\n');
    await run([docs, other]);
    rmSync(path.join(docs, 'glossary.md'));
    const { catalog, summary } = await run([other]);
    expect(summary).toMatchObject({ files: 1, removed: 0, unchangedFiles: 1 });
    expect(catalog.files.size).toBe(4);
  });

  it('with trustMtime a file whose size and mtime match is not read again; a touched file is re-hashed', async () => {
    await run();
    const file = path.join(docs, 'glossary.md');
    const progress: string[] = [];
    const quick = await run([docs], { trustMtime: true, onProgress: (p) => p.current && progress.push(p.current) });
    expect(quick.summary.unchangedFiles).toBe(3);
    expect(progress).toEqual(['docs/glossary.md', 'docs/sub/faq.txt', 'docs/sub/page.html']);
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const touched = await run([docs], { trustMtime: true });
    expect(touched.summary).toMatchObject({ unchangedFiles: 3, added: 0, updated: 0 });
  });

  it('changed chunk settings re-chunk everything', async () => {
    await run();
    const catalog = await Catalog.open(catalogFile(), { chunkChars: 200, chunkOverlap: 0 });
    const summary = await ingest([docs], { catalog, chunking: { chunkChars: 200, chunkOverlap: 0 }, displayRoot: dir });
    expect(summary.unchangedFiles).toBe(0);
  });

  it('says what is wrong with a missing path or an unsupported file', async () => {
    await expect(run([path.join(dir, 'nope')])).rejects.toThrow(IngestError);
    await expect(run([path.join(dir, 'nope')])).rejects.toThrow(/does not exist/);
    await expect(run([path.join(docs, 'notes.pdf')])).rejects.toThrow(/not a Markdown/);
  });

  it('embeds only chunks without a vector, and everything again for another embedder', async () => {
    const calls: number[] = [];
    const embedder = (id: string): Embedder => ({
      id,
      batchSize: 2,
      embed: async (texts) => {
        calls.push(texts.length);
        return texts.map((t) => hashingEmbedding(t, 32));
      },
    });
    const storeFile = path.join(dir, 'data', 'vectors.json');
    const first = await run([docs], {
      embedder: embedder('fake:a'),
      vectorStore: await LocalVectorStore.open(storeFile, 'fake:a'),
    });
    expect(first.summary.embedded).toBe(4);
    expect(calls).toEqual([2, 2]);
    writeFileSync(
      path.join(docs, 'sub', 'faq.txt'),
      'Question:\nHow do I get help?\n\nAnswer:\nAsk the DAST team by e-mail.\n',
    );
    const second = await run([docs], {
      embedder: embedder('fake:a'),
      vectorStore: await LocalVectorStore.open(storeFile, 'fake:a'),
    });
    expect(second.summary.embedded).toBe(1);
    const store = await LocalVectorStore.open(storeFile, 'fake:a');
    expect(store.size).toBe(4);
    const third = await run([docs], {
      embedder: embedder('fake:b'),
      vectorStore: await LocalVectorStore.open(storeFile, 'fake:b'),
    });
    expect(third.summary.embedded).toBe(4);
  });
});
