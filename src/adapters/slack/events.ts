import { z } from 'zod';

/**
 * The parts of Slack's `app_mention` and `message` events the bot reads (docs.slack.dev/reference/events).
 * Everything else in the payload is ignored; anything missing here makes the event unreadable.
 */
export const SlackMessageEventSchema = z.object({
  type: z.enum(['app_mention', 'message']),
  subtype: z.string().optional(),
  channel: z.string().min(1),
  channel_type: z.string().optional(),
  user: z.string().optional(),
  bot_id: z.string().optional(),
  text: z.string().optional(),
  ts: z.string().min(1),
  thread_ts: z.string().optional(),
});
export type SlackMessageEvent = z.infer<typeof SlackMessageEventSchema>;

/** Subtypes that are still a person writing: everything else (edits, joins, bots, deletions) is not a question. */
const QUESTION_SUBTYPES = new Set(['thread_broadcast', 'file_share']);

export type Addressed =
  /** The bot was mentioned or DMed: answer. */
  | { kind: 'question'; channel: string; user: string; text: string; ts: string; threadTs: string; isDirect: boolean }
  /** A reply in a thread without a mention: answer only if the bot already takes part in that thread. */
  | { kind: 'thread-reply'; channel: string; user: string; text: string; ts: string; threadTs: string; isDirect: false }
  | { kind: 'ignore'; reason: string };

export function isDirectChannel(event: Pick<SlackMessageEvent, 'channel' | 'channel_type'>): boolean {
  return event.channel_type === 'im' || (event.channel_type === undefined && event.channel.startsWith('D'));
}

/**
 * Decides whether an event is addressed to the bot. A mention in a channel arrives twice (as
 * `app_mention` and as `message`); the `message` copy is dropped here so it is answered once.
 */
export function classifyMessageEvent(raw: unknown, botUserId: string | undefined): Addressed {
  const parsed = SlackMessageEventSchema.safeParse(raw);
  if (!parsed.success) return { kind: 'ignore', reason: 'unreadable event' };
  const event = parsed.data;
  if (event.subtype !== undefined && !QUESTION_SUBTYPES.has(event.subtype))
    return { kind: 'ignore', reason: `subtype ${event.subtype}` };
  if (event.bot_id !== undefined) return { kind: 'ignore', reason: 'message from a bot' };
  if (!event.user) return { kind: 'ignore', reason: 'no user' };
  if (botUserId && event.user === botUserId) return { kind: 'ignore', reason: 'own message' };
  const text = event.text ?? '';
  const threadTs = event.thread_ts ?? event.ts;
  const base = { channel: event.channel, user: event.user, text, ts: event.ts, threadTs };
  if (event.type === 'app_mention') return { kind: 'question', ...base, isDirect: false };
  if (isDirectChannel(event)) return { kind: 'question', ...base, isDirect: true };
  if (botUserId && text.includes(`<@${botUserId}`))
    return { kind: 'ignore', reason: 'mention (answered from app_mention)' };
  if (event.thread_ts && event.thread_ts !== event.ts) return { kind: 'thread-reply', ...base, isDirect: false };
  return { kind: 'ignore', reason: 'channel message not addressed to the bot' };
}

/** A `block_actions` payload: only what a button click needs. */
export const BlockActionSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string().min(1) }),
  channel: z.object({ id: z.string().min(1) }).optional(),
  container: z
    .object({ message_ts: z.string().optional(), channel_id: z.string().optional(), thread_ts: z.string().optional() })
    .optional(),
  message: z.object({ ts: z.string(), thread_ts: z.string().optional(), text: z.string().optional() }).optional(),
  actions: z
    .array(z.object({ action_id: z.string(), value: z.string().optional(), action_ts: z.string().optional() }))
    .min(1),
});
export type BlockAction = z.infer<typeof BlockActionSchema>;

/** Where a clicked message lives: its channel, its own ts and the thread it belongs to. */
export function clickedMessage(payload: BlockAction): { channel: string; ts: string; threadTs: string } | undefined {
  const channel = payload.channel?.id ?? payload.container?.channel_id;
  const ts = payload.message?.ts ?? payload.container?.message_ts;
  if (!channel || !ts) return undefined;
  return { channel, ts, threadTs: payload.message?.thread_ts ?? payload.container?.thread_ts ?? ts };
}

/** A slash command invocation (form fields Slack posts, or the Socket Mode `slash_commands` payload). */
export const SlashCommandSchema = z.object({
  command: z.string().min(1),
  text: z.string().default(''),
  user_id: z.string().min(1),
  channel_id: z.string().min(1),
  channel_name: z.string().optional(),
  trigger_id: z.string().optional(),
  response_url: z.string().optional(),
});
export type SlashCommand = z.infer<typeof SlashCommandSchema>;
