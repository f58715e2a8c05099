import { setTimeout as sleep } from 'node:timers/promises';
import mm from '@mattermost/client';
import type { Options } from '@mattermost/types/client4';
import { backoffDelay } from '../../http/backoff.ts';
import { fromFetchHeaders, retryDelayFromHeaders } from '../../http/retry-after.ts';
import { isTimeout } from './errors.ts';

const { Client4, ClientError } = mm;

const READ_RETRIES = 2;
const RATE_LIMIT_RETRIES = 3;
/** A 429 that says nothing about when to come back (a proxy's, not the server's limiter) waits this long. */
const RATE_LIMIT_DEFAULT_WAIT_MS = 1000;

export interface ClientLimits {
  /** Per request, including reading the body. */
  timeoutMs: number;
  /** A 429 asking to wait longer than this fails instead of waiting. */
  maxRetryAfterMs: number;
}

type FetchWithResponse = (
  url: string,
  options: Options,
) => Promise<{ response: Response; headers: Map<string, string>; data: unknown }>;

/**
 * Client4 with what a server process needs and the browser client leaves out: a time-out on every
 * request, waiting out 429s (the rate limiter answers plain text with `Retry-After`, which Client4
 * would turn into an error with no status), and a retry of reads after network errors or 5xx.
 * Writes are not repeated after a failure that may have landed. Client4 keeps its own fetch: the
 * HTTP layer's client only reads, and Client4 posts, patches and deletes.
 */
export class BoundedClient4 extends Client4 {
  constructor(private readonly limits: ClientLimits) {
    super();
    // doFetchWithResponse is private in the typings but an instance field in 11.x; checked here
    // so a changed client fails at start, not on the first request.
    const inner = Reflect.get(this, 'doFetchWithResponse') as FetchWithResponse | undefined;
    if (typeof inner !== 'function')
      throw new Error('@mattermost/client has no doFetchWithResponse: this version is not supported (use 11.9.x)');
    const bounded: FetchWithResponse = async (url, options) => {
      const method = (options.method ?? 'get').toLowerCase();
      for (let attempt = 0; ; attempt++) {
        let result: Awaited<ReturnType<FetchWithResponse>>;
        try {
          result = await inner(url, { ...options, ignoreStatus: true });
        } catch (err) {
          if (method === 'get' && attempt < READ_RETRIES && !isTimeout(err)) {
            await sleep(readRetryDelay(attempt));
            continue;
          }
          throw err;
        }
        const { status } = result.response;
        if (status === 429 && attempt < RATE_LIMIT_RETRIES) {
          const waitMs = retryDelayFromHeaders(fromFetchHeaders(result.response.headers)) ?? RATE_LIMIT_DEFAULT_WAIT_MS;
          if (waitMs <= this.limits.maxRetryAfterMs) {
            await sleep(waitMs);
            continue;
          }
        }
        if (status >= 500 && method === 'get' && attempt < READ_RETRIES) {
          await sleep(readRetryDelay(attempt));
          continue;
        }
        if (result.response.ok || options.ignoreStatus) return result;
        const data = (result.data !== null && typeof result.data === 'object' ? result.data : {}) as {
          message?: unknown;
          id?: unknown;
          detailed_error?: unknown;
        };
        throw new ClientError(this.getUrl(), {
          message:
            typeof data.message === 'string' && data.message
              ? data.message
              : status === 429
                ? 'rate limited'
                : `HTTP ${status}`,
          server_error_id: typeof data.id === 'string' ? data.id : status === 429 ? 'rate_limited' : undefined,
          status_code: status,
          detailed_error: typeof data.detailed_error === 'string' ? data.detailed_error : undefined,
          url,
        });
      }
    };
    Reflect.set(this, 'doFetchWithResponse', bounded);
  }

  override getOptions(options: Options): ReturnType<InstanceType<typeof Client4>['getOptions']> {
    const base = super.getOptions(options);
    return { ...base, signal: options.signal ?? AbortSignal.timeout(this.limits.timeoutMs) };
  }

  /** `POST /users/{id}/typing`: Client4 has no method for it. */
  publishTyping(userId: string, channelId: string, parentId: string): Promise<unknown> {
    return this.doFetch(`${this.getUserRoute(userId)}/typing`, {
      method: 'post',
      body: JSON.stringify({ channel_id: channelId, parent_id: parentId }),
    });
  }
}

/** About 250 ms, then 1 s (jittered): a read retried sooner would meet the same hiccup. */
function readRetryDelay(attempt: number): number {
  return backoffDelay(attempt + 1, { baseMs: 250, factor: 4, maxMs: 5_000 });
}
