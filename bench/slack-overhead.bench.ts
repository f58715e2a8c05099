/**
 * `npm run bench -- slack`: what askpanda adds between a Slack mention and its reply, against a bare
 * Bolt app that only echoes. Each app runs in its own process, as deployed (`askpanda serve` with
 * SLACK_APP_TOKEN; `bench/slack-echo-app.ts`), over Socket Mode to the same loopback fake Slack,
 * which runs here and sends the mentions.
 *
 * 1. Latency: one mention at a time, the apps taking turns; from the envelope leaving the fake to
 *    the fake receiving the reply's chat.postMessage. Each mention is in its own channel: the
 *    one-post-per-second-per-channel pacing is Slack's rule, not overhead. Median and p99.
 * 2. Throughput: mentions at a fixed rate over 1,000 channels; askpanda also gets every tenth one
 *    again as a Slack retry. A rate is sustained when every mention got exactly one answer and the
 *    backlog cleared within a second of the last mention (a rate that misses only the second gets one
 *    more try: the machine is shared). Lost or duplicate answers fail a rate at once.
 *
 * askpanda runs its whole pipeline: dedupe claim in the store, thread history, selection, the job
 * agent against the embedded demo monitor (in-process, instant), the offline model, Block Kit.
 * It runs twice: with the default SQLite store and with Redis (the several-replica setup).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  APP_TOKEN,
  BOT_TOKEN,
  BOT_USER_ID,
  FakeSlack,
  eventCallback,
  mentionEvent,
  type ApiCall,
} from '../test/fakes/slack-api.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LATENCY_SAMPLES = Number(process.env.BENCH_SAMPLES ?? 400);
const WARMUP = 50;
const RATE_SECONDS = 3;
const RATES = [25, 50, 100, 200, 400, 800, 1600];
const CHANNELS = 1000;
const QUESTION = `<@${BOT_USER_ID}> why did job 6802258254 fail?`;
const REDIS_URL = 'redis://127.0.0.1:6379/13';

interface Contender {
  name: string;
  retries: boolean;
  socket: number;
  child: ChildProcess;
}

const fake = await FakeSlack.start();
const dataDir = mkdtempSync(path.join(tmpdir(), 'askpanda-bench-slack-'));
const children: ChildProcess[] = [];

// Replies arrive as chat.postMessage calls, matched to their mention by thread_ts. The last message
// of an askpanda answer carries the feedback buttons; an echo is one message.
const firstReply = new Map<string, number>();
const answers = new Map<string, number>();
const answeredAt = new Map<string, number>();
const waiting = new Map<string, () => void>();
// A "busy, try again" notice is back-pressure doing its job: counted apart from a mention left unanswered.
const busy = new Set<string>();
fake.on('call', (call: ApiCall) => {
  const ts = call.args.thread_ts;
  if (call.method !== 'chat.postMessage' || typeof ts !== 'string') return;
  if (!firstReply.has(ts)) firstReply.set(ts, call.at);
  if (String(call.args.text ?? '').includes('I am busy right now')) busy.add(ts);
  const blocks = Array.isArray(call.args.blocks) ? (call.args.blocks as Array<{ block_id?: string }>) : [];
  if (blocks.length === 0 || blocks.some((b) => b.block_id === 'askpanda_feedback')) {
    answers.set(ts, (answers.get(ts) ?? 0) + 1);
    if (!answeredAt.has(ts)) answeredAt.set(ts, call.at);
  }
  waiting.get(ts)?.();
});

async function launch(name: string, args: string[], env: Record<string, string>, retries: boolean): Promise<Contender> {
  const socket = fake.socketCount;
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_APP_TOKEN: APP_TOKEN,
      SLACK_API_URL: fake.apiUrl,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const started = Date.now();
  while (fake.socketCount <= socket) {
    if (child.exitCode !== null || Date.now() - started > 30_000)
      throw new Error(`${name} did not connect: ${stderr.slice(-2000)}`);
    await sleep(20);
  }
  return { name, retries, socket, child };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function redisReachable(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port: 6379 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

// The flood of part 2 comes from one person: askpanda's per-person and per-minute limits are raised
// (they would turn it away as "busy", which is their job, not what this measures).
const unlimited = {
  ASKPANDA_LIMITS_PER_USER_IN_FLIGHT: '100000',
  ASKPANDA_LIMITS_PER_USER_PER_MINUTE: '100000',
  ASKPANDA_LIMITS_PER_MINUTE: '1000000',
  ASKPANDA_LIMITS_MAX_QUEUED: '100000',
};
const serveEnv = { ASKPANDA_DEMO: '1', ASKPANDA_LOG_LEVEL: 'warn', ASKPANDA_PORT: '0', ...unlimited };
const contenders: Contender[] = [];
contenders.push(await launch('bare Bolt echo', ['bench/slack-echo-app.ts'], {}, false));
contenders.push(
  await launch(
    'askpanda, SQLite',
    ['bin/askpanda.js', 'serve'],
    { ...serveEnv, ASKPANDA_DATA_DIR: path.join(dataDir, 'sqlite') },
    true,
  ),
);
if (await redisReachable())
  contenders.push(
    await launch(
      'askpanda, Redis',
      ['bin/askpanda.js', 'serve'],
      { ...serveEnv, ASKPANDA_DATA_DIR: path.join(dataDir, 'redis'), ASKPANDA_STORE: REDIS_URL },
      true,
    ),
  );

// Unique per run: claims and history in Redis outlive the process.
let seq = 0;
const runBase = Math.floor(Date.now() / 1000);
const nextTs = () => `${runBase}.${String(++seq).padStart(6, '0')}`;
let channelSeq = 0;
const nextChannel = () => `C07BENCH${String(channelSeq++ % CHANNELS).padStart(4, '0')}`;

function send(contender: Contender, channel: string, ts: string, retry = false, question = QUESTION): void {
  const payload = eventCallback(mentionEvent(channel, 'U05ANAPHYS', question, ts), `Ev0B${ts.replace('.', '')}`);
  void fake
    .sendEnvelope('events_api', payload, { socketIndex: contender.socket, retryAttempt: retry ? 1 : 0 })
    .catch(() => undefined);
}

/** One mention, waited for: milliseconds until its first reply message reached the fake. */
async function once(contender: Contender, question = QUESTION): Promise<number> {
  const ts = nextTs();
  const replied = new Promise<void>((resolve) => waiting.set(ts, resolve));
  const start = performance.now();
  send(contender, nextChannel(), ts, false, question);
  await replied;
  waiting.delete(ts);
  return firstReply.get(ts)! - start;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

// --- latency, the apps taking turns so they share whatever else the machine is doing. A `help`
// mention (a built-in command: no monitor, no agent) isolates what the adapter itself costs.
interface Probe {
  label: string;
  contender: Contender;
  question: string;
}
const probes: Probe[] = contenders.map((c) => ({ label: c.name, contender: c, question: QUESTION }));
const lastAskpanda = contenders.at(-1)!;
if (lastAskpanda !== contenders[0])
  probes.push({ label: `${lastAskpanda.name}, "help"`, contender: lastAskpanda, question: `<@${BOT_USER_ID}> help` });
for (let i = 0; i < WARMUP; i++) for (const p of probes) await once(p.contender, p.question);
const samples = new Map<Probe, number[]>(probes.map((p) => [p, []]));
for (let i = 0; i < LATENCY_SAMPLES; i++) {
  const order = i % 2 ? [...probes] : [...probes].reverse();
  for (const p of order) samples.get(p)!.push(await once(p.contender, p.question));
}
const latency = new Map(
  probes.map((p) => {
    const sorted = [...samples.get(p)!].sort((a, b) => a - b);
    return [p, { median: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) }];
  }),
);

// --- sustained rate
async function sustained(
  contender: Contender,
  rate: number,
): Promise<{ lost: number; busy: number; duplicates: number; lagMs: number; p99: number }> {
  const total = rate * RATE_SECONDS;
  const sentAt = new Map<string, number>();
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const now = performance.now();
    if (due > now + 1) await sleep(due - now);
    const ts = nextTs();
    const channel = nextChannel();
    sentAt.set(ts, performance.now());
    send(contender, channel, ts);
    if (contender.retries && i % 10 === 0) send(contender, channel, ts, true);
  }
  const lastSent = performance.now();
  const deadline = lastSent + 10_000;
  while (performance.now() < deadline && [...sentAt.keys()].some((ts) => !answeredAt.has(ts))) await sleep(20);
  await sleep(300); // late duplicates would arrive now
  let lost = 0;
  let refused = 0;
  let duplicates = 0;
  let lastAnswer = lastSent;
  const latencies: number[] = [];
  for (const [ts, at] of sentAt) {
    const n = answers.get(ts) ?? 0;
    if (n === 0 && busy.has(ts)) refused++;
    else if (n === 0) lost++;
    if (n > 1) duplicates += n - 1;
    const done = answeredAt.get(ts);
    if (done !== undefined) {
      lastAnswer = Math.max(lastAnswer, done);
      latencies.push(done - at);
    }
  }
  latencies.sort((a, b) => a - b);
  return {
    lost,
    busy: refused,
    duplicates,
    lagMs: lastAnswer - lastSent,
    p99: latencies.length ? quantile(latencies, 0.99) : NaN,
  };
}

const best = new Map<Contender, number>();
const rows: string[] = [];
for (const c of contenders) {
  best.set(c, 0);
  for (const rate of RATES) {
    let r = await sustained(c, rate);
    let ok = r.lost === 0 && r.busy === 0 && r.duplicates === 0 && r.lagMs <= 1000;
    if (!ok && r.lost === 0 && r.busy === 0 && r.duplicates === 0) {
      // The machine is shared: a slow backlog gets a second try before the rate counts as too high.
      await sleep(1000);
      r = await sustained(c, rate);
      ok = r.lost === 0 && r.busy === 0 && r.duplicates === 0 && r.lagMs <= 1000;
    }
    rows.push(
      `  ${c.name.padEnd(18)} ${String(rate).padStart(5)}/s  ${String(rate * RATE_SECONDS).padStart(5)} mentions${c.retries ? ` (+${Math.ceil((rate * RATE_SECONDS) / 10)} retries)` : ''}  lost ${r.lost}  busy ${r.busy}  duplicate ${r.duplicates}  answer p99 ${r.p99.toFixed(0)} ms  backlog cleared ${(Math.max(0, r.lagMs) / 1000).toFixed(2)} s after the last  ${ok ? 'ok' : 'NOT sustained'}`,
    );
    if (!ok) break;
    best.set(c, rate);
    await sleep(300);
  }
}

const ms = (v: number) => `${v.toFixed(2)} ms`;
const base = latency.get(probes[0]!)!;
console.log(`Slack mention → first reply message; Socket Mode; apps in their own processes; loopback fake Slack`);
console.log(
  `(${LATENCY_SAMPLES} mentions per row, taking turns, after ${WARMUP} warm-up; question: "why did job 6802258254 fail?")`,
);
console.log(`  ${''.padEnd(26)} ${'median'.padStart(10)} ${'p99'.padStart(10)} ${'× bare median'.padStart(14)}`);
for (const p of probes) {
  const l = latency.get(p)!;
  console.log(
    `  ${p.label.padEnd(26)} ${ms(l.median).padStart(10)} ${ms(l.p99).padStart(10)} ${`${(l.median / base.median).toFixed(2)}×`.padStart(14)}`,
  );
}
for (const p of probes.slice(1)) {
  const ratio = latency.get(p)!.median / base.median;
  console.log(
    `  goal: ${p.label} ≤ 1.25× the bare app's median: ${ratio.toFixed(2)}× → ${ratio <= 1.25 ? 'MET' : 'MISSED'}`,
  );
}
console.log(`Sustained mentions/second (${RATE_SECONDS} s per rate, ${CHANNELS} channels):`);
for (const row of rows) console.log(row);
console.log(
  `  highest sustained: ${contenders.map((c) => `${c.name} ${best.get(c)}/s`).join(', ')}  (${RATES.at(-1)}/s is the highest rate tried)`,
);
for (const c of contenders.slice(1))
  console.log(
    `  goal: ${c.name} ≥ 200/s with 0 lost and 0 duplicate: ${best.get(c)}/s → ${best.get(c)! >= 200 ? 'MET' : 'MISSED'}`,
  );

for (const child of children) child.kill('SIGTERM');
await Promise.all(
  children.map(
    (child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve))),
  ),
);
await fake.close();
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
