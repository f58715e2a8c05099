/**
 * Why a call out gave no usable answer. Callers turn the kind into their own sentence; `message`
 * is a short phrase in words ("no answer within 0.5 s", "HTTP 503") that can be quoted as it is.
 */
export type HttpFailureKind =
  /** No answer (headers, or the whole exchange where a deadline covers the body) in time. */
  | 'timeout'
  /** The body stopped arriving for longer than the idle limit. */
  | 'stalled'
  /** Connection refused or reset, DNS, TLS, a transfer that broke off. */
  | 'network'
  /** A 5xx answer, after the retries. */
  | 'status'
  /** 429, after the retries, or with a Retry-After longer than the client waits. */
  | 'rate_limited'
  /** The body is larger than the cap (with `overCap: 'fail'`). */
  | 'too_large'
  /** The redirect policy refused a hop (another host, robots.txt), or its Location is not a URL. */
  | 'redirect_refused'
  /** More redirects than the policy allows. */
  | 'too_many_redirects'
  /** A redirect back to a URL already in the chain (where the policy asks to catch it). */
  | 'redirect_loop'
  /** The caller's signal aborted the call. */
  | 'aborted';

export interface HttpFailureDetails {
  status?: number;
  /** From Retry-After or the rate limiter's reset header. */
  retryAfterMs?: number;
  /** The network error code (ECONNRESET, UNABLE_TO_VERIFY_LEAF_SIGNATURE …). */
  code?: string;
  /** Where a refused or looping redirect pointed. */
  location?: URL;
  /** The redirect chain up to the failure (start URL first). */
  chain?: readonly URL[];
  cause?: unknown;
}

export class HttpFailure extends Error {
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly code?: string;
  readonly location?: URL;
  readonly chain?: readonly URL[];
  /** Requests sent for this call, retries included (set when the call gives up). */
  attempts = 1;
  /** Time from the call's start to the failure. */
  ms = 0;

  constructor(
    readonly kind: HttpFailureKind,
    message: string,
    details: HttpFailureDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'HttpFailure';
    if (details.status !== undefined) this.status = details.status;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    if (details.code !== undefined) this.code = details.code;
    if (details.location !== undefined) this.location = details.location;
    if (details.chain !== undefined) this.chain = details.chain;
  }

  /** Worth another attempt: the same request may well succeed a moment later. */
  get retryable(): boolean {
    return this.kind === 'timeout' || this.kind === 'network' || this.kind === 'status' || this.kind === 'rate_limited';
  }
}

/** "0.5 s", "12 s": how long, in the messages. */
export function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** "890 KiB", "1.5 MiB", "12 MiB". */
export function byteSize(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(bytes >= 10 * 1024 * 1024 ? 0 : 1)} MiB`
    : `${Math.ceil(bytes / 1024)} KiB`;
}
