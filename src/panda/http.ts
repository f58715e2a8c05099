import type { z } from 'zod';
import type { Logger } from 'pino';
import { AskPandaError } from '../core/errors.ts';
import { HttpClient, type Attempt, type HttpStats } from '../http/client.ts';
import { HttpFailure, seconds } from '../http/errors.ts';
import { anyHost, sameService } from '../http/redirects.ts';
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

export type MonitorStats = HttpStats;

/** A streamed plain-text body; `close()` releases the connection and the concurrency slot. */
export interface OpenedStream {
  status: number;
  size?: number;
  body: AsyncIterable<Uint8Array>;
  /** Set once the body ended because logReadTimeoutMs passed (the body is then only the part that came). */
  readonly cutAfterMs: number | undefined;
  close(): Promise<void>;
}

/**
 * BigPanDA's policy over the HTTP layer: its base URL and token, JSON answers checked against a
 * schema (HTML where JSON was asked means the object does not exist), JSON redirects only within
 * the monitor, log files from wherever the file browser sends us (without the token elsewhere),
 * a metric per request, and every failure said as one sentence naming the subject and its page.
 */
export class MonitorHttp {
  private readonly http: HttpClient;
  private readonly logger: Logger;
  private readonly base: URL;

  constructor(private readonly options: MonitorHttpOptions) {
    this.logger = options.logger ?? silentLogger;
    this.base = new URL(options.baseUrl);
    this.http = new HttpClient({
      timeoutMs: options.timeoutMs,
      concurrency: options.concurrency,
      retry: {
        retries: options.retries,
        backoff: { baseMs: options.backoffMs ?? 500 },
        maxRetryAfterMs: options.maxRetryAfterSeconds * 1000,
      },
      headers: this.identity(),
    });
  }

  get stats(): MonitorStats {
    return this.http.stats;
  }

  private url(pathAndQuery: string): string {
    return this.options.baseUrl.replace(/\/+$/, '') + pathAndQuery;
  }

  private identity(): Record<string, string> {
    const headers: Record<string, string> = { 'user-agent': 'askpanda/0.1 (+https://github.com/askpanda)' };
    const token = this.options.token.trim();
    if (token) headers.authorization = /^(token|bearer)\s/i.test(token) ? token : `Bearer ${token}`;
    return headers;
  }

  /** GET JSON and validate it; HTML where JSON was asked means the object does not exist. */
  async getJson<S extends z.ZodType>(pathAndQuery: string, subject: Subject, schema: S): Promise<z.infer<S>> {
    this.logger.debug({ url: redactSecrets(this.url(pathAndQuery)) }, 'monitor request');
    const answer = await this.http
      .get(this.url(pathAndQuery), {
        headers: { accept: 'application/json' },
        maxBytes: this.options.maxJsonBytes,
        redirects: sameService(this.base, MAX_REDIRECTS),
        onAttempt: (attempt) => record(pathAndQuery, attempt, [404]),
        onRetry: (n, failure) => this.logRetry(subject, n, failure),
      })
      .catch((err: unknown) => {
        throw this.failed(err, subject);
      });
    this.checkStatus(answer.status, subject);
    const raw = answer.bytes.toString('utf8');
    if (answer.status === 404) throw notFound(subject);
    if (/text\/html/i.test(answer.header('content-type') ?? '') || /^\s*</.test(raw.slice(0, 64)))
      throw notFound(subject);
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new AskPandaError(
        'monitor_unavailable',
        `The monitor sent a broken (malformed or cut-off) answer for ${subject.label}. ` +
          `Try again in a few minutes, or open ${subject.page}`,
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
        `The monitor's answer for ${subject.label} did not have the expected shape (missing or invalid fields). ` +
          `Open ${subject.page} to see it directly.`,
      );
    }
    return result.data;
  }

  /**
   * GET a plain-text file as a stream (following the file browser's redirect, which may lead to
   * another host: the token stays with the monitor). 404 and 400 resolve to undefined (the file is
   * not in the log tarball). The concurrency slot is held until close().
   */
  async openText(pathAndQuery: string, subject: Subject): Promise<OpenedStream | undefined> {
    const idleMs = this.options.timeoutMs;
    const response = await this.http
      .open(this.url(pathAndQuery), {
        headers: { accept: 'text/plain, */*' },
        redirects: anyHost(MAX_REDIRECTS),
        // A stalled transfer fails after the idle time-out instead of hanging the answer.
        idleMs,
        cutAfterMs: this.options.logReadTimeoutMs ?? DEFAULT_LOG_READ_TIMEOUT_MS,
        onAttempt: (attempt) => record(pathAndQuery, attempt, [404, 400]),
        onRetry: (n, failure) => this.logRetry(subject, n, failure),
      })
      .catch((err: unknown) => {
        throw this.failed(err, subject);
      });
    if (response.status === 404 || response.status === 400) {
      response.close();
      return undefined;
    }
    try {
      this.checkStatus(response.status, subject);
    } catch (err) {
      response.close();
      throw err;
    }
    async function* chunks(): AsyncGenerator<Uint8Array> {
      try {
        yield* response.body;
      } catch (err) {
        if (err instanceof HttpFailure && err.kind === 'stalled')
          throw new AskPandaError(
            'monitor_unavailable',
            `The monitor stopped sending the log of ${subject.label} (no data for ${seconds(idleMs)}). ` +
              `Open ${subject.page} and try the log from there.`,
          );
        throw new AskPandaError(
          'monitor_unavailable',
          `The transfer of the log of ${subject.label} broke off (${why(err)}). Try again, or open ${subject.page}`,
        );
      }
    }
    return {
      status: response.status,
      ...(response.size !== undefined ? { size: response.size } : {}),
      body: chunks(),
      get cutAfterMs() {
        return response.cutAfterMs;
      },
      async close() {
        response.close();
      },
    };
  }

  /** Statuses the layer hands back (below 500, not 429) that are no answer. */
  private checkStatus(status: number, subject: Subject): void {
    if (status === 401 || status === 403)
      throw new AskPandaError(
        'monitor_unavailable',
        `The monitor refused access to ${subject.label} (HTTP ${status}). ` +
          `Check PANDA_MONITOR_TOKEN (it may be missing or expired), or open ${subject.page} in a browser.`,
      );
    if (status >= 400 && status !== 404)
      throw new AskPandaError(
        'monitor_unavailable',
        `The monitor answered HTTP ${status} for ${subject.label}. Open ${subject.page} to check it directly.`,
      );
  }

  private logRetry(subject: Subject, attempt: number, failure: HttpFailure): void {
    this.logger.warn({ subject: subject.label, attempt, reason: why(failure) }, 'monitor request failed');
  }

  /** The layer's failure as the sentence a user reads. */
  private failed(err: unknown, subject: Subject): unknown {
    if (!(err instanceof HttpFailure)) return err;
    const { label, page } = subject;
    const attempts = `${err.attempts} attempt${err.attempts === 1 ? '' : 's'}`;
    switch (err.kind) {
      case 'rate_limited':
        if (err.retryAfterMs !== undefined && err.retryAfterMs > this.options.maxRetryAfterSeconds * 1000)
          return new AskPandaError(
            'rate_limited',
            `The monitor is rate-limiting us and asks to wait ${Math.ceil(err.retryAfterMs / 1000)} s ` +
              `before asking about ${label} again. Try again later, or open ${page}`,
          );
        return new AskPandaError(
          'rate_limited',
          `The monitor is rate-limiting requests (HTTP 429) and did not recover after ${attempts} for ${label}. ` +
            `Wait a few minutes, or open ${page}`,
        );
      case 'too_large':
        return new AskPandaError(
          'monitor_unavailable',
          `The monitor's answer for ${label} is larger than ${Math.round(this.options.maxJsonBytes / 1024 / 1024)} MiB, ` +
            `more than I read. Open ${page} instead.`,
        );
      case 'redirect_refused':
        if (!err.location)
          return new AskPandaError(
            'monitor_unavailable',
            `The monitor answered my request about ${label} with a redirect I cannot read. Open ${page}`,
          );
        this.logger.warn({ subject: label, host: err.location.host }, 'monitor redirect to another host refused');
        return new AskPandaError(
          'monitor_unavailable',
          `The monitor redirected my request about ${label} to another host (${err.location.host.slice(0, 100)}), ` +
            `and I only ask the configured monitor for data. Open ${page}`,
        );
      case 'too_many_redirects':
      case 'redirect_loop':
        return new AskPandaError(
          'monitor_unavailable',
          `The monitor redirected my request about ${label} more than ${MAX_REDIRECTS} times (a redirect loop), ` +
            `so I stopped. Try again later, or open ${page}`,
        );
      case 'aborted':
        return err;
      default: {
        this.logger.warn({ subject: label, attempts: err.attempts, reason: why(err) }, 'monitor request failed');
        const failed =
          err.kind === 'timeout' ? `did not answer within ${seconds(this.options.timeoutMs)}` : `failed (${why(err)})`;
        return new AskPandaError(
          'monitor_unavailable',
          `The PanDA monitor ${failed} when I asked about ${label}, ${attempts}. Try again in a few minutes, or open ${page}`,
        );
      }
    }
  }
}

/** One metric per request sent; `missing` are the statuses that mean "no such object" here. */
function record(pathAndQuery: string, attempt: Attempt, missing: number[]): void {
  if ('failure' in attempt) {
    const timedOut = attempt.failure.kind === 'timeout';
    recordMonitorRequest(pathAndQuery, timedOut ? 'timeout' : 'error', timedOut ? 'timeout' : why(attempt.failure));
    return;
  }
  const { status } = attempt;
  const outcome =
    status === 429 ? 'rate_limited' : missing.includes(status) ? 'not_found' : status >= 400 ? 'error' : 'ok';
  recordMonitorRequest(pathAndQuery, outcome, `HTTP ${status}`);
}

/** A failure in a few words: network codes said plainly, the rest as the layer says it. */
function why(err: unknown): string {
  if (err instanceof HttpFailure) return err.code ? networkWords(err.code) : err.message;
  return err instanceof Error ? err.message : String(err);
}

function notFound(subject: Subject): AskPandaError {
  return new AskPandaError(
    'not_found',
    `The monitor does not know ${subject.label} (it answered with a web page instead of data). ` +
      `Check the number, or open ${subject.page}. ` +
      'If the number is right, it may belong to another PanDA instance or be older than this monitor keeps.',
  );
}
