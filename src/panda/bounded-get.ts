import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import { parseRetryAfter } from './http.ts';

/**
 * One bounded GET for the grid services other than the monitor (CRIC, the PanDA server): a
 * deadline for the whole exchange (headers and body), a byte cap, up to three redirects, and an
 * optional client certificate (node:https, because fetch cannot present one without undici).
 * `getWithRetries` adds the monitor client's policy: retries with backoff on 5xx, time-outs and
 * network errors, Retry-After on 429.
 */

export interface BoundedGetOptions {
  timeoutMs: number;
  maxBytes: number;
  headers?: Record<string, string>;
  /** PEM client certificate and key, for services that want one. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Extra CA certificates (PEM) trusted besides Node's own. */
  ca?: string | Buffer;
  /** Aborts the exchange (the owner is shutting down). */
  signal?: AbortSignal;
}

export interface BoundedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** Time to the last byte. */
  ms: number;
}

export type FailureReason = 'timeout' | 'network' | 'too_large' | 'http' | 'rate_limited' | 'aborted';

/** Why a GET gave no usable answer, in words a user-facing message can reuse. */
export class GetFailure extends Error {
  constructor(
    message: string,
    readonly reason: FailureReason,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'GetFailure';
  }
}

export function boundedGet(url: string, options: BoundedGetOptions, redirects = 3): Promise<BoundedResponse> {
  const started = performance.now();
  return new Promise<BoundedResponse>((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const send = secure ? httpsRequest : httpRequest;
    let settled = false;
    const finish = (err: Error | undefined, value?: BoundedResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(value!);
    };
    const req = send(
      target,
      {
        method: 'GET',
        headers: { 'user-agent': 'askpanda/0.1', ...options.headers },
        ...(secure && options.cert ? { cert: options.cert, key: options.key ?? options.cert } : {}),
        // `ca` replaces Node's list: keep the public roots and add the extra ones.
        ...(secure && options.ca ? { ca: [...rootCertificates, options.ca.toString()] } : {}),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (status >= 300 && status < 400 && location) {
          res.resume();
          if (redirects <= 0) return finish(new GetFailure('too many redirects', 'http', status));
          const remaining = options.timeoutMs - (performance.now() - started);
          if (remaining <= 0)
            return finish(new GetFailure(`no answer within ${seconds(options.timeoutMs)}`, 'timeout'));
          boundedGet(new URL(location, target).toString(), { ...options, timeoutMs: remaining }, redirects - 1).then(
            (r) => finish(undefined, r),
            (e: Error) => finish(e),
          );
          return;
        }
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > options.maxBytes) {
          res.destroy();
          return finish(
            new GetFailure(
              `the answer is ${megabytes(declared)}, more than the ${megabytes(options.maxBytes)} I read`,
              'too_large',
              status,
            ),
          );
        }
        const parts: Buffer[] = [];
        let total = 0;
        res.on('data', (chunk: Buffer) => {
          total += chunk.length;
          if (total > options.maxBytes) {
            res.destroy();
            finish(
              new GetFailure(
                `the answer is larger than the ${megabytes(options.maxBytes)} I read`,
                'too_large',
                status,
              ),
            );
            return;
          }
          parts.push(chunk);
        });
        res.on('end', () =>
          finish(undefined, {
            status,
            headers: res.headers,
            body: Buffer.concat(parts).toString('utf8'),
            ms: performance.now() - started,
          }),
        );
        res.on('error', (err) => finish(new GetFailure(`the transfer broke off (${errText(err)})`, 'network', status)));
        res.on('aborted', () => finish(new GetFailure('the transfer broke off', 'network', status)));
      },
    );
    const timer = setTimeout(() => {
      finish(new GetFailure(`no answer within ${seconds(options.timeoutMs)}`, 'timeout'));
      req.destroy();
    }, options.timeoutMs);
    const abort = () => {
      finish(new GetFailure('the request was cancelled', 'aborted'));
      req.destroy();
    };
    if (options.signal?.aborted) abort();
    options.signal?.addEventListener('abort', abort, { once: true });
    req.on('close', () => options.signal?.removeEventListener('abort', abort));
    req.on('error', (err) => finish(new GetFailure(errText(err), 'network')));
    req.end();
  });
}

export interface RetryOptions {
  retries: number;
  /** First retry delay; doubles per attempt (tests use a few ms). */
  backoffMs?: number;
  /** A longer Retry-After is not waited for. */
  maxRetryAfterSeconds: number;
  onRetry?: (attempt: number, failure: GetFailure) => void;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * GET with retries; resolves with a 2xx–4xx answer (except 429), throws the last GetFailure with
 * the number of attempts made in its message context (`attempts`).
 */
export async function getWithRetries(
  url: string,
  options: BoundedGetOptions,
  retry: RetryOptions,
): Promise<BoundedResponse & { attempts: number }> {
  const maxAttempts = retry.retries + 1;
  for (let attempt = 1; ; attempt++) {
    let failure: GetFailure;
    try {
      const response = await boundedGet(url, options);
      if (response.status === 429) {
        failure = new GetFailure(
          'rate limited (HTTP 429)',
          'rate_limited',
          429,
          parseRetryAfter(headerValue(response.headers['retry-after']) ?? null),
        );
      } else if (response.status >= 500) {
        failure = new GetFailure(`HTTP ${response.status}`, 'http', response.status);
      } else {
        return { ...response, attempts: attempt };
      }
    } catch (err) {
      if (!(err instanceof GetFailure) || err.reason === 'too_large' || err.reason === 'aborted')
        throw Object.assign(err as Error, { attempts: attempt });
      failure = err;
    }
    let delay = (retry.backoffMs ?? 500) * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5);
    if (failure.reason === 'rate_limited' && failure.retryAfterMs !== undefined) {
      if (failure.retryAfterMs > retry.maxRetryAfterSeconds * 1000) throw Object.assign(failure, { attempts: attempt });
      delay = failure.retryAfterMs;
    }
    if (attempt >= maxAttempts) throw Object.assign(failure, { attempts: attempt });
    retry.onRetry?.(attempt, failure);
    await sleep(delay, options.signal);
    if (options.signal?.aborted)
      throw Object.assign(new GetFailure('the request was cancelled', 'aborted'), { attempts: attempt });
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

function megabytes(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(bytes >= 10 * 1024 * 1024 ? 0 : 1)} MiB`
    : `${Math.ceil(bytes / 1024)} KiB`;
}

const UNTRUSTED =
  /^(?:UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT(?:_LOCALLY)?|CERT_HAS_EXPIRED|ERR_TLS_CERT_ALTNAME_INVALID)$/;

/** A network error in a few words: its code, TLS failures said plainly (OpenSSL's text is long). */
function errText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: string }).code;
  if (code && UNTRUSTED.test(code)) return `TLS: the server's certificate is not trusted here, ${code}`;
  if (
    (code && /CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA/.test(code)) ||
    /alert certificate required|alert handshake failure|alert bad certificate|alert unknown ca/i.test(err.message)
  ) {
    return 'TLS: the server refused the connection without an accepted client certificate';
  }
  if (code) return code;
  return err.message.split('\n')[0]!.slice(0, 200);
}
