/**
 * `npm run bench -- replicas`: several `askpanda serve` replicas sharing one Redis, against one
 * replica, in the same run.
 *
 * 1. Slack (Socket Mode): each replica holds its own connection and Slack hands every event to one
 *    of them (round robin here); every tenth mention is also re-delivered to another replica, as
 *    Slack does after a missed ack, so claims are exercised. Mattermost: every replica's websocket
 *    receives every post (one bot account); the store's claim decides who answers.
 *    Mentions at rising rates (3 s each), each from its own person in one of 1,000 channels; a rate
 *    is sustained when every mention got exactly one answer and the backlog cleared within a second.
 *    Reported: the highest sustained rate, the answer latency p50/p99 at that rate, lost and duplicate
 *    answers. Goal: two replicas sustain ≥ 1.6× one replica's rate, with 0 lost and 0 duplicates.
 *    The fakes answer instantly; replicas, fakes and this process share the machine's cores.
 * 2. Start-up: `askpanda ask --json` on demo data, compiled (npm run build) against the TypeScript
 *    sources through tsx, median of 5 each.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  APP_TOKEN,
  BOT_TOKEN as SLACK_TOKEN,
  BOT_USER_ID,
  FakeSlack,
  eventCallback,
  mentionEvent,
  type ApiCall,
} from '../test/fakes/slack-api.ts';
import { BOT_TOKEN as MM_TOKEN, FakeMattermost, type FakePost } from '../test/fakes/mattermost.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Steps of 100/s through the range where one replica tops out on two cores: a ratio needs that resolution.
const RATES = [50, 100, 200, 300, 400, 500, 600, 700, 800, 1000, 1200, 1600, 2400];
const RATE_SECONDS = 3;
const CHANNELS = 1000;
const GOAL = 1.6;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
const work = mkdtempSync(path.join(tmpdir(), 'askpanda-bench-replicas-'));
const children: ChildProcess[] = [];
const unlimited = {
  ASKPANDA_LIMITS_PER_USER_IN_FLIGHT: '100000',
  ASKPANDA_LIMITS_PER_USER_PER_MINUTE: '100000',
  ASKPANDA_LIMITS_PER_MINUTE: '1000000',
  ASKPANDA_LIMITS_MAX_QUEUED: '100000',
};

function serve(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--max-semi-space-size=2', 'bin/askpanda.js', 'serve'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ASKPANDA_DEMO: '1',
      ASKPANDA_LOG_LEVEL: 'warn',
      ASKPANDA_PORT: '0',
      ASKPANDA_DATA_DIR: mkdtempSync(path.join(work, 'data-')),
      ...unlimited,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  child.stderr!.on('data', (d: Buffer) => void (process.env.BENCH_DEBUG && process.stderr.write(d)));
  return child;
}
/** Waits until the replicas are connected; one that exits first (a bad setting) fails the bench. */
async function connected(list: ChildProcess[], ready: () => boolean): Promise<void> {
  const started = Date.now();
  while (!ready()) {
    if (list.some((c) => c.exitCode !== null))
      throw new Error('a replica exited before it connected (run with BENCH_DEBUG=1 to see why)');
    if (Date.now() - started > 60_000) throw new Error('replicas did not connect within 60 s');
    await sleep(20);
  }
}
async function stopAll(list: ChildProcess[]): Promise<void> {
  for (const child of list) child.kill('SIGTERM');
  await Promise.all(
    list.map((c) => new Promise((resolve) => (c.exitCode !== null ? resolve(null) : c.once('exit', resolve)))),
  );
}

interface Target {
  /** Sends mention i; returns the key its answer is recorded under. */
  send(i: number, redeliver: boolean): string;
  answers: Map<string, number>;
  answeredAt: Map<string, number>;
}

async function sustained(
  target: Target,
  rate: number,
): Promise<{ lost: number; duplicates: number; lagMs: number; p50: number; p99: number }> {
  const total = rate * RATE_SECONDS;
  const sentAt = new Map<string, number>();
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const now = performance.now();
    if (due > now + 1) await sleep(due - now);
    const t = performance.now();
    sentAt.set(target.send(i, i % 10 === 0), t);
  }
  const lastSent = performance.now();
  const deadline = lastSent + 10_000;
  while (performance.now() < deadline && [...sentAt.keys()].some((k) => !target.answeredAt.has(k))) await sleep(20);
  await sleep(300);
  let lost = 0;
  let duplicates = 0;
  let lastAnswer = lastSent;
  const latencies: number[] = [];
  for (const [key, at] of sentAt) {
    const n = target.answers.get(key) ?? 0;
    if (n === 0) lost++;
    if (n > 1) duplicates += n - 1;
    const done = target.answeredAt.get(key);
    if (done !== undefined) {
      lastAnswer = Math.max(lastAnswer, done);
      latencies.push(done - at);
    }
  }
  latencies.sort((a, b) => a - b);
  return {
    lost,
    duplicates,
    lagMs: lastAnswer - lastSent,
    p50: latencies.length ? quantile(latencies, 0.5) : NaN,
    p99: latencies.length ? quantile(latencies, 0.99) : NaN,
  };
}

interface Result {
  best: number;
  at?: { p50: number; p99: number };
  lost: number;
  duplicates: number;
  rows: string[];
}
async function ramp(label: string, target: Target): Promise<Result> {
  const result: Result = { best: 0, lost: 0, duplicates: 0, rows: [] };
  for (const rate of RATES) {
    let r = await sustained(target, rate);
    let ok = r.lost === 0 && r.duplicates === 0 && r.lagMs <= 1000;
    if (!ok && r.lost === 0 && r.duplicates === 0) {
      await sleep(1000);
      r = await sustained(target, rate);
      ok = r.lost === 0 && r.duplicates === 0 && r.lagMs <= 1000;
    }
    result.lost += r.lost;
    result.duplicates += r.duplicates;
    result.rows.push(
      `  ${label.padEnd(24)} ${String(rate).padStart(5)}/s  lost ${r.lost}  duplicate ${r.duplicates}  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(0)} ms  backlog cleared ${(Math.max(0, r.lagMs) / 1000).toFixed(2)} s after the last  ${ok ? 'ok' : 'NOT sustained'}`,
    );
    if (!ok) break;
    result.best = rate;
    result.at = { p50: r.p50, p99: r.p99 };
    await sleep(300);
  }
  return result;
}

let runSeq = 0;
let mentionSeq = 0;
const runBase = Math.floor(Date.now() / 1000);

async function slackRun(replicas: number): Promise<Result> {
  const fake = await FakeSlack.start();
  const answers = new Map<string, number>();
  const answeredAt = new Map<string, number>();
  fake.on('call', (call: ApiCall) => {
    const ts = call.args.thread_ts;
    if (call.method !== 'chat.postMessage' || typeof ts !== 'string') return;
    const blocks = Array.isArray(call.args.blocks) ? (call.args.blocks as Array<{ block_id?: string }>) : [];
    if (blocks.some((b) => b.block_id === 'askpanda_feedback')) {
      answers.set(ts, (answers.get(ts) ?? 0) + 1);
      if (!answeredAt.has(ts)) answeredAt.set(ts, performance.now());
    }
  });
  const redis = `redis://127.0.0.1:6379/12`;
  const started = Array.from({ length: replicas }, () =>
    serve({
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_APP_TOKEN: APP_TOKEN,
      SLACK_API_URL: fake.apiUrl,
      ASKPANDA_STORE: redis,
    }),
  );
  await connected(started, () => fake.socketCount >= replicas);
  const run = ++runSeq;
  const target: Target = {
    answers,
    answeredAt,
    send(i, redeliver) {
      // Unique over the whole ramp (i starts again at 0 for every rate).
      const n = ++mentionSeq;
      const ts = `${runBase + run}.${String(n).padStart(6, '0')}`;
      const channel = `C07REPL${String(i % CHANNELS).padStart(4, '0')}`;
      const payload = eventCallback(
        mentionEvent(
          channel,
          `U05P${String(i % CHANNELS).padStart(4, '0')}`,
          `<@${BOT_USER_ID}> why did job 6802258254 fail?`,
          ts,
        ),
        `Ev0R${run}x${n}`,
      );
      void fake.sendEnvelope('events_api', payload, { socketIndex: i % replicas }).catch(() => undefined);
      if (redeliver && replicas > 1)
        void fake
          .sendEnvelope('events_api', payload, { socketIndex: (i + 1) % replicas, retryAttempt: 1 })
          .catch(() => undefined);
      return ts;
    },
  };
  const result = await ramp(`Slack, ${replicas} replica${replicas > 1 ? 's' : ''}`, target);
  await stopAll(started);
  await fake.close();
  return result;
}

async function mattermostRun(replicas: number): Promise<Result> {
  const fake = await FakeMattermost.start();
  const people = Array.from({ length: CHANNELS }, (_, i) => fake.addUser({ username: `physicist${i}` }));
  const channels = people.map((person, i) =>
    fake.addChannel({ name: `replicas-${i}`, members: [person], withBot: true }),
  );
  const answers = new Map<string, number>();
  const answeredAt = new Map<string, number>();
  fake.on('post', (post: FakePost) => {
    if (
      !post.root_id ||
      post.props.from_bot !== 'true' ||
      !JSON.stringify(post.props.attachments ?? '').includes('feedbackup')
    )
      return;
    answers.set(post.root_id, (answers.get(post.root_id) ?? 0) + 1);
    if (!answeredAt.has(post.root_id)) answeredAt.set(post.root_id, performance.now());
  });
  const hellos = fake.hellos.length;
  const started = Array.from({ length: replicas }, () =>
    serve({ MATTERMOST_URL: fake.url, MATTERMOST_TOKEN: MM_TOKEN, ASKPANDA_STORE: 'redis://127.0.0.1:6379/12' }),
  );
  await connected(started, () => fake.hellos.length >= hellos + replicas);
  const target: Target = {
    answers,
    answeredAt,
    send(i) {
      return fake.userPosts(people[i % CHANNELS]!, channels[i % CHANNELS]!, '@askpanda why did job 6802258254 fail?')
        .id;
    },
  };
  const result = await ramp(`Mattermost, ${replicas} replica${replicas > 1 ? 's' : ''}`, target);
  await stopAll(started);
  await fake.close();
  return result;
}

console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}, ${cpus().length} cores`,
);
const slack = { one: await slackRun(1), two: await slackRun(2) };
const mattermost = { one: await mattermostRun(1), two: await mattermostRun(2) };
console.log(
  '1. Replicas on one Redis: highest sustained mentions/second (every answer once, backlog cleared within 1 s)',
);
for (const r of [slack.one, slack.two, mattermost.one, mattermost.two]) for (const row of r.rows) console.log(row);
for (const [name, pair] of [
  ['Slack', slack],
  ['Mattermost', mattermost],
] as const) {
  const ratio = pair.one.best ? pair.two.best / pair.one.best : 0;
  const clean = pair.two.lost === 0 && pair.two.duplicates === 0 && pair.one.duplicates === 0;
  console.log(
    `  ${name}: one replica ${pair.one.best}/s (p50 ${pair.one.at?.p50.toFixed(1)} ms, p99 ${pair.one.at?.p99.toFixed(0)} ms), two replicas ${pair.two.best}/s (p50 ${pair.two.at?.p50.toFixed(1)} ms, p99 ${pair.two.at?.p99.toFixed(0)} ms): ${ratio.toFixed(2)}×; duplicates ${pair.one.duplicates + pair.two.duplicates}`,
  );
  console.log(
    `  goal: two replicas ≥ ${GOAL}× one replica's rate, 0 lost at sustained rates, 0 duplicates → ${ratio >= GOAL && clean ? 'MET' : 'MISSED'}${RATES.at(-1) === pair.two.best ? ` (${RATES.at(-1)}/s is the highest rate tried)` : ''}`,
  );
}

// 2. Start-up of a one-shot question, compiled against the sources.
const installed = path.join(work, 'installed');
mkdirSync(path.join(installed, 'bin'), { recursive: true });
spawnSync(process.execPath, [path.join(ROOT, 'bin/build.js'), path.join(installed, 'dist')], {
  cwd: ROOT,
  stdio: 'ignore',
});
copyFileSync(path.join(ROOT, 'bin/askpanda.js'), path.join(installed, 'bin/askpanda.js'));
copyFileSync(path.join(ROOT, 'package.json'), path.join(installed, 'package.json'));
symlinkSync(path.join(ROOT, 'config'), path.join(installed, 'config'));
symlinkSync(path.join(ROOT, 'node_modules'), path.join(installed, 'node_modules'));
function timeAsk(bin: string): number {
  const started = performance.now();
  const run = spawnSync(
    process.execPath,
    ['--max-semi-space-size=2', bin, 'ask', '--json', 'why did job 6802258254 fail?'],
    {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        ASKPANDA_DEMO: '1',
        ASKPANDA_DATA_DIR: mkdtempSync(path.join(work, 'ask-')),
      },
      stdio: 'ignore',
    },
  );
  if (run.status !== 0) throw new Error(`ask failed with ${run.status}`);
  return performance.now() - started;
}
const compiled: number[] = [];
const sources: number[] = [];
timeAsk(path.join(installed, 'bin/askpanda.js'));
timeAsk(path.join(ROOT, 'bin/askpanda.js'));
for (let i = 0; i < 5; i++) {
  compiled.push(timeAsk(path.join(installed, 'bin/askpanda.js')));
  sources.push(timeAsk(path.join(ROOT, 'bin/askpanda.js')));
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log('2. `askpanda ask --json "why did job 6802258254 fail?"` on demo data, wall time, median of 5');
console.log(
  `  compiled (dist/): ${(med(compiled) / 1000).toFixed(2)} s   sources through tsx (before): ${(med(sources) / 1000).toFixed(2)} s   → ${(med(sources) / med(compiled)).toFixed(2)}× faster`,
);
rmSync(work, { recursive: true, force: true });
process.exit(0);
