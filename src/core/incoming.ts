import { z } from 'zod';

/**
 * Where questions come from besides the chat platforms: the terminal (`chat`, `ask`), the web chat
 * and /v1, MCP, digests. Chat platforms are named by their descriptors (src/adapters/registry.ts).
 */
export const BUILT_IN_SURFACES = ['console', 'cli', 'http', 'mcp', 'digest'] as const;

/** A surface's name: it starts thread, claim and subscription keys, so it is short and plain. */
export const SURFACE_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/** One platform-neutral question, as adapters hand it to the bot. */
export const IncomingSchema = z.object({
  /** A chat platform's name ("slack") or one of BUILT_IN_SURFACES. */
  platform: z.string().regex(SURFACE_NAME),
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
