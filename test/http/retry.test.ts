import { afterEach, describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/http/backoff.ts';
import { HttpClient } from '../../src/http/client.ts';
import { HttpFailure } from '../../src/http/errors.ts';
import {
  fromFetchHeaders,
  parseRateLimitReset,
  parseRetryAfter,
  retryDelayFromHeaders,
} from '../../src/http/retry-after.ts';
import { startLoopback, type Loopback } from './loopback.ts';

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

/** Answers 429 with `headers` the first `times` requests, then 200. */
function rateLimited(times: number, headers: () => Record<string, string>) {
  let calls = 0;
  return serve((_req, res) => {
    if (++calls <= times) {
      res.writeHead(429, { 'content-type': 'text/plain', ...headers() });
      return void res.end('Too many requests');
    }
    res.end('ok');
  });
}

const retrying = (retries: number, maxRetryAfterMs = 5_000) =>
  new HttpClient({ timeoutMs: 2_000, retry: { retries, backoff: { baseMs: 5 }, maxRetryAfterMs } });

describe('Retry-After', () => {
  const now = Date.parse('2025-09-08T12:00:00Z');

  it('reads delay-seconds and HTTP dates; nothing else', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 1.5 ', now)).toBe(1500);
    expect(parseRetryAfter('Mon, 08 Sep 2025 12:00:07 GMT', now)).toBe(7000);
    expect(parseRetryAfter('Mon, 08 Sep 2025 11:59:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it("reads the rate limiter's reset header as seconds from now, or as a Unix time when that large", () => {
    expect(parseRateLimitReset('2', now)).toBe(2000);
    expect(parseRateLimitReset(String(now / 1000 + 30), now)).toBe(30_000);
    expect(parseRateLimitReset('-1', now)).toBeUndefined();
    const headers = (h: Record<string, string>) => (name: string) => h[name];
    expect(retryDelayFromHeaders(headers({ 'retry-after': '4', 'x-ratelimit-reset': '9' }), now)).toBe(4000);
    expect(retryDelayFromHeaders(headers({ 'x-ratelimit-reset': '9' }), now)).toBe(9000);
    expect(retryDelayFromHeaders(headers({ 'ratelimit-reset': '6' }), now)).toBe(6000);
    expect(retryDelayFromHeaders(headers({}), now)).toBeUndefined();
  });

  it("reads fetch's Headers whatever case the server wrote them in (the Mattermost client's 429s)", () => {
    const delay = (h: Record<string, string>) => retryDelayFromHeaders(fromFetchHeaders(new Headers(h)), now);
    expect(delay({ 'Retry-After': '3' })).toBe(3000);
    expect(delay({ 'Retry-After': 'Mon, 08 Sep 2025 12:00:06 GMT' })).toBe(6000);
    expect(delay({ 'X-Ratelimit-Reset': '2' })).toBe(2000);
    expect(delay({})).toBeUndefined();
  });

  it('a 429 with Retry-After in seconds is waited out, then the request succeeds', async () => {
    const server = await rateLimited(1, () => ({ 'retry-after': '1' }));
    const started = performance.now();
    const answer = await retrying(2).get(server.url, { maxBytes: 100 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(answer).toMatchObject({ status: 200, attempts: 2 });
  });

  it('a 429 with Retry-After as an HTTP date is waited out until that date', async () => {
    // HTTP dates have whole seconds: two seconds ahead is a wait of more than one.
    const server = await rateLimited(1, () => ({ 'retry-after': new Date(Date.now() + 2_000).toUTCString() }));
    const started = performance.now();
    const answer = await retrying(1).get(server.url, { maxBytes: 100 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(answer.attempts).toBe(2);
  });

  it('without Retry-After, the reset header says how long', async () => {
    const server = await rateLimited(1, () => ({ 'x-ratelimit-reset': '1' }));
    const started = performance.now();
    await retrying(1).get(server.url, { maxBytes: 100 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('a wait longer than the ceiling fails at once as rate_limited, carrying the wait', async () => {
    const server = await rateLimited(5, () => ({ 'retry-after': '3600' }));
    const started = performance.now();
    const err = await failure(retrying(3, 60_000).get(server.url, { maxBytes: 100 }));
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(err).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 3_600_000, attempts: 1 });
    expect(server.seen).toHaveLength(1);
  });

  it('still limited after the retries: rate_limited with the attempts made', async () => {
    const server = await rateLimited(5, () => ({ 'retry-after': '0' }));
    const err = await failure(retrying(2).get(server.url, { maxBytes: 100 }));
    expect(err).toMatchObject({ kind: 'rate_limited', attempts: 3 });
    expect(server.seen).toHaveLength(3);
  });
});

describe('backoff and retries', () => {
  it('grows by the factor, jitters within ±25 %, and never exceeds maxMs', () => {
    const options = { baseMs: 100, factor: 2, maxMs: 1_000 };
    expect(backoffDelay(1, options, () => 0)).toBe(75);
    expect(backoffDelay(1, options, () => 1)).toBe(125);
    expect(backoffDelay(3, options, () => 0.5)).toBe(400);
    for (let attempt = 1; attempt <= 50; attempt++) {
      for (const r of [0, 0.5, 0.999]) expect(backoffDelay(attempt, options, () => r)).toBeLessThanOrEqual(1_000);
    }
    expect(backoffDelay(60, { baseMs: 500 })).toBeLessThanOrEqual(30_000);
  });

  it('5xx is retried with backoff until the retries are spent, then fails with the status and attempts', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(503);
      res.end();
    });
    const http = retrying(2);
    const delays: number[] = [];
    const err = await failure(http.get(server.url, { maxBytes: 100, onRetry: (_n, _f, ms) => delays.push(ms) }));
    expect(err).toMatchObject({ kind: 'status', status: 503, message: 'HTTP 503', attempts: 3 });
    expect(server.seen).toHaveLength(3);
    expect(http.stats).toMatchObject({ requests: 3, retries: 2 });
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeGreaterThanOrEqual(5 * 0.75);
    expect(delays[1]).toBeGreaterThanOrEqual(10 * 0.75);
    expect(delays[1]).toBeLessThanOrEqual(10 * 1.25);
  });

  it('a reset connection is retried; the next attempt succeeds', async () => {
    let calls = 0;
    const server = await serve((req, res) => {
      if (++calls === 1) return void req.socket.destroy();
      res.end('fine');
    });
    const answer = await retrying(1).get(server.url, { maxBytes: 100 });
    expect(answer).toMatchObject({ status: 200, attempts: 2 });
  });

  it('a too-large body and a refused redirect are not retried', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/big') return void res.writeHead(200, { 'content-length': 1000 }).end('x'.repeat(1000));
      res.writeHead(302, { location: 'http://192.0.2.1/' }).end();
    });
    const http = retrying(3);
    expect((await failure(http.get(server.url + '/big', { maxBytes: 10 }))).kind).toBe('too_large');
    const refused = await failure(
      http.get(server.url + '/away', { maxBytes: 10, redirects: { max: 3, refuse: () => 'another host' } }),
    );
    expect(refused).toMatchObject({ kind: 'redirect_refused', message: 'another host', attempts: 1 });
    expect(server.seen).toHaveLength(2);
  });

  it('the caller aborting during the backoff ends the call as aborted, without waiting it out', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(500);
      res.end();
    });
    const http = new HttpClient({
      timeoutMs: 1_000,
      retry: { retries: 3, backoff: { baseMs: 10_000 }, maxRetryAfterMs: 0 },
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = performance.now();
    const err = await failure(http.get(server.url, { maxBytes: 10, signal: controller.signal }));
    expect(err.kind).toBe('aborted');
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
