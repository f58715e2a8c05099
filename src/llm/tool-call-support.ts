import { randomUUID } from 'node:crypto';
import type { ChatMessage, ChatRequest, ChatResult, ToolCall } from './chat-model.ts';
import { requireText, usageOrEstimate } from './provider-support.ts';

/**
 * What every provider file shares for tool calls: reading a call off the wire, ids for APIs that
 * give none, and the rule for when an answer without text is still an answer.
 */

/**
 * A tool call from what the provider sent. Arguments arrive as a JSON string (OpenAI, Mistral) or an
 * object (Anthropic, Gemini, Ollama); a string that is no JSON is kept as `invalidInput`, so the
 * tool loop can tell the model instead of failing the call.
 */
export function toolCallFrom(
  id: string,
  name: string,
  args: unknown,
  providerMetadata?: ToolCall['providerMetadata'],
): ToolCall {
  const meta = providerMetadata ? { providerMetadata } : {};
  if (typeof args !== 'string') return { id, name, input: args ?? {}, ...meta };
  if (args.trim() === '') return { id, name, input: {}, ...meta };
  try {
    return { id, name, input: JSON.parse(args) as unknown, ...meta };
  } catch {
    return { id, name, input: undefined, invalidInput: args, ...meta };
  }
}

/** An id for a call whose API gives none (Ollama, older Gemini models). */
export function newToolCallId(): string {
  return `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

/** The arguments as a JSON object string, for APIs that carry them as text (OpenAI, Mistral). */
export function argumentsText(call: ToolCall): string {
  return call.invalidInput ?? JSON.stringify(call.input ?? {});
}

/** The arguments as an object, for APIs that carry them as one (Anthropic, Gemini, Ollama). */
export function argumentsObject(call: ToolCall): Record<string, unknown> {
  const input = call.input;
  return input && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
}

/** Every call of the conversation by id: tool results name only the id, some APIs want the call's name too. */
export function callsById(messages: readonly ChatMessage[]): Map<string, ToolCall> {
  const calls = new Map<string, ToolCall>();
  for (const message of messages)
    if (message.role === 'assistant') for (const call of message.toolCalls ?? []) calls.set(call.id, call);
  return calls;
}

/** True when the request lets the model call tools (tools given, choice not `none`). */
export function toolsAllowed(request: ChatRequest): boolean {
  return (request.tools?.length ?? 0) > 0 && request.toolChoice !== 'none';
}

/**
 * The result of a complete call. Calls the request did not allow are dropped (a model that calls a
 * tool after `none`); an answer with neither text nor an allowed call is a failure, so the chain
 * moves on to the next provider.
 */
export function answerWithCalls(
  modelId: string,
  request: ChatRequest,
  text: string,
  toolCalls: ToolCall[],
  reported: { input?: number | null; output?: number | null },
): ChatResult {
  const calls = toolsAllowed(request) ? toolCalls : [];
  if (calls.length === 0) requireText(modelId, text);
  const written = calls.length > 0 ? `${text}${JSON.stringify(calls.map((c) => [c.name, c.input]))}` : text;
  const usage = usageOrEstimate(request.messages, written, reported.input, reported.output);
  return { text, usage, model: modelId, ...(calls.length > 0 ? { toolCalls: calls } : {}) };
}
