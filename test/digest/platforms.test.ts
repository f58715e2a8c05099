import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDigestRunner } from '../../src/digest/service.ts';
import { digestPosters } from '../../src/digest/wiring.ts';
import { APP_TOKEN, BOT_TOKEN, BOT_USER_ID, FakeSlack, eventCallback, mentionEvent } from '../fakes/slack-api.ts';
import { startMattermost, waitForAnswers } from '../mattermost/adapter-helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TASK = 46374283;
const cleanups: Array<() => void | Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('digests through the chat platforms', () => {
  it('Mattermost: `subscribe` in a channel, then the due run posts one digest there, details in its thread', async () => {
    const h = await startMattermost();
    cleanups.push(() => h.close());
    const ana = h.fake.addUser({ username: 'ana' });
    const channel = h.fake.addChannel({ name: 'task-watch', members: [ana], withBot: true });
    const ask = h.fake.userPosts(ana, channel, `@askpanda subscribe task ${TASK} daily at 08:00`);
    const [confirmation] = await waitForAnswers(h.fake, ask.id);
    expect(confirmation!.message).toMatch(/^Subscribed: /);

    const subscribedAt = Date.now();
    const nextEight = new Date(subscribedAt);
    nextEight.setUTCHours(8, 0, 0, 0);
    if (nextEight.getTime() <= subscribedAt) nextEight.setUTCDate(nextEight.getUTCDate() + 1);
    const runner = createDigestRunner(h.app, await digestPosters(h.app));
    const first = await runner.run(new Date(nextEight.getTime() + 60_000));
    expect(first.posted).toHaveLength(1);
    const digest = h.fake.botPosts({ channelId: channel.id }).filter((p) => p.root_id === '');
    expect(digest).toHaveLength(1);
    expect(digest[0]!.message).toContain(`task ${TASK}`);
    // The same instant again posts nothing.
    expect((await runner.run(new Date(nextEight.getTime() + 60_000))).posted).toHaveLength(0);
    expect(h.fake.botPosts({ channelId: channel.id }).filter((p) => p.root_id === '')).toHaveLength(1);
  });

  it("Slack: `subscribe` by mention, and `serve`'s own tick posts the digest when it is due", async () => {
    const fake = await FakeSlack.start();
    cleanups.push(() => fake.close());
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/askpanda.js'), 'serve'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        ASKPANDA_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'askpanda-digest-serve-')),
        ASKPANDA_DEMO: '1',
        ASKPANDA_PORT: '0',
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_APP_TOKEN: APP_TOKEN,
        SLACK_API_URL: fake.apiUrl,
        // The tick looks every 2 s instead of every minute, so the test waits for one minute boundary only.
        ASKPANDA_DIGEST_TICK: '*/2 * * * * *',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    cleanups.push(() => void (child.exitCode === null && child.kill('SIGKILL')));
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    await fake.waitForSocket(20_000);
    await fake.waitFor('auth.test', () => true, 1, 20_000);
    const channel = 'C07DIGESTS';
    // Due at the next full minute (two minutes on when this one is nearly over).
    const due = new Date(Date.now() + (new Date().getUTCSeconds() > 50 ? 120_000 : 60_000));
    const hhmm = `${String(due.getUTCHours()).padStart(2, '0')}:${String(due.getUTCMinutes()).padStart(2, '0')}`;
    const messageTs = `${Math.floor(Date.now() / 1000)}.000111`;
    await fake.sendEnvelope(
      'events_api',
      eventCallback(
        mentionEvent(
          channel,
          'U05ANAPHYS',
          `<@${BOT_USER_ID}> subscribe task ${TASK} daily at ${hhmm} tz UTC`,
          messageTs,
        ),
      ),
    );
    const [reply] = await fake.waitFor('chat.postMessage', (c) => c.args.thread_ts === messageTs, 1, 15_000);
    expect(String(reply!.args.text)).toMatch(/Subscribed/);
    const [digest] = await fake.waitFor(
      'chat.postMessage',
      (c) => c.args.channel === channel && c.args.thread_ts === undefined && String(c.args.text).includes(String(TASK)),
      1,
      150_000,
    );
    expect(digest).toBeDefined();
    expect(stderr).toContain('digests: checking subscriptions on the tick "*/2 * * * * *", posting to slack');
    child.kill('SIGTERM');
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(0);
  }, 200_000);
});
