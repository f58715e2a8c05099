import { sleep } from '../support/time.ts';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/load-config.ts';
import { openStore } from '../../src/storage/open-store.ts';
import { SubscriptionStore } from '../../src/digest/subscription-store.ts';
import { cliEnv, runCli } from '../support/cli.ts';
import { BOT_TOKEN as SLACK_BOT_TOKEN, FakeSlack } from '../fakes/slack-api.ts';
import { BOT_TOKEN as MATTERMOST_BOT_TOKEN, FakeMattermost } from '../fakes/mattermost.ts';

describe('askpanda digest', { timeout: 120_000 }, () => {
  it('--task prints the digest of a window without posting or recording it', async () => {
    const env = cliEnv({ ASKPANDA_DEMO: '1' });
    const text = await runCli(
      ['digest', '--task', '46374283', '--since', '2025-09-08T00:00:00Z', '--tz', 'Europe/Zurich'],
      { env },
    );
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^\*\*PanDA digest\*\* since Mon 8 Sep 2025, 02:00 Europe\/Zurich\n/);
    expect(text.stdout).toContain('**pilot:1305** ×29, **new**');
    const json = await runCli(['digest', '--task', '46374283', '--since', '2025-09-08', '--json'], { env });
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as {
      window: { after: string };
      message: { markdown: string; details: string[] };
      tasks: Array<{ failedJobs: number }>;
    };
    expect(parsed.window.after).toBe('2025-09-08T00:00:00.000Z');
    expect(parsed.tasks[0]!.failedJobs).toBe(47);
    expect(parsed.message.details).toEqual([]);
  });

  it('answers usage errors with one line and exit code 2', async () => {
    const env = cliEnv({ ASKPANDA_DEMO: '1' });
    for (const [args, message] of [
      [
        ['digest'],
        'askpanda digest: give --task N to print a digest, or use `askpanda digest run` (see askpanda digest --help)',
      ],
      [['digest', '--task', '46x'], 'askpanda digest: --task takes a JEDI task id (digits), not "46x"'],
      [
        ['digest', '--task', '46374283', '--since', 'yesterday'],
        'askpanda digest: --since takes an ISO-8601 instant such as 2025-09-08T08:00:00Z, not "yesterday"',
      ],
      [
        ['digest', 'run', '--at', 'noon'],
        'askpanda digest: --at takes an ISO-8601 instant such as 2025-09-09T08:00:00Z, not "noon"',
      ],
    ] as const) {
      const result = await runCli([...args], { env });
      expect(result.code).toBe(2);
      expect(result.stderr.trim()).toBe(message);
    }
    const unknown = await runCli(['digest', '--task', '46000404'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('askpanda digest: the monitor has no task 46000404');
  });

  it('run: a subscription made with `ask` is posted once per due window; a second run at the same instant posts nothing', async () => {
    const env = cliEnv({ ASKPANDA_DEMO: '1' });
    // One minute past the next 00/06/12/18 UTC slot, so exactly one window is due whatever the time of
    // day (a fixed "now + 7 h" spans two slots in the last hour of each six: a catch-up digest). Close
    // to a slot, the subscription waits until it has passed, so the slot is surely after it.
    const sixHours = 6 * 3_600_000;
    const untilSlot = sixHours - (Date.now() % sixHours);
    if (untilSlot < 20_000) await sleep(untilSlot + 1_000);
    const nextSlot = (Math.floor(Date.now() / sixHours) + 1) * sixHours;
    const subscribed = await runCli(['ask', '--json', 'subscribe task 46374283 every 6h'], { env });
    expect(JSON.parse(subscribed.stdout)).toMatchObject({
      agent: 'command',
      facts: { jeditaskid: 46374283, schedule: 'every 6h' },
    });
    const at = new Date(nextSlot + 60_000).toISOString();
    const first = await runCli(['digest', 'run', '--at', at], { env });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^No new failures in \[task 46374283\]/);
    expect(first.stderr).toMatch(/posted 1 digest \(1 task\); 2 monitor requests\./);
    const second = await runCli(['digest', 'run', '--at', at, '--json'], { env });
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ due: 0, posted: [] });
    await runCli(['ask', 'unsubscribe all'], { env });
    const after = await runCli(['digest', 'run', '--at', new Date(Date.now() + 30 * 3_600_000).toISOString()], { env });
    expect(after.stdout).toBe('');
  }, 90_000);

  it('run: posts due digests to Slack and Mattermost, connected for posting only, once per window', async () => {
    const slack = await FakeSlack.start();
    const mattermost = await FakeMattermost.start();
    try {
      const channel = mattermost.addChannel({ name: 'atlas-shifters' });
      const env = cliEnv({
        ASKPANDA_DEMO: '1',
        SLACK_BOT_TOKEN,
        SLACK_API_URL: slack.apiUrl,
        MATTERMOST_URL: mattermost.url,
        MATTERMOST_TOKEN: MATTERMOST_BOT_TOKEN,
      });
      const store = await openStore(loadConfig({ env }));
      const subscriptions = new SubscriptionStore(store);
      for (const [platform, where] of [
        ['slack', 'C0SLACK'],
        ['mattermost', channel.id],
      ] as const) {
        await subscriptions.add({
          platform,
          channel: where,
          jeditaskid: 46374283,
          schedule: { kind: 'daily', hour: 8, minute: 0 },
          timezone: 'UTC',
          createdBy: 'U042',
          createdAt: '2025-09-08T06:00:00.000Z',
        });
      }
      await store.close();
      const first = await runCli(['digest', 'run', '--at', '2025-09-08T08:00:00Z'], { env });
      expect(first.stderr).toMatch(/posted 2 digests \(2 tasks\)/);
      expect(first.code).toBe(0);
      const slackPosts = slack.callsOf('chat.postMessage');
      expect(slackPosts.map((c) => c.args.channel)).toContain('C0SLACK');
      expect(String(slackPosts[0]!.args.text)).toMatch(/Task 46374283/);
      const posted = mattermost.callsTo('createPost');
      expect(posted.length).toBeGreaterThanOrEqual(1);
      expect(
        [...mattermost.posts.values()].some((p) => p.channel_id === channel.id && /46374283/.test(p.message)),
      ).toBe(true);
      // Posting only: no websocket was opened, no Socket Mode connection asked for.
      expect(slack.callsOf('apps.connections.open')).toHaveLength(0);
      const second = await runCli(['digest', 'run', '--at', '2025-09-08T08:00:00Z', '--json'], { env });
      expect(second.code).toBe(0);
      expect(JSON.parse(second.stdout)).toMatchObject({ posted: [] });
      expect(slack.callsOf('chat.postMessage')).toHaveLength(slackPosts.length);
    } finally {
      await slack.close();
      await mattermost.close();
    }
  });

  it('run: a platform that cannot connect keeps its digests due, with one sentence and exit code 1', async () => {
    const slack = await FakeSlack.start();
    slack.fail('auth.test', { error: 'invalid_auth' }, 10);
    try {
      const env = cliEnv({ ASKPANDA_DEMO: '1', SLACK_BOT_TOKEN, SLACK_API_URL: slack.apiUrl });
      const store = await openStore(loadConfig({ env }));
      await new SubscriptionStore(store).add({
        platform: 'slack',
        channel: 'C0SLACK',
        jeditaskid: 46374283,
        schedule: { kind: 'daily', hour: 8, minute: 0 },
        timezone: 'UTC',
        createdBy: 'U042',
        createdAt: '2025-09-08T06:00:00.000Z',
      });
      await store.close();
      const result = await runCli(['digest', 'run', '--at', '2025-09-08T08:00:00Z'], { env });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/askpanda digest run: could not connect to Slack for posting \(.*\)\./);
      expect(result.stderr).toContain(
        'askpanda digest run: 1 due subscription in slack channels not posted: slack is configured, but could not ' +
          'be connected for posting; they stay due and go out, combined, once it can post.',
      );
      expect(slack.callsOf('chat.postMessage')).toHaveLength(0);
    } finally {
      await slack.close();
    }
  });
});
