/**
 * The one interface every language model sits behind (the Vercel AI SDK shape: one small file per
 * provider). Agents never see provider SDKs.
 */

/** A system prompt or what the user wrote. */
export interface TextMessage {
  role: 'system' | 'user';
  content: string;
}

/** What the model said; when it asked for tools, their calls (each answered by a ToolResultMessage). */
export interface AssistantMessage {
  role: 'assistant';
  content: string;
  toolCalls?: ToolCall[];
}

/** The result of one tool call, sent back to the model in the turn after its call. */
export interface ToolResultMessage {
  role: 'tool';
  toolCallId: string;
  toolName: string;
  content: string;
  /** The call failed (unknown tool, bad input, the tool threw): `content` says why, so the model can correct it. */
  isError?: boolean;
}

/** Neutral across providers: a fallback chain can hand the same list to the next provider mid-conversation. */
export type ChatMessage = TextMessage | AssistantMessage | ToolResultMessage;
export type ChatRole = ChatMessage['role'];

/** A JSON Schema object describing a tool's input (built from zod with `z.toJSONSchema`). */
export interface ToolInputSchema {
  type: 'object';
  properties?: Record<string, unknown>;
  required?: string[];
  [keyword: string]: unknown;
}

/** A tool the model may call: providers translate it into their own function-declaration format. */
export interface ToolSpec {
  name: string;
  description: string;
  inputSchema: ToolInputSchema;
}

/** `auto`: the model decides; `none`: it must answer in text; `required`: it must call a tool. */
export type ToolChoice = 'auto' | 'none' | 'required';

/** A tool call the model made. */
export interface ToolCall {
  /** Matches the call to its result; unique within the conversation. */
  id: string;
  name: string;
  /** The arguments, parsed from the model's JSON. */
  input: unknown;
  /** Set when the arguments were not JSON: what the model wrote, for the error it is sent back. */
  invalidInput?: string;
  /**
   * Opaque values a provider needs back when the call is replayed to it, by provider name (Gemini's
   * thought signature). Other providers ignore them.
   */
  providerMetadata?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export interface ChatRequest {
  messages: ChatMessage[];
  /** Ask the model for a single JSON object (providers that support a JSON mode use it). */
  json?: boolean;
  maxOutputTokens?: number;
  temperature?: number;
  signal?: AbortSignal;
  /** Tools the model may call (only models with `supportsTools`; `complete` only). */
  tools?: ToolSpec[];
  /** Default `auto`; only meaningful with `tools`. */
  toolChoice?: ToolChoice;
}

/** Streaming carries text only: tool loops call `complete`. */
export type StreamRequest = ChatRequest & { tools?: undefined; toolChoice?: undefined };

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export interface ChatResult {
  /** The answer; may be empty when the model called tools instead. */
  text: string;
  usage: Usage;
  /** "<provider>:<model>" of whoever actually answered (after fallback), or "offline". */
  model: string;
  /** The tools the model asked for (never empty when present; never present with toolChoice `none`). */
  toolCalls?: ToolCall[];
}

export type ChatStreamEvent = { type: 'delta'; text: string } | { type: 'done'; result: ChatResult };

export interface ChatModel {
  /** "<provider>:<model>", or "offline". */
  readonly id: string;
  /**
   * True for the offline model: it cannot generate prose, so agents build their answer from the
   * knowledge base and the data alone.
   */
  readonly offline: boolean;
  /** The model can be given `tools` (absent: it cannot). */
  readonly supportsTools?: boolean;
  complete(request: ChatRequest): Promise<ChatResult>;
  /** Streams text deltas, then one `done` with the full result and usage. */
  stream(request: StreamRequest): AsyncIterable<ChatStreamEvent>;
}

/** Thrown by a model (or a fallback chain) that cannot answer now; agents then answer offline. */
export class ModelUnavailableError extends Error {
  constructor(
    message: string,
    readonly modelId: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ModelUnavailableError';
  }
}
