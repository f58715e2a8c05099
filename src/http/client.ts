import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { Slots } from '../util/slots.ts';
import { HttpFailure, seconds } from './errors.ts';
import { getFollowing, Interrupt, type Agents } from './exchange.ts';
import { asNetworkFailure } from './network-error.ts';
import type { RedirectPolicy } from './redirects.ts';
import { HttpResponse, type BodyLimits, type OverCap, type ReadBody } from './response.ts';
import { retryDelayFromHeaders } from './retry-after.ts';
import { NO_RETRIES, withRetries, type RetryPolicy } from './retry.ts';

/**
 * The one way askpanda calls out over HTTP (BigPanDA, its logs, CRIC, the PanDA server, web pages):
 * every request bounded in time, size and number, redirects checked hop by hop, failures typed.
 */

export interface TlsOptions {
  /** PEM client certificate (and key, when not in the same file), for services that want one. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Extra CA certificates (PEM) trusted besides Node's own. */
  ca?: string | Buffer;
}

export interface HttpClientOptions {
  /** Per attempt: until the answer's headers (connecting included); get() also reads the body within it. */
  timeoutMs: number;
  /** Requests in flight at most; a streamed body holds its slot until it ends or is closed. */
  concurrency?: number;
  retry?: RetryPolicy;
  /** Sent with every request (user-agent …); a request's own headers add to them. */
  headers?: Record<string, string>;
  tls?: TlsOptions;
}

/** One request sent: its answer's status, or why none came. */
export type Attempt = { url: URL; status: number } | { url: URL; failure: HttpFailure };

export interface RequestOptions {
  /** Per URL, so each hop of a redirect chain can carry its own (conditional requests). */
  headers?: Record<string, string> | ((url: URL) => Record<string, string>);
  /** Without one, a 3xx is the answer. */
  redirects?: RedirectPolicy;
  signal?: AbortSignal;
  /** Once per request sent (each retry too), when its headers came or it failed without. */
  onAttempt?: (attempt: Attempt) => void;
  /** Before waiting to retry. */
  onRetry?: (attempt: number, failure: HttpFailure, delayMs: number) => void;
}

export interface OpenOptions extends RequestOptions, BodyLimits {
  /** The whole exchange, body included, fails as `timeout` after this (default: only the headers are timed). */
  deadlineMs?: number;
}

export interface GetOptions extends RequestOptions {
  maxBytes: number;
  /** Default `fail`: a body over the cap is a `too_large` failure. */
  overCap?: OverCap;
}

export interface HttpBody extends ReadBody {
  status: number;
  url: URL;
  header(name: string): string | undefined;
  attempts: number;
  /** From the attempt's start to the body's last byte. */
  ms: number;
}

export interface HttpStats {
  /** Requests sent (each retry counts; a followed redirect is part of its request). */
  requests: number;
  retries: number;
  /** Body bytes read. */
  bytes: number;
}

export class HttpClient {
  readonly stats: HttpStats = { requests: 0, retries: 0, bytes: 0 };
  private readonly slots: Slots;
  private readonly agents: Agents;

  constructor(private readonly options: HttpClientOptions) {
    this.slots = new Slots(options.concurrency ?? Number.POSITIVE_INFINITY);
    this.agents = options.tls?.cert || options.tls?.ca ? { https: tlsAgent(options.tls) } : {};
  }

  /**
   * GET whose body streams (log files of GiBs). Retries cover the way to the headers only: a body
   * that breaks off fails its reader. 5xx and 429 are failures after the retries; other statuses
   * are answers for the caller to judge.
   */
  open(url: string | URL, options: OpenOptions = {}): Promise<HttpResponse> {
    return this.retrying(options, (attempt) => this.openOnce(new URL(url), options, attempt));
  }

  /**
   * GET read whole within the time-out, up to a byte cap (of the decompressed body: a small
   * compressed answer cannot unpack past it); a body that breaks off is retried.
   */
  get(url: string | URL, options: GetOptions): Promise<HttpBody> {
    const opened: OpenOptions = { ...options, deadlineMs: this.options.timeoutMs, decompress: true };
    return this.retrying(options, async (attempt) => {
      const started = performance.now();
      const response = await this.openOnce(new URL(url), opened, attempt);
      const body = await response.read(options.maxBytes, options.overCap ?? 'fail');
      return {
        ...body,
        status: response.status,
        url: response.url,
        header: (name: string) => response.header(name),
        attempts: attempt,
        ms: performance.now() - started,
      };
    });
  }

  /** Closes idle connections of a client with its own TLS settings. */
  close(): void {
    this.agents.https?.destroy();
  }

  private retrying<T>(options: RequestOptions, attempt: (n: number) => Promise<T>): Promise<T> {
    return withRetries(
      this.options.retry ?? NO_RETRIES,
      {
        signal: options.signal,
        onRetry: (n, failure, delayMs) => {
          this.stats.retries++;
          options.onRetry?.(n, failure, delayMs);
        },
      },
      attempt,
    );
  }

  private async openOnce(url: URL, options: OpenOptions, attempt: number): Promise<HttpResponse> {
    const { signal } = options;
    const aborted = () => new HttpFailure('aborted', 'the request was cancelled', { cause: signal?.reason });
    if (signal?.aborted) throw aborted();
    const release = await this.slots.acquire(signal).catch(() => {
      throw aborted();
    });
    this.stats.requests++;
    const interrupt = new Interrupt();
    const timeoutMs = options.deadlineMs ?? this.options.timeoutMs;
    const timer = setTimeout(
      () => interrupt.fire(new HttpFailure('timeout', `no answer within ${seconds(timeoutMs)}`)),
      timeoutMs,
    );
    const onAbort = () => interrupt.fire(aborted());
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      release();
    };
    const headersFor = (target: URL) => ({
      ...(options.decompress ? { 'accept-encoding': 'gzip, deflate, br' } : {}),
      ...this.options.headers,
      ...(typeof options.headers === 'function' ? options.headers(target) : options.headers),
    });
    let reached;
    try {
      reached = await getFollowing(url, headersFor, options.redirects, this.agents, interrupt);
    } catch (err) {
      finish();
      const failure = asNetworkFailure(err);
      options.onAttempt?.({ url, failure });
      throw failure;
    }
    const { message } = reached;
    const status = message.statusCode ?? 0;
    options.onAttempt?.({ url, status });
    if (status === 429 || status >= 500) {
      message.destroy();
      finish();
      if (status >= 500) throw new HttpFailure('status', `HTTP ${status}`, { status });
      const header = (name: string) => [message.headers[name]].flat()[0];
      throw new HttpFailure('rate_limited', 'rate limited (HTTP 429)', {
        status,
        retryAfterMs: retryDelayFromHeaders(header),
      });
    }
    // Without a deadline for the whole exchange, the body's own limits take over from here.
    if (options.deadlineMs === undefined) clearTimeout(timer);
    const response = new HttpResponse(
      message,
      reached.url,
      interrupt,
      options,
      (count) => (this.stats.bytes += count),
      finish,
    );
    response.attempts = attempt;
    return response;
  }
}

function tlsAgent(tls: TlsOptions): HttpsAgent {
  return new HttpsAgent({
    keepAlive: true,
    ...(tls.cert ? { cert: tls.cert, key: tls.key ?? tls.cert } : {}),
    // `ca` replaces Node's list: keep the public roots and add the extra ones.
    ...(tls.ca ? { ca: [...rootCertificates, tls.ca.toString()] } : {}),
  });
}
