/**
 * CRIC queue snapshot: loading and indexing a 1,000-queue dump (time, peak RSS) and answering a
 * list question (p99), next to the cost of one monitor request.
 *
 *   npm run bench -- queues            (BENCH_RUNS=5 BENCH_QUEUES=1000 BENCH_ANSWERS=2000 to change)
 *
 * The dump is 1,000 real CRIC records (the demo's reference snapshot, copied under new names) in
 * CRIC's shape, served by the loopback fake CRIC. Each load runs in its own child process with
 * the launcher's node flags, so its peak RSS is its own: over HTTP from CRIC (what a process does
 * when no snapshot is stored), from ASKPANDA_CRIC_FILE, and from the store (what a later `ask`
 * process does within the TTL). Answers run the queue agent and the renderer on the loaded
 * snapshot, offline. Baseline: one job request to the (loopback) demo monitor through the BigPanDA
 * client, cache cold; a real BigPanDA request takes hundreds of ms more. Goals: load ≤ 200 ms,
 * a list answer ≤ 5 ms p99. Figures are medians of BENCH_RUNS runs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const QUEUES = Number(process.env.BENCH_QUEUES ?? 1000);
const ANSWERS = Number(process.env.BENCH_ANSWERS ?? 2000);
const LOAD_GOAL_MS = 200;
const ANSWER_GOAL_MS = 5;

interface LoadResult {
  ms: number;
  /** CPU time of the load (user + system): less sensitive than wall time to other work on the machine. */
  cpuMs: number;
  rssMiB: number;
  baseMiB: number;
  queues: number;
}
interface AnswerResult {
  p50: Record<string, number>;
  p99: Record<string, number>;
  rssMiB: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const peakMiB = () => process.resourceUsage().maxRSS / 1024;

/** Node flags of the product launcher (bin/askpanda.js's shebang), so children run as askpanda does. */
function productNodeFlags(): string[] {
  const shebang = readFileSync(path.join(ROOT, 'bin', 'askpanda.js'), 'utf8').split('\n', 1)[0]!;
  return shebang
    .replace(/^#!\S*env(?: -S)? node\s*/, '')
    .split(/\s+/)
    .filter(Boolean);
}

const QUESTIONS: Record<string, string> = {
  'list by status': 'which queues are brokeroff?',
  'list by cloud and status': 'which queues in cloud DE are online?',
  'one queue': 'what is the maxtime for queue AGLT2?',
  'counts per status': 'how many queues per status?',
};

async function child(mode: string, arg: string): Promise<void> {
  const { loadConfig } = await import('../src/load-config.ts');
  const { CricClient } = await import('../src/panda/cric-client.ts');
  const { openStore } = await import('../src/storage/open-store.ts');
  const env: Record<string, string> = {
    ASKPANDA_LOG_LEVEL: 'silent',
    ASKPANDA_DATA_DIR: process.env.BENCH_DATA_DIR ?? mkdtempSync(path.join(tmpdir(), 'askpanda-bench-')),
  };
  if (mode === 'load-file') env.ASKPANDA_CRIC_FILE = arg;
  else env.CRIC_URL = arg;
  const config = loadConfig({ env });
  const store = mode === 'load-http' ? undefined : await openStore(config);
  const client = new CricClient(config, { persistent: store?.ns('cache') });
  if (mode === 'answer') {
    const { QueueAgent } = await import('../src/agents/queue.ts');
    const { OfflineModel } = await import('../src/llm/offline.ts');
    const { toAnswer } = await import('../src/bot/render.ts');
    await client.queues();
    const agent = new QueueAgent({
      cric: client,
      monitorPublicUrl: 'https://bigpanda.cern.ch',
      health: { pandaServerUrl: 'http://127.0.0.1:9', monitorUrl: 'http://127.0.0.1:9', timeoutMs: 100, slowMs: 50 },
    });
    const model = new OfflineModel();
    const p50: Record<string, number> = {};
    const p99: Record<string, number> = {};
    for (const [label, question] of Object.entries(QUESTIONS)) {
      const times: number[] = [];
      for (let i = 0; i < ANSWERS + 50; i++) {
        const started = performance.now();
        const draft = await agent.handle({
          question,
          incoming: { platform: 'cli', channel: 'c', thread: 't', user: 'u', text: question, isDirect: true },
          history: [],
          route: { agent: 'queue', reason: 'bench' },
          model,
          progress: () => undefined,
        });
        toAnswer(draft);
        if (i >= 50) times.push(performance.now() - started); // the first 50 warm the JIT
      }
      p50[label] = percentile(times, 50);
      p99[label] = percentile(times, 99);
    }
    process.stdout.write(JSON.stringify({ p50, p99, rssMiB: peakMiB() } satisfies AnswerResult) + '\n');
  } else {
    const baseMiB = peakMiB();
    const cpu = process.cpuUsage();
    const started = performance.now();
    const { index } = await client.queues();
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    process.stdout.write(
      JSON.stringify({
        ms,
        cpuMs: (used.user + used.system) / 1000,
        rssMiB: peakMiB(),
        baseMiB,
        queues: index.size,
      } satisfies LoadResult) + '\n',
    );
  }
  await store?.close();
}

function runChild<T>(mode: string, arg: string, dataDir?: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [...productNodeFlags(), '--import', 'tsx', path.join(ROOT, 'bench', 'queues.bench.ts'), '--child', mode, arg],
      {
        cwd: ROOT,
        env: { ...process.env, ...(dataDir ? { BENCH_DATA_DIR: dataDir } : {}) },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
    proc.on('close', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as T)
        : reject(new Error(`child ${mode} exited ${code}`)),
    );
  });
}

async function main(): Promise<void> {
  const { startFakeCric, syntheticQueueDump } = await import('../test/fakes/cric.ts');
  const { startDemoMonitor } = await import('../src/panda/demo/server.ts');
  const { createPandaClient } = await import('../src/panda/client.ts');
  const { loadConfig } = await import('../src/load-config.ts');
  const { DEMO_MEMORY_JOB } = await import('../src/panda/demo/data.ts');

  const dir = mkdtempSync(path.join(tmpdir(), 'askpanda-bench-queues-'));
  const dump = syntheticQueueDump(QUEUES);
  const file = path.join(dir, 'queues.json');
  writeFileSync(file, JSON.stringify(dump));
  const cric = await startFakeCric({ queues: dump });
  const demo = await startDemoMonitor();
  try {
    const bytes = Buffer.byteLength(JSON.stringify(dump));
    console.log(
      `dump: ${QUEUES} queues in CRIC's shape, ${(bytes / 1024 / 1024).toFixed(1)} MiB; children run with ${productNodeFlags().join(' ') || 'no extra flags'}; medians of ${RUNS} runs; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} on ${cpus().length} cores`,
    );

    // Baseline: one monitor request (job JSON), cold cache, over loopback.
    const config = loadConfig({ env: { ASKPANDA_LOG_LEVEL: 'silent' } });
    const monitorMs: number[] = [];
    for (let i = 0; i < 20; i++) {
      const client = createPandaClient(config, { baseUrl: demo.url });
      const started = performance.now();
      await client.job(DEMO_MEMORY_JOB);
      monitorMs.push(performance.now() - started);
    }
    const monitor = median(monitorMs.slice(5));
    console.log(
      `baseline: one monitor request (job ${DEMO_MEMORY_JOB} JSON from the loopback demo monitor, cold cache): ${monitor.toFixed(1)} ms`,
    );

    const loads: Record<string, LoadResult[]> = {
      'over HTTP from CRIC': [],
      'from ASKPANDA_CRIC_FILE': [],
      'from the store (a later process)': [],
    };
    for (let run = 0; run < RUNS; run++) {
      loads['over HTTP from CRIC']!.push(await runChild<LoadResult>('load-http', cric.url));
      loads['from ASKPANDA_CRIC_FILE']!.push(await runChild<LoadResult>('load-file', file));
      // One process fetches and stores; the next one (measured) reads the stored snapshot.
      const storeDir = mkdtempSync(path.join(dir, 'store-'));
      await runChild<LoadResult>('load-store', cric.url, storeDir);
      const before = cric.count();
      const fromStore = await runChild<LoadResult>('load-store', cric.url, storeDir);
      if (cric.count() !== before)
        throw new Error('the second process asked CRIC instead of using the stored snapshot');
      loads['from the store (a later process)']!.push(fromStore);
    }
    let worstLoad = 0;
    for (const [label, results] of Object.entries(loads)) {
      const ms = median(results.map((r) => r.ms));
      const cpuMs = median(results.map((r) => r.cpuMs));
      worstLoad = Math.max(worstLoad, ms);
      const peak = median(results.map((r) => r.rssMiB));
      const growth = median(results.map((r) => r.rssMiB - r.baseMiB));
      console.log(
        `load + index ${label.padEnd(34)} ${ms.toFixed(0).padStart(5)} ms (cpu ${cpuMs.toFixed(0).padStart(3)} ms, ${(ms / monitor).toFixed(1)}x one monitor request)   peak RSS ${peak.toFixed(0)} MiB (base ${(peak - growth).toFixed(0)} + ${growth.toFixed(0)})   ${results[0]!.queues} queues`,
      );
    }
    console.log(
      `goal: load ≤ ${LOAD_GOAL_MS} ms: worst median ${worstLoad.toFixed(0)} ms → ${worstLoad <= LOAD_GOAL_MS ? 'MET' : 'MISSED'}`,
    );

    const answers: AnswerResult[] = [];
    for (let run = 0; run < RUNS; run++) answers.push(await runChild<AnswerResult>('answer', cric.url));
    for (const label of Object.keys(QUESTIONS)) {
      const p50 = median(answers.map((a) => a.p50[label]!));
      const p99 = median(answers.map((a) => a.p99[label]!));
      console.log(
        `answer "${QUESTIONS[label]}" (${label})${''.padEnd(Math.max(0, 44 - QUESTIONS[label]!.length - label.length))} p50 ${p50.toFixed(2)} ms  p99 ${p99.toFixed(2)} ms  (${(p99 / monitor).toFixed(2)}x one monitor request)`,
      );
    }
    // The worse of the two list questions decides.
    const listP99 = Math.max(
      ...['list by status', 'list by cloud and status'].map((label) => median(answers.map((a) => a.p99[label]!))),
    );
    console.log(
      `goal: a list answer ≤ ${ANSWER_GOAL_MS} ms p99 (${ANSWERS} answers per run, ${QUEUES} queues; the worse list question): ${listP99.toFixed(2)} ms → ${listP99 <= ANSWER_GOAL_MS ? 'MET' : 'MISSED'}`,
    );
  } finally {
    await cric.close();
    await demo.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const at = process.argv.indexOf('--child');
if (at >= 0) await child(process.argv[at + 1]!, process.argv[at + 2]!);
else await main();
