import type { Logger } from 'pino';
import { redactSecrets } from '../util/redact.ts';
import { silentLogger } from '../util/log.ts';
import { fitToBudget } from './budget.ts';
import {
  ModelUnavailableError,
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  type ChatStreamEvent,
  type StreamRequest,
} from './chat-model.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { llmCallsTotal } from '../core/metrics.ts';
import { classifyFailure, type Failure } from './provider-error.ts';
import { Slots } from '../util/slots.ts';
import { raceAbort } from './race-abort.ts';
import { recordUsage } from './usage.ts';
import { usageOrEstimate } from './provider-support.ts';

/**
 * Characters a model may write per token it was allowed: English prose averages about four, log
 * lines and ids a few more. A model that writes past this ignored its token budget (a broken
 * server, a stream that never ends); its answer is cut here instead of growing until the timeout.
 */
const MAX_CHARS_PER_OUTPUT_TOKEN = 8;

export interface FallbackOptions {
  /** Per call, including the wait for a free slot. */
  timeoutMs: number;
  /** Calls in flight per provider. */
  concurrency: number;
  breakerFailures: number;
  breakerCooldownMs: number;
  maxInputTokens: number;
  maxOutputTokens: number;
  logger?: Logger;
  now?: () => number;
}

interface Link {
  model: ChatModel;
  slots: Slots;
  breaker: CircuitBreaker;
}

export interface LinkStatus {
  model: string;
  open: boolean;
  reopensInMs: number;
  inFlight: number;
  waiting: number;
}

/** Why a link was passed over, for the log and for the "everything is down" message. */
type Skip = { model: string; reason: string };

function describe(failure: Failure, timeoutMs: number): string {
  switch (failure.kind) {
    case 'timeout':
      return `no answer within ${Math.round(timeoutMs / 100) / 10} s`;
    case 'rate_limited':
      return `rate limited (429${failure.retryAfterMs !== undefined ? `, retry after ${Math.ceil(failure.retryAfterMs / 1000)} s` : ''})`;
    case 'server':
      return `server error ${failure.status ?? ''}`.trim();
    case 'connection':
      return 'could not connect';
    case 'aborted':
      return 'aborted';
    case 'invalid':
      return `answered with ${failure.message}`;
    default:
      // Provider messages can echo part of a key ("Incorrect API key provided: sk-…").
      return failure.status
        ? `refused the request (${failure.status})`
        : `failed (${redactSecrets(failure.message).slice(0, 120)})`;
  }
}

/**
 * The ordered fallback chain of ASKPANDA_LLM. Every request is redacted and fitted to the token
 * budget once, then offered to each provider in turn: a timeout, 5xx, 429, refused connection or
 * junk moves on to the next. Each provider has its own concurrency cap and circuit breaker, so a
 * slow or dead one neither clogs the process nor costs every question a timeout. When the chain
 * reaches `offline` (or its end) it throws ModelUnavailableError and agents answer offline.
 */
export class FallbackChatModel implements ChatModel {
  readonly offline: boolean;
  private readonly links: Link[];
  private readonly logger: Logger;

  constructor(
    models: readonly ChatModel[],
    private readonly options: FallbackOptions,
  ) {
    const now = options.now ?? Date.now;
    this.links = models.map((model) => ({
      model,
      slots: new Slots(options.concurrency),
      breaker: new CircuitBreaker(options.breakerFailures, options.breakerCooldownMs, now),
    }));
    this.offline = !this.links.some((l) => !l.model.offline);
    this.logger = options.logger ?? silentLogger;
  }

  /** Some model of the chain can call tools; a request with tools passes over the others. */
  get supportsTools(): boolean {
    return this.links.some((l) => !l.model.offline && l.model.supportsTools === true);
  }

  /** The first model of the chain: who answers when nothing fails. */
  get id(): string {
    return this.links[0]?.model.id ?? 'offline';
  }

  status(): LinkStatus[] {
    return this.links
      .filter((l) => !l.model.offline)
      .map((l) => ({
        model: l.model.id,
        open: l.breaker.isOpen(),
        reopensInMs: l.breaker.remainingMs(),
        inFlight: l.slots.inFlight,
        waiting: l.slots.waiting,
      }));
  }

  async complete(request: ChatRequest): Promise<ChatResult> {
    const prepared = this.prepare(request);
    const skipped: Skip[] = [];
    const needsTools = (prepared.tools?.length ?? 0) > 0;
    for (const link of this.remoteLinks(skipped, needsTools)) {
      const attempt = this.startAttempt(link, prepared.signal);
      try {
        const release = await link.slots.acquire(attempt.signal);
        try {
          const result = capped(
            await raceAbort(link.model.complete({ ...prepared, signal: attempt.signal }), attempt.signal),
            outputCap(prepared),
            this.logger,
          );
          this.succeeded(link, result);
          return result;
        } finally {
          release();
        }
      } catch (err) {
        this.failed(link, err, attempt, prepared.signal, skipped);
      } finally {
        attempt.dispose();
      }
    }
    throw this.unavailable(skipped);
  }

  async *stream(request: StreamRequest): AsyncIterable<ChatStreamEvent> {
    const prepared = this.prepare(request);
    const cap = outputCap(prepared);
    const skipped: Skip[] = [];
    for (const link of this.remoteLinks(skipped, false)) {
      const attempt = this.startAttempt(link, prepared.signal);
      let started = false;
      try {
        const release = await link.slots.acquire(attempt.signal);
        try {
          const iterator = link.model.stream({ ...prepared, signal: attempt.signal })[Symbol.asyncIterator]();
          let written = '';
          while (true) {
            const next = await raceAbort(iterator.next(), attempt.signal);
            if (next.done) break;
            const event = next.value;
            if (event.type === 'done') {
              const result = capped(event.result, cap, this.logger);
              this.succeeded(link, result);
              yield { type: 'done', result };
              return;
            }
            if (written.length + event.text.length > cap) {
              // Past the output cap: the provider's request is cancelled and the text so far is the answer.
              const rest = event.text.slice(0, cap - written.length);
              written += rest;
              attempt.stop();
              void iterator.return?.(undefined)?.catch(() => undefined);
              if (rest) yield { type: 'delta', text: rest };
              const result = {
                text: written,
                usage: usageOrEstimate(prepared.messages, written),
                model: link.model.id,
              };
              this.logger.warn(
                { model: link.model.id, maxChars: cap },
                'the model wrote past its output budget; its answer was cut',
              );
              this.succeeded(link, result);
              yield { type: 'done', result };
              return;
            }
            written += event.text;
            started = true;
            yield event;
          }
          throw new Error('the stream ended without a final event');
        } finally {
          release();
        }
      } catch (err) {
        this.failed(link, err, attempt, prepared.signal, skipped);
        // Text already shown cannot be taken back: a stream that dies midway is not retried elsewhere.
        if (started)
          throw new ModelUnavailableError(
            `The model ${link.model.id} stopped in the middle of its answer.`,
            link.model.id,
            { cause: err },
          );
      } finally {
        attempt.dispose();
      }
    }
    throw this.unavailable(skipped);
  }

  /** Redaction and the token budget, once per request, before any provider sees it. */
  private prepare<R extends ChatRequest>(request: R): R {
    const redacted = request.messages.map((m) => ({ ...m, content: redactSecrets(m.content) }));
    const { messages, trimmed } = fitToBudget(redacted, this.options.maxInputTokens);
    if (trimmed)
      this.logger.info({ maxInputTokens: this.options.maxInputTokens }, 'prompt trimmed to fit the token budget');
    return {
      ...request,
      messages,
      maxOutputTokens: Math.min(request.maxOutputTokens ?? this.options.maxOutputTokens, this.options.maxOutputTokens),
    };
  }

  /**
   * The remote links in order, up to the first `offline`; open breakers and full providers are passed
   * over, and with `needsTools` the models that cannot call tools.
   */
  private *remoteLinks(skipped: Skip[], needsTools: boolean): Generator<Link> {
    const remote: Link[] = [];
    for (const link of this.links) {
      if (link.model.offline) break;
      if (needsTools && !link.model.supportsTools) skipped.push({ model: link.model.id, reason: 'cannot call tools' });
      else remote.push(link);
    }
    for (const [index, link] of remote.entries()) {
      if (link.breaker.isOpen()) {
        llmCallsTotal.inc({ provider: providerOf(link.model.id), outcome: 'skipped' });
        skipped.push({
          model: link.model.id,
          reason: `skipped for ${Math.ceil(link.breaker.remainingMs() / 1000)} s after failures`,
        });
        continue;
      }
      // Spill over to a healthy next provider rather than queue behind a slow one.
      const laterHealthy = remote
        .slice(index + 1)
        .some((l) => !l.breaker.isOpen() && l.slots.inFlight < l.slots.capacity);
      if (link.slots.inFlight >= link.slots.capacity && laterHealthy) {
        skipped.push({ model: link.model.id, reason: 'busy (all slots in use)' });
        this.logger.info({ model: link.model.id }, 'provider at its concurrency cap; using the next one');
        continue;
      }
      yield link;
    }
  }

  private startAttempt(link: Link, callerSignal?: AbortSignal) {
    const timeout = new AbortController();
    const stopped = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new Error(`${link.model.id} timed out after ${this.options.timeoutMs} ms`)),
      this.options.timeoutMs,
    );
    timer.unref?.();
    const signal = AbortSignal.any([timeout.signal, stopped.signal, ...(callerSignal ? [callerSignal] : [])]);
    return {
      signal,
      timedOut: () => timeout.signal.aborted,
      /** Cancels the provider's request once its answer is complete enough (the output cap). */
      stop: () => stopped.abort(new Error(`${link.model.id}: answer cut at the output cap`)),
      dispose: () => clearTimeout(timer),
    };
  }

  private succeeded(link: Link, result: ChatResult): void {
    link.breaker.recordSuccess();
    llmCallsTotal.inc({ provider: providerOf(link.model.id), outcome: 'ok' });
    recordUsage(result.model, result.usage);
    this.logger.debug({ model: result.model, usage: result.usage }, 'model answered');
  }

  private failed(
    link: Link,
    err: unknown,
    attempt: { timedOut: () => boolean },
    callerSignal: AbortSignal | undefined,
    skipped: Skip[],
  ): void {
    // The caller gave up (the user left, the adapter timed out): not the provider's fault.
    if (callerSignal?.aborted) throw err;
    const failure: Failure = attempt.timedOut() ? { kind: 'timeout', message: 'timed out' } : classifyFailure(err);
    link.breaker.recordFailure(failure.retryAfterMs);
    llmCallsTotal.inc({ provider: providerOf(link.model.id), outcome: failure.kind });
    const reason = describe(failure, this.options.timeoutMs);
    skipped.push({ model: link.model.id, reason });
    this.logger.warn(
      { model: link.model.id, kind: failure.kind, status: failure.status, breakerOpen: link.breaker.isOpen() },
      `model call failed (${reason}); trying the next`,
    );
  }

  private unavailable(skipped: Skip[]): ModelUnavailableError {
    const detail = skipped.length
      ? skipped.map((s) => `${s.model}: ${s.reason}`).join('; ')
      : 'no language model is configured';
    return new ModelUnavailableError(`No language model could answer (${detail}).`, 'offline');
  }
}

/** The most characters an answer of this request may have (see MAX_CHARS_PER_OUTPUT_TOKEN). */
function outputCap(request: ChatRequest): number {
  return (request.maxOutputTokens ?? 0) * MAX_CHARS_PER_OUTPUT_TOKEN || Number.POSITIVE_INFINITY;
}

function capped(result: ChatResult, cap: number, logger: Logger): ChatResult {
  if (result.text.length <= cap) return result;
  logger.warn({ model: result.model, maxChars: cap }, 'the model wrote past its output budget; its answer was cut');
  return { ...result, text: result.text.slice(0, cap) };
}

/** "openai:gpt-4o-mini" → "openai": the metrics label is the provider, a closed set. */
function providerOf(modelId: string): string {
  return modelId.split(':')[0] ?? 'unknown';
}
