import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { loadConfig } from '../../src/load-config.ts';
import { createPandaClient } from '../../src/panda/client.ts';
import { AskPandaError } from '../../src/core/errors.ts';
import { FAULT, TASK_FAULT } from '../fakes/bigpanda.ts';
import { answerProblems, guardNetwork, sentenceProblems, trackProcessFaults } from './helpers.ts';
import { startFakeApp, startFakeWorld, type FakeWorld } from './harness.ts';

/**
 * The monitor (BigPanDA) misbehaving in every way the suite knows: 500, 503 while down, 429 with a
 * long Retry-After, no answer, a reset connection, garbage, HTML, JSON of the wrong shape, a body
 * over the cap, redirect loops and redirects to another host, logs that stall, trickle or never
 * arrive. Each question comes back in bounded time, with one clear sentence, and nothing crashes.
 */

let world: FakeWorld;
let app: App;
const faults = trackProcessFaults();
const network = guardNetwork();

beforeAll(async () => {
  world = await startFakeWorld();
  app = await startFakeApp(world);
});
afterAll(async () => {
  network.stop();
  faults.stop();
  await app?.close();
  await world?.close();
});

const ask = (text: string, thread = `t-${Math.random()}`) =>
  app.bot.handle({ platform: 'slack', channel: 'C0FAULT', thread, user: 'U042', text, isDirect: false });

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work;
  return { value, ms: performance.now() - started };
}

describe('job questions while the monitor misbehaves', () => {
  // Time-out 0.5 s and no retry (harness.ts): every case ends within a few seconds.
  const cases: Array<[string, number, string, RegExp]> = [
    ['answers 500', FAULT.server500, 'monitor_unavailable', /failed \(HTTP 500\)/],
    ['never answers', FAULT.hang, 'monitor_unavailable', /did not answer within 0\.5 s/],
    ['cuts the JSON off', FAULT.malformed, 'monitor_unavailable', /broken \(malformed or cut-off\) answer/],
    [
      'resets the connection',
      FAULT.resetJob,
      'monitor_unavailable',
      /failed \(the connection (?:broke off|was reset)\)/,
    ],
    [
      'answers garbage bytes as JSON',
      FAULT.garbageJob,
      'monitor_unavailable',
      /broken \(malformed or cut-off\) answer/,
    ],
    ['answers JSON of the wrong shape', FAULT.wrongShapeJob, 'monitor_unavailable', /did not have the expected shape/],
    ['answers a body over the cap', FAULT.hugeJson, 'monitor_unavailable', /larger than 1 MiB/],
    ['redirects in a loop', FAULT.redirectLoopJob, 'monitor_unavailable', /more than 3 times \(a redirect loop\)/],
    [
      'redirects to another host',
      FAULT.foreignRedirectJob,
      'monitor_unavailable',
      /to another host \(127\.0\.0\.1:\d+\), and I only ask the configured monitor/,
    ],
    ['rate-limits for an hour', FAULT.retryAfterLong, 'rate_limited', /asks to wait 3600 s/],
    ['answers HTML for an unknown job', FAULT.unknown, 'not_found', /does not know job/],
  ];
  it.each(cases)('the monitor %s: a clear error answer in bounded time', async (_what, pandaid, kind, says) => {
    const { value: answer, ms } = await timed(ask(`why did job ${pandaid} fail?`));
    expect(answer.error?.kind).toBe(kind);
    expect(answer.error?.message).toMatch(says);
    expect(answer.error?.message).toContain(`job ${pandaid}`);
    expect(answerProblems(answer)).toEqual([]);
    expect(ms).toBeLessThan(3_000);
  });

  it("a redirect loop costs 4 requests, not fetch's 21 per attempt", async () => {
    const client = createPandaClient(loadConfig({ env: { ...world.env, ASKPANDA_MONITOR_RETRIES: '2' } }), {
      backoffMs: 5,
    });
    const before = world.monitor.count(`/job?pandaid=${FAULT.redirectLoopJob}`);
    const err = await client.job(FAULT.redirectLoopJob).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AskPandaError);
    // The first request and three redirects; a loop is not retried (it would loop again).
    expect(world.monitor.count(`/job?pandaid=${FAULT.redirectLoopJob}`) - before).toBe(4);
  });

  it('never follows a JSON redirect to another host (the trap sees nothing), also with retries', async () => {
    const client = createPandaClient(
      loadConfig({
        env: { ...world.env, ASKPANDA_MONITOR_RETRIES: '2', ASKPANDA_MONITOR_TOKEN: 'secret-monitor-token' },
      }),
      { backoffMs: 5 },
    );
    const err = await client.job(FAULT.foreignRedirectJob).catch((e: unknown) => e);
    expect((err as AskPandaError).kind).toBe('monitor_unavailable');
    expect(world.trap.requests).toEqual([]);
    expect(network.outside(world.allowedPorts)).toEqual([]);
  });

  it('while the monitor is down (503), task and job questions say so', async () => {
    world.monitor.setDown(true);
    try {
      for (const question of ['what is happening with task 46374283?', 'why did job 6802258254 fail?']) {
        const { value: answer, ms } = await timed(ask(question));
        expect(answer.error?.kind, question).toBe('monitor_unavailable');
        expect(answer.error?.message, question).toMatch(/failed \(HTTP 503\)/);
        expect(answerProblems(answer)).toEqual([]);
        expect(ms).toBeLessThan(3_000);
      }
    } finally {
      world.monitor.setDown(false);
    }
  });

  it('a task whose page answers 500, or whose error summary does, still gets an answer', async () => {
    const down = await ask(`what is happening with task ${TASK_FAULT.server500}?`);
    expect(down.error?.kind).toBe('monitor_unavailable');
    expect(answerProblems(down)).toEqual([]);
    const partial = await ask(`what is happening with task ${TASK_FAULT.errorsDown}?`);
    expect(answerProblems(partial)).toEqual([]);
    expect(partial.text).toContain(String(TASK_FAULT.errorsDown));
  });
});

describe('log files that do not come as they should', () => {
  it('a log that trickles a line every 50 ms is cut at logReadTimeoutMs (1 s here), scanned as far as it came, and read again next time', async () => {
    const { value: answer, ms } = await timed(ask(`why did job ${FAULT.trickleLog} fail?`));
    expect(answer.error).toBeUndefined();
    expect(answer.text).toMatch(
      /pilotlog\.txt came in too slowly: I stopped reading it after 1 s and scanned the \d+ KiB that had arrived\./,
    );
    expect(
      answer.evidence.some((e) => e.source === 'pilotlog.txt' && e.lines.some((l) => l.includes('trickle line'))),
    ).toBe(true);
    expect(ms).toBeLessThan(4_000);
    // An incomplete scan is not cached: a second question reads the log again.
    const transfers = () => world.monitor.count(`/media/filebrowser/${FAULT.trickleLog}/`);
    const before = transfers();
    await ask(`why did job ${FAULT.trickleLog} fail?`);
    expect(transfers()).toBe(before + 1);
  });

  it('a log whose download redirects in a loop becomes a note in the answer, not a failure', async () => {
    const answer = await ask(`why did job ${FAULT.redirectLoopLog} fail?`);
    expect(answer.error).toBeUndefined();
    expect(answer.text).toContain(
      `pilotlog.txt could not be read (The monitor redirected my request about job ${FAULT.redirectLoopLog} more than 3 times (a redirect loop), so I stopped).`,
    );
    // The answer still explains the failure from the job's metadata.
    expect(answer.text).toContain('pilot error 1151');
    expect(world.monitor.count(`/filebrowser/?pandaid=${FAULT.redirectLoopLog}&json&filename=`)).toBeLessThanOrEqual(4);
  });

  it('a log that stalls mid-way ends at the idle time-out with a note', async () => {
    const { value: answer, ms } = await timed(ask(`why did job ${FAULT.stalledLog} fail?`));
    expect(answer.error).toBeUndefined();
    expect(answer.text).toMatch(
      /pilotlog\.txt could not be read \(The monitor stopped sending the log of job \d+ \(no data for 0\.5 s\)\)/,
    );
    expect(ms).toBeLessThan(3_000);
  });

  it('listed but missing, empty, binary, 400 from the file browser, no tarball: each a note', async () => {
    for (const [pandaid, note] of [
      [FAULT.logNotYet, /pilotlog\.txt is not in the job's log tarball/],
      [FAULT.emptyLog, /pilotlog\.txt is empty \(0 bytes\)/],
      [FAULT.binaryLog, /pilotlog\.txt is not a text file/],
      [FAULT.listing400, /log files could not be listed/],
      [FAULT.noLogs, /has no log files in the monitor/],
    ] as const) {
      const answer = await ask(`why did job ${pandaid} fail?`);
      expect(answer.error, String(pandaid)).toBeUndefined();
      expect(answer.text, String(pandaid)).toMatch(note);
      expect(answerProblems(answer)).toEqual([]);
    }
  });
});

describe('after all of it', () => {
  it('no rejection went unhandled, nothing was thrown uncaught, no other host was contacted', () => {
    expect(faults.unhandledRejections).toEqual([]);
    expect(faults.uncaughtExceptions).toEqual([]);
    expect(world.trap.requests).toEqual([]);
    expect(network.outside(world.allowedPorts)).toEqual([]);
    expect(sentenceProblems('The monitor answered HTTP 500.')).toEqual([]);
  });
});
