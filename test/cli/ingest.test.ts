import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ingestCommand, progressBar } from '../../src/cli/ingest.ts';
import { referenceDir } from '../support/reference-dir.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin', 'askpanda.js');
const dir = mkdtempSync(path.join(tmpdir(), 'askpanda-rag-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], dataDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('ASKPANDA_') && !/_API_KEY$|^PINECONE_/.test(k)) env[k] = v;
  Object.assign(env, { ASKPANDA_DATA_DIR: dataDir, ASKPANDA_LOG_LEVEL: 'silent' });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs the real `ingest` command in this process (a spawn costs seconds on a loaded machine). */
async function ingestInProcess(
  args: string[],
  dataDir: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const saved = { dataDir: process.env.ASKPANDA_DATA_DIR, exitCode: process.exitCode };
  process.env.ASKPANDA_DATA_DIR = dataDir;
  process.exitCode = 0;
  const out: string[] = [];
  const err: string[] = [];
  const stdout = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: string | Uint8Array) => out.push(String(chunk)) > 0);
  const stderr = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk: string | Uint8Array) => err.push(String(chunk)) > 0);
  try {
    await ingestCommand().exitOverride().parseAsync(args, { from: 'user' });
    return { code: Number(process.exitCode ?? 0), stdout: out.join(''), stderr: err.join('') };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
    process.exitCode = saved.exitCode;
    if (saved.dataDir === undefined) delete process.env.ASKPANDA_DATA_DIR;
    else process.env.ASKPANDA_DATA_DIR = saved.dataDir;
  }
}

describe('askpanda ingest', () => {
  it('indexes a folder, prints a summary line, and is incremental on the second run', async () => {
    const docs = path.join(dir, 'docs');
    mkdirSync(docs, { recursive: true });
    writeFileSync(path.join(docs, 'a.md'), '# A\n\n## One\n\nFirst text.\n\n## Two\n\nSecond text.\n');
    const data = path.join(dir, 'data1');
    const first = await ingestInProcess([docs], data);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      /^Ingested 1 file \(2 chunks\): 2 added, 0 updated, 0 removed, 0 files unchanged in \d+\.\d\d s\n$/,
    );
    expect(existsSync(path.join(data, 'rag', 'catalog.json'))).toBe(true);
    const second = await ingestInProcess([docs, '--json'], data);
    expect(JSON.parse(second.stdout)).toMatchObject({
      files: 1,
      chunks: 2,
      added: 0,
      updated: 0,
      removed: 0,
      unchangedFiles: 1,
    });
  });

  it('exits 2 with a message for a path that does not exist', async () => {
    const result = await ingestInProcess([path.join(dir, 'missing')], path.join(dir, 'data2'));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/missing does not exist/);
  });

  it.skipIf(!referenceDir())('ingests ../shared/reference (relative to the repo) within 10 s', async () => {
    const result = await ingestInProcess([referenceDir()!, '--json'], path.join(dir, 'data3'));
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as { files: number; chunks: number; seconds: number };
    expect(summary.files).toBeGreaterThanOrEqual(7);
    expect(summary.chunks).toBeGreaterThan(1000);
    expect(summary.seconds).toBeLessThan(10);
  });

  it('draws a progress bar that ends full', () => {
    const writes: string[] = [];
    const bar = progressBar({ write: (s: string) => writes.push(s) > 0 });
    bar({ phase: 'files', done: 0, total: 4, current: 'docs/a.md' });
    bar({ phase: 'files', done: 4, total: 4 });
    expect(writes[0]).toMatch(/\[-{28}\] 0\/4 files {2}docs\/a\.md/);
    expect(writes.at(-1)).toMatch(/\[#{28}\] 4\/4 files/);
  });
});

describe('askpanda ask (documents)', () => {
  it('answers "What is a PanDA pilot?" on a fresh data dir with agent documents and sources', async () => {
    const result = await run(['ask', 'What is a PanDA pilot?', '--json'], path.join(dir, 'data4'));
    expect(result.code).toBe(0);
    const answer = JSON.parse(result.stdout) as {
      agent: string;
      sources: Array<{ title: string }>;
      text: string;
      model: string;
    };
    expect(answer.agent).toBe('documents');
    expect(answer.model).toBe('offline');
    expect(answer.sources.length).toBeGreaterThan(0);
    expect(answer.sources[0]!.title).toContain('config/bot-handbook/glossary.md');
    expect(answer.text).toContain('**Sources**');
  });
});
