import { z } from 'zod';

/**
 * What Mattermost tells the bot about a post, and the one decision made from it: is this a
 * question for the bot, a reply in a thread it may be part of, or something to leave alone?
 * Shapes follow the server (model/post.go, app/notification.go): `posted` and `post_edited` events
 * carry the post as a JSON string in `data.post`; `data.mentions` is a JSON string array of user
 * ids, present only when someone was notified; `data.channel_type` is D, G, O or P.
 */

/** The fields of a post the bot reads; the server sends many more. */
export const PostSchema = z.object({
  id: z.string().min(1),
  create_at: z.number(),
  update_at: z.number().default(0),
  edit_at: z.number().default(0),
  delete_at: z.number().default(0),
  user_id: z.string().min(1),
  channel_id: z.string().min(1),
  root_id: z.string().default(''),
  message: z.string().default(''),
  /** Empty for what people write; `system_*` and plugin types otherwise. */
  type: z.string().default(''),
  props: z
    .record(z.string(), z.unknown())
    .nullish()
    .transform((props) => props ?? {}),
});
export type MattermostPost = z.infer<typeof PostSchema>;

export const ChannelTypeSchema = z.enum(['D', 'G', 'O', 'P']);
/** D: direct message, G: group message, O: public channel, P: private channel. */
export type ChannelType = z.infer<typeof ChannelTypeSchema>;

/** One post as the transport hands it over: from a websocket event or re-read after an outage. */
export interface MattermostPostEvent {
  event: 'posted' | 'post_edited';
  post: MattermostPost;
  /** Unknown only when the server left it out. */
  channelType: ChannelType | undefined;
  /** User ids the server notified (websocket only; empty for a re-read post). */
  mentions: string[];
  source: 'websocket' | 'resync';
}

export type ParsedPostData =
  | { ok: true; post: MattermostPost; channelType: ChannelType | undefined; mentions: string[] }
  | { ok: false; reason: string };

/** `data` of a `posted` / `post_edited` event: the JSON-string fields decoded and checked. */
export function parsePostEventData(data: Record<string, unknown>): ParsedPostData {
  if (typeof data.post !== 'string') return { ok: false, reason: 'data.post is not a JSON string' };
  let raw: unknown;
  try {
    raw = JSON.parse(data.post);
  } catch {
    return { ok: false, reason: 'data.post is not valid JSON' };
  }
  const post = PostSchema.safeParse(raw);
  if (!post.success)
    return { ok: false, reason: `data.post is not a post (${post.error.issues[0]?.path.join('.') || 'shape'})` };
  const channelType = ChannelTypeSchema.safeParse(data.channel_type);
  return {
    ok: true,
    post: post.data,
    channelType: channelType.success ? channelType.data : undefined,
    mentions: parseMentions(data.mentions),
  };
}

/** Built once: a zod schema built per frame cost more than the rest of the frame's checks. */
const MentionsSchema = z.array(z.string());

function parseMentions(value: unknown): string[] {
  if (typeof value !== 'string') return [];
  try {
    const parsed = MentionsSchema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}

export interface BotIdentity {
  id: string;
  username: string;
}

interface Addressed {
  postId: string;
  channelId: string;
  userId: string;
  /** The post's text as written (the conversation core strips the mention). */
  text: string;
  /** The thread to answer in: `root_id || id`. */
  threadId: string;
  isDirect: boolean;
  source: MattermostPostEvent['source'];
}

export type PostDecision =
  /** Mentions the bot in a channel, or anything in a DM with it: answer. */
  | ({ kind: 'question' } & Addressed)
  /** A reply in a thread without a mention: answer only if the bot has answered in that thread. */
  | ({ kind: 'thread-reply' } & Addressed & { isDirect: false })
  | { kind: 'ignore'; reason: string };

/** Props the server sets to the string "true" (older servers and plugins sometimes a boolean). */
function flag(props: Record<string, unknown>, key: string): boolean {
  return props[key] === 'true' || props[key] === true;
}

/**
 * Decides what a post is to the bot. What it must ignore comes first and each says why: its own
 * posts (which come back on its own websocket), edits, deleted and system posts, posts made by
 * webhooks, plugins or other bots (a bot answering a bot can loop forever). A DM is always a
 * question; in channels only an explicit `@username` outside code is: a channel-wide `@here`,
 * which also lists the bot in `mentions`, is an announcement, not a question to it.
 */
export function classifyPost(event: MattermostPostEvent, bot: BotIdentity): PostDecision {
  const { post } = event;
  if (post.user_id === bot.id) return { kind: 'ignore', reason: 'own post' };
  if (event.event !== 'posted') return { kind: 'ignore', reason: 'edit of an earlier post' };
  if (post.delete_at > 0) return { kind: 'ignore', reason: 'deleted post' };
  if (post.type !== '') return { kind: 'ignore', reason: `system post (${post.type})` };
  if (flag(post.props, 'from_webhook')) return { kind: 'ignore', reason: 'webhook post' };
  if (flag(post.props, 'from_plugin')) return { kind: 'ignore', reason: 'plugin post' };
  if (flag(post.props, 'from_bot')) return { kind: 'ignore', reason: 'post by another bot' };

  const addressed: Addressed = {
    postId: post.id,
    channelId: post.channel_id,
    userId: post.user_id,
    text: post.message,
    threadId: post.root_id || post.id,
    isDirect: event.channelType === 'D',
    source: event.source,
  };
  if (addressed.isDirect) return { kind: 'question', ...addressed };
  if (mentionsUser(post.message, bot.username)) return { kind: 'question', ...addressed };
  if (post.root_id) return { kind: 'thread-reply', ...addressed, isDirect: false };
  return { kind: 'ignore', reason: 'channel post not addressed to the bot' };
}

/**
 * Whether `message` mentions `@username` the way the server notifies: case-insensitive, not inside
 * inline code or a code block, not as part of a longer name (`@askpanda-dev`, `@askpanda.test`),
 * with trailing punctuation allowed (`@askpanda:`, `@askpanda.`).
 */
export function mentionsUser(message: string, username: string): boolean {
  if (!message.includes('@')) return false;
  const prose = message.replace(/(```|~~~)[\s\S]*?(\1|$)/g, ' ').replace(/`[^`\n]*`/g, ' ');
  const name = username.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^\\w@.-])@${name}(?![\\w-]|\\.[\\w])`, 'i').test(prose);
}
