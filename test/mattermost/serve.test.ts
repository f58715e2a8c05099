import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BOT_TOKEN, FakeMattermost } from '../fakes/mattermost.ts';
import { answersIn, waitForAnswers } from './adapter-helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const cleanups: Array<() => void | Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('askpanda serve with Mattermost configured', () => {
  it('connects, answers a mention, serves /readyz and /metrics on its one port, and exits 0 on SIGTERM', async () => {
    const fake = await FakeMattermost.start();
    cleanups.push(() => fake.close());
    const ana = fake.addUser({ username: 'ana' });
    const channel = fake.addChannel({ name: 'adc', members: [ana], withBot: true });
    const port = await freePort();
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/askpanda.js'), 'serve'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        ASKPANDA_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'askpanda-mm-serve-')),
        ASKPANDA_DEMO: '1',
        ASKPANDA_PORT: String(port),
        MATTERMOST_URL: fake.url,
        MATTERMOST_TOKEN: BOT_TOKEN,
        MATTERMOST_SLASH_TOKEN: 'slashtoken000000000000000001',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => void (child.exitCode === null && child.kill('SIGKILL')));
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await fake.waitUntil(
      () => (stderr.includes('Mattermost connected as @askpanda') ? true : undefined),
      15_000,
      `start-up; stderr: ${stderr}`,
    );
    expect(stderr).toContain(
      `HTTP server on port ${port}: /healthz /readyz /metrics /mattermost/command /mattermost/actions`,
    );

    const question = fake.userPosts(ana, channel, '@askpanda why did job 6802258254 fail?');
    await waitForAnswers(fake, question.id, 1, 15_000);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { store: 'ok', mattermost: 'ok', monitor: 'ok' },
    });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/askpanda_questions_total\{platform="mattermost",agent="job",outcome="answered"\} 1/);
    expect(metrics).toContain('process_resident_memory_bytes');

    // A question still being answered when SIGTERM arrives is finished, then the process exits 0.
    const last = fake.userPosts(ana, channel, '@askpanda what is happening with task 46374283?');
    const sent = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - sent).toBeLessThan(10_000);
    expect(answersIn(fake, last.id).length).toBeLessThanOrEqual(1);
    expect(stderr).not.toContain(BOT_TOKEN);
  }, 60_000);
});
