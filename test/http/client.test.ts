import { sleep } from '../support/time.ts';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient } from '../../src/http/client.ts';
import { HttpFailure } from '../../src/http/errors.ts';
import { anyHost, sameService } from '../../src/http/redirects.ts';
import { startLoopback, stream, type Loopback } from './loopback.ts';

/** The HTTP layer against real loopback servers: time, size, redirects, concurrency, typed failures. */

const servers: Loopback[] = [];
async function serve(...args: Parameters<typeof startLoopback>): Promise<Loopback> {
  const server = await startLoopback(...args);
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function failure(work: Promise<unknown>): Promise<HttpFailure> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HttpFailure);
  return err as HttpFailure;
}

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work;
  return { value, ms: performance.now() - started };
}

describe('time limits', () => {
  it('a server that never answers fails as timeout after timeoutMs', async () => {
    const server = await serve(() => undefined);
    const http = new HttpClient({ timeoutMs: 200 });
    const { value: err, ms } = await timed(failure(http.get(server.url, { maxBytes: 1024 })));
    expect(err.kind).toBe('timeout');
    expect(err.message).toBe('no answer within 0.2 s');
    expect(ms).toBeGreaterThanOrEqual(190);
    expect(ms).toBeLessThan(1_500);
  });

  it('get(): the deadline covers the body, so headers followed by silence are a timeout', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first part');
    });
    const err = await failure(new HttpClient({ timeoutMs: 200 }).get(server.url, { maxBytes: 1024 }));
    expect(err.kind).toBe('timeout');
  });

  it('open(): a body with no data for idleMs fails as stalled, after what came was read', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('some lines\n');
    });
    const response = await new HttpClient({ timeoutMs: 1_000 }).open(server.url, { idleMs: 150 });
    const received: string[] = [];
    const err = await failure(
      (async () => {
        for await (const chunk of response.body) received.push(chunk.toString());
      })(),
    );
    expect(received.join('')).toBe('some lines\n');
    expect(err.kind).toBe('stalled');
    expect(err.message).toBe('no data for 0.1 s');
  });

  it('open(): a trickling body ends at cutAfterMs as if complete, and says when', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('line\n'), 20);
      res.once('close', () => clearInterval(timer));
    });
    const response = await new HttpClient({ timeoutMs: 1_000 }).open(server.url, { idleMs: 500, cutAfterMs: 300 });
    let lines = 0;
    const { ms } = await timed(
      (async () => {
        for await (const chunk of response.body) lines += chunk.toString().split('\n').length - 1;
      })(),
    );
    expect(response.cutAfterMs).toBeGreaterThanOrEqual(290);
    expect(lines).toBeGreaterThan(3);
    expect(ms).toBeLessThan(1_500);
  });
});

describe('byte caps', () => {
  it('a declared Content-Length over the cap fails at once, without reading the body', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': 4 * 1024 * 1024 });
      stream(res, 4 * 1024 * 1024);
    });
    const http = new HttpClient({ timeoutMs: 2_000 });
    const err = await failure(http.get(server.url, { maxBytes: 100_000 }));
    expect(err.kind).toBe('too_large');
    expect(err.message).toBe('the answer is 4.0 MiB, more than the 98 KiB I read');
    expect(http.stats.bytes).toBe(0);
  });

  it('an undeclared body over the cap stops being read at the cap', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      stream(res, 16 * 1024 * 1024);
    });
    const http = new HttpClient({ timeoutMs: 5_000 });
    const err = await failure(http.get(server.url, { maxBytes: 256 * 1024 }));
    expect(err.kind).toBe('too_large');
    expect(err.message).toBe('the answer is larger than the 256 KiB I read');
    expect(http.stats.bytes).toBeLessThan(1024 * 1024);
    await expect.poll(() => server.closedEarly).toBe(true);
    expect(server.bytesSent).toBeLessThan(8 * 1024 * 1024);
  });

  it("overCap 'truncate' keeps the first maxBytes, says so, and closes the transfer", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      stream(res, 16 * 1024 * 1024, 'y');
    });
    const answer = await new HttpClient({ timeoutMs: 5_000 }).get(server.url, {
      maxBytes: 100_000,
      overCap: 'truncate',
    });
    expect(answer.truncated).toBe(true);
    expect(answer.bytes.length).toBe(100_000);
    expect(answer.bytes.every((b) => b === 'y'.charCodeAt(0))).toBe(true);
    await expect.poll(() => server.closedEarly).toBe(true);
    expect(server.bytesSent).toBeLessThan(8 * 1024 * 1024);
  });

  it('get() asks for compression, and the cap counts the unpacked bytes (a small gzip cannot unpack past it)', async () => {
    const packed = gzipSync(Buffer.alloc(10 * 1024 * 1024));
    const server = await serve((req, res) => {
      const body = req.url === '/bomb' ? packed : gzipSync('{"ok":true}');
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': body.length });
      res.end(body);
    });
    const http = new HttpClient({ timeoutMs: 2_000 });
    const answer = await http.get(server.url + '/small', { maxBytes: 1024 });
    expect(answer.bytes.toString()).toBe('{"ok":true}');
    expect(server.seen[0]?.acceptEncoding).toBe('gzip, deflate, br');
    expect(packed.length).toBeLessThan(1024 * 1024);
    const err = await failure(http.get(server.url + '/bomb', { maxBytes: 1024 * 1024 }));
    expect(err).toMatchObject({ kind: 'too_large', message: 'the answer is larger than the 1.0 MiB I read' });
  });

  it('a body within the cap is read whole, not marked truncated', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('hello');
    });
    const answer = await new HttpClient({ timeoutMs: 1_000 }).get(server.url, { maxBytes: 5 });
    expect(answer).toMatchObject({ status: 200, truncated: false, attempts: 1 });
    expect(answer.bytes.toString()).toBe('hello');
  });
});

describe('redirects, hop by hop', () => {
  it('without a policy a 3xx is the answer, not followed', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(302, { location: '/elsewhere' });
      res.end();
    });
    const answer = await new HttpClient({ timeoutMs: 1_000 }).get(server.url + '/start', { maxBytes: 1024 });
    expect(answer.status).toBe(302);
    expect(server.seen.map((s) => s.path)).toEqual(['/start']);
  });

  it('sameService refuses a hop to another host before contacting it', async () => {
    const trap = await serve((_req, res) => res.end('{}'));
    const server = await serve((_req, res) => {
      res.writeHead(302, { location: `${trap.url}/data` });
      res.end();
    });
    const http = new HttpClient({ timeoutMs: 1_000 });
    const err = await failure(
      http.get(server.url + '/a', { maxBytes: 1024, redirects: sameService(new URL(server.url), 3) }),
    );
    expect(err.kind).toBe('redirect_refused');
    expect(err.location?.href).toBe(`${trap.url}/data`);
    expect(trap.seen).toEqual([]);
  });

  it('a hop to another host that is allowed goes without the credentials; one back home gets them again', async () => {
    let home = '';
    const files = await serve((req, res) => {
      res.writeHead(302, { location: `${home}/back` });
      res.end();
    });
    const server = await serve((req, res) => {
      if (req.url === '/back') return void res.end('done');
      res.writeHead(301, { location: `${files.url}/file` });
      res.end();
    });
    home = server.url;
    const http = new HttpClient({ timeoutMs: 1_000, headers: { authorization: 'Bearer secret' } });
    const answer = await http.get(server.url + '/start', { maxBytes: 1024, redirects: anyHost(3) });
    expect(answer.bytes.toString()).toBe('done');
    expect(answer.url.href).toBe(`${server.url}/back`);
    const credentials = (seen: Loopback['seen']) => seen.map((s) => [s.path, s.authorization]);
    expect(credentials(files.seen)).toEqual([['/file', undefined]]);
    expect(credentials(server.seen)).toEqual([
      ['/start', 'Bearer secret'],
      ['/back', 'Bearer secret'],
    ]);
  });

  it('a loop ends after max hops: the first request and max redirects, then too_many_redirects', async () => {
    const server = await serve((req, res) => {
      res.writeHead(302, { location: req.url });
      res.end();
    });
    const err = await failure(
      new HttpClient({ timeoutMs: 1_000 }).get(server.url + '/loop', { maxBytes: 1024, redirects: anyHost(3) }),
    );
    expect(err.kind).toBe('too_many_redirects');
    expect(server.count('/loop')).toBe(4);
  });

  it('refuseRepeats catches a loop at the first repeat, with the chain', async () => {
    const server = await serve((req, res) => {
      res.writeHead(301, { location: req.url === '/one' ? '/two' : '/one' });
      res.end();
    });
    const err = await failure(
      new HttpClient({ timeoutMs: 1_000 }).get(server.url + '/one', {
        maxBytes: 1024,
        redirects: { max: 10, refuseRepeats: true },
      }),
    );
    expect(err.kind).toBe('redirect_loop');
    expect([...(err.chain ?? []), err.location].map((u) => u?.pathname)).toEqual(['/one', '/two', '/one']);
    expect(server.seen).toHaveLength(2);
  });

  it('the policy sees each hop, and per-URL headers are asked for each URL', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/c') return void res.end('end');
      res.writeHead(301, { location: req.url === '/a' ? '/b' : '/c' });
      res.end();
    });
    const hops: string[] = [];
    const answer = await new HttpClient({ timeoutMs: 1_000 }).get(server.url + '/a', {
      maxBytes: 1024,
      headers: (url) => ({ 'if-none-match': `"${url.pathname}"` }),
      redirects: {
        max: 5,
        refuse: ({ from, to, hop, status }) => void hops.push(`${hop}:${status}:${from.pathname}>${to.pathname}`),
      },
    });
    expect(answer.bytes.toString()).toBe('end');
    expect(hops).toEqual(['1:301:/a>/b', '2:301:/b>/c']);
    expect(server.seen.map((s) => s.ifNoneMatch)).toEqual(['"/a"', '"/b"', '"/c"']);
  });
});

describe('concurrency and failures', () => {
  it('keeps at most `concurrency` requests in flight', async () => {
    const server = await serve((_req, res) => setTimeout(() => res.end('ok'), 40));
    const http = new HttpClient({ timeoutMs: 2_000, concurrency: 2 });
    await Promise.all(Array.from({ length: 8 }, () => http.get(server.url, { maxBytes: 10 })));
    expect(server.peak).toBe(2);
    expect(http.stats.requests).toBe(8);
  });

  it('a streamed body holds its slot until it is closed', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/2') return void res.end('second');
      res.writeHead(200);
      res.write('open');
    });
    const http = new HttpClient({ timeoutMs: 1_000, concurrency: 1 });
    const first = await http.open(server.url + '/1');
    const second = http.get(server.url + '/2', { maxBytes: 10 });
    await sleep(100);
    expect(server.seen.map((s) => s.path)).toEqual(['/1']);
    first.close();
    expect((await second).bytes.toString()).toBe('second');
    expect(server.seen.map((s) => s.path)).toEqual(['/1', '/2']);
  });

  it('a refused connection is a network failure with its code', async () => {
    const server = await serve(() => undefined);
    const url = server.url;
    await server.close();
    const err = await failure(new HttpClient({ timeoutMs: 1_000 }).get(url, { maxBytes: 10 }));
    expect(err).toMatchObject({ kind: 'network', code: 'ECONNREFUSED', message: 'ECONNREFUSED' });
  });

  it('a 4xx is an answer for the caller, not retried', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(404);
      res.end('missing');
    });
    const http = new HttpClient({ timeoutMs: 1_000, retry: { retries: 3, maxRetryAfterMs: 0 } });
    const answer = await http.get(server.url, { maxBytes: 100 });
    expect(answer.status).toBe(404);
    expect(server.seen).toHaveLength(1);
  });
});
