import { HttpClient } from '../http/client.ts';
import { HttpFailure } from '../http/errors.ts';
import type { HttpResponse, ReadBody } from '../http/response.ts';

/**
 * One documentation page over the HTTP layer: a deadline for the whole exchange (headers and body),
 * a byte cap (a larger page is cut at the cap, the rest never read), each redirect hop checked
 * (same site, robots.txt) and loops caught, conditional requests (ETag / Last-Modified) for re-runs.
 * No retries: the crawl goes on to the next page, and a re-run tries again.
 */
export interface FetchLimits {
  timeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
  userAgent: string;
  signal?: AbortSignal;
}

export interface Validators {
  etag?: string;
  lastModified?: string;
}

export type PageResult =
  | {
      kind: 'page';
      url: string;
      contentType: string;
      body: string;
      bytes: number;
      truncated: boolean;
      etag?: string;
      lastModified?: string;
    }
  | { kind: 'not-modified'; url: string }
  | { kind: 'failed'; url: string; reason: string; status?: number; gone?: boolean };

/** Why a URL may not be fetched (another site, robots.txt), or undefined when it may. */
export type UrlCheck = (url: URL) => string | undefined;

export async function fetchPage(
  start: string,
  limits: FetchLimits,
  validatorsFor: (url: string) => Validators = () => ({}),
  check: UrlCheck = () => undefined,
): Promise<PageResult> {
  const http = new HttpClient({ timeoutMs: limits.timeoutMs, headers: { 'user-agent': limits.userAgent } });
  let response: HttpResponse;
  try {
    response = await http.open(start, {
      headers: (url) => {
        // Each URL of a redirect chain is its own resource, with its own validators.
        const validators = validatorsFor(url.href);
        return {
          accept: 'text/html, text/markdown;q=0.9, text/plain;q=0.8',
          ...(validators.etag ? { 'if-none-match': validators.etag } : {}),
          ...(validators.lastModified ? { 'if-modified-since': validators.lastModified } : {}),
        };
      },
      redirects: { max: limits.maxRedirects, refuseRepeats: true, refuse: ({ to }) => check(to) },
      deadlineMs: limits.timeoutMs,
      decompress: true,
      signal: limits.signal,
    });
  } catch (err) {
    return failed(start, err, limits);
  }
  const url = response.url.href;
  if (response.status === 304) {
    response.close();
    return { kind: 'not-modified', url };
  }
  if (response.status >= 300) {
    response.close();
    return {
      kind: 'failed',
      url,
      reason: response.status < 400 ? `HTTP ${response.status} without a Location header` : `HTTP ${response.status}`,
      status: response.status,
      gone: response.status === 404 || response.status === 410,
    };
  }
  const contentType = (response.header('content-type') ?? '').toLowerCase();
  if (contentType && !/^text\/(?:html|markdown|x-markdown|plain)|^application\/xhtml\+xml/.test(contentType)) {
    response.close();
    return { kind: 'failed', url, reason: `not a documentation page (${contentType.split(';')[0]})` };
  }
  let body: ReadBody;
  try {
    // Reading stops at the cap and the connection is closed, so the server stops sending the rest.
    body = await response.read(limits.maxBytes, 'truncate');
  } catch (err) {
    return failed(url, err, limits);
  }
  const etag = response.header('etag');
  const lastModified = response.header('last-modified');
  return {
    kind: 'page',
    url,
    contentType,
    body: decode(body.bytes, contentType),
    bytes: body.bytes.length,
    truncated: body.truncated,
    ...(etag ? { etag } : {}),
    ...(lastModified ? { lastModified } : {}),
  };
}

/** Why the page could not be had, in the words of the ingest summary; the caller's abort is rethrown. */
function failed(url: string, err: unknown, limits: FetchLimits): PageResult {
  if (limits.signal?.aborted) throw limits.signal.reason ?? err;
  if (!(err instanceof HttpFailure)) throw err;
  switch (err.kind) {
    case 'timeout':
      return { kind: 'failed', url, reason: `timed out after ${limits.timeoutMs} ms` };
    case 'status':
    case 'rate_limited':
      return { kind: 'failed', url, reason: `HTTP ${err.status}`, ...(err.status ? { status: err.status } : {}) };
    case 'redirect_loop': {
      const chain = [...(err.chain ?? []), ...(err.location ? [err.location] : [])];
      return { kind: 'failed', url, reason: `redirect loop (${chain.map(shortUrl).join(' → ')})` };
    }
    case 'too_many_redirects':
      return { kind: 'failed', url, reason: `more than ${limits.maxRedirects} redirects` };
    case 'redirect_refused':
      return {
        kind: 'failed',
        url,
        reason: `redirects to ${err.location?.href ?? 'an unreadable URL'}, ${err.message}`,
      };
    default:
      return { kind: 'failed', url, reason: `cannot be fetched (${err.code ?? err.message})` };
  }
}

function decode(bytes: Uint8Array, contentType: string): string {
  const charset = /charset=([\w-]+)/.exec(contentType)?.[1];
  try {
    return new TextDecoder(charset ?? 'utf-8', { fatal: false }).decode(bytes);
  } catch {
    return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  }
}

function shortUrl(url: URL): string {
  return `${url.pathname}${url.search}`;
}
