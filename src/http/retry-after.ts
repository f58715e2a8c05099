/** Reads one response header by its lower-case name (a fetch `Headers`, node's headers, a plain object). */
export type HeaderLookup = (name: string) => string | undefined;

/**
 * `Retry-After` in ms: delay-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or
 * unreadable. No ceiling here: what is too long to wait is the caller's policy.
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Rate limiters that send no Retry-After say when their window resets instead: `RateLimit-Reset`
 * (IETF draft, seconds from now) or `X-RateLimit-Reset`, which is seconds from now on Mattermost
 * and similar servers, but a Unix time on others (GitHub); a value that large can only be a time.
 */
const UNIX_TIME_FROM_S = 1_000_000_000;

export function parseRateLimitReset(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value || !/^\s*\d+(?:\.\d+)?\s*$/.test(value)) return undefined;
  const seconds = Number(value);
  if (seconds >= UNIX_TIME_FROM_S) return Math.max(0, Math.round(seconds * 1000 - now));
  return Math.round(seconds * 1000);
}

/** How long a 429 (or 503) asks us to wait: Retry-After first, else the rate limiter's reset header. */
export function retryDelayFromHeaders(header: HeaderLookup, now = Date.now()): number | undefined {
  return (
    parseRetryAfter(header('retry-after'), now) ??
    parseRateLimitReset(header('ratelimit-reset'), now) ??
    parseRateLimitReset(header('x-ratelimit-reset'), now)
  );
}

/** A HeaderLookup over fetch's `Headers`. */
export function fromFetchHeaders(headers: Headers): HeaderLookup {
  return (name) => headers.get(name) ?? undefined;
}
