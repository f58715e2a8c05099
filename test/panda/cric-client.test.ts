import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.ts';
import { loadConfig } from '../../src/load-config.ts';
import { CricClient } from '../../src/panda/cric-client.ts';
import { parseQueueDump } from '../../src/panda/cric-schema.ts';
import { type Store } from '../../src/storage/store.ts';
import { openStore } from '../../src/storage/open-store.ts';
import { AskPandaError } from '../../src/core/errors.ts';
import { realQueueDump, startFakeCric, type FakeCric } from '../fakes/cric.ts';

let cric: FakeCric;
const stores: Store[] = [];
beforeAll(async () => {
  cric = await startFakeCric();
});
afterAll(async () => {
  await cric.close();
});
afterEach(async () => {
  cric.mode = 'ok';
  cric.failTimes = 0;
  cric.delayMs = 0;
  cric.rateLimit = undefined;
  cric.setQueues(realQueueDump());
  cric.requests.length = 0;
  for (const s of stores.splice(0)) await s.close();
});

function config(env: Record<string, string> = {}): Config {
  return loadConfig({
    env: {
      CRIC_URL: cric.url,
      ASKPANDA_CRIC_TIMEOUT_MS: '700',
      ASKPANDA_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'askpanda-cric-')),
      ...env,
    },
  });
}

async function storeFor(c: Config): Promise<Store> {
  const s = await openStore(c);
  stores.push(s);
  return s;
}

describe('CRIC queue dump', () => {
  it('reads the real shape: records keyed by queue name, unknown fields kept', async () => {
    const client = new CricClient(config(), { backoffMs: 5 });
    const { index, stale } = await client.queues();
    expect(stale).toBe(false);
    expect(index.size).toBe(229);
    const aglt2 = index.queue('aglt2')!;
    expect(aglt2).toMatchObject({
      name: 'AGLT2',
      status: 'online',
      atlas_site: 'AGLT2',
      cloud: 'US',
      corecount: 8,
      maxrss: 48000,
      maxtime: 258000,
    });
    // Fields the schema does not name stay with the record (an MCP tool may return them).
    expect((aglt2 as Record<string, unknown>).harvester_template).toBe('');
    expect((aglt2 as Record<string, unknown>).astorages).toBeTypeOf('object');
    expect(index.site('BNL-ATLAS')!.queues.map((q) => q.name)).toContain('BNL_PROD_MCORE');
    expect(cric.requests).toEqual(['/api/atlas/pandaqueue/query/?json']);
  });

  it('skips and counts bad records instead of failing the dump', () => {
    const dump = {
      ...realQueueDump(),
      BROKEN_STATUS: { status: 42, maxrss: 4000 },
      BROKEN_LIMIT: { status: 'online', maxrss: 'lots' },
      NOT_A_RECORD: 'AGLT2',
      NUMERIC_STRINGS: { status: 'online', maxrss: '16000', corecount: null },
    };
    const parsed = parseQueueDump(dump);
    expect(parsed.skipped).toBe(3);
    expect(parsed.problems.join('\n')).toMatch(/BROKEN_STATUS.*status/);
    expect(parsed.problems.join('\n')).toMatch(/BROKEN_LIMIT.*maxrss/);
    const numeric = parsed.queues.find((q) => q.name === 'NUMERIC_STRINGS')!;
    expect(numeric.maxrss).toBe(16000);
    expect(numeric.corecount).toBeUndefined();
    expect(parsed.queues).toHaveLength(230);
  });

  it('a dump that is not an object keyed by queue name is refused with a clear message', async () => {
    cric.setQueues([1, 2, 3] as unknown as Record<string, unknown>);
    const client = new CricClient(config(), { backoffMs: 5 });
    await expect(client.queues()).rejects.toThrow(/not a CRIC queue dump.*no earlier copy/);
  });

  it('retries a 500 with backoff and honours Retry-After on 429', async () => {
    cric.failTimes = 1;
    cric.rateLimit = { times: 1, retryAfter: '0' };
    const client = new CricClient(config({ ASKPANDA_CRIC_RETRIES: '2' }), { backoffMs: 5 });
    const { index } = await client.queues();
    expect(index.size).toBe(229);
    expect(cric.count()).toBe(3);
    expect(client.stats).toMatchObject({ requests: 3, retries: 2 });
  });

  it('gives up after its retries with one sentence naming CRIC and what to do', async () => {
    cric.mode = 'down';
    const client = new CricClient(config({ ASKPANDA_CRIC_RETRIES: '1' }), { backoffMs: 5 });
    const err = await client.queues().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AskPandaError);
    expect((err as AskPandaError).kind).toBe('monitor_unavailable');
    expect((err as Error).message).toMatch(
      /^CRIC did not answer \(HTTP 503, 2 attempts\)\. I have no earlier copy of its queue list\. Try again in a few minutes, or look the queue up at https?:\/\/.*\/atlas\/pandaqueue\/list\/$/,
    );
    expect(cric.count()).toBe(2);
  });

  it('times out a CRIC that does not answer', async () => {
    cric.mode = 'hang';
    const client = new CricClient(config({ ASKPANDA_CRIC_RETRIES: '0', ASKPANDA_CRIC_TIMEOUT_MS: '300' }), {
      backoffMs: 5,
    });
    const started = Date.now();
    await expect(client.queues()).rejects.toThrow(/CRIC did not answer \(no answer within 0\.3 s\)/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a login page, broken JSON, 403 and an oversized dump each get their own message', async () => {
    const cases: Array<[FakeCric['mode'], RegExp]> = [
      ['html', /web page instead of its queue list .*CRIC_CERT/],
      ['truncated', /not valid JSON/],
      ['forbidden', /refused the request \(HTTP 403\).*CRIC_CERT, CRIC_KEY/],
    ];
    for (const [mode, message] of cases) {
      cric.mode = mode;
      await expect(new CricClient(config({ ASKPANDA_CRIC_RETRIES: '0' })).queues()).rejects.toThrow(message);
    }
    cric.mode = 'ok';
    await expect(new CricClient(config({ ASKPANDA_CRIC_MAX_BYTES: '100000' })).queues()).rejects.toThrow(
      /^CRIC did not answer \(the answer is 890 KiB, more than the 98 KiB I read\)\./,
    );
  });
});

describe('CRIC snapshot cache', () => {
  it('a second client on the same store uses the stored snapshot within the TTL', async () => {
    const c = config();
    const store = await storeFor(c);
    const first = new CricClient(c, { persistent: store.ns('cache') });
    await first.queues();
    const second = new CricClient(c, { persistent: store.ns('cache') });
    const { index, ageMs } = await second.queues();
    expect(index.size).toBe(229);
    expect(ageMs).toBeLessThan(60_000);
    expect(cric.count()).toBe(1);
    expect(second.stats.requests).toBe(0);
    // The names for routing are stored too.
    expect(await second.knownNames()).toEqual(expect.arrayContaining(['AGLT2', 'BNL-ATLAS', 'BNL_PROD_MCORE']));
  });

  it('asks CRIC again once the snapshot is older than the TTL', async () => {
    const c = config({ ASKPANDA_CRIC_TTL_SECONDS: '600' });
    const store = await storeFor(c);
    let now = Date.now();
    const client = new CricClient(c, { persistent: store.ns('cache'), now: () => now });
    await client.queues();
    now += 9 * 60_000;
    await client.queues();
    expect(cric.count()).toBe(1);
    now += 2 * 60_000;
    const { stale } = await client.queues();
    expect(stale).toBe(false);
    expect(cric.count()).toBe(2);
  });

  it('CRIC down with a snapshot: the last snapshot answers, with its age and why', async () => {
    const c = config({ ASKPANDA_CRIC_TTL_SECONDS: '60', ASKPANDA_CRIC_RETRIES: '0' });
    const store = await storeFor(c);
    let now = Date.now();
    await new CricClient(c, { persistent: store.ns('cache'), now: () => now }).queues();
    cric.mode = 'down';
    now += 2 * 3600_000;
    // A new process (new client) finds only the stored, expired snapshot.
    const client = new CricClient(c, { persistent: store.ns('cache'), now: () => now });
    const data = await client.queues();
    expect(data.stale).toBe(true);
    expect(data.index.size).toBe(229);
    expect(Math.round(data.ageMs / 3600_000)).toBe(2);
    expect(client.describe(data)).toBe(
      'CRIC did not answer (HTTP 503). This is the last copy of its queue list, 2 h old.',
    );
  });

  it('a stored snapshot of another version or shape is not trusted: CRIC is asked', async () => {
    const c = config();
    const store = await storeFor(c);
    const key = `cric:${cric.url}:queues`;
    const meta = { fetchedAt: Date.now(), source: 'x', skipped: 0, problems: [] };
    for (const stored of [
      { v: 0, meta, queues: '[]' },
      { v: 1, meta, queues: JSON.stringify([{ status: 'online' }]) },
      { v: 1, meta, queues: '[{"name": "A"' },
      'garbage',
    ]) {
      await store.ns('cache').set(key, stored);
      const before = cric.count();
      const { index } = await new CricClient(c, { persistent: store.ns('cache') }).queues();
      expect(index.size).toBe(229);
      expect(cric.count()).toBe(before + 1);
    }
  });

  it('concurrent questions share one request', async () => {
    cric.delayMs = 100;
    const client = new CricClient(config());
    const results = await Promise.all([client.queues(), client.queues(), client.queues()]);
    expect(new Set(results.map((r) => r.index)).size).toBe(1);
    expect(cric.count()).toBe(1);
  });
});

describe('ASKPANDA_CRIC_FILE', () => {
  it('reads a local dump, re-reads it when it changes, and says how old it is', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'askpanda-cric-file-'));
    const file = path.join(dir, 'queues.json');
    const dump = realQueueDump();
    writeFileSync(file, JSON.stringify(dump));
    const anHourAgo = new Date(Date.now() - 3600_000);
    utimesSync(file, anHourAgo, anHourAgo);
    const client = new CricClient(config({ ASKPANDA_CRIC_FILE: file }));
    const first = await client.queues();
    expect(first.index.queue('AGLT2')!.status).toBe('online');
    expect(client.describe(first)).toMatch(/^From the CRIC queue dump .*queues\.json, written (59|60|61) min ago\.$/);
    await client.queues();
    expect(client.stats.requests).toBe(1);
    dump.AGLT2!.status = 'brokeroff';
    writeFileSync(file, JSON.stringify(dump));
    expect((await client.queues()).index.queue('AGLT2')!.status).toBe('brokeroff');
    expect(client.stats.requests).toBe(2);
    expect(cric.count()).toBe(0);
  });

  it('a missing file is one clear sentence', async () => {
    await expect(new CricClient(config({ ASKPANDA_CRIC_FILE: '/nonexistent/queues.json' })).queues()).rejects.toThrow(
      'ASKPANDA_CRIC_FILE=/nonexistent/queues.json cannot be read (ENOENT). Fix the path or unset ASKPANDA_CRIC_FILE to ask CRIC itself.',
    );
  });
});

describe('client certificate (CRIC_CERT, CRIC_KEY)', () => {
  let tls: FakeCric;
  let dir: string;
  beforeAll(async () => {
    // A CA, a server certificate for 127.0.0.1 and a client certificate, as a site's grid PKI would issue them.
    dir = mkdtempSync(path.join(tmpdir(), 'askpanda-cric-pki-'));
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=Test Grid CA',
    );
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=127.0.0.1',
    );
    writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\n');
    ssl(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.pem',
      '-days',
      '2',
      '-extfile',
      'server.ext',
    );
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'client.key',
      '-out',
      'client.csr',
      '-subj',
      '/CN=askpanda robot',
    );
    ssl(
      'x509',
      '-req',
      '-in',
      'client.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'client.pem',
      '-days',
      '2',
    );
    const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
    tls = await startFakeCric({ tls: { key: read('server.key'), cert: read('server.pem'), ca: read('ca.pem') } });
  });
  afterAll(async () => {
    await tls.close();
  });

  it('presents the certificate and trusts the extra CA', async () => {
    const client = new CricClient(
      config({
        CRIC_URL: tls.url,
        CRIC_CERT: path.join(dir, 'client.pem'),
        CRIC_KEY: path.join(dir, 'client.key'),
        ASKPANDA_CRIC_CA: path.join(dir, 'ca.pem'),
      }),
    );
    const { index } = await client.queues();
    expect(index.size).toBe(229);
    expect(tls.clientCerts).toEqual(['askpanda robot']);
  });

  it('without a certificate the TLS handshake is refused, and the answer says what to set', async () => {
    const client = new CricClient(
      config({ CRIC_URL: tls.url, ASKPANDA_CRIC_CA: path.join(dir, 'ca.pem'), ASKPANDA_CRIC_RETRIES: '0' }),
    );
    await expect(client.queues()).rejects.toThrow(
      /^CRIC did not answer \(TLS: the server refused the connection without an accepted client certificate\)\. Set CRIC_CERT and CRIC_KEY to a certificate CRIC accepts\. I have no earlier copy/,
    );
  });

  it('a CRIC certificate from an unknown CA is named as such', async () => {
    const client = new CricClient(
      config({
        CRIC_URL: tls.url,
        CRIC_CERT: path.join(dir, 'client.pem'),
        CRIC_KEY: path.join(dir, 'client.key'),
        ASKPANDA_CRIC_RETRIES: '0',
      }),
    );
    await expect(client.queues()).rejects.toThrow(/not trusted here, [A-Z_]+\)\. Set ASKPANDA_CRIC_CA/);
  });

  it('an unreadable certificate file is named', async () => {
    const client = new CricClient(config({ CRIC_URL: tls.url, CRIC_CERT: path.join(dir, 'missing.pem') }));
    await expect(client.queues()).rejects.toThrow(/CRIC_CERT=.*missing\.pem cannot be read \(ENOENT\)/);
  });
});
