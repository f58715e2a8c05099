import { createServer } from 'node:http';
import Keyv from 'keyv';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AskPandaError } from '../../src/core/errors.ts';
import { FAULT, TASK_FAULT, startFakeBigPanda, type FakeBigPanda } from '../fakes/bigpanda.ts';
import { testClient, monitorConfig } from './helpers.ts';
import { createPandaClient } from '../../src/panda/client.ts';
import { JobAgent } from '../../src/agents/job.ts';
import { context } from './helpers.ts';

let fake: FakeBigPanda;
beforeAll(async () => {
  fake = await startFakeBigPanda({ hugeLogBytes: 1024 * 1024 });
});
afterAll(async () => {
  await fake.close();
});

async function failure(promise: Promise<unknown>): Promise<AskPandaError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AskPandaError);
  return err as AskPandaError;
}

describe('PandaClient against the fake BigPanDA', () => {
  it('reads a job in the real shape and validates it', async () => {
    const client = testClient(monitorConfig(fake.url));
    const data = await client.job(6800730400);
    expect(data.job.piloterrorcode).toBe(1235);
    expect(data.job.jeditaskid).toBe(46374283);
    // The whole job row and every file of the job, as /job?pandaid=N&json serves them.
    expect(Object.keys(data.job).length).toBeGreaterThanOrEqual(140);
    expect(data.files.map((f) => f.type)).toEqual([...Array<string>(1).fill('input'), 'output', 'log']);
    expect(data.files[0]).toMatchObject({
      lfn: expect.stringMatching(/^DAOD_PHYS\.37621455\._\d{6}\.pool\.root\.1$/) as unknown,
      scope: 'mc23_13p6TeV',
      status: 'ready',
    });
    expect(data.files[0]!.guid).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
  });

  it('caches metadata: a second question about the same job sends no request', async () => {
    const client = testClient(monitorConfig(fake.url));
    await client.job(6802258254);
    const after = client.stats.requests;
    await client.job(6802258254);
    await client.job(6802258254);
    expect(client.stats.requests).toBe(after);
    expect(after).toBe(1);
  });

  it('treats the HTML page for an unknown job as not found, naming the job and its page', async () => {
    const client = testClient(monitorConfig(fake.url));
    const err = await failure(client.job(FAULT.unknown));
    expect(err.kind).toBe('not_found');
    expect(err.message).toContain(`job ${FAULT.unknown}`);
    expect(err.message).toContain(`/job?pandaid=${FAULT.unknown}`);
    const task = await failure(client.task(TASK_FAULT.unknown));
    expect(task.kind).toBe('not_found');
    expect(task.message).toContain(`/task/${TASK_FAULT.unknown}/`);
  });

  it('retries a 500 twice with backoff, then reports monitor_unavailable', async () => {
    const client = testClient(monitorConfig(fake.url));
    const before = fake.count(`/job?pandaid=${FAULT.server500}`);
    const err = await failure(client.job(FAULT.server500));
    expect(err.kind).toBe('monitor_unavailable');
    expect(err.message).toMatch(/3 attempts/);
    expect(fake.count(`/job?pandaid=${FAULT.server500}`) - before).toBe(3);
    expect(client.stats.retries).toBe(2);
  });

  it('gives up on a monitor that never answers after the timeout, within bounded time', async () => {
    const client = testClient(
      monitorConfig(fake.url, (c) => {
        c.monitor.timeoutMs = 300;
        c.monitor.retries = 1;
      }),
    );
    const started = Date.now();
    const err = await failure(client.job(FAULT.hang));
    expect(err.kind).toBe('monitor_unavailable');
    expect(err.message).toMatch(/did not answer within/);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('honours Retry-After on 429 and succeeds on the next attempt', async () => {
    const client = testClient(monitorConfig(fake.url));
    const started = Date.now();
    const data = await client.job(FAULT.retryAfterShort);
    expect(data.job.pandaid).toBe(FAULT.retryAfterShort);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(client.stats.requests).toBe(2);
  });

  it('reports rate_limited when Retry-After is longer than we wait', async () => {
    const client = testClient(monitorConfig(fake.url));
    const started = Date.now();
    const err = await failure(client.job(FAULT.retryAfterLong));
    expect(err.kind).toBe('rate_limited');
    expect(err.message).toMatch(/3600 s/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('reports malformed or cut-off JSON as monitor_unavailable', async () => {
    const client = testClient(monitorConfig(fake.url));
    const err = await failure(client.job(FAULT.malformed));
    expect(err.kind).toBe('monitor_unavailable');
    expect(err.message).toMatch(/broken/);
    expect(err.message).toContain(`job ${FAULT.malformed}`);
  });

  it('refuses a JSON body above maxJsonBytes', async () => {
    const client = testClient(monitorConfig(fake.url, (c) => (c.monitor.maxJsonBytes = 1024)));
    const err = await failure(client.taskJobs(46374283));
    expect(err.kind).toBe('monitor_unavailable');
    expect(err.message).toMatch(/larger than/);
  });

  it('reads task, job state counts, jobs and errors in their real shapes', async () => {
    const client = testClient(monitorConfig(fake.url));
    const task = await client.task(46374283);
    expect(task.datasets.map((d) => d.type)).toEqual(['input', 'output', 'log']);
    const counts = await client.taskWithJobCounts(46374283);
    expect(counts.job_state_count?.finished).toBe(1112);
    const jobs = await client.taskJobs(46374283);
    expect(jobs.jobs.length).toBeGreaterThan(0);
    expect(jobs.jobs[0]).not.toHaveProperty('jobname'); // only the asked-for fields
    const errors = await client.taskErrors(46374283);
    expect(errors.errsByCount[0]).toMatchObject({ error: 'pilot:1305', example_pandaid: 6802258254 });
  });

  it('lists log files and follows the file browser redirect to stream a log', async () => {
    const client = testClient(monitorConfig(fake.url));
    const listing = await client.logFiles(6800730400);
    expect(listing.files.map((f) => f.name)).toContain('pilotlog.txt');
    const outcome = await client.scanLogFile(
      6800730400,
      'pilotlog.txt',
      {
        patterns: [{ regex: /exceeded the memory limit/, weight: 9, label: 'x' }],
        contextBefore: 5,
        contextAfter: 2,
        maxLineChars: 500,
        maxMatches: 10,
        tailLines: 5,
        maxBytes: 1 << 30,
      },
      'k',
    );
    expect(outcome.status).toBe('scanned');
    if (outcome.status === 'scanned')
      expect(outcome.result.best?.match.text).toContain('job has exceeded the memory limit 6291456 kB > 4194304 kB');
    expect(fake.requests.some((r) => r.startsWith('/media/filebrowser/6800730400/'))).toBe(true);
    const missing = await client.scanLogFile(
      6800730400,
      'no-such-file.txt',
      {
        patterns: [],
        contextBefore: 1,
        contextAfter: 1,
        maxLineChars: 100,
        maxMatches: 1,
        tailLines: 1,
        maxBytes: 1000,
      },
      'k',
    );
    expect(missing.status).toBe('missing');
  });

  it('sends the configured token as a Bearer header (and Token as given)', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(String(req.headers.authorization));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ job: { pandaid: 1, jobstatus: 'running' }, files: [], dsfiles: [] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await testClient(monitorConfig(url, (c) => (c.monitor.token = 'abc.def.ghi'))).job(1);
      await testClient(monitorConfig(url, (c) => (c.monitor.token = 'Token 0123456789'))).job(1);
      expect(seen).toEqual(['Bearer abc.def.ghi', 'Token 0123456789']);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    let active = 0;
    let peak = 0;
    const server = createServer((req, res) => {
      active++;
      peak = Math.max(peak, active);
      setTimeout(() => {
        active--;
        const id = Number(new URL(req.url!, 'http://x').searchParams.get('pandaid'));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ job: { pandaid: id, jobstatus: 'running' }, files: [] }));
      }, 40);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const client = testClient(monitorConfig(url, (c) => (c.monitor.concurrency = 2)));
      await Promise.all(Array.from({ length: 8 }, (_, i) => client.job(100 + i)));
      expect(peak).toBe(2);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('shares final jobs through the persistent store: a second process asks the monitor nothing', async () => {
    const store = new Keyv();
    const config = monitorConfig(fake.url);
    const first = createPandaClient(config, { persistent: store });
    const question = context({ agent: 'job', pandaid: 6800730400, reason: 'test' }, 'why did it fail?');
    await new JobAgent({ client: first, config }).handle(question);
    expect(first.stats.requests).toBe(3);
    const second = createPandaClient(config, { persistent: store });
    const draft = await new JobAgent({ client: second, config }).handle(question);
    expect(second.stats.requests).toBe(0);
    expect(draft.evidence.some((e) => e.lines.some((l) => l.includes('exceeded the memory limit')))).toBe(true);
    // a running job is not persisted: its state changes
    await createPandaClient(config, { persistent: store }).job(6798544333);
    const third = createPandaClient(config, { persistent: store });
    await third.job(6798544333);
    expect(third.stats.requests).toBe(1);
  });

  it('follows the file browser redirect, keeping the token only for the same origin', async () => {
    const seen: Array<{ where: string; auth?: string }> = [];
    const files = createServer((req, res) => {
      seen.push({ where: 'files', auth: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('2025-09-08 10:00:00,000 | ERROR    | x | y | z | pilot error 1099 set\n');
    });
    await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
    const filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
    const monitor = createServer((req, res) => {
      seen.push({ where: 'monitor', auth: req.headers.authorization });
      const own = req.url!.startsWith('/media/');
      if (own) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        return void res.end('line\n');
      }
      const cross = req.url!.includes('pandaid=2');
      res.writeHead(301, { location: cross ? `${filesUrl}/media/x/pilotlog.txt` : '/media/x/pilotlog.txt' });
      res.end();
    });
    await new Promise<void>((r) => monitor.listen(0, '127.0.0.1', r));
    const monitorUrl = `http://127.0.0.1:${(monitor.address() as AddressInfo).port}`;
    try {
      const client = testClient(monitorConfig(monitorUrl, (c) => (c.monitor.token = 'tok-123')));
      const options = {
        patterns: [],
        contextBefore: 1,
        contextAfter: 1,
        maxLineChars: 100,
        maxMatches: 1,
        tailLines: 1,
        maxBytes: 1000,
      };
      expect((await client.scanLogFile(1, 'pilotlog.txt', options, 'a')).status).toBe('scanned');
      expect((await client.scanLogFile(2, 'pilotlog.txt', options, 'a')).status).toBe('scanned');
      expect(seen).toEqual([
        { where: 'monitor', auth: 'Bearer tok-123' },
        { where: 'monitor', auth: 'Bearer tok-123' },
        { where: 'monitor', auth: 'Bearer tok-123' },
        { where: 'files', auth: undefined },
      ]);
    } finally {
      for (const s of [files, monitor]) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
    }
  });

  it('retries a log download that fails with 503, then streams it', async () => {
    let calls = 0;
    const server = createServer((_req, res) => {
      calls++;
      if (calls === 1) {
        res.writeHead(503);
        return void res.end();
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('one\ntwo\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const client = testClient(monitorConfig(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
      const outcome = await client.scanLogFile(
        3,
        'payload.stdout',
        {
          patterns: [],
          contextBefore: 1,
          contextAfter: 1,
          maxLineChars: 100,
          maxMatches: 1,
          tailLines: 5,
          maxBytes: 1000,
        },
        'a',
      );
      expect(outcome.status === 'scanned' && outcome.result.tail).toEqual(['one', 'two']);
      expect(calls).toBe(2);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
