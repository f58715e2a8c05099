import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  APP_TOKEN,
  BOT_TOKEN,
  BOT_USER_ID,
  FakeSlack,
  SIGNING_SECRET,
  eventCallback,
  mentionEvent,
  postSigned,
} from '../../fakes/slack-api.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CHANNEL = 'C07PANDASERVE';

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** `askpanda serve` as a user runs it, with the environment pointing at the fake Slack. */
function serve(env: Record<string, string>): {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
} {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'askpanda-serve-'));
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/askpanda.js'), 'serve'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ASKPANDA_DATA_DIR: dataDir,
      ASKPANDA_DEMO: '1',
      ASKPANDA_LOG_LEVEL: 'info',
      ASKPANDA_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanup.push(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { child, stderr: () => err, exited };
}

async function waitUntil(check: () => boolean, what: () => string, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out: ${what()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('askpanda serve with Slack configured', () => {
  it('connects over Socket Mode when SLACK_APP_TOKEN is set, answers, and stops on SIGTERM', async () => {
    const fake = await FakeSlack.start();
    cleanup.push(() => fake.close());
    const run = serve({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: APP_TOKEN, SLACK_API_URL: fake.apiUrl });
    await waitUntil(
      () => fake.socketCount > 0,
      () => `no socket; stderr: ${run.stderr()}`,
    );
    await waitUntil(() => run.stderr().includes('Slack connected'), run.stderr);
    const messageTs = '1732808000.000100';
    await fake.sendEnvelope(
      'events_api',
      eventCallback(mentionEvent(CHANNEL, 'U05ANAPHYS', `<@${BOT_USER_ID}> why did job 6802258254 fail?`, messageTs)),
    );
    await fake.waitFor('chat.postMessage', (c) => c.args.thread_ts === messageTs, 1, 10_000);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.stderr()).not.toContain(BOT_TOKEN);
    expect(run.stderr()).not.toContain(APP_TOKEN);
  }, 30_000);

  it('serves signed HTTP events on ASKPANDA_PORT at /slack/events without an app token', async () => {
    const fake = await FakeSlack.start();
    cleanup.push(() => fake.close());
    const port = await freePort();
    const run = serve({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: fake.apiUrl,
      ASKPANDA_PORT: String(port),
    });
    await waitUntil(() => run.stderr().includes('Slack events endpoint listening'), run.stderr);
    const url = `http://127.0.0.1:${port}/slack/events`;
    const messageTs = '1732808000.000200';
    const body = eventCallback(
      mentionEvent(CHANNEL, 'U05ANAPHYS', `<@${BOT_USER_ID}> what is happening with task 46374283?`, messageTs),
    );
    expect((await postSigned(url, body, { secret: 'wrong' })).status).toBe(401);
    expect((await postSigned(url, body)).status).toBe(200);
    await fake.waitFor('chat.postMessage', (c) => c.args.thread_ts === messageTs, 1, 10_000);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  }, 30_000);
});
