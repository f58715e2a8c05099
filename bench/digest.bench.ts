/**
 * `npm run bench -- digest`: one digest run for 200 watched tasks in 50 channels against a fake
 * BigPanDA (own process) with 50 ms latency per request and 2,000 failed jobs per task in the
 * window. Measures the run's wall time, its monitor requests (/errors/ per task, /tasks/ per 50
 * tasks), the most requests in flight at the monitor, building each channel's message (p95) and
 * the process's peak RSS; medians of BENCH_RUNS runs (default 3), each on a fresh store and client.
 *
 * Baseline, in the same run: one job per subscription (what a cron job per subscription does):
 * each of the 250 subscriptions fetches its own /errors/ and /tasks/ row, nothing shared.
 * Then what this means against BigPanDA's 1,000 requests per hour per client IP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import { loadConfig } from '../src/load-config.ts';
import { PandaClient } from '../src/panda/client.ts';
import { openStore } from '../src/storage/open-store.ts';
import { SubscriptionStore } from '../src/digest/subscription-store.ts';
import { DigestRunner } from '../src/digest/runner.ts';
import type { DigestMessage, DigestPoster, DigestTarget } from '../src/digest/poster.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TASKS = 200;
const CHANNELS = 50;
const FAILED = 2000;
const LATENCY_MS = 50;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FIRST_ID = 47_000_000;
const CREATED = '2025-09-08T08:00:00Z';
const AT = '2025-09-09T08:00:00Z';
const BUDGET_PER_HOUR = 1000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)]!;
const mib = (kb: number) => kb / 1024;
const verdict = (ok: boolean) => (ok ? 'MET' : 'MISSED');

interface MonitorStats {
  inFlightMax: number;
  errors: number;
  tasks: number;
  total: number;
}

async function startMonitor(): Promise<{
  url: string;
  child: ChildProcess;
  ask(message: 'stats' | 'reset'): Promise<MonitorStats>;
}> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(ROOT, 'bench', 'digest-monitor.ts'),
      String(TASKS),
      String(FAILED),
      String(LATENCY_MS),
      String(FIRST_ID),
      '2025-09-08T08:01:00Z',
      '2025-09-09T07:59:00Z',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    child.once('exit', (code) => reject(new Error(`fake monitor exited with ${code}`)));
  });
  const ask = (message: 'stats' | 'reset') =>
    new Promise<MonitorStats>((resolve) => {
      child.once('message', (reply) => resolve(reply as MonitorStats));
      child.send(message);
    });
  return { url, child, ask };
}

/** Channel c watches tasks 4c…4c+3 and the first task of the next channel: 250 subscriptions, 200 tasks. */
function subscriptionsPlan(): Array<{ channel: string; jeditaskid: number }> {
  const plan: Array<{ channel: string; jeditaskid: number }> = [];
  const perChannel = TASKS / CHANNELS;
  for (let c = 0; c < CHANNELS; c++) {
    for (let k = 0; k < perChannel; k++)
      plan.push({ channel: `C0BENCH${c}`, jeditaskid: FIRST_ID + c * perChannel + k });
    plan.push({ channel: `C0BENCH${c}`, jeditaskid: FIRST_ID + ((c + 1) % CHANNELS) * perChannel });
  }
  return plan;
}

class CountingPoster implements DigestPoster {
  posts = 0;
  longest = 0;
  async post(_target: DigestTarget, message: DigestMessage): Promise<{ messageId: string }> {
    this.posts++;
    this.longest = Math.max(this.longest, ...[message.markdown, ...message.details].map((m) => [...m].length));
    return { messageId: `b${this.posts}` };
  }
}

function freshConfig() {
  return loadConfig({
    env: {
      ASKPANDA_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'askpanda-bench-digest-')),
      ASKPANDA_LOG_LEVEL: 'silent',
    },
  });
}

async function digestRun(
  url: string,
): Promise<{ wallMs: number; buildMs: number[]; posts: number; longest: number; dataDir: string }> {
  const config = freshConfig();
  const store = await openStore(config);
  const subs = new SubscriptionStore(store);
  for (const p of subscriptionsPlan()) {
    await subs.add({
      platform: 'slack',
      channel: p.channel,
      jeditaskid: p.jeditaskid,
      schedule: { kind: 'daily', hour: 8, minute: 0 },
      timezone: 'UTC',
      createdBy: 'U0BENCH',
      createdAt: new Date(CREATED).toISOString(),
    });
  }
  const poster = new CountingPoster();
  const runner = new DigestRunner({
    subscriptions: subs,
    client: new PandaClient(config, { baseUrl: url }),
    poster,
    settings: { quiet: 'post', retryMinutes: 5, maxDelayMinutes: 30, claimLeaseMs: 300_000 },
  });
  const start = performance.now();
  const report = await runner.run(new Date(AT));
  const wallMs = performance.now() - start;
  await store.close();
  if (report.posted.length !== CHANNELS) throw new Error(`expected ${CHANNELS} digests, got ${report.posted.length}`);
  return { wallMs, buildMs: report.buildMs, posts: poster.posts, longest: poster.longest, dataDir: config.dataDir };
}

/** The baseline: every subscription fetches its own window and status, nothing shared or batched. */
async function perSubscriptionRun(url: string): Promise<{ wallMs: number }> {
  const config = loadConfig({
    env: {
      ASKPANDA_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'askpanda-bench-digest-')),
      ASKPANDA_MONITOR_METADATA_TTL_SECONDS: '0',
    },
  });
  const window = { after: new Date(CREATED), until: new Date(AT) };
  // Each job has its own client (no shared cache), all under the same cap of requests in flight.
  const limit = pLimit(config.monitor.concurrency);
  const start = performance.now();
  await Promise.all(
    subscriptionsPlan().map((p) => {
      const client = new PandaClient(config, { baseUrl: url });
      return Promise.all([
        limit(() => client.taskErrorsInWindow(p.jeditaskid, window)),
        limit(() => client.tasksWithJobCounts([p.jeditaskid])),
      ]);
    }),
  );
  const wallMs = performance.now() - start;
  rmSync(config.dataDir, { recursive: true, force: true });
  return { wallMs };
}

const monitor = await startMonitor();
const rssBefore = mib(process.resourceUsage().maxRSS);
const runs: Array<Awaited<ReturnType<typeof digestRun>> & MonitorStats> = [];
for (let i = 0; i < RUNS; i++) {
  await monitor.ask('reset');
  const run = await digestRun(monitor.url);
  runs.push({ ...run, ...(await monitor.ask('stats')) });
  rmSync(run.dataDir, { recursive: true, force: true });
}
const peakRss = mib(process.resourceUsage().maxRSS);
const baselines: Array<{ wallMs: number } & MonitorStats> = [];
for (let i = 0; i < RUNS; i++) {
  await monitor.ask('reset');
  const run = await perSubscriptionRun(monitor.url);
  baselines.push({ ...run, ...(await monitor.ask('stats')) });
}
monitor.child.send('exit');

const subsCount = subscriptionsPlan().length;
const wall = median(runs.map((r) => r.wallMs));
const errorsReq = median(runs.map((r) => r.errors));
const tasksReq = median(runs.map((r) => r.tasks));
const inFlight = Math.max(...runs.map((r) => r.inFlightMax));
const build95 = median(runs.map((r) => p95(r.buildMs)));
const baseWall = median(baselines.map((r) => r.wallMs));
const baseErrors = median(baselines.map((r) => r.errors));
const baseTasks = median(baselines.map((r) => r.tasks));
const baseInFlight = Math.max(...baselines.map((r) => r.inFlightMax));

const row = (cells: string[]) => console.log(cells.map((c, i) => c.padEnd([26, 22, 26, 20][i] ?? 10)).join(''));
console.log(
  `digest run: ${TASKS} tasks, ${subsCount} subscriptions in ${CHANNELS} channels, ${FAILED.toLocaleString('en-US')} failed jobs per task in the window, fake monitor latency ${LATENCY_MS} ms; medians of ${RUNS} runs\n`,
);
row(['', 'askpanda', 'baseline: job per sub', 'goal']);
row([
  'run wall time',
  `${(wall / 1000).toFixed(2)} s`,
  `${(baseWall / 1000).toFixed(2)} s`,
  '≤ 10 s',
  verdict(wall <= 10_000),
]);
row([
  '/errors/ requests',
  `${errorsReq} (${(errorsReq / TASKS).toFixed(2)} per task)`,
  `${baseErrors}`,
  '≤ 1 per task',
  verdict(errorsReq <= TASKS),
]);
row([
  '/tasks/ requests',
  `${tasksReq} (${TASKS / 50} allowed)`,
  `${baseTasks}`,
  '≤ 1 per 50 tasks',
  verdict(tasksReq <= Math.ceil(TASKS / 50)),
]);
row(['requests in flight, max', `${inFlight}`, `${baseInFlight}`, '≤ 8', verdict(inFlight <= 8)]);
row(['build per channel, p95', `${build95.toFixed(2)} ms`, '', '≤ 50 ms', verdict(build95 <= 50)]);
row(['peak RSS', `${peakRss.toFixed(0)} MiB`, '', `(${rssBefore.toFixed(0)} MiB before the first run)`]);
console.log(
  `\nposts: ${runs[0]!.posts} (one per channel); longest message or thread reply ${runs[0]!.longest} code points (limit 3,000)`,
);

// The arithmetic against BigPanDA's per-IP budget. One run costs T /errors/ + ceil(T/50) /tasks/
// requests for the T tasks due in it; a retry after a monitor failure costs at most 3 requests
// before the run stops asking (DigestData's breaker), so retries do not multiply this.
const perRun = (t: number) => t + Math.ceil(t / 50);
const maxTasks = (budget: number) => {
  let t = 0;
  while (perRun(t + 1) <= budget) t++;
  return t;
};
console.log(
  `\nAgainst BigPanDA's ${BUDGET_PER_HOUR.toLocaleString('en-US')} requests/hour per client IP (one replica, or all replicas behind one IP):`,
);
console.log(
  `- one run for T due tasks costs T + ceil(T/50) requests: ${TASKS} tasks = ${perRun(TASKS)} requests; measured ${errorsReq + tasksReq}.`,
);
console.log(
  `- tasks due in the same hour (daily at one time, or every Nh, in one zone): at most ${maxTasks(BUDGET_PER_HOUR)} with the whole budget, ${maxTasks(BUDGET_PER_HOUR / 2)} leaving half of it for questions (a job question costs ≤ 4 requests, a task question 3).`,
);
console.log(
  `- so: every 1h or every 6h, ${maxTasks(BUDGET_PER_HOUR / 2)} tasks (all of them run in the same hours); daily, ${maxTasks(BUDGET_PER_HOUR / 2)} per time of day, up to ${(maxTasks(BUDGET_PER_HOUR / 2) * 24).toLocaleString('en-US')} a day if the times (or zones) spread over the 24 hours.`,
);
console.log(
  `- the baseline spends ${baseErrors + baseTasks} requests on these ${subsCount} subscriptions (${((baseErrors + baseTasks) / subsCount).toFixed(1)} each): ${Math.floor(BUDGET_PER_HOUR / 2 / ((baseErrors + baseTasks) / subsCount))} subscriptions per hour at half the budget, against ${Math.floor((maxTasks(BUDGET_PER_HOUR / 2) * subsCount) / TASKS)} here (${subsCount / TASKS} subscriptions per task as in this run).`,
);
