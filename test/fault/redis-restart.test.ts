import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import type { PlatformMessage } from '../../src/bot/platform-message.ts';
import { storeErrorsTotal } from '../../src/core/metrics.ts';
import { createLogger } from '../../src/util/log.ts';
import { answerProblems, freePort, sleep, trackProcessFaults } from './helpers.ts';
import { startFakeApp, startFakeWorld, type FakeWorld } from './harness.ts';
import { RecordingSurface } from '../support/recording-surface.ts';
import { onPath, serviceAvailable } from '../support/services.ts';

const REDIS_SERVER = serviceAvailable(
  'redis-server',
  onPath('redis-server') !== undefined,
  'install redis-server (Debian: apt-get install redis-server)',
);

/**
 * A Redis of this test's own (never the shared one on 6379), killed with SIGKILL in the middle of a
 * run and started again on the same port with its append-only file, then stopped (SIGSTOP) for a
 * while: questions keep being answered during the outage (without history or claim, each failure
 * counted and logged), nothing waits for Redis to come back, and once it is back history and
 * claims resume, so nothing delivered twice is answered twice.
 */

class OwnRedis {
  private child: ChildProcess | undefined;
  constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    // appendfsync always: what was acknowledged is on disk when the process is killed (as a production Redis with AOF).
    this.child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
        '--protected-mode',
        'no',
      ],
      { stdio: 'ignore' },
    );
    const until = Date.now() + 10_000;
    while (!(await this.answers())) {
      if (Date.now() > until) throw new Error(`redis-server on ${this.port} did not start`);
      await sleep(50);
    }
  }

  kill(): void {
    this.child?.kill('SIGKILL');
  }

  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  }

  /** A PING answered with PONG. */
  private answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect(this.port, '127.0.0.1');
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
      socket.once('error', () => done(false));
      socket.setTimeout(500, () => done(false));
    });
  }
}

const storeErrors = async () => (await storeErrorsTotal.get()).values.reduce((n, v) => n + v.value, 0);

describe.skipIf(!REDIS_SERVER)('Redis killed and restarted in the middle of a run', () => {
  let world: FakeWorld;
  let app: App;
  let redis: OwnRedis;
  let redisDir: string;
  const logLines: string[] = [];
  const faults = trackProcessFaults();
  const surface = new RecordingSurface();
  let n = 0;
  const message = (text: string, thread?: string, id = `m${++n}`): PlatformMessage => ({
    channel: 'C0REDIS',
    thread: thread ?? id,
    messageId: id,
    user: `U${n % 7}`,
    text,
    isDirect: false,
    addressed: 'directly',
  });
  /** Delivers a message and waits for the core to finish with it; resolves with how long that took. */
  const deliver = async (m: PlatformMessage) => {
    const started = performance.now();
    await app.conversation.receive(surface, m);
    return performance.now() - started;
  };

  beforeAll(async () => {
    world = await startFakeWorld();
    redisDir = mkdtempSync(path.join(tmpdir(), 'askpanda-redis-'));
    redis = new OwnRedis(await freePort(), redisDir);
    await redis.start();
    const lines = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logLines.push(...chunk.toString().split('\n').filter(Boolean));
        callback();
      },
    });
    app = await startFakeApp(
      world,
      { ASKPANDA_STORE: redis.url, ASKPANDA_STORE_BUSY_TIMEOUT_MS: '500' },
      createLogger('warn', lines),
    );
  });
  afterAll(async () => {
    faults.stop();
    await app?.close();
    await redis?.stop();
    await world?.close();
    rmSync(redisDir, { recursive: true, force: true });
  });

  it(
    'answers before, during and after the outage; history and claims resume; nothing is answered twice',
    { timeout: 60_000 },
    async () => {
      expect(app.store.kind).toBe('redis');
      // Before: a job question starts thread A; its history and the claim of m1 are in Redis.
      const first = message('why did job 6802258254 fail?', 'A', 'm-first');
      await deliver(first);
      expect(surface.answersIn('C0REDIS', 'A')).toHaveLength(1);
      const errorsBefore = await storeErrors();

      redis.kill();
      await sleep(100);
      // During: every question answered at once (no wait for Redis), without history.
      const during = [
        message('what is happening with task 46374283?'),
        message('what is a pilot?'),
        message('why did job 6800730400 fail?'),
      ];
      for (const m of during) {
        const ms = await deliver(m);
        expect(ms, m.text).toBeLessThan(2_000);
        expect(surface.answersIn('C0REDIS', m.thread), m.text).toHaveLength(1);
      }
      const direct = await app.bot.handle({
        platform: 'cli',
        channel: 'c',
        thread: 'outage',
        user: 'u',
        text: 'why did job 6802258254 fail?',
        isDirect: true,
      });
      expect(answerProblems(direct)).toEqual([]);
      expect(direct.error).toBeUndefined();
      expect(await storeErrors()).toBeGreaterThan(errorsBefore);
      // The operator reads why: one warning per kind of failure, naming the store problem.
      expect(
        logLines.some(
          (l) => l.includes('dedupe store unavailable; answering without the claim') && /offline|closed/i.test(l),
        ),
      ).toBe(true);
      expect(logLines.some((l) => l.includes('thread history unavailable'))).toBe(true);

      await redis.start();
      // The client reconnects within ~2 s; until then calls fail fast and are counted.
      const until = Date.now() + 10_000;
      while (
        (await app.store
          .ns('meta')
          .get('ping')
          .then(
            () => true,
            () => false,
          )) === false
      ) {
        if (Date.now() > until) throw new Error('the store did not come back');
        await sleep(100);
      }

      // After: the claim of m-first survived (AOF), so its re-delivery is not answered again ...
      await deliver(first);
      expect(surface.answersIn('C0REDIS', 'A')).toHaveLength(1);
      // ... a message delivered twice now is answered once ...
      const twice = message('what is happening with task 46374283?');
      await Promise.all([deliver(twice), deliver(twice)]);
      expect(surface.answersIn('C0REDIS', twice.thread)).toHaveLength(1);
      // ... and thread A's history from before the outage is there: the follow-up is about its job.
      await deliver(message('how can I fix it?', 'A'));
      const answersA = surface.answersIn('C0REDIS', 'A');
      expect(answersA).toHaveLength(2);
      expect(answersA[1]!.text).toContain('6802258254');
      expect(faults.unhandledRejections).toEqual([]);
      expect(faults.uncaughtExceptions).toEqual([]);
    },
  );

  it(
    'a Redis that stops answering (SIGSTOP) costs each call at most ASKPANDA_STORE_BUSY_TIMEOUT_MS, not the whole stall',
    { timeout: 60_000 },
    async () => {
      redis.pause();
      try {
        const m = message('what is happening with task 46374283?');
        const ms = await deliver(m);
        // The claim, the history read and the history write each give up after 0.5 s.
        expect(ms).toBeLessThan(4_000);
        expect(surface.answersIn('C0REDIS', m.thread)).toHaveLength(1);
        expect(answerProblems(surface.answers.at(-1)!.answer)).toEqual([]);
      } finally {
        redis.resume();
      }
      await sleep(200);
      const after = message('what is a pilot?');
      await deliver(after);
      expect(surface.answersIn('C0REDIS', after.thread)).toHaveLength(1);
      expect(faults.unhandledRejections).toEqual([]);
      expect(faults.uncaughtExceptions).toEqual([]);
    },
  );
});
