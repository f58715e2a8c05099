import type { Answer } from '../core/answer.ts';
import type { ThreadHistory } from './thread-history.ts';

/** Who a request comes from, for the limits. */
export interface Requester {
  /** The endpoint: "web", "v1", "terminal", "cli", the MCP transport ("stdio", "http"). */
  channel: string;
  /** The person or client the per-user limits count (an address, Open WebUI's user, "stdio"). */
  user: string;
  /** The one person at this terminal or local MCP client: only the process-wide limits apply. */
  local?: boolean;
}

/**
 * One question from a request/response surface (the terminal, `ask`, the web chat, /v1, MCP's
 * askpanda_ask). Such a request has no platform message id and is never delivered twice, so it is
 * not claimed; it still waits its turn in its thread and within the limits.
 */
export interface QuestionRequest extends Requester {
  /** Questions with the same thread share history; absent: a one-off thread, nothing remembered. */
  thread?: string;
  text: string;
  /** The client went away: the answer's work is cancelled. */
  signal?: AbortSignal;
  /**
   * Writes the thread's history from what the request carries before the question is answered
   * (an OpenAI client sends the whole conversation every time): the request's counterpart of a
   * chat thread read from the platform.
   */
  seed?: (history: ThreadHistory) => Promise<void>;
}

/** What a request gets back. */
export interface Asked {
  /** The Answer as the bot gave it; over the limits, the busy sentence (`error.kind` "busy"). */
  answer: Answer;
  /** Set when the limits turned the question away: when to ask again (HTTP Retry-After). */
  retryAfterSeconds?: number;
  /** Set when the thread's history could not be saved: the answer stands, a follow-up will not know it. */
  historyError?: unknown;
}
