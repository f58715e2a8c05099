/**
 * Log context extraction vs `grep -n` on the same generated pilot log (100 MiB and 1 GiB, cause
 * near the end), plus monitor requests per job question (cold and warm).
 *
 *   npm run bench -- log-extraction            (BENCH_SIZES_MIB=100,1024 BENCH_RUNS=3 to change)
 *
 * Each extraction runs in its own child process, with the launcher's node flags, so its peak RSS is
 * its own; it is printed as the absolute peak and as growth over the child's RSS before reading
 * (after its imports). The HTTP path is also run with node's default flags for comparison. Logs are
 * written under os.tmpdir() and deleted at the end. The pattern set is the product's for pilot error
 * 1235 in pilotlog.txt (evidence map, curated entry, diag, generic signs). Goals (issue 20): peak RSS
 * < 128 MiB and flat with size (growth at 1 GiB within 8 MiB of the growth at 100 MiB); scan time on
 * the largest log (1 GiB by default) ≤ 1.0× grep's in process and ≤ 1.2× via HTTP; monitor requests
 * ≤ 4 cold (job, listing, two log files), 0 warm.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, openSync, closeSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatPilotLine } from '../src/panda/demo/pilot-log.ts';
import { jobErrors, scanPatternsFor } from '../src/panda/job-analysis.ts';
import { guidanceFor } from '../src/panda/knowledge.ts';
import type { Job } from '../src/panda/schemas.ts';

// The children import only what their path needs (the scanner, or config + client); the harness
// (agent, demo monitor, generator) is imported by the parent alone, so a child's RSS is the path's.

/**
 * Node flags of the product launcher (bin/askpanda.js's shebang, also used by `npm start`): every
 * child runs with them, so the figures are those of askpanda as it is started.
 */
function productNodeFlags(root: string): string[] {
  const shebang = readFileSync(path.join(root, 'bin', 'askpanda.js'), 'utf8').split('\n', 1)[0]!;
  return shebang
    .replace(/^#!\S*env(?: -S)? node\s*/, '')
    .split(/\s+/)
    .filter(Boolean);
}

const DIAG = 'Payload exceeded maximum allowed memory:maxPSS=6291456 kB > 4194304 kB';
const CAUSE = formatPilotLine(new Date('2025-09-08T14:50:33.123Z'), {
  level: 'WARNING',
  thread: 'job_monitor',
  logger: 'pilot.user.atlas.memory',
  fn: 'memory_usage',
  message: 'job has exceeded the memory limit 6291456 kB > 4194304 kB (subresource=SCORE, corecount=1)',
});

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

/** Issue 20's goals: the scan takes at most this multiple of `grep -n`'s time on the same 1 GiB log. */
const TIME_RATIO_GOAL = { local: 1.0, http: 1.2 };

const scanOptions = {
  contextBefore: 40,
  contextAfter: 10,
  maxLineChars: 2000,
  maxMatches: 200,
  tailLines: 200,
  maxBytes: 8 * 1024 ** 3,
};

/** Resident memory now, and the peak so far, in MiB. */
function rss(): { now: number; peak: number } {
  return { now: process.memoryUsage().rss / 1024 / 1024, peak: process.resourceUsage().maxRSS / 1024 };
}

async function child(file: string): Promise<void> {
  const { LogScanner } = await import('../src/panda/log-scan.ts');
  const baseMiB = rss().peak;
  const started = performance.now();
  // One reused read buffer: the scanner turns each chunk into text before push() returns
  // (chunks of at least 64 KiB), so nothing keeps a reference to it. 1 MiB reads: with 64 KiB ones a
  // quarter of the time went to 16,000 read calls per GiB (grep reads in large blocks too).
  const chunk = Buffer.allocUnsafe(Number(process.env.BENCH_CHUNK_KIB ?? 1024) * 1024);
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
  process.stdout.write(
    JSON.stringify({
      ms,
      rssMiB: rss().peak,
      baseMiB,
      line: result.best?.match.line,
      lines: result.lines,
      matches: result.totalMatches,
    }) + '\n',
  );
}

/** The same extraction through the client: file browser listing, 301 redirect, streamed body. */
async function childHttp(url: string): Promise<void> {
  const { loadConfig } = await import('../src/load-config.ts');
  const { createPandaClient } = await import('../src/panda/client.ts');
  const config = loadConfig({ env: { PANDA_MONITOR_URL: url } });
  const client = createPandaClient(config);
  const baseMiB = rss().peak;
  const started = performance.now();
  const outcome = await client.scanLogFile(
    BENCH_JOB,
    'pilotlog.txt',
    { ...scanOptions, patterns: patterns() },
    'bench',
  );
  const ms = performance.now() - started;
  const result = outcome.status === 'scanned' ? outcome.result : undefined;
  process.stdout.write(
    JSON.stringify({
      ms,
      rssMiB: rss().peak,
      baseMiB,
      line: result?.best?.match.line,
      lines: result?.lines,
      matches: result?.totalMatches,
    }) + '\n',
  );
}

const BENCH_JOB = 6800730401;

async function serveFile(file: string, bytes: number) {
  const { startMonitorServer } = await import('../src/panda/demo/monitor-server.ts');
  const job = {
    pandaid: BENCH_JOB,
    jobstatus: 'failed',
    computingsite: 'BNL_PROD_MCORE',
    piloterrorcode: 1235,
    piloterrordiag: DIAG,
  };
  return startMonitorServer({
    jobs: new Map([
      [
        BENCH_JOB,
        {
          job,
          files: [],
          logs: {
            'pilotlog.txt': {
              size: bytes,
              content: () => createReadStream(file, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>,
            },
          },
        },
      ],
    ]),
    tasks: new Map(),
  });
}

async function generate(file: string, mib: number): Promise<void> {
  const { noiseLines } = await import('../src/panda/demo/pilot-log.ts');
  // A 8 MiB block of realistic noise written repeatedly, then the cause and a short tail.
  const block = [...noiseLines(60_000, new Date('2025-09-08T05:00:00Z'), 7)].join('');
  const blockBuf = Buffer.from(block.slice(0, block.lastIndexOf('\n', 1024 * 1024) + 1));
  const fd = openSync(file, 'w');
  let written = 0;
  while (written + blockBuf.length <= mib * 1024 * 1024 - 64 * 1024) written += writeSync(fd, blockBuf);
  writeSync(fd, CAUSE + '\n' + [...noiseLines(200, new Date('2025-09-08T14:50:34Z'), 9)].join(''));
  closeSync(fd);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function requestsPerQuestion(): Promise<void> {
  const { loadConfig } = await import('../src/load-config.ts');
  const { JobAgent } = await import('../src/agents/job.ts');
  const { OfflineModel } = await import('../src/llm/offline.ts');
  const { createPandaClient } = await import('../src/panda/client.ts');
  const { startDemoMonitor } = await import('../src/panda/demo/server.ts');
  const demo = await startDemoMonitor();
  try {
    const config = loadConfig({ env: {} });
    for (const pandaid of [6800730400, 6802258254, 6798544333]) {
      const client = createPandaClient(config, { baseUrl: demo.url });
      const agent = new JobAgent({ client, config });
      const ctx = (q: string) => ({
        question: q,
        incoming: { platform: 'cli' as const, channel: 'c', thread: 't', user: 'u', text: q, isDirect: true },
        history: [],
        route: { agent: 'job' as const, pandaid, reason: 'bench' },
        model: new OfflineModel(),
        progress: () => undefined,
      });
      await agent.handle(ctx(`Why did job ${pandaid} fail?`));
      const cold = client.stats.requests;
      await agent.handle(ctx('how can I fix it?'));
      const warm = client.stats.requests - cold;
      console.log(
        `monitor requests, job ${pandaid}: cold ${cold}, warm ${warm}   (goal: <= 4 cold, 0 warm) → ${cold <= 4 && warm === 0 ? 'MET' : 'MISSED'}`,
      );
      if (cold > 4 || warm > 0) process.exitCode = 1;
    }
  } finally {
    await demo.close();
  }
}

interface ChildResult {
  ms: number;
  rssMiB: number;
  baseMiB: number;
  line?: number;
  matches?: number;
  lines?: number;
}

/** Runs a child without blocking this process (the loopback monitor serving it lives here). */
function runChild(args: string[], cwd: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { cwd });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('close', (status) =>
      status === 0
        ? resolve(JSON.parse(stdout.trim().split('\n').pop()!) as ChildResult)
        : reject(new Error(`child ${args.join(' ')} failed: ${stderr}`)),
    );
  });
}

/** "peak 91 MiB (base 88 + 3)", medians of the runs. */
function memory(results: ChildResult[]): string {
  const peak = median(results.map((r) => r.rssMiB));
  const base = median(results.map((r) => r.baseMiB));
  const growth = median(results.map((r) => r.rssMiB - r.baseMiB));
  return `peak ${peak.toFixed(0).padStart(3)} MiB (process before reading ${base.toFixed(0)} + growth ${growth.toFixed(0)})`;
}

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_SIZES_MIB ?? '100,1024').split(',').map(Number);
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'askpanda-bench-'));
  const self = fileURLToPath(import.meta.url);
  const root = path.resolve(path.dirname(self), '..');
  const flags = productNodeFlags(root);
  const pattern = grepPattern();
  const peaks: number[] = [];
  const growths: Array<{ mib: number; growth: number }> = [];
  const ratios: Array<{ mib: number; local: number; http: number }> = [];
  try {
    console.log(
      `pattern set (${patterns().length} patterns, pilot error 1235): grep -n -i -E '${pattern.slice(0, 90)}…'`,
    );
    console.log(`children run with the launcher's node flags: ${flags.join(' ') || '(none)'}; medians of ${runs} runs`);
    for (const mib of sizes) {
      const file = path.join(dir, `pilotlog-${mib}MiB.txt`);
      await generate(file, mib);
      const bytes = statSync(file).size;
      const grepMs: number[] = [];
      const local: ChildResult[] = [];
      let grepLine = '';
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        const g = spawnSync('grep', ['-n', '-i', '-E', pattern, file], { maxBuffer: 256 * 1024 * 1024 });
        grepMs.push(performance.now() - t0);
        const out = g.stdout.toString();
        grepLine = out.slice(out.lastIndexOf('\n', out.length - 2) + 1).split(':')[0] ?? '';
        local.push(await runChild([...flags, '--import', 'tsx', self, '--child', file], root));
      }
      const g = median(grepMs);
      const o = median(local.map((r) => r.ms));
      const size = `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
      console.log(`${size.padStart(8)}  grep -n ${g.toFixed(0).padStart(5)} ms   cause at line ${grepLine}`);
      console.log(
        `${''.padStart(8)}  scan in process ${o.toFixed(0).padStart(5)} ms ${(o / g).toFixed(2).padStart(5)}x grep   ${memory(local)}   matches ${String(local.at(-1)?.matches)}, cause at line ${String(local.at(-1)?.line)}`,
      );
      // The product path: the same file served by a loopback monitor (listing, 301, streamed body).
      const server = await serveFile(file, bytes);
      try {
        const http: ChildResult[] = [];
        const plain: ChildResult[] = [];
        for (let i = 0; i < runs; i++)
          http.push(await runChild([...flags, '--import', 'tsx', self, '--child-http', server.url], root));
        // For comparison: the same child with node's default flags (no young-generation cap).
        for (let i = 0; i < runs; i++)
          plain.push(await runChild(['--import', 'tsx', self, '--child-http', server.url], root));
        const h = median(http.map((r) => r.ms));
        console.log(
          `${''.padStart(8)}  scan via HTTP   ${h.toFixed(0).padStart(5)} ms ${(h / g).toFixed(2).padStart(5)}x grep   ${memory(http)}   cause at line ${String(http.at(-1)?.line)}`,
        );
        console.log(
          `${''.padStart(8)}  (via HTTP with node's default flags: ${median(plain.map((r) => r.ms)).toFixed(0)} ms, ${memory(plain)})`,
        );
        peaks.push(median(local.map((r) => r.rssMiB)), median(http.map((r) => r.rssMiB)));
        ratios.push({ mib, local: o / g, http: h / g });
        growths.push({ mib, growth: median(http.map((r) => r.rssMiB - r.baseMiB)) });
      } finally {
        await server.close();
      }
      rmSync(file, { force: true });
    }
    const base = spawnSync(
      process.execPath,
      [...flags, '--import', 'tsx', '-e', 'console.log(process.resourceUsage().maxRSS / 1024)'],
      { encoding: 'utf8' },
    );
    console.log(
      `peak RSS of an empty node ${flags.join(' ')} --import tsx process: ${Number(base.stdout.trim()).toFixed(0)} MiB`,
    );
    const worst = Math.max(...peaks);
    const spread =
      growths.length > 1 ? Math.max(...growths.map((x) => x.growth)) - Math.min(...growths.map((x) => x.growth)) : 0;
    const flat = spread <= 8;
    console.log(
      `goal: peak RSS < 128 MiB, flat with size: worst median peak ${worst.toFixed(0)} MiB, growth over the process baseline ${growths.map((x) => `${x.growth.toFixed(0)} MiB at ${x.mib} MiB`).join(', ')} → ${worst < 128 && flat ? 'MET' : 'MISSED'}`,
    );
    // The time goal is stated for the big log: on a short one the fixed start-up costs of a child
    // process and an HTTP round trip dominate, so smaller sizes are shown but not judged.
    const judged = ratios.reduce((a, b) => (b.mib > a.mib ? b : a));
    const timeMet = judged.local <= TIME_RATIO_GOAL.local && judged.http <= TIME_RATIO_GOAL.http;
    console.log(
      `goal: scan time on the ${judged.mib} MiB log <= ${TIME_RATIO_GOAL.local}x grep in process, <= ${TIME_RATIO_GOAL.http}x via HTTP: in process ${judged.local.toFixed(2)}x (${judged.local <= TIME_RATIO_GOAL.local ? 'MET' : 'MISSED'}), via HTTP ${judged.http.toFixed(2)}x (${judged.http <= TIME_RATIO_GOAL.http ? 'MET' : 'MISSED'}) → ${timeMet ? 'MET' : 'MISSED'}${
        ratios.length > 1
          ? `  (not judged: ${ratios
              .filter((r) => r !== judged)
              .map((r) => `${r.mib} MiB ${r.local.toFixed(2)}x / ${r.http.toFixed(2)}x`)
              .join(', ')})`
          : ''
      }`,
    );
    if (!(worst < 128 && flat) || !timeMet) process.exitCode = 1;
    await requestsPerQuestion();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3]!);
else if (process.argv[2] === '--child-http') await childHttp(process.argv[3]!);
else await main();
