import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASKS_PER_REQUEST } from '../../src/panda/client.ts';
import { DigestData } from '../../src/digest/digest-data.ts';
import { startFakeBigPanda, watchedTask, type FakeBigPanda } from '../fakes/bigpanda.ts';
import { fakeClient, digestConfig } from './helpers.ts';

let fake: FakeBigPanda;
const ID = 46800001;

beforeAll(async () => {
  const job = (pandaid: number, time: string) => ({
    pandaid,
    jobstatus: 'failed' as const,
    computingsite: 'CERN-PROD',
    modificationtime: time,
    errors: [{ component: 'pilot', code: 1099, diag: 'Failed to stage-in file:x' }],
  });
  fake = await startFakeBigPanda({
    tasks: [
      watchedTask(ID, {
        failures: [job(1, '2025-09-08 07:59:59'), job(2, '2025-09-08 08:00:00'), job(3, '2025-09-08 08:00:01')],
      }),
    ],
  });
});
afterAll(() => fake.close());

describe('monitor requests of digests', () => {
  it('asks /errors/ for an absolute UTC window, and consecutive windows never count a job twice', async () => {
    const client = fakeClient(digestConfig(), fake.url);
    const first = await client.taskErrorsInWindow(ID, {
      after: new Date('2025-09-07T08:00:00Z'),
      until: new Date('2025-09-08T08:00:00Z'),
    });
    const second = await client.taskErrorsInWindow(ID, {
      after: new Date('2025-09-08T08:00:00Z'),
      until: new Date('2025-09-09T08:00:00Z'),
    });
    expect(fake.requests.filter((r) => r.startsWith('/errors/'))).toEqual([
      `/errors/?json&jeditaskid=${ID}&date_from=2025-09-07T08:00:01&date_to=2025-09-08T08:00:00&fields=errsByCount,errsBySite`,
      `/errors/?json&jeditaskid=${ID}&date_from=2025-09-08T08:00:01&date_to=2025-09-09T08:00:00&fields=errsByCount,errsBySite`,
    ]);
    expect(first.errsByCount.map((e) => [e.error, e.count, e.example_pandaid])).toEqual([['pilot:1099', 2, 1]]);
    expect(second.errsByCount.map((e) => [e.error, e.count, e.example_pandaid])).toEqual([['pilot:1099', 1, 3]]);
    expect(first.errsBySite).toMatchObject([{ name: 'CERN-PROD', toterrors: 2, toterrjobs: 2 }]);
  });

  it('reads the status of many tasks in one /tasks/ request per 50 ids', async () => {
    const client = fakeClient(digestConfig(), fake.url);
    const rows = await client.tasksWithJobCounts([ID, 46374283, 46000404]);
    expect(fake.requests.at(-1)).toBe(`/tasks/?jeditaskid=46000404|46374283|${ID}&json&extra=jobstatecount`);
    expect([...rows.keys()].sort()).toEqual([46374283, ID]);
    expect(rows.get(46374283)?.job_state_count?.finished).toBe(1112);
    await expect(
      client.tasksWithJobCounts(Array.from({ length: TASKS_PER_REQUEST + 1 }, (_, i) => i + 1)),
    ).rejects.toThrow(RangeError);

    const data = new DigestData(client);
    const before = fake.requests.length;
    const statuses = await data.statuses([...Array.from({ length: 120 }, (_, i) => 46900000 + i), ID]);
    expect(fake.requests.slice(before).filter((r) => r.startsWith('/tasks/'))).toHaveLength(3);
    expect(statuses.get(ID)?.ok).toBe(true);
    const missing = statuses.get(46900000);
    expect(missing && !missing.ok && missing.error.kind).toBe('not_found');
  });

  it('stops asking a monitor that is down after a few failures in a row', async () => {
    const client = fakeClient(digestConfig(), fake.url);
    const data = new DigestData(client, { breakAfter: 3 });
    fake.setDown(true);
    try {
      const before = client.stats.requests;
      const results = [];
      for (let i = 0; i < 10; i++) results.push(await data.errors(46900000 + i, { after: 0, until: 1000 }));
      expect(results.every((r) => !r.ok && r.error.kind === 'monitor_unavailable')).toBe(true);
      // 3 requests with one retry each, then none.
      expect(client.stats.requests - before).toBe(6);
    } finally {
      fake.setDown(false);
    }
  });
});
