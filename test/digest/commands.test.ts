import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bot } from '../../src/bot/bot.ts';
import { CommandRegistry, parseCommand } from '../../src/bot/commands.ts';
import type { Answer } from '../../src/core/answer.ts';
import type { Incoming } from '../../src/core/incoming.ts';
import { ThreadHistory } from '../../src/bot/thread-history.ts';
import { digestCommands } from '../../src/digest/commands.ts';
import { CHAT_PLATFORMS } from '../../src/adapters/registry.ts';
import { SubscriptionStore } from '../../src/digest/subscription-store.ts';
import { OfflineModel } from '../../src/llm/offline.ts';
import { DEMO_TASK_ID } from '../../src/panda/demo/data.ts';
import type { Store } from '../../src/storage/store.ts';
import { RouteEchoAgent } from '../bot/helpers.ts';
import { TASK_STATES, startFakeBigPanda, type FakeBigPanda } from '../fakes/bigpanda.ts';
import { fakeClient, openTestStore, digestConfig } from './helpers.ts';

const NOW = Date.parse('2025-09-08T09:30:00Z');
let fake: FakeBigPanda;
const stores: Store[] = [];

beforeAll(async () => {
  fake = await startFakeBigPanda();
});
afterAll(async () => {
  await fake.close();
  await Promise.all(stores.map((s) => s.close()));
});

async function setup(env: Record<string, string> = {}) {
  const config = digestConfig(env);
  const store = await openTestStore();
  stores.push(store);
  const subscriptions = new SubscriptionStore(store);
  const commands = new CommandRegistry();
  const client = fakeClient(config, fake.url);
  for (const c of digestCommands({ config, subscriptions, client, chatPlatforms: CHAT_PLATFORMS, now: () => NOW }))
    commands.register(c);
  const agents = {
    job: new RouteEchoAgent('job'),
    task: new RouteEchoAgent('task'),
    documents: new RouteEchoAgent('documents'),
    general: new RouteEchoAgent('general'),
  };
  const bot = new Bot({
    config,
    history: new ThreadHistory(store.ns('history'), config.history),
    model: new OfflineModel(),
    agents,
    commands,
  });
  const say = (text: string, extra: Partial<Incoming> = {}): Promise<Answer> =>
    bot.handle({
      platform: 'slack',
      channel: 'C0TEAM',
      thread: `t-${Math.random()}`,
      user: 'U042',
      text,
      isDirect: false,
      ...extra,
    });
  return { bot, say, subscriptions, agents };
}

describe('command parsing', () => {
  it('takes the digest commands with all their words, and leaves questions that start with the same word alone', async () => {
    const { bot } = await setup();
    const kind = (text: string) => {
      const parsed = parseCommand(text, bot.commands);
      return parsed.kind === 'command' ? parsed.command.name : parsed.kind;
    };
    expect(kind('subscribe task 46374283 weekdays at 09:30 tz Europe/Zurich')).toBe('subscribe');
    expect(kind('unsubscribe task 46374283')).toBe('unsubscribe');
    expect(kind('digest now task 46374283')).toBe('digest');
    expect(kind('subscriptions')).toBe('subscriptions');
    expect(kind('/digest of my task please')).toBe('digest');
    expect(kind('digest of my task please, what failed overnight?')).toBe('none');
    expect(kind('help me understand why job 6802258254 failed')).toBe('none');
    expect(kind('help')).toBe('help');
  });

  it('lists them in help', async () => {
    const { say } = await setup();
    const help = await say('help');
    expect(help.text).toContain('`subscribe task N [daily at HH:MM | weekdays at HH:MM | every Nh] [tz Area/City]`');
    expect(help.text).toContain('`unsubscribe task N | all`');
    expect(help.text).toContain('`digest now [task N]`');
  });
});

describe('subscribe', () => {
  it('subscribes the channel with the default schedule after checking the task with the monitor', async () => {
    const { say, subscriptions, agents } = await setup();
    const answer = await say(`<@U0BOT> subscribe task ${DEMO_TASK_ID}`);
    expect(answer.error).toBeUndefined();
    expect(answer.agent).toBe('command');
    expect(answer.text).toContain(
      `Subscribed: this channel gets a digest of new failures in [task ` +
        `${DEMO_TASK_ID}](https://bigpanda.cern.ch/task/${DEMO_TASK_ID}/) ` +
        `(\`user.mkowalsk.DAOD_PHYS.ttbar_lep.mc23e.v3/\`), daily at 08:00 UTC.`,
    );
    expect(answer.text).toContain('The first comes Tue 9 Sep 2025, 08:00 UTC');
    expect(answer.facts).toMatchObject({
      jeditaskid: DEMO_TASK_ID,
      schedule: 'daily at 08:00',
      timezone: 'UTC',
      nextRun: '2025-09-09T08:00:00.000Z',
    });
    expect(answer.links).toEqual([
      { title: `Task ${DEMO_TASK_ID}`, url: `https://bigpanda.cern.ch/task/${DEMO_TASK_ID}/` },
    ]);
    const stored = await subscriptions.get('slack', 'C0TEAM', DEMO_TASK_ID);
    expect(stored).toMatchObject({
      jeditaskid: DEMO_TASK_ID,
      schedule: { kind: 'daily', hour: 8, minute: 0 },
      timezone: 'UTC',
      createdBy: 'U042',
      createdAt: '2025-09-08T09:30:00.000Z',
    });
    expect(Object.values(agents).every((a) => a.seen.length === 0)).toBe(true);
  });

  it('takes a schedule and a zone in either order, and notes daylight-saving days', async () => {
    const { say, subscriptions } = await setup();
    const a = await say(`subscribe task ${DEMO_TASK_ID} tz Europe/Zurich daily at 02:30`);
    expect(a.text).toContain('daily at 02:30 Europe/Zurich');
    expect(a.text).toContain(
      'Daylight saving: on Sun 26 Oct 2025 02:30 happens twice in Europe/Zurich (the clocks go back); the ' +
        'digest comes once, at the first 02:30.',
    );
    expect(a.text).toContain(
      "Daylight saving: on Sun 29 Mar 2026 the clocks in Europe/Zurich skip 02:30, so that day's digest comes at 03:30 instead.",
    );
    const b = await say('subscribe to task 46371905 every 6h tz america/chicago', { channel: 'C0OTHER' });
    expect(b.facts).toMatchObject({
      schedule: 'every 6h',
      timezone: 'America/Chicago',
      nextRun: '2025-09-08T11:00:00.000Z',
    });
    expect((await subscriptions.get('slack', 'C0OTHER', 46371905))?.schedule).toEqual({ kind: 'every', hours: 6 });
  });

  it.each([
    [
      'subscribe',
      'Which task?: say `subscribe task N [daily at HH:MM | weekdays at HH:MM | every Nh] [tz Area/City]`, ' +
        'e.g. `subscribe task 46374283 weekdays at 09:30 tz Europe/Zurich`.',
    ],
    [
      'subscribe task abc',
      '"abc" is not a task id: say `subscribe task N [daily at HH:MM | weekdays at HH:MM | every Nh] [tz ' +
        'Area/City]`, e.g. `subscribe task 46374283 weekdays at 09:30 tz Europe/Zurich`.',
    ],
    [
      `subscribe task ${DEMO_TASK_ID} daily at 25:00`,
      'After "daily at" I need a 24-hour time such as 08:00 or 17:30, not "25:00".',
    ],
    [
      `subscribe task ${DEMO_TASK_ID} every 5h`,
      '"every 5h" does not divide a day evenly; use 1, 2, 3, 4, 6, 8, 12 or 24 hours, so the digests come at the same hours every day.',
    ],
    [
      `subscribe task ${DEMO_TASK_ID} weekly`,
      'I do not know the schedule "weekly"; use "daily at HH:MM", "weekdays at HH:MM" or "every Nh".',
    ],
    [
      `subscribe task ${DEMO_TASK_ID} tz CET`,
      'I do not know the time zone "CET"; use an IANA Area/City name such as Europe/Zurich, America/Chicago, Asia/Tokyo, or UTC.',
    ],
    [
      `subscribe task ${DEMO_TASK_ID} tz Europe/Zurch`,
      'I do not know the time zone "Europe/Zurch"; use an IANA Area/City name such as Europe/Zurich, America/Chicago, Asia/Tokyo, or UTC.',
    ],
    [
      `subscribe task ${DEMO_TASK_ID} daily at 08:00 please`,
      'I did not understand "please"; the form is `subscribe task N [daily at HH:MM | weekdays at HH:MM | every Nh] [tz Area/City]`.',
    ],
  ])('"%s" is refused with one sentence', async (text, message) => {
    const { say, subscriptions } = await setup();
    const answer = await say(text);
    expect(answer.error).toEqual({ kind: 'bad_input', message });
    expect(answer.text).toBe(message);
    expect(await subscriptions.loadAll()).toEqual([]);
  });

  it('refuses an unknown task, a task already watched and a finished task', async () => {
    const { say } = await setup();
    expect((await say('subscribe task 46000404')).error).toEqual({
      kind: 'not_found',
      message:
        'The monitor has no task 46000404, so I did not subscribe; check the number, or open https://bigpanda.cern.ch/task/46000404/.',
    });
    await say(`subscribe task ${DEMO_TASK_ID}`);
    expect((await say(`subscribe task ${DEMO_TASK_ID} every 6h`)).error).toEqual({
      kind: 'bad_input',
      message:
        `This channel already watches task ${DEMO_TASK_ID} (daily at 08:00 UTC); to change that, ` +
        `\`unsubscribe task ${DEMO_TASK_ID}\` and subscribe again.`,
    });
    expect((await say(`subscribe task ${TASK_STATES.done}`)).error).toEqual({
      kind: 'bad_input',
      message: `Task ${TASK_STATES.done} is already done, so it will have no new failures to report; I did not subscribe this channel.`,
    });
  });

  it('refuses surfaces that cannot receive a digest later', async () => {
    const { say } = await setup();
    expect((await say(`subscribe task ${DEMO_TASK_ID}`, { platform: 'http', channel: 'web' })).error?.message).toBe(
      'Digests are posted in Slack or Mattermost channels (or printed by `askpanda digest run` for the ' +
        'terminal), so I cannot subscribe here; say `subscribe task N` in the channel that should get them.',
    );
  });

  it('says so, and stores nothing, when the monitor cannot be asked', async () => {
    const { say, subscriptions } = await setup();
    fake.setDown(true);
    try {
      const answer = await say(`subscribe task ${DEMO_TASK_ID}`);
      expect(answer.error).toEqual({
        kind: 'monitor_unavailable',
        message:
          `I could not check task ${DEMO_TASK_ID} with the monitor just now, so I did not subscribe; please ` +
          `try again in a few minutes.`,
      });
    } finally {
      fake.setDown(false);
    }
    expect(await subscriptions.loadAll()).toEqual([]);
  });
});

describe('permissions', () => {
  it('lets anyone in the channel change subscriptions by default', async () => {
    const { say } = await setup();
    expect((await say(`subscribe task ${DEMO_TASK_ID}`, { user: 'U0ANYONE' })).error).toBeUndefined();
  });

  it('with digest.changes = admins only lets ASKPANDA_ADMINS change them, and says why to others', async () => {
    const { say } = await setup({
      ASKPANDA_DIGEST_CHANGES: 'admins',
      ASKPANDA_ADMINS: 'U0ADMIN, mattermost:mm-admin-id',
    });
    const refused = await say(`subscribe task ${DEMO_TASK_ID}`, { user: 'U042' });
    expect(refused.error).toEqual({
      kind: 'forbidden',
      message:
        "Only askpanda admins (ASKPANDA_ADMINS) may change this channel's subscriptions, and your user id U042 " +
        'is not one of them; ask an admin, or `subscriptions` to see what it watches.',
    });
    expect((await say('unsubscribe all', { user: 'U042' })).error?.kind).toBe('forbidden');
    // Reading stays open.
    expect((await say('subscriptions', { user: 'U042' })).error).toBeUndefined();
    expect((await say(`subscribe task ${DEMO_TASK_ID}`, { user: 'U0ADMIN' })).error).toBeUndefined();
    // A platform-qualified admin only counts on that platform.
    expect((await say('subscribe task 46371905', { user: 'mm-admin-id' })).error?.kind).toBe('forbidden');
    expect(
      (await say('subscribe task 46371905', { user: 'mm-admin-id', platform: 'mattermost', channel: 'mm-chan' })).error,
    ).toBeUndefined();
  });

  it('explains that no admins are configured', async () => {
    const { say } = await setup({ ASKPANDA_DIGEST_CHANGES: 'admins' });
    expect((await say(`subscribe task ${DEMO_TASK_ID}`)).error?.message).toBe(
      'Subscriptions can only be changed by askpanda admins here, and none are configured yet: ask whoever ' +
        'runs askpanda to add your user id to ASKPANDA_ADMINS.',
    );
  });
});

describe('subscriptions, unsubscribe, digest now', () => {
  it('lists what this channel watches with schedule, zone and next run; other channels see their own', async () => {
    const { say } = await setup();
    expect((await say('subscriptions')).text).toBe(
      'This channel watches no tasks. Subscribe with `subscribe task 46374283` (daily at 08:00 UTC), or ' +
        'e.g. `subscribe task 46374283 weekdays at 09:30 tz Europe/Zurich`.',
    );
    await say(`subscribe task ${DEMO_TASK_ID} weekdays at 09:30 tz Europe/Zurich`);
    await say('subscribe task 46371905 every 6h');
    const list = await say('subscriptions');
    expect(list.text).toBe(
      [
        'This channel watches 2 tasks:',
        '- [task 46371905](https://bigpanda.cern.ch/task/46371905/) ' +
          '`mc23_13p6TeV.801169.Py8EG_A14NNPDF23LO_jj_JZ4.evgen.e8557` · every 6h UTC · next Mon 8 Sep 2025, 12:00',
        `- [task ${DEMO_TASK_ID}](https://bigpanda.cern.ch/task/${DEMO_TASK_ID}/) ` +
          `\`user.mkowalsk.DAOD_PHYS.ttbar_lep.mc23e.v3/\` · weekdays at 09:30 Europe/Zurich · next Tue 9 Sep ` +
          `2025, 09:30`,
      ].join('\n'),
    );
    expect((await say('subscriptions', { channel: 'C0ELSEWHERE' })).text).toMatch(/^This channel watches no tasks/);
    expect((await say('subscriptions', { channel: 'D0DM', isDirect: true })).text).toMatch(
      /^This conversation watches no tasks/,
    );
  });

  it('unsubscribes one task or all of them, and says when there is nothing to stop', async () => {
    const { say, subscriptions } = await setup();
    await say(`subscribe task ${DEMO_TASK_ID}`);
    await say('subscribe task 46371905');
    expect((await say('unsubscribe task 46000404')).error?.message).toBe(
      'This channel does not watch task 46000404; `subscriptions` lists what it watches.',
    );
    expect((await say(`unsubscribe task ${DEMO_TASK_ID}`)).text).toBe(
      `Stopped: this channel no longer gets digests of [task ${DEMO_TASK_ID}](https://bigpanda.cern.ch/task/${DEMO_TASK_ID}/).`,
    );
    expect((await say('unsubscribe all')).text).toBe('Stopped all digests of this channel: task 46371905.');
    expect(await subscriptions.loadAll()).toEqual([]);
    expect((await say('unsubscribe all')).text).toBe('This channel watches no tasks; nothing to stop.');
    expect((await say('unsubscribe')).error?.message).toBe(
      'Say `unsubscribe task N` for one task, or `unsubscribe all` for every task this channel watches.',
    );
  });

  it('digest now shows the digest as it would be posted, without recording anything', async () => {
    const { say, subscriptions } = await setup();
    const one = await say(`digest now task ${DEMO_TASK_ID}`);
    expect(one.error).toBeUndefined();
    expect(one.text).toContain('**PanDA digest** since Sun 7 Sep 2025, 09:30 UTC');
    expect(one.text).toContain('47 failed jobs');
    expect(one.text).toContain('**pilot:1305** ×29, **new**');
    expect(one.facts.digest).toEqual([
      {
        jeditaskid: DEMO_TASK_ID,
        status: 'running',
        failedJobs: 47,
        codes: ['pilot:1305', 'pilot:1235', 'pilot:1099'],
      },
    ]);
    expect((await say('digest now')).error?.message).toBe(
      "This channel watches no tasks; `digest now task 46374283` shows one task's last 24 hours, `subscribe task 46374283` watches it.",
    );
    expect((await say('digest now task 46000404')).error).toEqual({
      kind: 'not_found',
      message: 'The monitor has no task 46000404; check the number, or open https://bigpanda.cern.ch/task/46000404/.',
    });
    await say(`subscribe task ${DEMO_TASK_ID}`);
    const channel = await say('digest now');
    expect(channel.text).toMatch(/^No new failures in \[task 46374283\]/);
    const [entry] = await subscriptions.loadAll();
    expect(entry?.state).toBeUndefined();
  });
});
