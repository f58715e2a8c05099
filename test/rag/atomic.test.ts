import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CorruptIndexError, readFileChecked, writeFileAtomic } from '../../src/rag/atomic-file.ts';
import { Catalog } from '../../src/rag/catalog.ts';
import { LocalVectorStore } from '../../src/rag/local.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const writer = path.join(here, 'fixtures', 'index-writer.ts');
const chunking = { chunkChars: 1200, chunkOverlap: 150 };
const temps: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'askpanda-atomic-'));
  temps.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function snapshot(dir: string): string {
  return readdirSync(dir)
    .filter((n) => !n.includes('.corrupt-'))
    .map((n) => {
      try {
        return `${n}:${statSync(path.join(dir, n)).size}`;
      } catch {
        return `${n}:gone`;
      }
    })
    .sort()
    .join(',');
}

/**
 * Starts the writer and, once it announces write number `killAt`, watches the folder and SIGKILLs
 * it at the first sign of that write on disk (a new temp file, or the index file changing size):
 * the kill lands inside the write whatever strategy the writer uses.
 */
function killDuringWrite(file: string, killAt: number): Promise<{ lastSaved: number; killedMidWrite: boolean }> {
  const dir = path.dirname(file);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, file, '3000'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let lastSaved = -1;
    let killedMidWrite = false;
    let buffer = '';
    child.stdout.on('data', (data: Buffer) => {
      buffer += data.toString();
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        const [what, n] = line.split(' ');
        if (what === 'saved') lastSaved = Number(n);
        if (what === 'writing' && Number(n) === killAt && child.exitCode === null && !child.killed) {
          const before = snapshot(dir);
          const deadline = Date.now() + 5000;
          while (snapshot(dir) === before && Date.now() < deadline) {
            // Busy-wait on purpose: a timer would let the whole write slip past.
          }
          killedMidWrite = true;
          child.kill('SIGKILL');
        }
      }
    });
    child.on('error', reject);
    child.on('exit', () => resolve({ lastSaved, killedMidWrite: killedMidWrite && lastSaved < killAt }));
  });
}

describe('durable index files', () => {
  it('a writer killed mid-write leaves the old index or the new one, never a broken one', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'catalog.json');
    let midWrites = 0;
    // Under load a kill can land just after a write; rounds continue until four landed inside one.
    for (let round = 0; round < 12 && midWrites < 4; round++) {
      const { lastSaved, killedMidWrite } = await killDuringWrite(file, 2 + (round % 2));
      if (killedMidWrite) midWrites++;
      expect(lastSaved).toBeGreaterThanOrEqual(1);
      const damaged: unknown[] = [];
      const catalog = await Catalog.open(file, chunking, (err) => damaged.push(err));
      expect(damaged).toEqual([]);
      const count = catalog.chunks.size;
      expect([3000, 3500]).toContain(count);
      const which = count === 3000 ? 'A' : 'B';
      // Consistent content: every chunk and the file entry belong to the same version.
      expect([...catalog.chunks.keys()].every((id) => id.startsWith(which))).toBe(true);
      expect(catalog.files.get('/docs/x.md')!.hash).toBe(which);
      // Temp files of the dead writer are cleaned up on open.
      expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    }
    expect(midWrites).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('detects a truncated or edited file and starts empty after setting it aside', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'catalog.json');
    const catalog = new Catalog(file, chunking);
    catalog.chunks.set('c1', { id: 'c1', source: 's', title: 't', section: '', text: 'hello pilot' });
    await catalog.save();
    const good = readFileSync(file);

    writeFileSync(file, good.subarray(0, good.length - 10));
    await expect(readFileChecked(file)).rejects.toThrow(CorruptIndexError);
    const damaged: CorruptIndexError[] = [];
    const reopened = await Catalog.open(file, chunking, (err) => damaged.push(err));
    expect(reopened.chunks.size).toBe(0);
    expect(damaged[0]!.message).toMatch(/damaged.*rebuilt/);
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(dir).some((n) => n.startsWith('catalog.json.corrupt-'))).toBe(true);

    const flipped = Buffer.from(good);
    flipped[flipped.length - 5] = flipped[flipped.length - 5]! ^ 0x20;
    writeFileSync(file, flipped);
    await expect(readFileChecked(file)).rejects.toThrow(/checksum/);

    writeFileSync(file, '{"not":"an index"}');
    await expect(readFileChecked(file)).rejects.toThrow(/header/);
  });

  it('rejects a well-formed file with unexpected content', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'catalog.json');
    await writeFileAtomic(file, JSON.stringify({ format: 'something-else' }));
    const damaged: unknown[] = [];
    const catalog = await Catalog.open(file, chunking, (err) => damaged.push(err));
    expect(catalog.chunks.size).toBe(0);
    expect(damaged).toHaveLength(1);
  });

  it('re-chunks every file when the chunk settings change', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'catalog.json');
    const catalog = new Catalog(file, chunking);
    catalog.files.set('/d/a.md', { hash: 'h', size: 1, mtimeMs: 5, source: 'd/a.md', chunkIds: [] });
    await catalog.save();
    expect((await Catalog.open(file, chunking)).files.get('/d/a.md')!.hash).toBe('h');
    expect((await Catalog.open(file, { chunkChars: 800, chunkOverlap: 100 })).files.get('/d/a.md')!.hash).toBe('');
  });

  it("local vector store: round-trips vectors, ignores another embedder's file, detects damage", async () => {
    const dir = tempDir();
    const file = path.join(dir, 'vectors.json');
    const store = await LocalVectorStore.open(file, 'fake:one');
    await store.upsert([
      { id: 'a', values: [1, 0, 0], metadata: { source: 's', title: 't', section: '', text: 'a' } },
      { id: 'b', values: [0, 1, 0], metadata: { source: 's', title: 't', section: '', text: 'b' } },
      { id: 'c', values: [0.7, 0.7, 0], metadata: { source: 's', title: 't', section: '', text: 'c' } },
    ]);
    await store.flush();
    const again = await LocalVectorStore.open(file, 'fake:one');
    expect(again.size).toBe(3);
    expect((await again.query([1, 0.1, 0], 2)).map((m) => m.id)).toEqual(['a', 'c']);
    await again.delete(['a']);
    await again.flush();
    expect((await LocalVectorStore.open(file, 'fake:one')).size).toBe(2);
    expect((await LocalVectorStore.open(file, 'fake:two')).size).toBe(0);
    await expect(
      again.upsert([{ id: 'd', values: [1, 2], metadata: { source: 's', title: 't', section: '', text: 'd' } }]),
    ).rejects.toThrow(/dimensions/);

    const raw = readFileSync(file);
    writeFileSync(file, raw.subarray(0, raw.length - 3));
    const damaged: unknown[] = [];
    expect((await LocalVectorStore.open(file, 'fake:one', (e) => damaged.push(e))).size).toBe(0);
    expect(damaged).toHaveLength(1);
  });
});
