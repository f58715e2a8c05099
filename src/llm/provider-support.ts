import type { AssistantMessage, ChatMessage, ChatResult, TextMessage, ToolResultMessage, Usage } from './chat-model.ts';
import { classifyFailure, ProviderError } from './provider-error.ts';
import { countMessageTokens, countTokens } from './tokens.ts';

/** What every provider file needs from the configuration. */
export interface ProviderOptions {
  model: string;
  apiKey: string;
  /** Empty: the provider's public endpoint. */
  baseUrl: string;
  maxOutputTokens: number;
}

/**
 * A provider's SDK, imported once, when the first model of that provider is made (its descriptor's
 * `create` waits for it, as start-up did when each provider file imported its SDK): the registry
 * imports every provider file, and their SDKs together took seconds to import here (@mistralai/mistralai
 * alone up to 2.8 s), which a start with ASKPANDA_LLM=offline should not pay.
 */
export function lazySdk<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => (loading ??= load());
}

/** Usage as reported, or counted locally when a (compatible) server leaves it out. */
export function usageOrEstimate(
  messages: readonly ChatMessage[],
  text: string,
  input?: number | null,
  output?: number | null,
): Usage {
  return {
    inputTokens: typeof input === 'number' && input > 0 ? input : countMessageTokens(messages),
    outputTokens: typeof output === 'number' && output > 0 ? output : countTokens(text),
  };
}

export function result(modelId: string, text: string, usage: Usage): ChatResult {
  return { text, usage, model: modelId };
}

/** The conversation without its system prompts. */
export type Turn = (TextMessage & { role: 'user' }) | AssistantMessage | ToolResultMessage;

/** System prompts apart from the conversation: Anthropic and Gemini take them as a separate field. */
export function splitSystem(messages: readonly ChatMessage[]): { system: string; turns: Turn[] } {
  const system = messages
    .filter((m) => m.role === 'system')
    .map((m) => m.content)
    .join('\n\n');
  const turns = messages.filter((m): m is Turn => m.role !== 'system');
  return { system, turns };
}

/**
 * Anthropic and Gemini want alternating user/assistant turns that start with the user: neighbours of
 * the same role are merged (`merge`) and a user turn (`opener`) opens the conversation if it does not.
 */
export function alternateTurns<T extends { role: string }>(
  turns: readonly T[],
  merge: (earlier: T, later: T) => T,
  opener: T,
): T[] {
  const out: T[] = [];
  for (const turn of turns) {
    const last = out[out.length - 1];
    if (last && last.role === turn.role) out[out.length - 1] = merge(last, turn);
    else out.push(turn);
  }
  if (out[0]?.role !== opener.role) out.unshift(opener);
  return out;
}

/** What a merged opening turn says when the conversation starts with the model. */
export const CONTINUING = '(continuing the conversation)';

/**
 * Bytes one provider response may have. A real answer of llm.maxOutputTokens is a few hundred KB
 * even as a stream of SSE events; a server that sends a huge or endless body (a broken proxy, a
 * model that never stops) would otherwise be buffered by the SDK until the call's timeout: on a
 * fast link that is GBs, and the process dies of memory before the timeout ends it.
 */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/** A provider response cut at MAX_RESPONSE_BYTES; the fallback chain moves on to the next provider. */
export class ResponseTooLargeError extends Error {
  constructor(maxBytes: number) {
    super(`the response was larger than ${Math.round(maxBytes / 1024 / 1024)} MiB, more than a model answer can be`);
    this.name = 'ResponseTooLargeError';
  }
}

/**
 * The fetch every provider SDK gets: the response body is cut at `maxBytes`; `signal` (the call's
 * own, for SDKs without a per-call signal or that lose it) is applied to the request itself; and the
 * last error response's Retry-After is remembered for SDKs whose errors drop the headers (Gemini,
 * Ollama).
 */
export function providerFetch(
  signal?: AbortSignal,
  maxBytes = MAX_RESPONSE_BYTES,
): { fetch: typeof fetch; retryAfter: () => string | null } {
  let retryAfter: string | null = null;
  const wrapped: typeof fetch = async (input, init) => {
    const given = init?.signal ?? (input instanceof Request ? input.signal : undefined);
    const signals = [given, signal].filter((s): s is AbortSignal => s !== undefined && s !== null);
    const response = await fetch(input, { ...init, signal: signals.length ? AbortSignal.any(signals) : undefined });
    if (!response.ok) retryAfter = response.headers.get('retry-after');
    return capBody(response, maxBytes);
  };
  return { fetch: wrapped, retryAfter: () => retryAfter };
}

/** The same response with a body that errors (and cancels the transfer) once it passes `maxBytes`. */
function capBody(response: Response, maxBytes: number): Response {
  if (!response.body) return response;
  let total = 0;
  const capped = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        total += chunk.byteLength;
        if (total > maxBytes) controller.error(new ResponseTooLargeError(maxBytes));
        else controller.enqueue(chunk);
      },
    }),
  );
  const out = new Response(capped, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  // SDKs name the URL in their errors; a constructed Response has none of its own.
  Object.defineProperty(out, 'url', { value: response.url });
  return out;
}

export function providerError(modelId: string, err: unknown, retryAfterHint?: string | null): ProviderError {
  if (err instanceof ProviderError) return err;
  return new ProviderError(modelId, classifyFailure(err, retryAfterHint), { cause: err });
}

/** A well-formed reply with no text is a failure too: the next model gets the question. */
export function requireText(modelId: string, text: string): string {
  if (text.trim() === '')
    throw new ProviderError(modelId, { kind: 'rejected', message: 'the model returned an empty answer' });
  return text;
}
