/**
 * `npm run bench -- mattermost`: what askpanda adds between a Mattermost mention and its reply,
 * against a bare echo bot on the same client library (@mattermost/client: websocket + REST;
 * bench/mattermost-echo-app.ts). Each bot runs in its own process, as deployed, against the same
 * loopback fake Mattermost (test/fakes/mattermost.ts, zero latency), which runs here and posts the
 * mentions as users.
 *
 * 1. Latency: one mention at a time, the bots taking turns; from the user's post being broadcast
 *    to the fake storing the bot's first reply in that thread. Median and p99 of 400.
 * 2. Throughput: mentions at a fixed rate over 1,000 channels (one person each), 3 s per rate. A
 *    rate is sustained when every mention got exactly one answer and the backlog cleared within a
 *    second of the last mention (a rate that misses only the second gets one more try: the
 *    machine is shared). Lost or duplicate answers fail a rate at once. askpanda's per-person and
 *    per-minute limits are raised for this part (they would turn the flood away as "busy").
 *
 * askpanda runs its whole pipeline: the claim per post in the store, thread history, selection, the
 * job agent against the embedded demo monitor, the offline model, Mattermost markdown and buttons.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BOT_TOKEN, FakeMattermost, type FakeChannel, type FakePost, type FakeUser } from '../test/fakes/mattermost.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LATENCY_SAMPLES = Number(process.env.BENCH_SAMPLES ?? 400);
const WARMUP = 50;
const RATE_SECONDS = 3;
const RATES = [25, 50, 100, 200, 400, 800, 1600];
const CHANNELS = 1000;
const ECHO_TOKEN = 'echobottoken0000000000000001';
const REDIS_URL = 'redis://127.0.0.1:6379/14';
const GOALS = { overhead: 1.25, rate: 200 };

const fake = await FakeMattermost.start();
const dataDir = mkdtempSync(path.join(tmpdir(), 'askpanda-bench-mm-'));
const children: ChildProcess[] = [];
const echoBot = fake.addUser({ username: 'echobot', isBot: true });
fake.tokens.set(ECHO_TOKEN, echoBot.id);

interface Contender {
  name: string;
  mention: string;
  channels: FakeChannel[];
  people: FakeUser[];
  /** An answer is complete at this post: askpanda's carries the 👍/👎 buttons, the echo's is its only post. */
  complete: (post: FakePost) => boolean;
}

const people = Array.from({ length: CHANNELS }, (_, i) => fake.addUser({ username: `physicist${i}` }));
function channelsFor(name: string, bot: FakeUser | undefined): FakeChannel[] {
  return people.map((person, i) => {
    const channel = fake.addChannel({ name: `${name}-${i}`, members: [person], withBot: bot === undefined });
    if (bot) channel.members.add(bot.id);
    return channel;
  });
}

const firstReply = new Map<string, number>();
const answers = new Map<string, number>();
const answeredAt = new Map<string, number>();
const waiting = new Map<string, () => void>();
const completes = new Map<string, (post: FakePost) => boolean>();
// A "busy, try again" notice is back-pressure doing its job: counted apart from a mention left unanswered.
const busy = new Set<string>();
fake.on('post', (post: FakePost) => {
  if (!post.root_id || post.props.from_bot !== 'true') return;
  const now = performance.now();
  if (post.message.includes('I am busy right now')) busy.add(post.root_id);
  if (!firstReply.has(post.root_id)) firstReply.set(post.root_id, now);
  if (completes.get(post.root_id)?.(post)) {
    answers.set(post.root_id, (answers.get(post.root_id) ?? 0) + 1);
    if (!answeredAt.has(post.root_id)) answeredAt.set(post.root_id, now);
  }
  waiting.get(post.root_id)?.();
});

async function launch(name: string, args: string[], env: Record<string, string>): Promise<ChildProcess> {
  const hellos = fake.hellos.length;
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', MATTERMOST_URL: fake.url, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const started = Date.now();
  while (fake.hellos.length <= hellos) {
    if (child.exitCode !== null || Date.now() - started > 30_000)
      throw new Error(`${name} did not connect: ${stderr.slice(-2000)}`);
    await sleep(20);
  }
  return child;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const redisReachable = () =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port: 6379 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

const unlimited = {
  ASKPANDA_LIMITS_PER_USER_IN_FLIGHT: '100000',
  ASKPANDA_LIMITS_PER_USER_PER_MINUTE: '100000',
  ASKPANDA_LIMITS_PER_MINUTE: '1000000',
  ASKPANDA_LIMITS_MAX_QUEUED: '100000',
};
const serveEnv = {
  ASKPANDA_DEMO: '1',
  ASKPANDA_LOG_LEVEL: 'warn',
  ASKPANDA_PORT: '0',
  MATTERMOST_TOKEN: BOT_TOKEN,
  ...unlimited,
};
const askpandaComplete = (post: FakePost) => JSON.stringify(post.props.attachments ?? '').includes('feedbackup');
const contenders: Contender[] = [];
await launch('bare echo', ['bench/mattermost-echo-app.ts'], { MATTERMOST_TOKEN: ECHO_TOKEN });
contenders.push({
  name: 'bare echo',
  mention: '@echobot why did job 6802258254 fail?',
  channels: channelsFor('echo', echoBot),
  people,
  complete: () => true,
});
await launch('askpanda, SQLite', ['bin/askpanda.js', 'serve'], {
  ...serveEnv,
  ASKPANDA_DATA_DIR: path.join(dataDir, 'sqlite'),
});
contenders.push({
  name: 'askpanda, SQLite',
  mention: '@askpanda why did job 6802258254 fail?',
  channels: channelsFor('sqlite', undefined),
  people,
  complete: askpandaComplete,
});
if (await redisReachable()) {
  // A separate bot account, so the two askpanda processes do not both see the same channels.
  const redisBot = fake.addUser({ username: 'askpandaredis', isBot: true });
  const redisToken = 'askpandaredistoken000000001';
  fake.tokens.set(redisToken, redisBot.id);
  await launch('askpanda, Redis', ['bin/askpanda.js', 'serve'], {
    ...serveEnv,
    MATTERMOST_TOKEN: redisToken,
    ASKPANDA_DATA_DIR: path.join(dataDir, 'redis'),
    ASKPANDA_STORE: REDIS_URL,
  });
  contenders.push({
    name: 'askpanda, Redis',
    mention: '@askpandaredis why did job 6802258254 fail?',
    channels: channelsFor('redis', redisBot),
    people,
    complete: askpandaComplete,
  });
}

let channelSeq = 0;
function send(c: Contender, text = c.mention): string {
  const i = channelSeq++ % CHANNELS;
  const post = fake.userPosts(c.people[i]!, c.channels[i]!, text);
  completes.set(post.id, c.complete);
  return post.id;
}

async function once(c: Contender, text = c.mention): Promise<number> {
  let id = '';
  const replied = new Promise<void>((resolve) => {
    const start = performance.now();
    id = send(c, text);
    waiting.set(id, () => resolve());
    startedAt.set(id, start);
  });
  await replied;
  waiting.delete(id);
  return firstReply.get(id)! - startedAt.get(id)!;
}
const startedAt = new Map<string, number>();

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;

interface Probe {
  label: string;
  contender: Contender;
  text: string;
}
const probes: Probe[] = contenders.map((c) => ({ label: c.name, contender: c, text: c.mention }));
const last = contenders.at(-1)!;
if (last !== contenders[0])
  probes.push({ label: `${last.name}, "help"`, contender: last, text: last.mention.replace(/ why.*$/, ' help') });
for (let i = 0; i < WARMUP; i++) for (const p of probes) await once(p.contender, p.text);
const samples = new Map<Probe, number[]>(probes.map((p) => [p, []]));
for (let i = 0; i < LATENCY_SAMPLES; i++) {
  for (const p of i % 2 ? [...probes] : [...probes].reverse()) samples.get(p)!.push(await once(p.contender, p.text));
}
const latency = new Map(
  probes.map((p) => {
    const sorted = [...samples.get(p)!].sort((a, b) => a - b);
    return [p, { median: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) }];
  }),
);

async function sustained(
  c: Contender,
  rate: number,
): Promise<{ lost: number; busy: number; duplicates: number; lagMs: number; p99: number }> {
  const total = rate * RATE_SECONDS;
  const sentAt = new Map<string, number>();
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const now = performance.now();
    if (due > now + 1) await sleep(due - now);
    const t = performance.now();
    sentAt.set(send(c), t);
  }
  const lastSent = performance.now();
  const deadline = lastSent + 10_000;
  while (performance.now() < deadline && [...sentAt.keys()].some((id) => !answeredAt.has(id))) await sleep(20);
  await sleep(300);
  let lost = 0;
  let refused = 0;
  let duplicates = 0;
  let lastAnswer = lastSent;
  const latencies: number[] = [];
  for (const [id, at] of sentAt) {
    const n = answers.get(id) ?? 0;
    if (n === 0 && busy.has(id)) refused++;
    else if (n === 0) lost++;
    if (n > 1) duplicates += n - 1;
    const done = answeredAt.get(id);
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
      await sleep(1000);
      r = await sustained(c, rate);
      ok = r.lost === 0 && r.busy === 0 && r.duplicates === 0 && r.lagMs <= 1000;
    }
    rows.push(
      `  ${c.name.padEnd(18)} ${String(rate).padStart(5)}/s  ${String(rate * RATE_SECONDS).padStart(5)} mentions  lost ${r.lost}  busy ${r.busy}  duplicate ${r.duplicates}  answer p99 ${r.p99.toFixed(0)} ms  backlog cleared ${(Math.max(0, r.lagMs) / 1000).toFixed(2)} s after the last  ${ok ? 'ok' : 'NOT sustained'}`,
    );
    if (!ok) break;
    best.set(c, rate);
    await sleep(300);
  }
}

const ms = (v: number) => `${v.toFixed(2)} ms`;
const base = latency.get(probes[0]!)!;
console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log(
  'Mattermost mention → first reply post; websocket + REST; bots in their own processes; loopback fake Mattermost',
);
console.log(
  `(${LATENCY_SAMPLES} mentions per row, taking turns, after ${WARMUP} warm-up; question: "why did job 6802258254 fail?")`,
);
console.log(`  ${''.padEnd(28)} ${'median'.padStart(10)} ${'p99'.padStart(10)} ${'× bare median'.padStart(14)}`);
for (const p of probes) {
  const l = latency.get(p)!;
  console.log(
    `  ${p.label.padEnd(28)} ${ms(l.median).padStart(10)} ${ms(l.p99).padStart(10)} ${`${(l.median / base.median).toFixed(2)}×`.padStart(14)}`,
  );
}
for (const p of probes.slice(1)) {
  const ratio = latency.get(p)!.median / base.median;
  console.log(
    `  goal: ${p.label} ≤ ${GOALS.overhead}× the bare bot's median: ${ratio.toFixed(2)}× → ${ratio <= GOALS.overhead ? 'MET' : 'MISSED'}`,
  );
}
console.log(`Sustained mentions/second (${RATE_SECONDS} s per rate, ${CHANNELS} channels, one person each):`);
for (const row of rows) console.log(row);
for (const c of contenders.slice(1))
  console.log(
    `  goal: ${c.name} ≥ ${GOALS.rate}/s with 0 lost and 0 duplicate: ${best.get(c)}/s → ${best.get(c)! >= GOALS.rate ? 'MET' : 'MISSED'}  (bare echo: ${best.get(contenders[0]!)}/s; ${RATES.at(-1)}/s is the highest rate tried)`,
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
