import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedFailures, startFakeBigPanda, watchedTask, type FakeBigPanda } from '../fakes/bigpanda.ts';
import type { Store } from '../../src/storage/store.ts';
import type { RunReport } from '../../src/digest/runner.ts';
import { RecordingPoster, fakeClient, hour, openTestStore, runnerOn, subscribe, t, digestConfig } from './helpers.ts';

const TASK = 46500001;
const DAY = 24 * hour;
const at = (iso: string) => Date.parse(iso);

/** The errors requests the fake saw for a task: their absolute windows. */
function errorWindows(fake: FakeBigPanda, task: number): Array<[string, string]> {
  return fake.requests
    .filter((r) => r.startsWith('/errors/') && r.includes(`jeditaskid=${task}&`))
    .map((r) => {
      const q = new URL(r, 'http://x').searchParams;
      return [q.get('date_from')!, q.get('date_to')!];
    });
}

let fake: FakeBigPanda;
const stores: Store[] = [];
const store = async () => {
  const s = await openTestStore();
  stores.push(s);
  return s;
};

beforeAll(async () => {
  const base = at('2025-09-08T00:00:00Z');
  fake = await startFakeBigPanda({
    tasks: [
      // Day 1 (8 Sep, after 08:00): payload failures; day 2: stage-in; days 3-4: memory; day 5: nothing.
      watchedTask(TASK, {
        failures: [
          ...generatedFailures({
            jeditaskid: TASK,
            from: base + 9 * hour,
            to: base + 20 * hour,
            count: 40,
            errors: [
              { component: 'pilot', code: 1305, diag: 'Failed to execute payload:Athena crashed: std::bad_alloc' },
              { component: 'transform', code: 65, diag: '' },
            ],
          }),
          ...generatedFailures({
            jeditaskid: TASK + 1,
            from: base + DAY + 9 * hour,
            to: base + DAY + 20 * hour,
            count: 6,
            errors: [
              { component: 'pilot', code: 1099, diag: 'Failed to stage-in file:rucio download failed: SourceNotFound' },
            ],
          }),
          ...generatedFailures({
            jeditaskid: TASK + 2,
            from: base + 2 * DAY + 9 * hour,
            to: base + 3 * DAY + 7 * hour,
            count: 12,
            errors: [{ component: 'pilot', code: 1235, diag: 'Payload exceeded maximum allowed memory' }],
          }),
          // Between the scheduled 08:00 and the late catch-up run at 09:30 on 11 Sep: belongs to the next window.
          ...generatedFailures({
            jeditaskid: TASK + 3,
            from: base + 3 * DAY + 8 * hour + 10 * 60_000,
            to: base + 3 * DAY + 9 * hour,
            count: 3,
            errors: [{ component: 'pilot', code: 1213, diag: 'Reached batch system time limit' }],
          }),
        ].sort((a, b) => a.modificationtime.localeCompare(b.modificationtime)),
      }),
      watchedTask(46500002, {
        failures: generatedFailures({
          jeditaskid: 46500002,
          from: at('2025-09-08T01:00:00Z'),
          to: at('2025-09-08T07:00:00Z'),
          count: 20,
        }),
      }),
      watchedTask(46500003),
      watchedTask(46500004),
      watchedTask(46500005, {
        failures: generatedFailures({
          jeditaskid: 46500005,
          from: at('2025-03-28T00:00:00Z'),
          to: at('2025-11-01T00:00:00Z'),
          count: 400,
          seed: 3,
        }),
      }),
    ],
  });
});
afterAll(async () => {
  await fake.close();
  await Promise.all(stores.map((s) => s.close()));
});

describe('a virtual week', () => {
  it('posts one digest per due window with only its new failures, one catch-up after a missed day, nothing after unsubscribe', async () => {
    const config = digestConfig();
    const poster = new RecordingPoster();
    const { runner, subs } = runnerOn(await store(), fakeClient(config, fake.url), poster);
    const sub = await subscribe(subs, { jeditaskid: TASK, at: '2025-09-08T06:00:00Z' });

    const reports: RunReport[] = [];
    const tick = async (from: string, to: string, stepMs = hour) => {
      for (let now = at(from); now <= at(to); now += stepMs) reports.push(await runner.run(new Date(now)));
    };
    await tick('2025-09-08T06:00:00Z', '2025-09-09T23:00:00Z');
    // The bot is down from 10 Sep 00:00 to 11 Sep 09:30: the 10 Sep digest is missed.
    await tick('2025-09-11T09:30:00Z', '2025-09-13T10:30:00Z');

    expect(poster.posts.map((p) => p.target)).toEqual(Array(5).fill({ platform: 'slack', channel: 'C0DIGEST' }));
    const texts = poster.texts();
    // One /errors/ request per window, each with the absolute window (last end, scheduled time].
    expect(errorWindows(fake, TASK)).toEqual([
      ['2025-09-08T06:00:01', '2025-09-08T08:00:00'],
      ['2025-09-08T08:00:01', '2025-09-09T08:00:00'],
      ['2025-09-09T08:00:01', '2025-09-11T08:00:00'],
      ['2025-09-11T08:00:01', '2025-09-12T08:00:00'],
      ['2025-09-12T08:00:01', '2025-09-13T08:00:00'],
    ]);
    expect(texts[0]).toMatch(/No new failures in \[task 46500001\]/);
    expect(texts[1]).toContain('40 failed jobs');
    expect(texts[1]).toMatch(/\*\*pilot:1305\*\* ×40, \*\*new\*\*/);
    expect(texts[1]).toContain('Left out as companions of the codes above: transform:65 ×40');
    expect(texts[2]).toMatch(/\*\*pilot:1099\*\* ×6, \*\*new\*\*/);
    expect(texts[2]).toMatch(/catch-up: also covers 1 missed digest/);
    expect(texts[2]).toMatch(/\*\*pilot:1235\*\* ×12, \*\*new\*\*/);
    expect(texts[2]).not.toContain('pilot:1213');
    expect(texts[3]).toMatch(/\*\*pilot:1213\*\* ×3, \*\*new\*\*/);
    expect(texts[4]).toMatch(
      /^No new failures in \[task 46500001\]\([^)]+\) since Fri 12 Sep 2025, 08:00 UTC · running, 1,112 of 4,875 input files finished \(22 %\), 12 failed\.$/,
    );
    expect(reports.filter((r) => r.posted.some((p) => p.catchUp))).toHaveLength(1);

    await subs.remove(sub);
    await tick('2025-09-13T11:00:00Z', '2025-09-15T10:00:00Z', 3 * hour);
    expect(poster.posts).toHaveLength(5);
  });

  it('marks a code seen in an earlier digest as recurring', async () => {
    const config = digestConfig();
    const poster = new RecordingPoster();
    const { runner, subs } = runnerOn(await store(), fakeClient(config, fake.url), poster);
    await subscribe(subs, { jeditaskid: 46500002, at: '2025-09-07T20:00:00Z', schedule: { kind: 'every', hours: 6 } });
    for (const iso of ['2025-09-08T00:00:00Z', '2025-09-08T06:00:00Z', '2025-09-08T12:00:00Z'])
      await runner.run(t(iso));
    const [, second, third] = poster.texts();
    expect(second).toMatch(/pilot:1305\*\* ×\d+, \*\*new\*\*/);
    // The last window (06:00-12:00] holds one failure at 06:42; its code was reported at 06:00.
    expect(third).toMatch(/pilot:\d+\*\* ×1, recurring/);
  });
});

describe('exactly once', () => {
  it('posts nothing when run twice at the same instant, or again a minute later', async () => {
    const config = digestConfig();
    const poster = new RecordingPoster();
    const { runner, subs } = runnerOn(await store(), fakeClient(config, fake.url), poster);
    await subscribe(subs, { jeditaskid: 46500003, at: '2025-09-08T06:00:00Z' });
    const first = await runner.run(t('2025-09-08T08:00:00Z'));
    const again = await runner.run(t('2025-09-08T08:00:00Z'));
    const later = await runner.run(t('2025-09-08T08:01:00Z'));
    expect(first.posted).toHaveLength(1);
    expect(again.posted).toHaveLength(0);
    expect(later.posted).toHaveLength(0);
    expect(poster.posts).toHaveLength(1);
  });

  it('a run that died after posting, before its bookkeeping, is finished by the next run without a second post', async () => {
    const config = digestConfig();
    const poster = new RecordingPoster();
    const s = await store();
    const { runner, subs } = runnerOn(s, fakeClient(config, fake.url), poster, { settings: { claimLeaseMs: 300 } });
    const sub = await subscribe(subs, { jeditaskid: 46500003, channel: 'C0REPAIR', at: '2025-09-08T06:00:00Z' });
    await runner.run(t('2025-09-08T08:00:00Z'));
    const stateAfter = await subs.state(sub.id);
    // As if the process had died right after writing the posted record: the state is the old one.
    await subs.saveState(sub, { ...stateAfter!, lastEnd: sub.createdAt, dataFrom: sub.createdAt, seenCodes: [] });
    await new Promise((r) => setTimeout(r, 350));
    const report = await runner.run(t('2025-09-08T09:00:00Z'));
    expect(report.posted).toHaveLength(0);
    expect(poster.posts).toHaveLength(1);
    expect((await subs.state(sub.id))?.lastEnd).toBe('2025-09-08T08:00:00.000Z');
  });

  it('posts a window whose run was killed between claim and post once, on a tick after the claim expired', async () => {
    const { spawn } = await import('node:child_process');
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dataDir = mkdtempSync(path.join(tmpdir(), 'askpanda-digest-crash-'));
    const s = await openTestStore('', dataDir);
    stores.push(s);
    const config = digestConfig();
    const poster = new RecordingPoster();
    const lease = 3000;
    const { runner, subs } = runnerOn(s, fakeClient(config, fake.url), poster, { settings: { claimLeaseMs: lease } });
    await subscribe(subs, { jeditaskid: 46500004, channel: 'C0CRASH', at: '2025-09-08T06:00:00Z' });

    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(import.meta.dirname, 'crash-child.ts'),
        dataDir,
        fake.url,
        String(lease),
        '2025-09-08T08:00:00Z',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('posting')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    const claimedAt = Date.now();
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    // Restarted: the same tick, and the next ones while the dead run's claim holds, post nothing.
    expect((await runner.run(t('2025-09-08T08:00:00Z'))).posted).toHaveLength(0);
    expect((await runner.run(t('2025-09-08T08:01:00Z'))).posted).toHaveLength(0);
    expect(Date.now() - claimedAt).toBeLessThan(lease);
    await new Promise((r) => setTimeout(r, lease - (Date.now() - claimedAt) + 200));
    const retried = await runner.run(t('2025-09-08T08:04:00Z'));
    expect(retried.posted).toHaveLength(1);
    expect((await runner.run(t('2025-09-08T08:05:00Z'))).posted).toHaveLength(0);
    expect(poster.posts).toHaveLength(1);
    expect(errorWindows(fake, 46500004).at(-1)).toEqual(['2025-09-08T06:00:01', '2025-09-08T08:00:00']);
  });
});

describe('unsubscribe during a run', () => {
  it('posts nothing for a subscription removed while the run was fetching', async () => {
    const config = digestConfig();
    const poster = new RecordingPoster();
    const s = await store();
    const client = fakeClient(config, fake.url);
    const { runner, subs } = runnerOn(s, client, poster);
    const sub = await subscribe(subs, { jeditaskid: 46500003, channel: 'C0GONE2', at: '2025-09-08T06:00:00Z' });
    // The unsubscribe lands while the run waits for the monitor.
    const original = client.tasksWithJobCounts.bind(client);
    client.tasksWithJobCounts = async (ids) => {
      await subs.remove(sub);
      return original(ids);
    };
    const report = await runner.run(t('2025-09-08T08:00:00Z'));
    expect(report.posted).toHaveLength(0);
    expect(poster.posts).toHaveLength(0);
    expect(await subs.loadAll()).toEqual([]);
  });
});

describe('monitor down', () => {
  it('retries on later ticks and posts the complete digest once the monitor is back', async () => {
    const config = digestConfig();
    const poster = new RecordingPoster();
    const { runner, subs } = runnerOn(await store(), fakeClient(config, fake.url), poster);
    await subscribe(subs, { jeditaskid: 46500002, channel: 'C0DOWN', at: '2025-09-07T20:00:00Z' });
    fake.setDown(true);
    try {
      const down = await runner.run(t('2025-09-08T08:00:00Z'));
      expect(down.posted).toHaveLength(0);
      expect(down.waitingForMonitor).toEqual([
        { jeditaskid: 46500002, target: { platform: 'slack', channel: 'C0DOWN' }, retryAt: '2025-09-08T08:05:00.000Z' },
      ]);
      const early = await runner.run(t('2025-09-08T08:02:00Z'));
      expect(early.monitorRequests).toBe(0);
    } finally {
      fake.setDown(false);
    }
    const back = await runner.run(t('2025-09-08T08:05:00Z'));
    expect(back.posted).toHaveLength(1);
    expect(poster.texts()[0]).toContain('20 failed jobs');
    expect(poster.texts()[0]).not.toContain('could not be read');
  });

  it('posts with a note after digest.maxDelayMinutes, and the next digest covers the missing hours', async () => {
    const config = digestConfig();
    const poster = new RecordingPoster();
    const { runner, subs } = runnerOn(await store(), fakeClient(config, fake.url), poster);
    await subscribe(subs, { jeditaskid: 46500002, channel: 'C0LONGDOWN', at: '2025-09-07T20:00:00Z' });
    fake.setDown(true);
    try {
      for (let now = at('2025-09-08T08:00:00Z'); now <= at('2025-09-08T08:40:00Z'); now += 60_000)
        await runner.run(new Date(now));
    } finally {
      fake.setDown(false);
    }
    expect(poster.posts).toHaveLength(1);
    expect(poster.texts()[0]).toContain(
      'Failures could not be read (the monitor did not answer); they will be in the next digest',
    );
    await runner.run(t('2025-09-09T08:00:00Z'));
    expect(poster.posts).toHaveLength(2);
    expect(poster.texts()[1]).toContain('20 failed jobs');
    expect(errorWindows(fake, 46500002).at(-1)).toEqual(['2025-09-07T20:00:01', '2025-09-09T08:00:00']);
  });
});

describe('task state', () => {
  it('reports running → finished, posts a last digest and ends the subscription', async () => {
    const config = digestConfig();
    const poster = new RecordingPoster();
    const { runner, subs } = runnerOn(await store(), fakeClient(config, fake.url), poster);
    const id = 46500010;
    fake.data.tasks.set(
      id,
      watchedTask(id, {
        failures: generatedFailures({
          jeditaskid: id,
          from: at('2025-09-08T09:00:00Z'),
          to: at('2025-09-08T10:00:00Z'),
          count: 5,
        }),
      }),
    );
    const sub = await subscribe(subs, { jeditaskid: id, channel: 'C0END', at: '2025-09-08T06:00:00Z' });
    await runner.run(t('2025-09-08T08:00:00Z'));
    fake.data.tasks.get(id)!.task.status = 'finished';
    const last = await runner.run(t('2025-09-09T08:00:00Z'));
    expect(last.ended).toEqual([id]);
    expect(poster.texts()[1]).toContain('**running → finished**');
    expect(poster.texts()[1]).toContain(
      `Task ${id} is finished: this is its last digest, and this channel's subscription to it has ended.`,
    );
    expect(await subs.get('slack', 'C0END', id)).toBeUndefined();
    expect(await subs.state(sub.id)).toBeUndefined();
    await runner.run(t('2025-09-10T08:00:00Z'));
    expect(poster.posts).toHaveLength(2);
  });

  it('with digest.quiet = silent records a quiet window without posting', async () => {
    const config = digestConfig();
    const poster = new RecordingPoster();
    const { runner, subs } = runnerOn(await store(), fakeClient(config, fake.url), poster, {
      settings: { quiet: 'silent' },
    });
    const sub = await subscribe(subs, { jeditaskid: 46500003, channel: 'C0QUIET', at: '2025-09-08T06:00:00Z' });
    const report = await runner.run(t('2025-09-08T08:00:00Z'));
    expect(report.quiet).toBe(1);
    expect(poster.posts).toHaveLength(0);
    expect((await subs.state(sub.id))?.lastEnd).toBe('2025-09-08T08:00:00.000Z');
    expect((await subs.posted(sub.id, '2025-09-08T08:00:00.000Z'))?.outcome).toBe('quiet');
  });
});

describe('posting', () => {
  it('retries a post the platform refused, then gives up on that window and carries its failures into the next digest', async () => {
    const config = digestConfig();
    const poster = new RecordingPoster();
    const { runner, subs } = runnerOn(await store(), fakeClient(config, fake.url), poster);
    await subscribe(subs, { jeditaskid: 46500002, channel: 'C0GONE', at: '2025-09-07T20:00:00Z' });
    poster.fail = true;
    const first = await runner.run(t('2025-09-08T08:00:00Z'));
    expect(first.failedPosts).toEqual([
      { target: { platform: 'slack', channel: 'C0GONE' }, error: 'channel_not_found', givenUp: false },
    ]);
    const last = await runner.run(t('2025-09-08T08:35:00Z'));
    expect(last.failedPosts[0]?.givenUp).toBe(true);
    poster.fail = false;
    await runner.run(t('2025-09-09T08:00:00Z'));
    expect(poster.posts).toHaveLength(1);
    expect(poster.texts()[0]).toContain('20 failed jobs');
  });

  it('leaves subscriptions on a platform without a poster due and untouched', async () => {
    const config = digestConfig();
    const poster = new RecordingPoster(['slack']);
    const { runner, subs } = runnerOn(await store(), fakeClient(config, fake.url), poster);
    const sub = await subscribe(subs, {
      jeditaskid: 46500003,
      platform: 'mattermost',
      channel: 'mm-town',
      at: '2025-09-08T06:00:00Z',
    });
    const report = await runner.run(t('2025-09-08T08:00:00Z'));
    expect(report.unpostable).toEqual([{ platform: 'mattermost', subscriptions: 1 }]);
    expect(report.monitorRequests).toBe(0);
    expect(await subs.state(sub.id)).toBeUndefined();
  });

  it('sends one /errors/ request per task window however many channels share it, and /tasks/ in chunks of 50', async () => {
    const config = digestConfig();
    const poster = new RecordingPoster();
    const { runner, subs } = runnerOn(await store(), fakeClient(config, fake.url), poster);
    const ids = Array.from({ length: 120 }, (_, i) => 46600000 + i);
    for (const id of ids) fake.data.tasks.set(id, watchedTask(id));
    for (const [i, id] of ids.entries()) {
      await subscribe(subs, { jeditaskid: id, channel: `C0SHARE${i % 30}`, at: '2025-09-08T06:00:00Z' });
      await subscribe(subs, { jeditaskid: id, channel: `C0OTHER${i % 7}`, at: '2025-09-08T06:00:00Z' });
    }
    const before = fake.requests.length;
    const report = await runner.run(t('2025-09-08T08:00:00Z'));
    const requests = fake.requests.slice(before);
    expect(report.posted).toHaveLength(37);
    expect(requests.filter((r) => r.startsWith('/errors/'))).toHaveLength(120);
    expect(requests.filter((r) => r.startsWith('/tasks/'))).toHaveLength(3);
    expect(report.monitorRequests).toBe(123);
  });
});

describe('daylight saving in Europe/Zurich', () => {
  it('keeps 08:00 local across both changes: windows end at 07:00 and 06:00 UTC', async () => {
    const config = digestConfig();
    const poster = new RecordingPoster();
    const { runner, subs } = runnerOn(await store(), fakeClient(config, fake.url), poster);
    await subscribe(subs, {
      jeditaskid: 46500005,
      channel: 'C0ZRH',
      at: '2025-03-28T12:00:00Z',
      timezone: 'Europe/Zurich',
    });
    for (let now = at('2025-03-28T12:00:00Z'); now <= at('2025-03-31T12:00:00Z'); now += hour / 2)
      await runner.run(new Date(now));
    expect(errorWindows(fake, 46500005)).toEqual([
      ['2025-03-28T12:00:01', '2025-03-29T07:00:00'],
      ['2025-03-29T07:00:01', '2025-03-30T06:00:00'],
      ['2025-03-30T06:00:01', '2025-03-31T06:00:00'],
    ]);
  });

  it('a daily 02:30 comes at 03:30 on the spring-forward day and once on the fall-back day', async () => {
    const config = digestConfig();
    const poster = new RecordingPoster();
    const { runner, subs } = runnerOn(await store(), fakeClient(config, fake.url), poster);
    await subscribe(subs, {
      jeditaskid: 46500005,
      channel: 'C0ZRH2',
      at: '2025-03-29T12:00:00Z',
      timezone: 'Europe/Zurich',
      schedule: { kind: 'daily', hour: 2, minute: 30 },
    });
    const postTimes: string[] = [];
    const ticks = async (from: string, to: string) => {
      for (let now = at(from); now <= at(to); now += 15 * 60_000) {
        const r = await runner.run(new Date(now));
        if (r.posted.length) postTimes.push(new Date(now).toISOString());
      }
    };
    await ticks('2025-03-29T12:00:00Z', '2025-03-30T12:00:00Z');
    await ticks('2025-10-25T12:00:00Z', '2025-10-27T03:00:00Z');
    // 03:30 CEST = 01:30 UTC; then the catch-up at the first tick of October, 02:30 CEST (00:30 UTC) once, 02:30 CET next day.
    expect(postTimes).toEqual([
      '2025-03-30T01:30:00.000Z',
      '2025-10-25T12:00:00.000Z',
      '2025-10-26T00:30:00.000Z',
      '2025-10-27T01:30:00.000Z',
    ]);
  });
});
