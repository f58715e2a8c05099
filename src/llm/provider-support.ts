import type { ChatMessage, ChatResult, Usage } from './chat-model.ts';
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

/** Usage as reported, or counted locally when a (compatible) server leaves it out. */
export function usageOrEstimate(messages: readonly ChatMessage[], text: string, input?: number | null, output?: number | null): Usage {
  return {
    inputTokens: typeof input === 'number' && input > 0 ? input : countMessageTokens(messages),
    outputTokens: typeof output === 'number' && output > 0 ? output : countTokens(text),
  };
}

export function result(modelId: string, text: string, usage: Usage): ChatResult {
  return { text, usage, model: modelId };
}

/** System prompts apart from the conversation: Anthropic and Gemini take them as a separate field. */
export function splitSystem(messages: readonly ChatMessage[]): { system: string; turns: ChatMessage[] } {
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
  const turns = messages.filter((m) => m.role !== 'system');
  return { system, turns };
}

/**
 * Anthropic and Gemini want alternating user/assistant turns that start with the user: merge
 * neighbours of the same role and open with a user turn.
 */
export function alternateTurns(turns: readonly ChatMessage[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const turn of turns) {
    const last = out[out.length - 1];
    if (last && last.role === turn.role) last.content = `${last.content}\n\n${turn.content}`;
    else out.push({ ...turn });
  }
  if (out[0]?.role !== 'user') out.unshift({ role: 'user', content: '(continuing the conversation)' });
  return out;
}

/**
 * A fetch that remembers the last error response's Retry-After, for SDKs whose errors drop the
 * headers (Gemini, Ollama), and that also honours `signal` (Ollama takes no per-call signal).
 */
export function observingFetch(signal?: AbortSignal): { fetch: typeof fetch; retryAfter: () => string | null } {
  let retryAfter: string | null = null;
  const wrapped: typeof fetch = async (input, init) => {
    const signals = [init?.signal, signal].filter((s): s is AbortSignal => s !== undefined && s !== null);
    const response = await fetch(input, { ...init, signal: signals.length ? AbortSignal.any(signals) : undefined });
    if (!response.ok) retryAfter = response.headers.get('retry-after');
    return response;
  };
  return { fetch: wrapped, retryAfter: () => retryAfter };
}

export function providerError(modelId: string, err: unknown, retryAfterHint?: string | null): ProviderError {
  if (err instanceof ProviderError) return err;
  return new ProviderError(modelId, classifyFailure(err, retryAfterHint), { cause: err });
}

/** A well-formed reply with no text is a failure too: the next model gets the question. */
export function requireText(modelId: string, text: string): string {
  if (text.trim() === '') throw new ProviderError(modelId, { kind: 'rejected', message: 'the model returned an empty answer' });
  return text;
}
