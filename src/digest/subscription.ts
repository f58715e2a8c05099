import { z } from 'zod';
import { ScheduleSchema } from '../core/schedule.ts';

/**
 * What the store keeps for digests. A subscription (written only by chat commands) is kept apart
 * from its run state (written only by the runner), so an unsubscribe racing a run is never undone
 * by the runner writing the subscription back. A new subscription gets a new id, so state, claims
 * and posted records of an earlier one never apply to it.
 */

const isoInstant = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { error: 'expected an ISO-8601 instant' });

export const SubscriptionSchema = z.object({
  id: z.string().min(1),
  platform: z.string().min(1),
  channel: z.string().min(1),
  jeditaskid: z.number().int().positive(),
  taskname: z.string().optional(),
  schedule: ScheduleSchema,
  timezone: z.string().min(1),
  createdBy: z.string(),
  createdAt: isoInstant,
});
export type Subscription = z.infer<typeof SubscriptionSchema>;

export const DigestStateSchema = z.object({
  subscriptionId: z.string(),
  /** End of the last window that was posted (or deliberately skipped): the next window starts here. */
  lastEnd: isoInstant,
  /**
   * Failures up to here are in a posted digest. Behind lastEnd when a digest went out without the
   * monitor's failure data: the next digest covers those hours as well.
   */
  dataFrom: isoInstant,
  /** Error codes (component:code) reported in earlier digests: a code not in here is new. */
  seenCodes: z.array(z.string()).default([]),
  /** Task status at the last digest, to report a change. */
  lastStatus: z.string().optional(),
  /** Failed attempts at the window ending pendingEnd (monitor down, post refused); part of the claim key. */
  attempt: z.number().int().min(0).default(0),
  pendingEnd: isoInstant.optional(),
  /** No new attempt before this instant (backoff while the monitor or the platform is down). */
  retryAt: isoInstant.optional(),
  lastMessageId: z.string().optional(),
  updatedAt: isoInstant,
});
export type DigestState = z.infer<typeof DigestStateSchema>;

/** What was posted for one (subscription, window end): the record that makes a repeat run a no-op. */
export const PostedRecordSchema = z.object({
  subscriptionId: z.string(),
  end: isoInstant,
  messageId: z.string(),
  /** "posted", "quiet" (nothing to say, digest.quiet = silent) or "undeliverable" (the platform kept refusing). */
  outcome: z.enum(['posted', 'quiet', 'undeliverable']),
  postedAt: isoInstant,
  /** The state the subscription moves to, so a run that died after posting can finish the bookkeeping. */
  next: DigestStateSchema,
  ended: z.boolean().default(false),
});
export type PostedRecord = z.infer<typeof PostedRecordSchema>;

/** The most codes remembered per subscription (a task rarely shows more than a few dozen). */
export const MAX_SEEN_CODES = 500;

export function targetKey(platform: string, channel: string): string {
  return `${platform}:${encodeURIComponent(channel)}`;
}

export const keys = {
  subscription: (platform: string, channel: string, jeditaskid: number) =>
    `sub:${targetKey(platform, channel)}:${jeditaskid}`,
  state: (subscriptionId: string) => `state:${subscriptionId}`,
  posted: (subscriptionId: string, end: string) => `digest-posted:${subscriptionId}:${end}`,
  claim: (subscriptionId: string, end: string, attempt: number) => `digest:${subscriptionId}:${end}:${attempt}`,
  channelLock: (platform: string, channel: string, at: string) =>
    `digest-channel:${targetKey(platform, channel)}:${at}`,
};
