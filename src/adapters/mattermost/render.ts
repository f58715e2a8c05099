import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Answer, FollowUp } from '../../core/answer.ts';
import { codePointLength, splitMarkdown } from '../../bot/split-markdown.ts';

/**
 * The bot's markdown as Mattermost posts. Mattermost renders CommonMark with GFM tables itself, so
 * the text mostly passes through: section titles (`**Title**` lines) become `####` headings,
 * channel-wide mentions are defused, and the text is split at the server's `MaxPostSize` (code
 * points). Follow-up questions and 👍/👎 become interactive message buttons whose `context`
 * carries an HMAC-SHA256 signature: Mattermost hides the context from users and sends it back on a
 * click, so a click whose context was made up or changed is refused.
 */

/** `props.attachments[].actions[]`, as the server reads them (model/slack_attachment.go). */
export interface PostAction {
  /** Letters and digits only: the click arrives at `/posts/{id}/actions/{action_id:[A-Za-z0-9]+}`. */
  id: string;
  name: string;
  type: 'button';
  style?: 'default' | 'primary' | 'good' | 'warning' | 'danger';
  integration: { url: string; context: SignedContext };
}

export interface Attachment {
  fallback: string;
  text?: string;
  actions: PostAction[];
}

export interface MattermostPostBody {
  message: string;
  props?: Record<string, unknown> & { attachments?: Attachment[] };
}

/** What a feedback vote is stored with (the same fields as on Slack). */
export interface FeedbackContext {
  agent: string;
  model: string;
  question: string;
  pandaid?: number;
  jeditaskid?: number;
}

export interface ButtonOptions {
  /** Where Mattermost POSTs clicks: `ASKPANDA_PUBLIC_URL` + the actions path; must be reachable from the server. */
  url: string;
  secret: string;
  /** The channel and thread the buttons are posted in: a click elsewhere is refused. */
  channelId: string;
  threadId: string;
  feedback: FeedbackContext;
}

export interface RenderOptions {
  maxPostSize: number;
  /** Shown above the answer, e.g. "@ana asked: …" for a slash command or a button click. */
  preface?: string;
  /** Follow-up and feedback buttons on the last post; none when absent (ephemeral replies). */
  buttons?: ButtonOptions;
  /** A longer answer is cut after this many posts, with a pointer to the monitor page. Default 4. */
  maxPosts?: number;
  /** Extra props on every post (e.g. what the answer is about, for later clicks or edits). */
  props?: Record<string, unknown>;
}

export const MATTERMOST_LIMITS = {
  followUpButtons: 5,
  /** Button labels are shown on one line; the full question travels in the context. */
  buttonNameChars: 60,
  /** Questions carried in a context are cut to this many code points. */
  contextQuestionChars: 1000,
} as const;

export const ACTION_IDS = {
  followUpPrefix: 'followup',
  feedbackUp: 'feedbackup',
  feedbackDown: 'feedbackdown',
} as const;

// ---------------------------------------------------------------------------------- markdown

const FENCE = /^\s*(`{3,}|~{3,})/;
const TITLE_LINE = /^\*\*([^*\n]+?)\*\*:?\s*$/;
const CHANNEL_WIDE = /(^|[^\w@])@(channel|all|here)\b/gi;

/**
 * The bot's markdown in Mattermost's dialect: `**Title**` lines become `#### Title`, and
 * `@channel`, `@all` and `@here` outside code get a zero-width space after the `@`, so quoting a
 * log or a question never notifies a whole channel. Code blocks and inline code are untouched.
 */
export function toMattermostMarkdown(markdown: string): string {
  const lines = (markdown.includes('\r') ? markdown.replace(/\r\n?/g, '\n') : markdown).split('\n');
  let fence: string | undefined;
  return lines
    .map((line) => {
      const marks = FENCE.exec(line)?.[1];
      if (fence) {
        if (marks && marks[0] === fence[0] && marks.length >= fence.length && line.trim() === marks) fence = undefined;
        return line;
      }
      if (marks) {
        fence = marks;
        return line;
      }
      const title = TITLE_LINE.exec(line);
      if (title) return `#### ${defuse(title[1]!)}`;
      return defuse(line);
    })
    .join('\n');
}

/** Channel-wide mentions outside inline code made inert. */
function defuse(line: string): string {
  if (!line.includes('@')) return line;
  return line
    .split(/(`[^`\n]*`)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(CHANNEL_WIDE, '$1@\u200b$2')))
    .join('');
}

/**
 * The same text with as little markup as possible, for a post the server refused: links as
 * "title (url)", no emphasis marks, headings and code fences as plain lines.
 */
export function toPlainText(markdown: string): string {
  let fence: string | undefined;
  const out: string[] = [];
  for (const line of (markdown.includes('\r') ? markdown.replace(/\r\n?/g, '\n') : markdown).split('\n')) {
    const marks = FENCE.exec(line)?.[1];
    if (fence) {
      if (marks && marks[0] === fence[0] && line.trim() === marks) fence = undefined;
      else out.push(line);
      continue;
    }
    if (marks) {
      fence = marks;
      continue;
    }
    out.push(
      defuse(line)
        .replace(/^\s{0,3}#{1,6}\s+/, '')
        .replace(/\[([^\]\n]+)\]\(([^)\s]+)\)/g, (_m, title: string, url: string) =>
          title === url ? url : `${title} (${url})`,
        )
        .replace(/(\*\*|__)(?=\S)(.+?)\1/g, '$2')
        .replace(/(^|[^\w*])\*(?=\S)([^*\n]+?)\*(?![\w*])/g, '$1$2')
        .replace(/(^|[^\w])_(?=\S)([^_\n]+?)_(?!\w)/g, '$1$2')
        .replace(/`([^`\n]+)`/g, '$1'),
    );
  }
  return out.join('\n');
}

/** `toPlainText` in posts of at most `maxPostSize` code points. */
export function plainTextPosts(markdown: string, maxPostSize: number): string[] {
  const posts = splitMarkdown(toPlainText(markdown), maxPostSize);
  return posts.length ? posts : ['(empty answer)'];
}

const FOLLOW_UPS_SECTION = /\n\n\*\*You could ask next\*\*\n[\s\S]*$/;

/**
 * An Answer as Mattermost posts: text split under `maxPostSize`, the buttons on the last post. An
 * answer longer than `maxPosts` posts is cut, with a pointer to its monitor page.
 */
export function renderAnswer(answer: Answer, options: RenderOptions): MattermostPostBody[] {
  const limit = options.maxPostSize;
  const maxPosts = Math.max(1, options.maxPosts ?? 4);
  const withButtons = options.buttons !== undefined;
  // The follow-ups become buttons, so their markdown list would only repeat them.
  const markdown =
    withButtons && answer.followUps.length > 0 ? answer.text.replace(FOLLOW_UPS_SECTION, '') : answer.text;
  const text = toMattermostMarkdown(options.preface ? `${options.preface}\n\n${markdown}` : markdown);
  let pieces = splitMarkdown(text, limit);
  if (pieces.length === 0) pieces = ['_(empty answer)_'];
  if (pieces.length > maxPosts) {
    const link = answer.links[0];
    const note = `_The answer is too long for Mattermost, so it is cut here.${link ? ` The full details are on [${link.title}](${link.url}).` : ' Ask about one part at a time for the rest.'}_`;
    pieces = pieces.slice(0, maxPosts);
    const room = limit - codePointLength(note) - 2;
    const last = room > 0 ? (splitMarkdown(pieces[maxPosts - 1]!, room)[0] ?? '') : '';
    pieces[maxPosts - 1] = room > 0 ? `${last}\n\n${note}` : (splitMarkdown(note, limit)[0] ?? '');
  }
  const posts: MattermostPostBody[] = pieces.map((message) =>
    options.props ? { message, props: { ...options.props } } : { message },
  );
  if (options.buttons) {
    const last = posts[posts.length - 1]!;
    last.props = { ...last.props, attachments: answerButtons(answer.followUps, options.buttons) };
  }
  return posts;
}

/** A streaming answer so far: the beginning that fits, open code closed, marked as unfinished. */
export function renderPartial(markdown: string, maxPostSize: number): string {
  const marker = ' …';
  const text = closeOpenFence(toMattermostMarkdown(markdown).trimEnd());
  const first = splitMarkdown(text, Math.max(1, maxPostSize - marker.length))[0] ?? '';
  return `${first}${marker}`;
}

/** A short message (an error, a thank-you): converted and cut to one post. */
export function renderNotice(markdown: string, maxPostSize: number): string {
  return splitMarkdown(toMattermostMarkdown(markdown), maxPostSize)[0] ?? '';
}

function closeOpenFence(markdown: string): string {
  let open: string | undefined;
  for (const line of markdown.split('\n')) {
    const marks = FENCE.exec(line)?.[1];
    if (!marks) continue;
    if (!open) open = marks;
    else if (marks[0] === open[0] && marks.length >= open.length && line.trim() === marks) open = undefined;
  }
  return open ? `${markdown}\n${open}` : markdown;
}

// ---------------------------------------------------------------------------------- buttons

/** What a button asks for when clicked; signed into its context. */
export type ButtonPayload =
  | { action: 'followup'; question: string; channel: string; thread: string }
  | ({ action: 'feedback'; rating: 'up' | 'down'; channel: string; thread: string } & FeedbackContext);

const FollowUpPayloadSchema = z.object({
  action: z.literal('followup'),
  question: z.string().min(1).max(4000),
  channel: z.string().min(1),
  thread: z.string().min(1),
});
const FeedbackPayloadSchema = z.object({
  action: z.literal('feedback'),
  rating: z.enum(['up', 'down']),
  channel: z.string().min(1),
  thread: z.string().min(1),
  agent: z.string().max(40),
  model: z.string().max(200),
  question: z.string().max(4000),
  pandaid: z.number().int().optional(),
  jeditaskid: z.number().int().optional(),
});
const ButtonPayloadSchema = z.discriminatedUnion('action', [FollowUpPayloadSchema, FeedbackPayloadSchema]);

/** A payload with its version, issue time (seconds) and signature. */
export type SignedContext = ButtonPayload & { v: 1; iat: number; sig: string };

/** A per-deployment secret derived from the bot token, for when no secret is configured. */
export function actionSecretFromToken(token: string): string {
  return createHmac('sha256', token).update('askpanda mattermost button context v1').digest('hex');
}

/** JSON with keys sorted at every level: the same bytes however the context was re-serialised. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function signature(unsigned: Record<string, unknown>, secret: string): string {
  return createHmac('sha256', secret).update(canonicalJson(unsigned)).digest('hex');
}

export function signContext(payload: ButtonPayload, secret: string, now = Date.now()): SignedContext {
  const unsigned = { ...withoutUndefined(payload), v: 1 as const, iat: Math.floor(now / 1000) };
  return { ...unsigned, sig: signature(unsigned, secret) } as SignedContext;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export type ContextCheck = { ok: true; payload: ButtonPayload; issuedAt: number } | { ok: false; reason: string };

/**
 * Checks a context that came back with a click: the signature over everything else in it
 * (compared in constant time), then its shape. `maxAgeMs` refuses old buttons when set.
 */
export function verifyContext(
  context: unknown,
  secret: string,
  options: { maxAgeMs?: number; now?: number } = {},
): ContextCheck {
  if (context === null || typeof context !== 'object' || Array.isArray(context))
    return { ok: false, reason: 'no context' };
  const { sig, ...unsigned } = context as Record<string, unknown>;
  if (typeof sig !== 'string' || !/^[0-9a-f]{64}$/.test(sig)) return { ok: false, reason: 'no signature' };
  const expected = Buffer.from(signature(unsigned, secret), 'hex');
  if (!timingSafeEqual(Buffer.from(sig, 'hex'), expected)) return { ok: false, reason: 'bad signature' };
  if (unsigned.v !== 1 || typeof unsigned.iat !== 'number') return { ok: false, reason: 'unknown context version' };
  const { v: _v, iat, ...payload } = unsigned;
  const parsed = ButtonPayloadSchema.safeParse(payload);
  if (!parsed.success) return { ok: false, reason: 'malformed context' };
  const issuedAt = (iat as number) * 1000;
  if (options.maxAgeMs !== undefined && (options.now ?? Date.now()) - issuedAt > options.maxAgeMs)
    return { ok: false, reason: 'expired button' };
  return { ok: true, payload: parsed.data, issuedAt };
}

/** What Mattermost POSTs to the integration URL on a click (app/post_action.go). */
export const ActionRequestSchema = z.object({
  user_id: z.string().min(1),
  user_name: z.string().optional(),
  post_id: z.string().min(1),
  channel_id: z.string().min(1),
  team_id: z.string().default(''),
  trigger_id: z.string().optional(),
  context: z.unknown(),
});

export type ActionCheck =
  | {
      ok: true;
      payload: ButtonPayload;
      userId: string;
      userName?: string;
      postId: string;
      channelId: string;
      teamId: string;
    }
  | { ok: false; status: 400 | 403; reason: string };

/**
 * A click as the actions route receives it: 400 for a body that is not a click, 403 for a context
 * that is not ours, was changed, or names another channel than the click came from.
 */
export function verifyActionRequest(
  body: unknown,
  secret: string,
  options: { maxAgeMs?: number; now?: number } = {},
): ActionCheck {
  const request = ActionRequestSchema.safeParse(body);
  if (!request.success) return { ok: false, status: 400, reason: 'not a button click' };
  const check = verifyContext(request.data.context, secret, options);
  if (!check.ok) return { ok: false, status: 403, reason: check.reason };
  if (check.payload.channel !== request.data.channel_id)
    return { ok: false, status: 403, reason: 'button from another channel' };
  const {
    user_id: userId,
    user_name: userName,
    post_id: postId,
    channel_id: channelId,
    team_id: teamId,
  } = request.data;
  return { ok: true, payload: check.payload, userId, ...(userName ? { userName } : {}), postId, channelId, teamId };
}

function truncate(text: string, max: number): string {
  if (codePointLength(text) <= max) return text;
  return `${[...text]
    .slice(0, max - 1)
    .join('')
    .trimEnd()}…`;
}

/** The attachments that carry the buttons: suggested questions, then 👍 / 👎. */
export function answerButtons(followUps: FollowUp[], options: ButtonOptions): Attachment[] {
  const where = { channel: options.channelId, thread: options.threadId };
  const attachments: Attachment[] = [];
  const asked = followUps.slice(0, MATTERMOST_LIMITS.followUpButtons);
  if (asked.length > 0) {
    attachments.push({
      fallback: `You could ask next: ${asked.map((f) => f.question).join(' · ')}`,
      text: '**You could ask next**',
      actions: asked.map((followUp, i) => ({
        id: `${ACTION_IDS.followUpPrefix}${i}`,
        name: truncate(followUp.question, MATTERMOST_LIMITS.buttonNameChars),
        type: 'button',
        style: 'default',
        integration: {
          url: options.url,
          context: signContext(
            {
              action: 'followup',
              question: truncate(followUp.question, MATTERMOST_LIMITS.contextQuestionChars),
              ...where,
            },
            options.secret,
          ),
        },
      })),
    });
  }
  const feedback = {
    ...options.feedback,
    question: truncate(options.feedback.question, MATTERMOST_LIMITS.contextQuestionChars),
  };
  attachments.push({
    fallback: 'Was this answer helpful?',
    actions: [
      {
        id: ACTION_IDS.feedbackUp,
        name: '👍 Helpful',
        type: 'button',
        style: 'good',
        integration: {
          url: options.url,
          context: signContext({ action: 'feedback', rating: 'up', ...where, ...feedback }, options.secret),
        },
      },
      {
        id: ACTION_IDS.feedbackDown,
        name: '👎 Not helpful',
        type: 'button',
        style: 'default',
        integration: {
          url: options.url,
          context: signContext({ action: 'feedback', rating: 'down', ...where, ...feedback }, options.secret),
        },
      },
    ],
  });
  return attachments;
}
