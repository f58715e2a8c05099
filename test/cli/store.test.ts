import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { AnswerSchema } from '../../src/core/answer.ts';
import { REPO_ROOT, cliEnv, runCli, type CliResult } from '../support/cli.ts';

const QUESTION = 'why did job 6802258254 fail?';
const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const cleanup of cleanups.reverse()) cleanup();
});

function demoEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ...cliEnv({ ASKPANDA_DEMO: '1', ...extra }), ASKPANDA_DATA_DIR: dataDir };
}

/** One clear line on stderr, naming the store, and no stack trace. */
function expectOneLine(result: CliResult, ...fragments: string[]): void {
  const lines = result.stderr.trim().split('\n');
  const line = lines.find((l) => l.startsWith('askpanda: '));
  expect(line, result.stderr).toBeDefined();
  for (const fragment of fragments) expect(line).toContain(fragment);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stderr).not.toContain('triggerUncaughtException');
}

/** Holds SQLite's write lock on the file in another process until the returned function is called. */
async function holdLock(file: string, holdMs: number): Promise<void> {
  const holder = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(REPO_ROOT, 'test/storage/lock-holder.ts'), file, String(holdMs)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  cleanups.push(() => holder.kill('SIGKILL'));
  const lines = createInterface({ input: holder.stdout });
  await new Promise<void>((resolve) => lines.once('line', () => resolve()));
}

describe('askpanda on a store it cannot use', { timeout: 120_000 }, () => {
  it('stops `ask --thread` with one line and exit 2 while another process holds the lock past the retry budget', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'askpanda-cli-lock-'));
    const first = await runCli(['ask', QUESTION, '--json', '--thread', 't1'], { env: demoEnv(dataDir) });
    expect(first.code).toBe(0);
    await holdLock(path.join(dataDir, 'askpanda.sqlite'), 15_000);
    const locked = await runCli(['ask', 'how can I fix it?', '--json', '--thread', 't1'], {
      env: demoEnv(dataDir, { ASKPANDA_STORE_BUSY_TIMEOUT_MS: '500' }),
    });
    expect(locked.code).toBe(2);
    expectOneLine(locked, `the state store ${path.join(dataDir, 'askpanda.sqlite')} is locked by another process`);
    // Without --thread nothing needs saving: it answers, and says once that history is not kept.
    const oneShot = await runCli(['ask', QUESTION, '--json'], {
      env: demoEnv(dataDir, { ASKPANDA_STORE_BUSY_TIMEOUT_MS: '500' }),
    });
    expect(oneShot.code).toBe(0);
    expect(AnswerSchema.parse(JSON.parse(oneShot.stdout)).facts.pandaid).toBe(6802258254);
    expect(oneShot.stderr.match(/Answering without saving history/g)).toHaveLength(1);
  });

  it('names a file that is not SQLite and what to do; a one-shot question is still answered', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'askpanda-cli-notdb-'));
    writeFileSync(path.join(dataDir, 'askpanda.sqlite'), 'this is a text file, not a database\n'.repeat(200));
    const threaded = await runCli(['ask', QUESTION, '--thread', 't1'], { env: demoEnv(dataDir) });
    expect(threaded.code).toBe(2);
    expectOneLine(threaded, path.join(dataDir, 'askpanda.sqlite'), 'not a SQLite database', 'ASKPANDA_DATA_DIR');
    const oneShot = await runCli(['ask', QUESTION, '--json'], { env: demoEnv(dataDir) });
    expect(oneShot.code).toBe(0);
    expect(AnswerSchema.parse(JSON.parse(oneShot.stdout)).facts.piloterrorcode).toBe(1305);
    expect(oneShot.stderr).toContain('not a SQLite database');
  });

  it('names a read-only data folder; the terminal demo still answers', async () => {
    const parent = mkdtempSync(path.join(tmpdir(), 'askpanda-cli-ro-'));
    const dataDir = path.join(parent, 'data');
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o555);
    chmodSync(parent, 0o755);
    // root writes anywhere: the CLI runs as nobody then, like a service account without rights.
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const env = { ...demoEnv(dataDir), HOME: parent };
    const threaded = await runCli(['ask', QUESTION, '--thread', 't1'], { env, ...asUser });
    expect(threaded.code).toBe(2);
    expectOneLine(threaded, path.join(dataDir, 'askpanda.sqlite'), 'writable');
    const demo = await runCli(['serve'], {
      env: { ...env, ASKPANDA_PORT: '0' },
      stdin: `${QUESTION}\n`,
      ...asUser,
      until: ({ stderr }) => stderr.includes('the terminal chat ended'),
    });
    expect(demo.code).toBe(0);
    expect(demo.stdout).toContain('1305');
    expect(demo.stderr.match(/Answering without saving history/g)).toHaveLength(1);
  });

  // A small tmpfs filled to the brim; needs the right to mount (root in the CI sandbox).
  const full = mkdtempSync(path.join(tmpdir(), 'askpanda-cli-full-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', full]).status === 0;
  if (mounted) {
    cleanups.push(() => void spawnSync('umount', ['-l', full]));
    spawnSync('dd', ['if=/dev/zero', `of=${path.join(full, 'filler')}`, 'bs=4k', 'count=1000']);
  }
  it.skipIf(!mounted)('names a full disk', async () => {
    const threaded = await runCli(['ask', QUESTION, '--thread', 't1'], { env: demoEnv(path.join(full, 'data')) });
    expect(threaded.code).toBe(2);
    expectOneLine(threaded, path.join(full, 'data', 'askpanda.sqlite'), 'full', 'free some space');
  });
});

describe('several askpanda processes on one data dir', { timeout: 120_000 }, () => {
  it('two `ask --thread` at once and one while `serve` runs: every answer saved, follow-ups find their job', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'askpanda-cli-side-'));
    const env = demoEnv(dataDir, { ASKPANDA_PORT: '0' });
    const serve = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/askpanda.js'), 'serve'], {
      cwd: REPO_ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    cleanups.push(() => serve.kill('SIGKILL'));
    let served = '';
    serve.stdout.on('data', (c: Buffer) => (served += c.toString()));
    serve.stdin.write(`${QUESTION}\n`);
    const [a, b, c] = await Promise.all([
      runCli(['ask', 'why did job 6800730400 fail?', '--json', '--thread', 'a'], { env }),
      runCli(['ask', 'why did job 6802258254 fail?', '--json', '--thread', 'b'], { env }),
      runCli(['ask', 'what is happening with task 46374283?', '--json', '--thread', 'c'], { env }),
    ]);
    for (const result of [a, b, c]) expect(result.code, result.stderr).toBe(0);
    const followUps = await Promise.all(
      ['a', 'b', 'c'].map((thread) => runCli(['ask', 'how can I fix it?', '--json', '--thread', thread], { env })),
    );
    const facts = followUps.map((r) => AnswerSchema.parse(JSON.parse(r.stdout)).facts);
    expect(facts[0]!.pandaid).toBe(6800730400);
    expect(facts[1]!.pandaid).toBe(6802258254);
    expect(facts[2]!.jeditaskid).toBe(46374283);
    serve.stdin.end();
    await new Promise<void>((resolve) =>
      serve.stderr.on('data', (c: Buffer) => c.toString().includes('the terminal chat ended') && resolve()),
    );
    serve.kill('SIGTERM');
    const code = await new Promise((resolve) => serve.once('exit', resolve));
    expect(code).toBe(0);
    expect(served).toContain('1305');
  });
});
