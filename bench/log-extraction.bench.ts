/**
 * Log context extraction vs `grep -n` on the same generated pilot log (100 MiB and 1 GiB, cause
 * near the end), plus monitor requests per job question (cold and warm).
 *
 *   npm run bench -- log-extraction            (BENCH_SIZES_MIB=100,1024 BENCH_RUNS=3 to change)
 *
 * Each extraction runs in its own child process so its peak RSS is its own. Logs are written under
 * os.tmpdir() and deleted at the end.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, openSync, closeSync, rmSync, statSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load.ts';
import { JobAgent } from '../src/agents/job.ts';
import { OfflineModel } from '../src/llm/offline.ts';
import { createPandaClient } from '../src/panda/client.ts';
import { startDemoMonitor } from '../src/panda/demo/server.ts';
import { startMonitorServer } from '../src/panda/demo/monitor-server.ts';
import { formatPilotLine, noiseLines } from '../src/panda/demo/pilot-log.ts';
import { jobErrors, scanPatternsFor } from '../src/panda/job-analysis.ts';
import { guidanceFor } from '../src/panda/knowledge.ts';
import { LogScanner } from '../src/panda/log-scan.ts';
import type { Job } from '../src/panda/schemas.ts';

const DIAG = 'Payload exceeded maximum allowed memory:maxPSS=6291456 kB > 4194304 kB';
const CAUSE = formatPilotLine(new Date('2025-09-08T14:50:33.123Z'), { level: 'WARNING', thread: 'job_monitor', logger: 'pilot.user.atlas.memory', fn: 'memory_usage', message: 'job 6800730400 has exceeded the memory limit: maxPSS=6291456 kB > 4194304 kB (limit) - will be killed' });

function patterns() {
  const job = { pandaid: 1, jobstatus: 'failed', piloterrorcode: 1235, piloterrordiag: DIAG } as Job;
  return scanPatternsFor(guidanceFor('pilot', 1235), jobErrors(job));
}

/** The same patterns for grep -E (ERE has no (?: groups and no \d). */
function grepPattern(): string {
  return patterns()
    .map((p) => p.regex.source.replace(/\(\?:/g, '(').replace(/\\d/g, '[0-9]'))
    .join('|');
}

const scanOptions = { contextBefore: 40, contextAfter: 10, maxLineChars: 2000, maxMatches: 200, tailLines: 200, maxBytes: 8 * 1024 ** 3 };

async function child(file: string): Promise<void> {
  const started = performance.now();
  // One reused read buffer: the scanner turns each chunk into text before push() returns
  // (chunks of at least 64 KiB), so nothing keeps a reference to it.
  const chunk = Buffer.allocUnsafe(Number(process.env.BENCH_CHUNK_KIB ?? 64) * 1024);
  const handle = await open(file, 'r');
  const scanner = new LogScanner({ ...scanOptions, patterns: patterns() });
  try {
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      scanner.push(chunk.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  const result = scanner.finish();
  const ms = performance.now() - started;
  process.stdout.write(JSON.stringify({ ms, rssMiB: process.resourceUsage().maxRSS / 1024, line: result.best?.match.line, lines: result.lines, matches: result.totalMatches }) + '\n');
}

/** The same extraction through the client: file browser listing, 301 redirect, streamed body. */
async function childHttp(url: string): Promise<void> {
  const started = performance.now();
  const config = loadConfig({ env: { PANDA_MONITOR_URL: url } });
  const client = createPandaClient(config);
  const outcome = await client.scanLogFile(BENCH_JOB, 'pilotlog.txt', { ...scanOptions, patterns: patterns() }, 'bench');
  const ms = performance.now() - started;
  const result = outcome.status === 'scanned' ? outcome.result : undefined;
  process.stdout.write(JSON.stringify({ ms, rssMiB: process.resourceUsage().maxRSS / 1024, line: result?.best?.match.line, lines: result?.lines, matches: result?.totalMatches }) + '\n');
}

const BENCH_JOB = 6800730401;

async function serveFile(file: string, bytes: number) {
  const job = { pandaid: BENCH_JOB, jobstatus: 'failed', computingsite: 'BNL_PROD_MCORE', piloterrorcode: 1235, piloterrordiag: DIAG };
  return startMonitorServer({
    jobs: new Map([[BENCH_JOB, { job, files: [], logs: { 'pilotlog.txt': { size: bytes, content: () => createReadStream(file, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer> } } }]]),
    tasks: new Map(),
  });
}

function generate(file: string, mib: number): void {
  // A 8 MiB block of realistic noise written repeatedly, then the cause and a short tail.
  const block = [...noiseLines(60_000, new Date('2025-09-08T05:00:00Z'), 7)].join('');
  const blockBuf = Buffer.from(block.slice(0, block.lastIndexOf("\n", 1024 * 1024) + 1));
  const fd = openSync(file, 'w');
  let written = 0;
  while (written + blockBuf.length <= mib * 1024 * 1024 - 64 * 1024) written += writeSync(fd, blockBuf);
  writeSync(fd, CAUSE + '\n' + [...noiseLines(200, new Date('2025-09-08T14:50:34Z'), 9)].join(''));
  closeSync(fd);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function requestsPerQuestion(): Promise<void> {
  const demo = await startDemoMonitor();
  try {
    const config = loadConfig({ env: {} });
    for (const pandaid of [6800730400, 6802258254, 6798544333]) {
      const client = createPandaClient(config, { baseUrl: demo.url });
      const agent = new JobAgent({ client, config });
      const ctx = (q: string) => ({ question: q, incoming: { platform: 'cli' as const, channel: 'c', thread: 't', user: 'u', text: q, isDirect: true }, history: [], route: { agent: 'job' as const, pandaid, reason: 'bench' }, model: new OfflineModel(), progress: () => undefined });
      await agent.handle(ctx(`Why did job ${pandaid} fail?`));
      const cold = client.stats.requests;
      await agent.handle(ctx('how can I fix it?'));
      console.log(`monitor requests, job ${pandaid}: cold ${cold}, warm ${client.stats.requests - cold}   (goal: <= 3 cold, 0 warm)`);
    }
  } finally {
    await demo.close();
  }
}

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_SIZES_MIB ?? '100,1024').split(',').map(Number);
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'askpanda-bench-'));
  const self = fileURLToPath(import.meta.url);
  const pattern = grepPattern();
  try {
    console.log(`pattern set (${patterns().length} patterns, pilot error 1235): grep -n -i -E '${pattern.slice(0, 90)}…'`);
    console.log('size      grep -n (median)   askpanda (median)   ratio   peak RSS (askpanda process)   matches   cause at line');
    for (const mib of sizes) {
      const file = path.join(dir, `pilotlog-${mib}MiB.txt`);
      generate(file, mib);
      const bytes = statSync(file).size;
      const grepMs: number[] = [];
      const ourMs: number[] = [];
      const rss: number[] = [];
      let last: { line: number; matches: number; lines: number } | undefined;
      let grepLine = '';
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        const g = spawnSync('grep', ['-n', '-i', '-E', pattern, file], { maxBuffer: 256 * 1024 * 1024 });
        grepMs.push(performance.now() - t0);
        const out = g.stdout.toString();
        grepLine = out.slice(out.lastIndexOf('\n', out.length - 2) + 1).split(':')[0] ?? '';
        const c = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', file], { encoding: 'utf8', cwd: path.resolve(path.dirname(self), '..') });
        if (c.status !== 0) throw new Error(`child failed: ${c.stderr}`);
        const r = JSON.parse(c.stdout.trim().split('\n').pop()!) as { ms: number; rssMiB: number; line: number; matches: number; lines: number };
        ourMs.push(r.ms);
        rss.push(r.rssMiB);
        last = r;
      }
      const g = median(grepMs);
      const o = median(ourMs);
      console.log(
        `${(bytes / 1024 / 1024).toFixed(0).padStart(5)} MiB ${g.toFixed(0).padStart(10)} ms ${o.toFixed(0).padStart(14)} ms ${(o / g).toFixed(2).padStart(9)}x ${Math.max(...rss).toFixed(0).padStart(14)} MiB ${String(last?.matches).padStart(22)} ${String(last?.line).padStart(10)} (grep: ${grepLine})`,
      );
      // The product path: the same file served by a loopback monitor (listing, 301, streamed body).
      const server = await serveFile(file, bytes);
      try {
        const httpMs: number[] = [];
        const httpRss: number[] = [];
        let httpLine: number | undefined;
        for (let i = 0; i < runs; i++) {
          const c = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
            const proc = spawn(process.execPath, ['--import', 'tsx', self, '--child-http', server.url], { cwd: path.resolve(path.dirname(self), '..') });
            let stdout = '';
            let stderr = '';
            proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
            proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
            proc.on('close', (status) => resolve({ status, stdout, stderr }));
          });
          if (c.status !== 0) throw new Error(`http child failed: ${c.stderr}`);
          const r = JSON.parse(c.stdout.trim().split('\n').pop()!) as { ms: number; rssMiB: number; line: number };
          httpMs.push(r.ms);
          httpRss.push(r.rssMiB);
          httpLine = r.line;
        }
        const h = median(httpMs);
        console.log(`${''.padStart(9)} via HTTP: ${h.toFixed(0).padStart(14)} ms ${(h / g).toFixed(2).padStart(9)}x ${Math.max(...httpRss).toFixed(0).padStart(14)} MiB ${''.padStart(22)} ${String(httpLine).padStart(10)}`);
      } finally {
        await server.close();
      }
      rmSync(file, { force: true });
    }
    const base = spawnSync(process.execPath, ['--import', 'tsx', '-e', 'console.log(process.resourceUsage().maxRSS / 1024)'], { encoding: 'utf8' });
    console.log(`baseline peak RSS of an empty node --import tsx process: ${Number(base.stdout.trim()).toFixed(0)} MiB (goals: <= 1.5x grep, < 128 MiB peak RSS, flat with size)`);
    await requestsPerQuestion();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3]!);
else if (process.argv[2] === '--child-http') await childHttp(process.argv[3]!);
else await main();
