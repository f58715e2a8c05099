import type { AgentKind, AnswerDraft } from '../core/answer.ts';
import type { Incoming } from '../core/incoming.ts';
import type { Turn } from '../core/turn.ts';
import type { ChatModel } from '../llm/chat-model.ts';
import type { CodeMention } from './code-question.ts';

/** What the selection agent decided, and why. */
export interface Route {
  agent: Exclude<AgentKind, 'command'>;
  pandaid?: number;
  jeditaskid?: number;
  /** The error code an `error_code` route is about; no component when the question named none. */
  errorCode?: CodeMention;
  /** One line for logs and tests: which rule (or the model) chose this agent. */
  reason: string;
}

export interface AgentContext {
  /** The question with the bot mention stripped. */
  question: string;
  incoming: Incoming;
  /** Earlier turns of this thread, oldest first, already within the history budget. */
  history: Turn[];
  route: Route;
  model: ChatModel;
  /** Short status for the user while the agent works ("is reading pilotlog.txt of job 680…"). */
  progress: (status: string) => void;
  /** Streaming: the answer's markdown so far, for adapters that update a message as it grows. */
  onPartialText?: (markdown: string) => void;
  signal?: AbortSignal;
}

export interface Agent {
  readonly kind: Route['agent'];
  handle(context: AgentContext): Promise<AnswerDraft>;
}

/**
 * Routes an ambiguous question with more than the fast path (a language model, when one is configured).
 * It receives the fast path's guess and must return one of the known agents.
 */
export type Selector = (question: string, history: readonly Turn[], fastGuess: Route) => Promise<Route>;
