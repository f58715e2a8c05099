import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback documentation website for crawler tests, over real HTTP: robots.txt, pages with ETag
 * and Last-Modified (answering 304 to a matching If-None-Match / If-Modified-Since), redirects,
 * a redirect loop, a 404, a page that stalls mid-body, and a 50 MB page streamed in 64 KiB pieces
 * (it records how many bytes it actually sent before the client hung up). Every request is logged
 * with its time, and the most requests it ever had in flight at once.
 */
export interface SitePage {
  body: string;
  contentType?: string;
  /** Last modification time sent as Last-Modified (an HTTP date). */
  modified?: Date;
  /** Answer without an ETag (Last-Modified only). */
  noEtag?: boolean;
}

export interface RecordedSiteRequest {
  path: string;
  /** Requests the server was still answering when this one arrived. */
  concurrent: number;
  /** When the response finished or the connection closed. */
  closedAt?: number;
  at: number;
  status: number;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  userAgent?: string;
}

export interface DocsSite {
  url: string;
  pages: Map<string, SitePage>;
  redirects: Map<string, string>;
  robots: string | undefined;
  /** Answer robots.txt with this status instead (e.g. 503). */
  robotsStatus?: number;
  requests: RecordedSiteRequest[];
  maxInFlight: number;
  /** Bytes of the big page written before the client closed the connection. */
  bigBytesSent: number;
  close(): Promise<void>;
}

export const BIG_PAGE_BYTES = 50 * 1024 * 1024;

export async function startDocsSite(options: { stallMs?: number } = {}): Promise<DocsSite> {
  const stallMs = options.stallMs ?? 10_000;
  let inFlight = 0;
  const open = new Set<ServerResponse>();
  const site: DocsSite = {
    url: '',
    pages: new Map(),
    redirects: new Map(),
    robots: undefined,
    requests: [],
    maxInFlight: 0,
    bigBytesSent: 0,
    close: async () => {
      for (const res of open) res.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const etagOf = (page: SitePage) => `"${createHash('sha1').update(page.body).digest('hex').slice(0, 16)}"`;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    site.maxInFlight = Math.max(site.maxInFlight, inFlight);
    open.add(res);
    const done = () => {
      if (open.delete(res)) inFlight--;
    };
    res.on('close', done);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const record = (status: number) => {
      const entry: RecordedSiteRequest = {
        path,
        concurrent: inFlight - 1,
        at: performance.now(),
        status,
        ...(req.headers['if-none-match'] ? { ifNoneMatch: String(req.headers['if-none-match']) } : {}),
        ...(req.headers['if-modified-since'] ? { ifModifiedSince: String(req.headers['if-modified-since']) } : {}),
        ...(req.headers['user-agent'] ? { userAgent: String(req.headers['user-agent']) } : {}),
      };
      site.requests.push(entry);
      res.on('close', () => (entry.closedAt = performance.now()));
    };

    if (path === '/robots.txt') {
      if (site.robotsStatus) {
        record(site.robotsStatus);
        res.writeHead(site.robotsStatus, { 'content-type': 'text/plain' }).end('unavailable');
      } else if (site.robots === undefined) {
        record(404);
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      } else {
        record(200);
        res.writeHead(200, { 'content-type': 'text/plain' }).end(site.robots);
      }
      return;
    }
    const target = site.redirects.get(path);
    if (target) {
      record(301);
      res.writeHead(301, { location: target }).end();
      return;
    }
    if (path === '/docs/slow.html') {
      record(200);
      // Headers and the start of the page, then nothing: the client's timeout must end it.
      res.writeHead(200, { 'content-type': 'text/html' });
      res.write('<html><head><title>Slow</title></head><body><h1>Slow page</h1><p>Start of a page that never ends.');
      setTimeout(() => res.end('</p></body></html>'), stallMs).unref();
      return;
    }
    if (path === '/docs/big.html') {
      record(200);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(BIG_PAGE_BYTES) });
      const head = Buffer.from(
        '<html><head><title>Big page</title></head><body><h1>Big page</h1><p>The beginning of a very large page about pilot wrappers.</p><p>',
      );
      const filler = Buffer.alloc(64 * 1024, 'lorem ipsum dolor sit amet ');
      let sent = 0;
      const pump = () => {
        while (sent < BIG_PAGE_BYTES) {
          const piece = sent === 0 ? head : filler.subarray(0, Math.min(filler.length, BIG_PAGE_BYTES - sent));
          sent += piece.length;
          site.bigBytesSent = sent;
          if (!res.write(piece)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.on('close', () => (site.bigBytesSent = Math.min(sent, BIG_PAGE_BYTES)));
      pump();
      return;
    }
    const page = site.pages.get(path);
    if (!page) {
      record(404);
      res.writeHead(404, { 'content-type': 'text/html' }).end('<html><body><h1>Not found</h1></body></html>');
      return;
    }
    const etag = page.noEtag ? undefined : etagOf(page);
    const modified = (page.modified ?? new Date('2025-01-01T00:00:00Z')).toUTCString();
    const sinceHeader = req.headers['if-modified-since'];
    const notModified =
      etag && req.headers['if-none-match']
        ? req.headers['if-none-match'] === etag
        : sinceHeader !== undefined && new Date(String(sinceHeader)).getTime() >= new Date(modified).getTime();
    const headers = {
      'content-type': page.contentType ?? 'text/html; charset=utf-8',
      'last-modified': modified,
      ...(etag ? { etag } : {}),
    };
    if (notModified) {
      record(304);
      res.writeHead(304, headers).end();
      return;
    }
    record(200);
    res.writeHead(200, headers).end(page.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  site.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return site;
}
