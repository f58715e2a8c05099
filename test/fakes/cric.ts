import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { demoQueueDump } from '../../src/panda/demo/grid-services.ts';

/**
 * Loopback fake CRIC: GET /api/atlas/pandaqueue/query/?json answers the queue dump in CRIC's real
 * shape (an object keyed by queue name, each record as CRIC serves it: by default the demo's dump,
 * converted from the reference snapshot), with switchable faults. Over HTTPS it can demand a client
 * certificate signed by a given CA, as a CRIC behind certificate authentication does.
 */

export type CricMode =
  | 'ok'
  /** 503 on every request. */
  | 'down'
  /** Accepts the request and never answers. */
  | 'hang'
  /** An SSO login page with 200, as a CRIC behind a login redirect answers. */
  | 'html'
  /** JSON cut off in the middle. */
  | 'truncated'
  /** 403, as CRIC answers without an accepted certificate. */
  | 'forbidden';

export interface FakeCric {
  url: string;
  /** Paths requested so far. */
  requests: string[];
  mode: CricMode;
  /** 429 with this Retry-After (seconds) for the next N requests. */
  rateLimit?: { times: number; retryAfter: string };
  /** 500 for the next N requests, then the mode answers. */
  failTimes: number;
  /** Delay before answering, ms. */
  delayMs: number;
  /** Replaces the served dump (records in CRIC's shape). */
  setQueues(queues: Record<string, unknown>): void;
  /** Subject CNs of client certificates seen (HTTPS only). */
  clientCerts: string[];
  count(): number;
  close(): Promise<void>;
}

export interface FakeCricOptions {
  queues?: Record<string, unknown>;
  /** Serve HTTPS with this key and certificate, and require a client certificate signed by `ca`. */
  tls?: { key: string; cert: string; ca: string };
}

/** The demo dump (real CRIC records) as an object, for tests that edit it. */
export function realQueueDump(): Record<string, Record<string, unknown>> {
  return JSON.parse(demoQueueDump().toString('utf8')) as Record<string, Record<string, unknown>>;
}

/** A dump with N queues in CRIC's shape: copies of real records under new names (the benchmark's 1,000-queue dump). */
export function syntheticQueueDump(n: number): Record<string, Record<string, unknown>> {
  const real = Object.values(realQueueDump());
  const out: Record<string, Record<string, unknown>> = {};
  for (let i = 0; i < n; i++) {
    const base = real[i % real.length]!;
    const name = i < real.length ? String(base.name) : `${String(base.name)}_${Math.floor(i / real.length)}`;
    out[name] = { ...structuredClone(base), name, nickname: name, panda_resource: name, id: 10_000 + i };
  }
  return out;
}

export async function startFakeCric(options: FakeCricOptions = {}): Promise<FakeCric> {
  let body = JSON.stringify(options.queues ?? realQueueDump());
  const requests: string[] = [];
  const fake: FakeCric = {
    url: '',
    requests,
    mode: 'ok',
    failTimes: 0,
    delayMs: 0,
    clientCerts: [],
    setQueues(queues) {
      body = JSON.stringify(queues);
    },
    count: () => requests.filter((r) => r.startsWith('/api/atlas/pandaqueue/query/')).length,
    close: async () => undefined,
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(url.pathname + url.search);
    const peer = (req.socket as Partial<TLSSocket>).getPeerCertificate?.();
    if (peer?.subject?.CN) fake.clientCerts.push(String(peer.subject.CN));
    const answer = () => {
      if (url.pathname !== '/api/atlas/pandaqueue/query/' || !url.searchParams.has('json')) {
        res.writeHead(404, { 'content-type': 'text/html' });
        return void res.end('<html><body>Not Found</body></html>');
      }
      if (fake.rateLimit && fake.rateLimit.times > 0) {
        fake.rateLimit.times--;
        res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': fake.rateLimit.retryAfter });
        return void res.end('Too Many Requests');
      }
      if (fake.failTimes > 0) {
        fake.failTimes--;
        res.writeHead(500, { 'content-type': 'text/plain' });
        return void res.end('Internal Server Error');
      }
      switch (fake.mode) {
        case 'hang':
          return;
        case 'down':
          res.writeHead(503, { 'content-type': 'text/html' });
          return void res.end('<html><body>Service Unavailable</body></html>');
        case 'forbidden':
          res.writeHead(403, { 'content-type': 'application/json' });
          return void res.end('{"detail":"Authentication credentials were not provided."}');
        case 'html':
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          return void res.end(
            '<!DOCTYPE html><html><head><title>CERN Single Sign-On</title></head><body>Sign in</body></html>',
          );
        case 'truncated':
          res.writeHead(200, { 'content-type': 'application/json' });
          return void res.end(body.slice(0, Math.floor(body.length / 2)));
        default:
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
          res.end(body);
      }
    };
    if (fake.delayMs > 0) setTimeout(answer, fake.delayMs);
    else answer();
  };
  const server: Server = options.tls
    ? createHttpsServer(
        {
          key: options.tls.key,
          cert: options.tls.cert,
          ca: options.tls.ca,
          requestCert: true,
          rejectUnauthorized: true,
        },
        handler,
      )
    : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  fake.url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}
