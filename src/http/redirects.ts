import { HttpFailure } from './errors.ts';

/** One redirect about to be followed. */
export interface RedirectHop {
  from: URL;
  to: URL;
  status: number;
  /** 1 for the first redirect of the request. */
  hop: number;
  /** The URLs requested so far, the start first. */
  chain: readonly URL[];
}

/**
 * Which redirects a request follows. Without a policy a 3xx comes back as the answer. fetch's own
 * `follow` goes to any host, 20 times, so a redirect could make askpanda contact a host nobody
 * configured (with its token), and a loop cost 21 requests per attempt.
 */
export interface RedirectPolicy {
  /** Hops followed at most; one more fails with `too_many_redirects`. */
  max: number;
  /** Why this hop may not be followed (another host, robots.txt), or undefined to follow it. */
  refuse?(hop: RedirectHop): string | undefined;
  /** A hop back to a URL of the chain fails at once with `redirect_loop` (else the count ends a loop). */
  refuseRepeats?: boolean;
}

/** Headers that identify us to one origin and must not reach another. */
const CREDENTIALS = ['authorization', 'cookie', 'proxy-authorization'];

/** The headers for a hop: credentials go only to the service of the request's own URL. */
export function headersForHop(headers: Record<string, string>, start: URL, to: URL): Record<string, string> {
  if (withinService(to, start)) return headers;
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !CREDENTIALS.includes(name.toLowerCase())));
}

/** Where a 3xx leads, or a failure when the policy refuses the hop. */
export function nextHop(policy: RedirectPolicy, from: URL, location: string, status: number, chain: URL[]): URL {
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    throw new HttpFailure('redirect_refused', `a redirect to something that is not a URL (${location.slice(0, 100)})`, {
      status,
      chain,
    });
  }
  to.hash = '';
  const hop = chain.length;
  if (policy.refuseRepeats && chain.some((url) => url.href === to.href))
    throw new HttpFailure('redirect_loop', 'a redirect loop', { status, location: to, chain });
  if (hop > policy.max)
    throw new HttpFailure('too_many_redirects', `more than ${policy.max} redirects`, { status, location: to, chain });
  const refused = policy.refuse?.({ from, to, status, hop, chain });
  if (refused) throw new HttpFailure('redirect_refused', refused, { status, location: to, chain });
  return to;
}

/** Every host, at most `max` hops (services whose redirects we trust, such as CRIC's). */
export function anyHost(max: number): RedirectPolicy {
  return { max };
}

/**
 * The same service only: its own origin, or its host moving from http to https (a common 301).
 * `refusal` is the reason given for any other host.
 */
export function sameService(base: URL, max: number, refusal = 'another host'): RedirectPolicy {
  return { max, refuse: ({ to }) => (withinService(to, base) ? undefined : refusal) };
}

export function withinService(url: URL, base: URL): boolean {
  if (url.origin === base.origin) return true;
  return (
    url.hostname === base.hostname &&
    base.protocol === 'http:' &&
    url.protocol === 'https:' &&
    (url.port === '' || url.port === '443')
  );
}
