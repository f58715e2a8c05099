import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnswerSchema } from '../../src/core/answer.ts';
import { openStore } from '../../src/storage/open-store.ts';
import { watchedTask } from '../fakes/bigpanda.ts';
import { cliEnv, REPO_ROOT, runCli } from '../support/cli.ts';
import { Random, scaled, SOAK } from './helpers.ts';
import { startFakeWorld, type FakeWorld } from './harness.ts';

/**
 * The real `askpanda ask` on a SQLite data dir, killed with SIGKILL again and again while it answers
 * and writes (thread history, subscriptions), several at once; then restarted: every completed turn
 * and subscription is intact, the follow-up still knows its job, `subscriptions` lists them, and the
 * database passes SQLite's integrity check.
 */

const ROUNDS = scaled(4, 20);
/** Running tasks of the fake monitor that may be subscribed to. */
const TASKS = [46100001, 46100002, 46100003, 46100004, 46100005, 46100006];
const dataDir = mkdtempSync(path.join(tmpdir(), 'askpanda-kill9-'));
let world: FakeWorld;
beforeAll(async () => {
  world = await startFakeWorld({ tasks: TASKS.map((id) => watchedTask(id)) });
});
afterAll(async () => {
  await world?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const env = () => ({ ...cliEnv(world.env), ASKPANDA_DATA_DIR: dataDir });
const ask = (args: string[]) => runCli(['ask', '--json', ...args], { env: env(), timeoutMs: 30_000 });

/**
 * Starts `ask` and kills it with SIGKILL: at a random moment, or (`onAnswer`) the moment its answer
 * appears on stdout, when the history write of that turn is in flight. Resolves with whether the
 * command had finished on its own (exit 0) before the kill.
 */
function askAndKill(args: string[], r: Random, onAnswer: boolean): Promise<{ completed: boolean }> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/askpanda.js'), 'ask', '--json', ...args], {
    cwd: REPO_ROOT,
    env: env(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const kill = () => child.kill('SIGKILL');
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  if (onAnswer) child.stdout.once('data', kill);
  // Most die young (opening the store, answering, writing); some live long enough to finish.
  else setTimeout(kill, r.chance(0.7) ? r.int(200, 2_500) : r.int(2_500, 5_000));
  child.stderr.resume();
  // Completed: it exited by itself, having printed an answer that is no refusal.
  return new Promise((resolve) =>
    child.once('exit', (code) => resolve({ completed: code === 0 && succeeded(stdout) })),
  );
}

function succeeded(stdout: string): boolean {
  try {
    return AnswerSchema.parse(JSON.parse(stdout)).error === undefined;
  } catch {
    return false;
  }
}

describe('kill -9 during writes, then restart', () => {
  it(
    `keeps completed turns and subscriptions across ${ROUNDS} rounds of killed writers`,
    { timeout: SOAK ? 900_000 : 180_000 },
    async () => {
      const r = new Random(20_250_909);
      // Completed before any kill: a job thread and two subscriptions.
      const first = await ask(['--thread', 'kept-job', 'why did job 6802258254 fail?']);
      expect(first.code).toBe(0);
      for (const task of TASKS.slice(0, 2)) {
        const made = await ask(['--thread', `sub-${task}`, `subscribe task ${task}`]);
        expect(made.code).toBe(0);
        expect(succeeded(made.stdout), made.stdout.slice(0, 300)).toBe(true);
      }
      // Threads whose completed turns were questions (commands keep no history).
      const completedThreads = new Set(['kept-job']);
      const subscribed = new Set(TASKS.slice(0, 2));

      let followUps = 0;
      for (let round = 0; round < ROUNDS; round++) {
        // Two or three writers at once, killed at random moments or right at their answer.
        const victims = Array.from({ length: r.int(2, 3) }, (_, i) => {
          const thread = `round${round}-${i}`;
          const task = TASKS[2 + ((round * 3 + i) % 4)]!;
          const question = r.pick([
            'why did job 6800730400 fail?',
            'what is happening with task 46374283?',
            `subscribe task ${task}`,
            'what is a pilot?',
          ]);
          return { thread, question, task, run: askAndKill(['--thread', thread, question], r, r.chance(0.5)) };
        });
        const outcomes = await Promise.all(victims.map((v) => v.run));
        victims.forEach((v, i) => {
          if (!outcomes[i]!.completed) return;
          if (v.question.startsWith('subscribe')) subscribed.add(v.task);
          else completedThreads.add(v.thread);
        });

        // Restart after every other round: the follow-up in the kept thread still knows its job.
        if (round % 2 === 1 || round === ROUNDS - 1) {
          const follow = await ask(['--thread', 'kept-job', 'how can I fix it?']);
          expect(follow.code, follow.stderr).toBe(0);
          const answer = AnswerSchema.parse(JSON.parse(follow.stdout));
          expect(answer.facts.pandaid, answer.text.slice(0, 200)).toBe(6802258254);
          followUps++;
        }
      }

      // What every completed command wrote is there, readable.
      const subscriptions = await ask(['subscriptions']);
      expect(subscriptions.code).toBe(0);
      const listed = AnswerSchema.parse(JSON.parse(subscriptions.stdout)).text;
      for (const task of subscribed) expect(listed, `task ${task}`).toContain(`task ${task}`);
      console.log(
        `kill9: ${ROUNDS} rounds; ${completedThreads.size} threads and ${subscribed.size} subscriptions completed and intact`,
      );
      const store = await openStore({ store: '', dataDir });
      try {
        // The kept thread holds its newest completed turns, both sides of each (history.maxTurns and
        // maxChars keep at most 12 turns, and always the last four here): the last one is the last follow-up.
        const kept = ((await store.ns('history').get('cli:cli:kept-job')) ?? []) as Array<{
          role: string;
          text: string;
          pandaid?: number;
        }>;
        expect(kept.length).toBeGreaterThanOrEqual(Math.min(2 * (1 + followUps), 4));
        expect(kept.length % 2).toBe(0);
        expect(kept.map((t) => t.role)).toEqual(kept.map((_, i) => (i % 2 === 0 ? 'user' : 'assistant')));
        expect(kept.at(-2)!.text).toBe(followUps > 0 ? 'how can I fix it?' : 'why did job 6802258254 fail?');
        expect(kept.every((t) => t.pandaid === undefined || t.pandaid === 6802258254)).toBe(true);
        for (const thread of completedThreads) {
          const turns = (await store.ns('history').get(`cli:cli:${thread}`)) as
            Array<{ role: string; text: string }> | undefined;
          expect(turns?.length, thread).toBeGreaterThanOrEqual(2);
          expect(
            turns!.every((t) => typeof t.text === 'string' && (t.role === 'user' || t.role === 'assistant')),
            thread,
          ).toBe(true);
        }
      } finally {
        await store.close();
      }
      const db = new Database(path.join(dataDir, 'askpanda.sqlite'), { readonly: true });
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      } finally {
        db.close();
      }
    },
  );
});
