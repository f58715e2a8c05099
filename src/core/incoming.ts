import { z } from 'zod';

export const PLATFORMS = ['slack', 'mattermost', 'console', 'cli', 'http', 'mcp', 'digest'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** One platform-neutral question, as adapters hand it to the bot. */
export const IncomingSchema = z.object({
  platform: z.enum(PLATFORMS),
  channel: z.string().min(1),
  /** Thread key: Slack thread_ts, Mattermost root_id, CLI --thread, console session, web chat tab, /v1 conversation. */
  thread: z.string().min(1),
  user: z.string().min(1),
  text: z.string(),
  isDirect: z.boolean(),
  /** Platform message id, for dedupe and feedback. */
  messageId: z.string().optional(),
});
export type Incoming = z.infer<typeof IncomingSchema>;

/** Storage key of a thread: the same thread on two platforms never shares history. */
export function threadKey(incoming: Pick<Incoming, 'platform' | 'channel' | 'thread'>): string {
  return `${incoming.platform}:${incoming.channel}:${incoming.thread}`;
}
