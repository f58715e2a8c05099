import { parseRetryAfter } from '../http/retry-after.ts';

/**
 * Why a provider call failed, in the terms the fallback chain decides on. `invalid`: the provider
 * answered, but with something that is no answer (garbage, an HTML page, JSON of another shape, a
 * body over the size cap).
 */
export type FailureKind = 'timeout' | 'rate_limited' | 'server' | 'connection' | 'rejected' | 'invalid' | 'aborted';

export interface Failure {
  kind: FailureKind;
  status?: number;
  /** From a 429/503 Retry-After header: the provider asked not to be called before this. */
  retryAfterMs?: number;
  message: string;
}

/** A provider call that failed, carrying what the fallback chain and the breaker need. */
export class ProviderError extends Error {
  constructor(
    readonly modelId: string,
    readonly failure: Failure,
    options?: { cause?: unknown },
  ) {
    super(`${modelId}: ${failure.message}`, options);
    this.name = 'ProviderError';
  }
}

/** A provider asking for more than an hour is treated as asking for an hour: the breaker opens that long. */
const MAX_RETRY_AFTER_MS = 3_600_000;

/** What SDKs throw when a 200 body is not what they expect: a parse error, a missing field, a validation error. */
const UNREADABLE = new RegExp(
  [
    'SyntaxError|not valid JSON|Unexpected (?:token|end of)|JSON segment|Cannot read propert|is not a function',
    'is not iterable|SDKValidationError|ZodError|Did not receive done|Response validation failed',
    'Unexpected Status or Content-Type',
  ].join('|'),
  'i',
);

interface ErrorShape {
  status?: unknown;
  statusCode?: unknown;
  status_code?: unknown;
  code?: unknown;
  name?: unknown;
  message?: unknown;
  headers?: unknown;
  cause?: unknown;
}

function headerOf(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

function numericStatus(shape: ErrorShape): number | undefined {
  for (const value of [shape.status, shape.statusCode, shape.status_code]) {
    if (typeof value === 'number' && value >= 100 && value < 600) return value;
  }
  return undefined;
}

function chainText(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current && depth < 5; depth++) {
    const shape = current as ErrorShape;
    parts.push(String(shape.name ?? ''), String(shape.code ?? ''), String(shape.message ?? ''));
    current = shape.cause;
  }
  return parts.join(' ');
}

/**
 * Maps any SDK's error to a Failure. The SDKs disagree on names (APIError.status, MistralError
 * .statusCode, Ollama ResponseError.status_code, Gemini ApiError.status), so this reads them all.
 */
export function classifyFailure(err: unknown, retryAfterHint?: string | null): Failure {
  if (err instanceof ProviderError) return err.failure;
  const shape = (err ?? {}) as ErrorShape;
  const status = numericStatus(shape);
  const text = chainText(err);
  const message = (typeof shape.message === 'string' && shape.message ? shape.message : String(err)).slice(0, 300);
  // The SDK's own words for these are parser internals ("Unexpected token '<'", "Cannot read properties of undefined").
  if (/ResponseTooLargeError/.test(text)) return { kind: 'invalid', message: 'a response larger than 8 MiB' }; // MAX_RESPONSE_BYTES
  const unreadable: Failure = {
    kind: 'invalid',
    ...(status !== undefined ? { status } : {}),
    message: 'a response that is not a model answer',
  };
  if (status !== undefined && status >= 200 && status < 300) return unreadable;
  if (status !== undefined) {
    const asked = parseRetryAfter(headerOf(shape.headers, 'retry-after') ?? retryAfterHint);
    const retryAfterMs = asked === undefined ? undefined : Math.min(asked, MAX_RETRY_AFTER_MS);
    if (status === 429) return { kind: 'rate_limited', status, retryAfterMs, message };
    if (status === 408 || status === 504) return { kind: 'timeout', status, message };
    if (status >= 500) return { kind: 'server', status, retryAfterMs, message };
    return { kind: 'rejected', status, message };
  }
  if (UNREADABLE.test(text)) return unreadable;
  if (/timeout|timed out|TimeoutError|ETIMEDOUT/i.test(text)) return { kind: 'timeout', message };
  if (/AbortError|aborted/i.test(text)) return { kind: 'aborted', message };
  if (/ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EPIPE|UND_ERR|socket|fetch failed|connection|network/i.test(text)) {
    return { kind: 'connection', message };
  }
  return { kind: 'rejected', message };
}
