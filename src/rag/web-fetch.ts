/**
 * One documentation page over HTTP, bounded: a timeout for the whole exchange (headers and body),
 * a byte cap (a larger page is cut at the cap, the rest never read), redirects followed by hand so
 * each hop is checked (same site, robots.txt) and loops are caught, conditional requests
 * (ETag / Last-Modified) for re-runs.
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
  const timeout = AbortSignal.timeout(limits.timeoutMs);
  // Aborted once a response is abandoned (cut at the cap), so the connection closes and the server stops sending.
  const abandon = new AbortController();
  const signal = AbortSignal.any([timeout, abandon.signal, ...(limits.signal ? [limits.signal] : [])]);
  const chain = new Set<string>();
  let url = start;
  try {
    for (let hop = 0; ; hop++) {
      chain.add(url);
      const headers: Record<string, string> = {
        'user-agent': limits.userAgent,
        accept: 'text/html, text/markdown;q=0.9, text/plain;q=0.8',
      };
      // Each URL of a redirect chain is its own resource, with its own validators.
      const validators = validatorsFor(url);
      if (validators.etag) headers['if-none-match'] = validators.etag;
      if (validators.lastModified) headers['if-modified-since'] = validators.lastModified;
      const response = await fetch(url, { redirect: 'manual', headers, signal });
      if (response.status >= 300 && response.status < 400 && response.status !== 304) {
        await response.body?.cancel().catch(() => undefined);
        const location = response.headers.get('location');
        if (!location)
          return {
            kind: 'failed',
            url,
            reason: `HTTP ${response.status} without a Location header`,
            status: response.status,
          };
        const next = new URL(location, url);
        next.hash = '';
        if (chain.has(next.href))
          return {
            kind: 'failed',
            url: start,
            reason: `redirect loop (${[...chain, next.href].map(shortUrl).join(' → ')})`,
          };
        if (hop + 1 > limits.maxRedirects)
          return { kind: 'failed', url: start, reason: `more than ${limits.maxRedirects} redirects` };
        const refused = check(next);
        if (refused) return { kind: 'failed', url: start, reason: `redirects to ${next.href}, ${refused}` };
        url = next.href;
        continue;
      }
      if (response.status === 304) {
        await response.body?.cancel().catch(() => undefined);
        return { kind: 'not-modified', url };
      }
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        return {
          kind: 'failed',
          url,
          reason: `HTTP ${response.status}`,
          status: response.status,
          gone: response.status === 404 || response.status === 410,
        };
      }
      const contentType = (response.headers.get('content-type') ?? '').toLowerCase();
      if (contentType && !/^text\/(?:html|markdown|x-markdown|plain)|^application\/xhtml\+xml/.test(contentType)) {
        await response.body?.cancel().catch(() => undefined);
        return { kind: 'failed', url, reason: `not a documentation page (${contentType.split(';')[0]})` };
      }
      const { bytes, truncated } = await readCapped(response, limits.maxBytes);
      if (truncated) abandon.abort();
      return {
        kind: 'page',
        url,
        contentType,
        body: decode(bytes, contentType),
        bytes: bytes.length,
        truncated,
        ...(response.headers.get('etag') ? { etag: response.headers.get('etag')! } : {}),
        ...(response.headers.get('last-modified') ? { lastModified: response.headers.get('last-modified')! } : {}),
      };
    }
  } catch (err) {
    if (limits.signal?.aborted) throw limits.signal.reason ?? err;
    if (timeout.aborted) return { kind: 'failed', url, reason: `timed out after ${limits.timeoutMs} ms` };
    return { kind: 'failed', url, reason: `cannot be fetched (${errorText(err)})` };
  }
}

/** Reads at most `max` bytes of the body; the rest is never downloaded (the stream is cancelled). */
async function readCapped(response: Response, max: number): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  if (!response.body) return { bytes: new Uint8Array(0), truncated: false };
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (total + value.length > max) {
      parts.push(value.subarray(0, max - total));
      total = max;
      truncated = true;
      await reader.cancel().catch(() => undefined);
      break;
    }
    parts.push(value);
    total += value.length;
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return { bytes, truncated };
}

function decode(bytes: Uint8Array, contentType: string): string {
  const charset = /charset=([\w-]+)/.exec(contentType)?.[1];
  try {
    return new TextDecoder(charset ?? 'utf-8', { fatal: false }).decode(bytes);
  } catch {
    return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  }
}

function errorText(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

function shortUrl(href: string): string {
  const u = new URL(href);
  return `${u.pathname}${u.search}`;
}
