import type { Answer } from '../core/answer.ts';

/**
 * What a surface implements for the conversation core (src/bot/conversation.ts): a chat platform
 * adapter, or a request surface (request-surface.ts) for the terminal, `ask`, the web chat, /v1 and
 * MCP. The core decides what to post and when (claims, order, status, drafts, splitting into
 * messages, fallbacks); a surface only knows how its platform does each step. `M` is the platform's
 * message (Slack: text + Block Kit; Mattermost: markdown + props).
 */
export interface Surface<M = unknown> {
  /** Also the prefix of thread keys and dedupe keys, and the `platform` label of the metrics. */
  readonly platform: SurfacePlatform;
  readonly timing: SurfaceTiming;

  /** The whole answer as the platform's messages, each within its limits, in posting order. */
  render(answer: Answer, options: RenderOptions): M[];
  /** A streamed draft: the answer's markdown so far. Absent: the answer is posted whole, never as a draft. */
  renderDraft?(markdown: string): M;
  /** One short notice (something went wrong, a refusal). */
  renderNotice(text: string): M;
  /** The same message with no rich formatting, for a platform that refused the rendered one. */
  plainText(message: M): M;

  /** Posts in a thread (or at the top of a channel without `thread`); resolves to the new message's id. */
  post(where: { channel: string; thread?: string }, message: M): Promise<string>;
  /** Replaces a message the bot posted (a draft becoming the answer). */
  update(where: { channel: string; id: string }, message: M): Promise<void>;
  /** The "thinking" indicator for one question (assistant status, typing, a reaction). */
  status(question: QuestionContext): StatusIndicator;
  /** Earlier messages of a thread, oldest first (bounded by `limit`); absent when the platform cannot. */
  readThread?(where: { channel: string; thread: string }, limit: number): Promise<ThreadMessage[]>;
  /** A message only `user` sees; resolves false when the platform refuses (missing permission). */
  postEphemeral?(where: { channel: string; thread?: string }, user: string, message: M): Promise<boolean>;
}

/** The chat platform's name from its descriptor (src/adapters/registry.ts lists them): "slack". */
export type SurfacePlatform = string;

export interface SurfaceTiming {
  /** Answers quicker than this show no status: the reply itself is the feedback. */
  statusDelayMs: number;
  /** How often a shown status is sent again while the answer runs (typing indicators expire); 0: never. */
  statusRefreshMs: number;
  /** A streamed draft is edited at most this often. */
  draftUpdateMs: number;
}

export interface RenderOptions {
  /** Where the messages will be posted (Mattermost signs its buttons for that channel and thread). */
  where?: { channel: string; thread: string };
  /** A line above the answer, e.g. who clicked a follow-up button. */
  preface?: string;
  /** Follow-up and 👍/👎 buttons (off for ephemeral command answers). */
  buttons: boolean;
  /** What a 👍/👎 click stores with the vote. */
  feedback?: FeedbackContext;
}

/** What a feedback button carries back, so the vote can be stored with what it is about. */
export interface FeedbackContext {
  agent: string;
  model: string;
  question: string;
  pandaid?: number;
  jeditaskid?: number;
}

/** The question a status belongs to. */
export interface QuestionContext {
  channel: string;
  thread: string;
  user: string;
  isDirect: boolean;
  /** The user's message (a reaction goes on it); none for slash commands and clicks on old answers. */
  reactTo?: string;
}

export interface StatusIndicator {
  /** Shows (or updates, or re-sends) the status text: "is looking up job 6802258254…". */
  show(text: string): Promise<void>;
  /** Removes what `show` left, once the answer is posted (`answered`) or abandoned. */
  clear(answered: boolean): Promise<void>;
}

export interface ThreadMessage {
  id: string;
  text: string;
  /** Written by this bot (or another bot): an assistant turn. */
  fromBot: boolean;
  /** Epoch milliseconds. */
  at: number;
}
