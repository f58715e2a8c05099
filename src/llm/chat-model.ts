/**
 * The one interface every language model sits behind (the Vercel AI SDK shape: one small file per
 * provider). Agents never see provider SDKs.
 */
export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface ChatRequest {
  messages: ChatMessage[];
  /** Ask the model for a single JSON object (providers that support a JSON mode use it). */
  json?: boolean;
  maxOutputTokens?: number;
  temperature?: number;
  signal?: AbortSignal;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export interface ChatResult {
  text: string;
  usage: Usage;
  /** "<provider>:<model>" of whoever actually answered (after fallback), or "offline". */
  model: string;
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
  complete(request: ChatRequest): Promise<ChatResult>;
  /** Streams text deltas, then one `done` with the full result and usage. */
  stream(request: ChatRequest): AsyncIterable<ChatStreamEvent>;
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
