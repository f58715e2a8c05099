import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DigestScheduler } from '../../src/digest/scheduler.ts';
import type { Store } from '../../src/storage/store.ts';
import { generatedFailures, startFakeBigPanda, watchedTask, type FakeBigPanda } from '../fakes/bigpanda.ts';
import {
  REDIS,
  RecordingPoster,
  fakeClient,
  hour,
  openTestStore,
  runnerOn,
  subscribe,
  t,
  digestConfig,
  uniquePrefix,
} from './helpers.ts';
import { sharedRedis } from '../support/services.ts';

const REDIS_UP = await sharedRedis();

let fake: FakeBigPanda;
const stores: Store[] = [];
const ids = Array.from({ length: 10 }, (_, i) => 46700000 + i);

beforeAll(async () => {
  const from = Date.parse('2025-09-07T00:00:00Z');
  fake = await startFakeBigPanda({
    tasks: ids.map((id) =>
      watchedTask(id, { failures: generatedFailures({ jeditaskid: id, from, to: from + 72 * hour, count: 200 }) }),
    ),
    latencyMs: 5,
  });
});
afterAll(async () => {
  await fake.close();
  await Promise.all(stores.map((s) => s.close()));
});

/** Two replicas: each its own Redis connection and monitor client, one shared key prefix. */
async function replicas(prefix: string) {
  const config = digestConfig();
  const made = [];
  for (let i = 0; i < 2; i++) {
    const store = await openTestStore(REDIS);
    stores.push(store);
    const poster = new RecordingPoster();
    made.push({ poster, ...runnerOn(store, fakeClient(config, fake.url), poster, { prefix }) });
  }
  return made;
}

describe.skipIf(!REDIS_UP)('two schedulers on one Redis', () => {
  it('post one digest per channel and window, also when they tick at the same instant and a minute apart', async () => {
    const prefix = uniquePrefix();
    const [a, b] = await replicas(prefix);
    for (const [i, id] of ids.entries())
      await subscribe(a!.subs, { jeditaskid: id, channel: `C0REPL${i % 5}`, at: '2025-09-07T06:00:00Z' });

    for (let day = 0; day < 3; day++) {
      const when = Date.parse('2025-09-07T08:00:00Z') + day * 24 * hour;
      await Promise.all([a!.runner.run(new Date(when)), b!.runner.run(new Date(when))]);
      // A late tick on one replica, and both again a minute later.
      await b!.runner.run(new Date(when + 60_000));
      await Promise.all([a!.runner.run(new Date(when + 120_000)), b!.runner.run(new Date(when + 120_000))]);
    }
    const posts = [...a!.poster.posts, ...b!.poster.posts];
    expect(posts).toHaveLength(15);
    const perChannelDay = new Map<string, number>();
    for (const p of posts)
      perChannelDay.set(
        `${p.target.channel}|${p.message.markdown.split('\n')[0]}`,
        (perChannelDay.get(`${p.target.channel}|${p.message.markdown.split('\n')[0]}`) ?? 0) + 1,
      );
    expect([...perChannelDay.values()].every((n) => n === 1)).toBe(true);
    // Each channel's digest holds both its tasks: no replica split a channel in two.
    for (const p of posts) expect(p.message.markdown.match(/\[Task \d+\]/g)).toHaveLength(2);
  });

  it("serve's node-cron ticks on two replicas post each due window once", async () => {
    const prefix = uniquePrefix();
    const [a, b] = await replicas(prefix);
    // Every hour in UTC: the window ending at the last full hour is due now (and no other one
    // during the test: start well clear of the next full hour).
    const toNextHour = hour - (Date.now() % hour);
    if (toNextHour < 15_000) await new Promise((r) => setTimeout(r, toNextHour + 1000));
    const created = new Date(Math.floor(Date.now() / hour) * hour - 30 * 60_000).toISOString();
    for (const [i, id] of ids.slice(0, 4).entries())
      await subscribe(a!.subs, {
        jeditaskid: id,
        channel: `C0CRON${i % 2}`,
        schedule: { kind: 'every', hours: 1 },
        at: created,
      });
    const schedulers = [
      new DigestScheduler(a!.runner, { expression: '* * * * * *' }),
      new DigestScheduler(b!.runner, { expression: '* * * * * *' }),
    ];
    for (const s of schedulers) s.start();
    await new Promise((r) => setTimeout(r, 3500));
    await Promise.all(schedulers.map((s) => s.stop()));
    const posts = [...a!.poster.posts, ...b!.poster.posts];
    expect(posts.map((p) => p.target.channel).sort()).toEqual(['C0CRON0', 'C0CRON1']);
  });

  it('keys of one installation are invisible to another prefix on the same Redis', async () => {
    const [a] = await replicas(uniquePrefix());
    const [other] = await replicas(uniquePrefix());
    await subscribe(a!.subs, { jeditaskid: ids[0]!, channel: 'C0MINE', at: '2025-09-07T06:00:00Z' });
    expect(await other!.subs.loadAll()).toEqual([]);
    expect((await other!.runner.run(t('2025-09-07T08:00:00Z'))).due).toBe(0);
  });
});
