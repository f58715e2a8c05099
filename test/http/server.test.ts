import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpError, HttpServer, sendJson } from '../../src/http/server.ts';
import { silentLogger } from '../../src/util/log.ts';

describe('the one HTTP server', () => {
  const server = new HttpServer(silentLogger);
  let base = '';
  beforeAll(async () => {
    server
      .add({
        method: 'POST',
        path: '/echo',
        maxBodyBytes: 1024,
        handler: async ({ res, body }) => sendJson(res, 200, { bytes: (await body()).length }),
      })
      .add({
        method: 'GET',
        path: '/slow',
        timeoutMs: 200,
        handler: () => new Promise((resolve) => setTimeout(resolve, 2_000)),
      })
      .add({ method: 'GET', path: '/teapot', handler: () => Promise.reject(new HttpError(418, 'short and stout')) })
      .add({
        method: 'GET',
        path: '/broken',
        handler: () => Promise.reject(new Error('secret internals at /srv/x.ts:12')),
      })
      .add({ method: 'GET', path: '/assets/*', handler: ({ res, url }) => sendJson(res, 200, { path: url.pathname }) });
    base = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
  });
  afterAll(() => server.close());

  it('routes by method and path, prefixes included', async () => {
    expect(await (await fetch(`${base}/echo`, { method: 'POST', body: 'hello' })).json()).toEqual({ bytes: 5 });
    expect(await (await fetch(`${base}/assets/app.js`)).json()).toEqual({ path: '/assets/app.js' });
    const missing = await fetch(`${base}/nowhere`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'nothing is served at /nowhere' });
    const wrong = await fetch(`${base}/echo`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
  });

  it('refuses a body over the route cap with 413', async () => {
    const res = await fetch(`${base}/echo`, { method: 'POST', body: 'x'.repeat(5_000) });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toContain('larger than 1024 bytes');
  });

  it('answers 503 when a handler runs past its timeout', async () => {
    const started = Date.now();
    const res = await fetch(`${base}/slow`);
    expect(res.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('turns errors into one JSON line without internals', async () => {
    const teapot = await fetch(`${base}/teapot`);
    expect(teapot.status).toBe(418);
    expect(await teapot.json()).toEqual({ error: 'short and stout' });
    const broken = await fetch(`${base}/broken`);
    expect(broken.status).toBe(500);
    const text = await broken.text();
    expect(text).not.toContain('/srv/x.ts');
  });
});
