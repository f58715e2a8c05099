import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import type { z } from 'zod';
import type { Logger } from 'pino';
import { AskPandaError } from '../core/errors.ts';
import { silentLogger } from '../util/log.ts';
import { redactSecrets } from '../util/redact.ts';
import { recordMonitorRequest } from './monitor-health.ts';
import { networkWords } from './network-words.ts';

/** What a request is about, so a failure message can name it and the page to open instead. */
export interface Subject {
  /** "job 6800730400", "task 46374283" */
  label: string;
  /** The monitor page a person can open (always the public monitor, never a loopback URL). */
  page: string;
}

export interface MonitorHttpOptions {
  baseUrl: string;
  token: string;
  timeoutMs: number;
  retries: number;
  maxRetryAfterSeconds: number;
  concurrency: number;
  maxJsonBytes: number;
  /**
   * How long one log file may take to arrive. A transfer still running then is cut and what came is
   * scanned: a monitor (or proxy) that trickles a byte now and then must not hold the answer.
   */
  logReadTimeoutMs?: number;
  /** First retry delay; doubles per attempt (tests use a few ms). */
  backoffMs?: number;
  logger?: Logger;
}

/** Redirects followed per request (the file browser answers one 301 to the plain file). */
const MAX_REDIRECTS = 3;
const DEFAULT_LOG_READ_TIMEOUT_MS = 120_000;

export interface MonitorStats {
  /** HTTP requests sent (each retry counts; a followed redirect is part of its request). */
  requests: number;
  retries: number;
  bytes: number;
}

/** A streamed plain-text body; `close()` releases the connection and the concurrency slot. */
export interface OpenedStream {
  status: number;
  size?: number;
  body: AsyncIterable<Uint8Array>;
  /** Set once the body ended because logReadTimeoutMs passed (the body is then only the part that came). */
  readonly cutAfterMs: number | undefined;
  close(): Promise<void>;
}

class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly max: number) {}
  async acquire(): Promise<() => void> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.waiting.shift()?.();
    };
  }
}

class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    readonly rateLimited = false,
  ) {
    super(message);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Bounded HTTP to BigPanDA: per-request timeout (including the body), retries with exponential
 * backoff on 5xx and time-outs, Retry-After on 429, a byte cap on JSON bodies, a concurrency cap.
 * Failures become AskPandaError with a message naming the subject and its monitor page.
 */
export class MonitorHttp {
  readonly stats: MonitorStats = { requests: 0, retries: 0, bytes: 0 };
  private readonly slots: Semaphore;
  private readonly logger: Logger;

  constructor(private readonly options: MonitorHttpOptions) {
    this.slots = new Semaphore(options.concurrency);
    this.logger = options.logger ?? silentLogger;
  }

  private url(pathAndQuery: string): string {
    return this.options.baseUrl.replace(/\/+$/, '') + pathAndQuery;
  }

  private headers(accept: string): Record<string, string> {
    const headers: Record<string, string> = { accept, 'user-agent': 'askpanda/0.1 (+https://github.com/askpanda)' };
    const token = this.options.token.trim();
    if (token) headers.authorization = /^(token|bearer)\s/i.test(token) ? token : `Bearer ${token}`;
    return headers;
  }

  /** GET JSON and validate it; HTML where JSON was asked means the object does not exist. */
  async getJson<S extends z.ZodType>(pathAndQuery: string, subject: Subject, schema: S): Promise<z.infer<S>> {
    const body = await this.withRetries(subject, async (signal) => {
      const response = await this.send(pathAndQuery, 'application/json', signal, subject);
      const contentType = response.headers.get('content-type') ?? '';
      const raw = await this.readCapped(response, subject);
      if (response.status === 404) throw notFound(subject);
      if (/text\/html/i.test(contentType) || /^\s*</.test(raw.slice(0, 64))) throw notFound(subject);
      return raw;
    });
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new AskPandaError(
        'monitor_unavailable',
        `The monitor sent a broken (malformed or cut-off) answer for ${subject.label}. Try again in a few minutes, or open ${subject.page}`,
      );
    }
    const result = schema.safeParse(parsed);
    if (!result.success) {
      this.logger.warn(
        {
          subject: subject.label,
          issues: result.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`),
        },
        'monitor JSON did not match the expected shape',
      );
      throw new AskPandaError(
        'monitor_unavailable',
        `The monitor's answer for ${subject.label} did not have the expected shape (missing or invalid fields). Open ${subject.page} to see it directly.`,
      );
    }
    return result.data;
  }

  /**
   * GET a plain-text file as a stream (following the file browser's redirect). 404 resolves to
   * undefined (the file is not in the log tarball). The concurrency slot is held until close().
   */
  async openText(pathAndQuery: string, subject: Subject): Promise<OpenedStream | undefined> {
    return this.withRetries(subject, async (signal) => {
      const release = await this.slots.acquire();
      let response: IncomingMessage;
      try {
        this.stats.requests++;
        // node:http rather than fetch for bodies of GBs: it buffers less (about 30 MiB less peak RSS).
        response = await this.getStream(
          new URL(this.url(pathAndQuery)),
          this.headers('text/plain, */*'),
          signal,
          subject,
        );
      } catch (err) {
        release();
        recordMonitorRequest(
          pathAndQuery,
          signal.aborted ? 'timeout' : 'error',
          signal.aborted ? 'timeout' : errText(err),
        );
        throw err;
      }
      const status = response.statusCode ?? 0;
      recordMonitorRequest(
        pathAndQuery,
        status === 429
          ? 'rate_limited'
          : status === 404 || status === 400
            ? 'not_found'
            : status >= 400
              ? 'error'
              : 'ok',
        `HTTP ${status}`,
      );
      if (status === 404 || status === 400) {
        response.destroy();
        release();
        return undefined;
      }
      try {
        this.checkStatus(
          { status, header: (name) => headerValue(response.headers[name]), discard: () => response.destroy() },
          subject,
        );
      } catch (err) {
        response.destroy();
        release();
        throw err;
      }
      const length = Number(response.headers['content-length']);
      const stats = this.stats;
      const idleMs = this.options.timeoutMs;
      const readMs = this.options.logReadTimeoutMs ?? DEFAULT_LOG_READ_TIMEOUT_MS;
      let cutAfterMs: number | undefined;
      async function* chunks(): AsyncGenerator<Uint8Array> {
        // A stalled transfer fails after the idle timeout instead of hanging the answer; one timer,
        // re-armed per chunk, so a multi-GB body does not cost a timer per chunk. A transfer that
        // keeps trickling is cut at the read deadline and ends there, as if the file ended.
        let idled = false;
        const started = performance.now();
        const timer = setTimeout(() => {
          idled = true;
          response.destroy(new Error('idle'));
        }, idleMs);
        const deadline = setTimeout(() => {
          cutAfterMs = Math.round(performance.now() - started);
          response.destroy();
        }, readMs);
        try {
          for await (const chunk of response) {
            timer.refresh();
            stats.bytes += (chunk as Buffer).length;
            yield chunk as Buffer;
            if (cutAfterMs !== undefined) return;
          }
        } catch (err) {
          if (cutAfterMs !== undefined) return;
          if (idled)
            throw new AskPandaError(
              'monitor_unavailable',
              `The monitor stopped sending the log of ${subject.label} (no data for ${seconds(idleMs)}). Open ${subject.page} and try the log from there.`,
            );
          throw new AskPandaError(
            'monitor_unavailable',
            `The transfer of the log of ${subject.label} broke off (${errText(err)}). Try again, or open ${subject.page}`,
          );
        } finally {
          clearTimeout(timer);
          clearTimeout(deadline);
          response.destroy();
        }
      }
      return {
        status,
        size:
          Number.isFinite(length) && length >= 0 && response.headers['content-length'] !== undefined
            ? length
            : undefined,
        body: chunks(),
        get cutAfterMs() {
          return cutAfterMs;
        },
        async close() {
          response.destroy();
          release();
        },
      };
    });
  }

  private async send(pathAndQuery: string, accept: string, signal: AbortSignal, subject: Subject): Promise<Response> {
    const release = await this.slots.acquire();
    try {
      const response = await this.fetchOnce(pathAndQuery, accept, signal, subject);
      if (response.status !== 404) this.checkStatus(fetchStatus(response), subject);
      return response;
    } finally {
      release();
    }
  }

  private async fetchOnce(
    pathAndQuery: string,
    accept: string,
    signal: AbortSignal,
    subject: Subject,
  ): Promise<Response> {
    this.stats.requests++;
    this.logger.debug({ url: redactSecrets(this.url(pathAndQuery)) }, 'monitor request');
    try {
      const response = await this.followWithinMonitor(this.url(pathAndQuery), accept, signal, subject);
      const status = response.status;
      recordMonitorRequest(
        pathAndQuery,
        status === 429 ? 'rate_limited' : status === 404 ? 'not_found' : status >= 400 ? 'error' : 'ok',
        `HTTP ${status}`,
      );
      return response;
    } catch (err) {
      recordMonitorRequest(
        pathAndQuery,
        signal.aborted ? 'timeout' : 'error',
        signal.aborted ? 'timeout' : errText(err),
      );
      throw err;
    }
  }

  /**
   * fetch with redirects followed by hand: only to the monitor itself (its origin, or the same host
   * moving to https), at most MAX_REDIRECTS. fetch's own `follow` goes anywhere, 20 times, so a
   * redirect could make askpanda contact a host nobody configured, and a loop cost 60 requests.
   */
  private async followWithinMonitor(
    url: string,
    accept: string,
    signal: AbortSignal,
    subject: Subject,
  ): Promise<Response> {
    let target = new URL(url);
    for (let hop = 0; ; hop++) {
      const response = await fetch(target, { headers: this.headers(accept), signal, redirect: 'manual' });
      const location = response.status >= 300 && response.status < 400 ? response.headers.get('location') : null;
      if (!location) return response;
      await response.body?.cancel().catch(() => undefined);
      target = this.nextHop(target, location, hop, subject);
    }
  }

  /** Where a JSON redirect leads, if it may be followed: the monitor itself, at most MAX_REDIRECTS times. */
  private nextHop(from: URL, location: string, hop: number, subject: Subject): URL {
    const next = redirectTarget(from, location, subject);
    if (!withinMonitor(next, new URL(this.options.baseUrl))) {
      this.logger.warn({ subject: subject.label, host: next.host }, 'monitor redirect to another host refused');
      throw new AskPandaError(
        'monitor_unavailable',
        `The monitor redirected my request about ${subject.label} to another host (${next.host.slice(0, 100)}), and I only ask the configured monitor for data. Open ${subject.page}`,
      );
    }
    if (hop + 1 > MAX_REDIRECTS) throw redirectLoop(subject);
    return next;
  }

  /**
   * GET with node:http(s), following the file browser's redirect to the plain file (at most
   * MAX_REDIRECTS). The file may live on another host (an object store): the Authorization header
   * only goes to the origin it was meant for.
   */
  private getStream(
    target: URL,
    headers: Record<string, string>,
    signal: AbortSignal,
    subject: Subject,
    hop = 0,
  ): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const get = target.protocol === 'https:' ? httpsGet : httpGet;
      const request = get(target, { headers, signal }, (response) => {
        const status = response.statusCode ?? 0;
        const location = response.headers.location;
        if (status >= 300 && status < 400 && location) {
          response.resume();
          let next: URL;
          try {
            next = redirectTarget(target, location, subject);
          } catch (err) {
            return reject(err);
          }
          if (hop + 1 > MAX_REDIRECTS) return reject(redirectLoop(subject));
          const nextHeaders = { ...headers };
          if (next.origin !== target.origin) delete nextHeaders.authorization;
          this.getStream(next, nextHeaders, signal, subject, hop + 1).then(resolve, reject);
          return;
        }
        resolve(response);
      });
      request.on('error', reject);
    });
  }

  private checkStatus(response: StatusView, subject: Subject): void {
    const status = response.status;
    if (status === 429) {
      response.discard();
      throw new RetryableError('rate limited', parseRetryAfter(response.header('retry-after') ?? null), true);
    }
    if (status >= 500) {
      response.discard();
      throw new RetryableError(`HTTP ${status}`);
    }
    if (status === 401 || status === 403) {
      response.discard();
      throw new AskPandaError(
        'monitor_unavailable',
        `The monitor refused access to ${subject.label} (HTTP ${status}). Check PANDA_MONITOR_TOKEN (it may be missing or expired), or open ${subject.page} in a browser.`,
      );
    }
    if (status >= 400 && status !== 404) {
      response.discard();
      throw new AskPandaError(
        'monitor_unavailable',
        `The monitor answered HTTP ${status} for ${subject.label}. Open ${subject.page} to check it directly.`,
      );
    }
  }

  /** Reads a body up to maxJsonBytes; a bigger body is refused instead of buffered. */
  private async readCapped(response: Response, subject: Subject): Promise<string> {
    const declared = Number(response.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > this.options.maxJsonBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw tooLarge(subject, this.options.maxJsonBytes);
    }
    if (!response.body) return '';
    const parts: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of response.body) {
      total += chunk.byteLength;
      if (total > this.options.maxJsonBytes) {
        throw tooLarge(subject, this.options.maxJsonBytes);
      }
      parts.push(chunk);
    }
    this.stats.bytes += total;
    return Buffer.concat(parts).toString('utf8');
  }

  private async withRetries<T>(
    subject: Subject,
    attempt: (signal: AbortSignal, controller: AbortController) => Promise<T>,
  ): Promise<T> {
    const maxAttempts = this.options.retries + 1;
    let lastRateLimit = false;
    for (let n = 1; ; n++) {
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, this.options.timeoutMs);
      try {
        const result = await attempt(controller.signal, controller);
        return result;
      } catch (err) {
        if (err instanceof AskPandaError) throw err;
        const retryable = err instanceof RetryableError || timedOut || isNetworkError(err);
        lastRateLimit = err instanceof RetryableError && err.rateLimited;
        if (!retryable) throw err;
        let delay = (this.options.backoffMs ?? 500) * 2 ** (n - 1) * (0.75 + Math.random() * 0.5);
        if (err instanceof RetryableError && err.rateLimited) {
          const wait = err.retryAfterMs ?? delay;
          if (wait > this.options.maxRetryAfterSeconds * 1000) {
            throw new AskPandaError(
              'rate_limited',
              `The monitor is rate-limiting us and asks to wait ${Math.ceil(wait / 1000)} s before asking about ${subject.label} again. Try again later, or open ${subject.page}`,
            );
          }
          delay = wait;
        }
        this.logger.warn(
          { subject: subject.label, attempt: n, reason: timedOut ? 'timeout' : errText(err) },
          'monitor request failed',
        );
        if (n >= maxAttempts) {
          if (lastRateLimit)
            throw new AskPandaError(
              'rate_limited',
              `The monitor is rate-limiting requests (HTTP 429) and did not recover after ${maxAttempts} attempts for ${subject.label}. Wait a few minutes, or open ${subject.page}`,
            );
          const why = timedOut
            ? `did not answer within ${seconds(this.options.timeoutMs)}`
            : `failed (${errText(err)})`;
          throw new AskPandaError(
            'monitor_unavailable',
            `The PanDA monitor ${why} when I asked about ${subject.label}, ${maxAttempts} attempt${maxAttempts === 1 ? '' : 's'}. Try again in a few minutes, or open ${subject.page}`,
          );
        }
        this.stats.retries++;
        await sleep(delay);
      } finally {
        // For streams this covers the headers only; the body has its own idle timeout.
        clearTimeout(timer);
      }
    }
  }
}

/** What checkStatus needs from a fetch Response or a node:http IncomingMessage. */
interface StatusView {
  status: number;
  header(name: string): string | undefined;
  discard(): void;
}

function fetchStatus(response: Response): StatusView {
  return {
    status: response.status,
    header: (name) => response.headers.get(name) ?? undefined,
    discard: () => void response.body?.cancel().catch(() => undefined),
  };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function redirectTarget(from: URL, location: string, subject: Subject): URL {
  try {
    return new URL(location, from);
  } catch {
    throw new AskPandaError(
      'monitor_unavailable',
      `The monitor answered my request about ${subject.label} with a redirect I cannot read. Open ${subject.page}`,
    );
  }
}

function redirectLoop(subject: Subject): AskPandaError {
  return new AskPandaError(
    'monitor_unavailable',
    `The monitor redirected my request about ${subject.label} more than ${MAX_REDIRECTS} times (a redirect loop), so I stopped. Try again later, or open ${subject.page}`,
  );
}

/** The monitor itself: its own origin, or its host moving from http to https (a common 301). */
function withinMonitor(url: URL, monitor: URL): boolean {
  if (url.origin === monitor.origin) return true;
  return (
    url.hostname === monitor.hostname &&
    monitor.protocol === 'http:' &&
    url.protocol === 'https:' &&
    (url.port === '' || url.port === '443')
  );
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

function notFound(subject: Subject): AskPandaError {
  return new AskPandaError(
    'not_found',
    `The monitor does not know ${subject.label} (it answered with a web page instead of data). Check the number, or open ${subject.page}. If the number is right, it may belong to another PanDA instance or be older than this monitor keeps.`,
  );
}

function tooLarge(subject: Subject, max: number): AskPandaError {
  return new AskPandaError(
    'monitor_unavailable',
    `The monitor's answer for ${subject.label} is larger than ${Math.round(max / 1024 / 1024)} MiB, more than I read. Open ${subject.page} instead.`,
  );
}

/** Retry-After as seconds or an HTTP date, in ms. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\s*\d+(?:\.\d+)?\s*$/.test(value)) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err.name === 'AbortError' ||
    err.name === 'TypeError' ||
    /fetch failed|ECONNRESET|ECONNREFUSED|socket|terminated|other side closed/i.test(
      `${err.message} ${String((err as { cause?: unknown }).cause ?? '')}`,
    )
  );
}

function errText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const code = cause?.code ?? (err as { code?: string }).code;
    return code ? networkWords(code) : (cause?.message ?? err.message);
  }
  return String(err);
}
