/** A message an adapter hands the core: already known to be a person writing, not the bot itself. */
export interface PlatformMessage {
  channel: string;
  /** The thread's root message id (the message's own id when it starts a thread). */
  thread: string;
  /** The platform's id of this message: dedupe and the status reaction. */
  messageId: string;
  user: string;
  text: string;
  isDirect: boolean;
  /**
   * `directly`: a mention, a DM, a slash question, a button click: always answered.
   * `thread-reply`: a reply without a mention: answered only in threads the bot takes part in.
   */
  addressed: 'directly' | 'thread-reply';
  /** The thread began before the bot was asked: read it from the platform once when the store has none. */
  readThreadFirst?: boolean;
  /** Default `<platform>:<channel>:<messageId>`; a click or a slash command brings its own. */
  dedupeKey?: string;
  /** Shown above the answer ("@ana asked: …" for a follow-up click). */
  preface?: string;
  /** Where the status reaction goes; default the message itself, null for none. */
  reactTo?: string | null;
}
