import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { FeedbackContext } from '../../bot/surface.ts';

/**
 * Button contexts signed with HMAC-SHA256. Mattermost hides a button's `context` from users and
 * sends it back on a click, so the signature lets the actions route refuse a click whose context
 * was made up or changed, or that comes from another channel than its buttons were posted in.
 */

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
