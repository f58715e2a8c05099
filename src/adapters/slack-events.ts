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

/** Slack's own cap on an Events API or interactivity request body (Bolt's bodyLimit). */
export const EVENTS_MAX_BODY_BYTES = 1024 * 1024;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Why a request to /slack/events is not one Slack sends, or undefined when Bolt may have it. Bolt
 * reads `body.type` of whatever JSON it parsed: a signed body of `null` threw inside its handler,
 * an unhandled rejection (which ends a Node process) and a request that never got an answer.
 */
export function eventsRequestProblem(body: Buffer, contentType: string | undefined): string | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  let parsed: unknown;
  try {
    if (type === 'application/x-www-form-urlencoded') {
      const payload = new URLSearchParams(body.toString('utf8')).get('payload');
      if (payload === null) return undefined; // a slash command or ssl_check: form fields Bolt reads as strings
      parsed = JSON.parse(payload);
    } else {
      parsed = JSON.parse(body.toString('utf8'));
    }
  } catch {
    return 'the body is not JSON';
  }
  if (!isObject(parsed)) return 'the body is not a JSON object';
  if (typeof parsed.type !== 'string') return 'the body has no type';
  if (parsed.type === 'event_callback' && !(isObject(parsed.event) && typeof parsed.event.type === 'string'))
    return 'the event_callback has no event';
  return undefined;
}

/**
 * Why a Socket Mode frame is not one Slack sends, or undefined when the client may have it. The
 * client reads `event.payload.event.type` of any JSON frame: a frame without a payload threw in
 * its async message handler, an unhandled rejection (which ends a Node process).
 */
export function socketFrameProblem(text: string): string | undefined {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (!isObject(frame) || typeof frame.type !== 'string') return 'not an envelope';
  if (frame.type === 'hello' || frame.type === 'disconnect') return undefined;
  if (typeof frame.envelope_id !== 'string' || frame.envelope_id === '') return 'an envelope without an envelope_id';
  if (!isObject(frame.payload)) return 'an envelope without a payload';
  if (frame.type === 'events_api' && !(isObject(frame.payload.event) && typeof frame.payload.event.type === 'string'))
    return 'an events_api envelope without an event';
  return undefined;
}
