/**
 * `npm run bench -- store`: the state store's cost per operation and its behaviour under
 * concurrency, beside the bare driver in the same run.
 *
 * 1. Time per operation on the SQLite store (one connection, WAL, synchronous=NORMAL): a thread
 *    history write (six turns, ~2 KB), its read, and a dedupe claim; 3 rounds of 2,000 each,
 *    median and p99 of each round. Baseline: the same upsert as a bare prepared better-sqlite3
 *    statement on its own file (what the store adds is keyv's serialisation and the retry wrapper).
 * 2. Fresh data dir opened by 16 processes at once, each writing 20 history and 20 cache entries
 *    and trying 20 claims; 20 rounds. Goal: 0 errors, every write readable, each claim won once.
 *
 * Before this store (one @keyv/sqlite connection per namespace, six per process): write median
 * 0.10-0.14 ms, read 0.03-0.12 ms, claim 0.09-0.10 ms; 1 round in 10 of part 2 failed with
 * SQLITE_BUSY and lost that process's 40 writes (measured on this machine, 2026-12-02).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openStore } from '../src/storage/open-store.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OPS = 2_000;
const ROUNDS = 3;
const work = mkdtempSync(path.join(tmpdir(), 'askpanda-bench-store-'));

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}
const fmt = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;
const median = (xs: number[]) => percentile(xs, 0.5);

console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
const turns = Array.from({ length: 6 }, (_, i) => ({
  role: i % 2 ? 'assistant' : 'user',
  text: 'x'.repeat(300),
  at: 1_764_000_000_000 + i,
}));

const store = await openStore({ dataDir: path.join(work, 'store'), store: '' });
const bare = new Database(path.join(work, 'bare.sqlite'));
bare.pragma('journal_mode = WAL');
bare.pragma('synchronous = NORMAL');
bare.exec(
  'CREATE TABLE kv (ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, expires INTEGER, PRIMARY KEY (ns, key)) WITHOUT ROWID',
);
const bareUpsert = bare.prepare(
  'INSERT INTO kv (ns, key, value, expires) VALUES (?, ?, ?, ?) ON CONFLICT(ns, key) DO UPDATE SET value = excluded.value, expires = excluded.expires',
);
const serialized = JSON.stringify({ value: turns, expires: Date.now() + 86_400_000 });

const rounds: Array<Record<'write' | 'read' | 'claim' | 'bare', { median: number; p99: number }>> = [];
for (let round = 0; round < ROUNDS; round++) {
  const samples = { write: [] as number[], read: [] as number[], claim: [] as number[], bare: [] as number[] };
  for (let i = 0; i < OPS; i++) {
    let t = performance.now();
    await store.ns('history').set(`slack:C1:${round}.${i}`, turns, 86_400_000);
    samples.write.push(performance.now() - t);
    t = performance.now();
    bareUpsert.run('history', `slack:C1:${round}.${i}`, serialized, Date.now() + 86_400_000);
    samples.bare.push(performance.now() - t);
  }
  for (let i = 0; i < OPS; i++) {
    const t = performance.now();
    await store.ns('history').get(`slack:C1:${round}.${i}`);
    samples.read.push(performance.now() - t);
  }
  for (let i = 0; i < OPS; i++) {
    const t = performance.now();
    await store.claimOnce(`slack:C1:${round}.${i}`, 3_600_000);
    samples.claim.push(performance.now() - t);
  }
  rounds.push(
    Object.fromEntries(
      Object.entries(samples).map(([k, v]) => [k, { median: median(v), p99: percentile(v, 0.99) }]),
    ) as (typeof rounds)[number],
  );
}
await store.close();
bare.close();
console.log('\n1. time per operation (SQLite store, one connection), median / p99 of each round');
for (const op of ['write', 'read', 'claim', 'bare'] as const) {
  const label = op === 'bare' ? 'bare driver upsert (baseline)' : `store ${op}`;
  console.log(`   ${label.padEnd(30)} ${rounds.map((r) => `${fmt(r[op].median)} / ${fmt(r[op].p99)}`).join('   ')}`);
}
const writeMedian = median(rounds.map((r) => r.write.median));
console.log(
  `   median write ${fmt(writeMedian)} against ${fmt(median(rounds.map((r) => r.bare.median)))} for the bare driver; before this store 100-140 µs`,
);

console.log('\n2. 16 processes on one fresh data dir, 20 rounds');
const WORKERS = 16;
const workers = Array.from({ length: WORKERS }, (_, i) => {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/storage/race-child.ts'), String(i)], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const queued: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  createInterface({ input: proc.stdout }).on('line', (line) =>
    waiting.length ? waiting.shift()!(line) : queued.push(line),
  );
  return {
    proc,
    next: () => new Promise<string>((resolve) => (queued.length ? resolve(queued.shift()!) : waiting.push(resolve))),
  };
});
await Promise.all(workers.map((w) => w.next()));
let errors = 0;
let missing = 0;
let wrongClaims = 0;
const roundMs: number[] = [];
for (let round = 0; round < 20; round++) {
  const dir = path.join(work, `race-${round}`);
  const claims = Array.from({ length: 20 }, (_, i) => `claim-${i}`);
  const started = performance.now();
  for (const w of workers) w.proc.stdin.write(`${JSON.stringify({ dir, claims, writes: 20 })}\n`);
  const results = (await Promise.all(workers.map((w) => w.next()))).map(
    (l) => JSON.parse(l) as { ok: boolean; won?: string[] },
  );
  roundMs.push(performance.now() - started);
  errors += results.filter((r) => !r.ok).length;
  const won = results.flatMap((r) => r.won ?? []);
  wrongClaims += Math.abs(won.length - claims.length) + (won.length - new Set(won).size);
  const check = await openStore({ dataDir: dir, store: '' });
  for (let w = 0; w < WORKERS; w++) {
    for (let i = 0; i < 20; i++) {
      if ((await check.ns('history').get(`w${w}-${i}`)) === undefined) missing++;
      if ((await check.ns('cache').get(`w${w}-${i}`)) === undefined) missing++;
    }
  }
  await check.close();
}
for (const w of workers) w.proc.stdin.end();
console.log(
  `   errors ${errors}, writes missing ${missing} of ${20 * WORKERS * 40}, claims not won exactly once ${wrongClaims}; round (open, 40 writes and 20 claims per process) median ${median(roundMs).toFixed(0)} ms`,
);
console.log(
  `   goal: 0 errors, 0 missing, every claim won once → ${errors === 0 && missing === 0 && wrongClaims === 0 ? 'MET' : 'MISSED'}`,
);
rmSync(work, { recursive: true, force: true });
