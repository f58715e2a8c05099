import { randomUUID } from 'node:crypto';
import type Keyv from 'keyv';
import type { Store } from '../storage/store.ts';
import {
  DigestStateSchema,
  MAX_SEEN_CODES,
  PostedRecordSchema,
  SubscriptionSchema,
  keys,
  type DigestState,
  type PostedRecord,
  type Subscription,
} from './subscription.ts';

/** Posted records are only needed until the state has moved past them; a month is plenty. */
const POSTED_TTL_MS = 35 * 86_400_000;

export interface SubscriptionStoreOptions {
  /**
   * Prepended to every key and claim: one store can hold several independent installations (tests
   * on a shared Redis use a unique prefix each).
   */
  prefix?: string;
}

/**
 * Subscriptions and their run state in the store's `subscriptions` namespace, posted records in
 * `dedupe` (with the claims, what makes a run exactly-once). Listing iterates the namespace with
 * keyv's iterator: the per-minute tick reads every subscription once, with no index to keep in step.
 */
export class SubscriptionStore {
  readonly prefix: string;
  private readonly subs: Keyv;
  private readonly records: Keyv;

  constructor(
    private readonly store: Pick<Store, 'ns' | 'claimOnce'>,
    options: SubscriptionStoreOptions = {},
  ) {
    this.prefix = options.prefix ?? '';
    this.subs = store.ns('subscriptions');
    this.records = store.ns('dedupe');
  }

  /** Every subscription with its state (undefined before its first digest). Bad records are skipped. */
  async loadAll(): Promise<Array<{ subscription: Subscription; state?: DigestState }>> {
    const subscriptions: Subscription[] = [];
    const states = new Map<string, DigestState>();
    const iterator = this.subs.iterator;
    if (!iterator) throw new Error('the store cannot list subscriptions (its keyv adapter has no iterator)');
    const subPrefix = `${this.prefix}sub:`;
    const statePrefix = `${this.prefix}state:`;
    for await (const [rawKey, value] of iterator.call(this.subs, undefined) as AsyncIterable<[string, unknown]>) {
      const key = String(rawKey);
      if (key.startsWith(subPrefix)) {
        const parsed = SubscriptionSchema.safeParse(value);
        if (parsed.success) subscriptions.push(parsed.data);
      } else if (key.startsWith(statePrefix)) {
        const parsed = DigestStateSchema.safeParse(value);
        if (parsed.success) states.set(parsed.data.subscriptionId, parsed.data);
      }
    }
    // State left by a run that raced an unsubscribe: nothing reads it again; cleared after a day.
    const live = new Set(subscriptions.map((sub) => sub.id));
    const dayAgo = Date.now() - 86_400_000;
    for (const [id, state] of states) {
      if (!live.has(id) && Date.parse(state.updatedAt) < dayAgo)
        await this.subs.delete(this.prefix + keys.state(id)).catch(() => undefined);
    }
    // Deterministic order (creation, then id): runs and listings do not depend on the backend's order.
    subscriptions.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    return subscriptions.map((subscription) => ({ subscription, state: states.get(subscription.id) }));
  }

  async forChannel(
    platform: string,
    channel: string,
  ): Promise<Array<{ subscription: Subscription; state?: DigestState }>> {
    return (await this.loadAll()).filter(
      (s) => s.subscription.platform === platform && s.subscription.channel === channel,
    );
  }

  async get(platform: string, channel: string, jeditaskid: number): Promise<Subscription | undefined> {
    const parsed = SubscriptionSchema.safeParse(
      await this.subs.get(this.prefix + keys.subscription(platform, channel, jeditaskid)),
    );
    return parsed.success ? parsed.data : undefined;
  }

  async add(fields: Omit<Subscription, 'id'>): Promise<Subscription> {
    const subscription = SubscriptionSchema.parse({ ...fields, id: randomUUID() });
    await this.subs.set(
      this.prefix + keys.subscription(subscription.platform, subscription.channel, subscription.jeditaskid),
      subscription,
    );
    return subscription;
  }

  /** Removes the subscription and its state; the runner never writes a subscription back. */
  async remove(subscription: Subscription): Promise<void> {
    await this.subs.delete(
      this.prefix + keys.subscription(subscription.platform, subscription.channel, subscription.jeditaskid),
    );
    await this.subs.delete(this.prefix + keys.state(subscription.id));
  }

  async state(subscriptionId: string): Promise<DigestState | undefined> {
    const parsed = DigestStateSchema.safeParse(await this.subs.get(this.prefix + keys.state(subscriptionId)));
    return parsed.success ? parsed.data : undefined;
  }

  /**
   * Writes the run state, unless the subscription was removed meanwhile (an unsubscribe during a
   * run): state without a subscription would only be clutter.
   */
  async saveState(subscription: Subscription, state: DigestState): Promise<void> {
    const current = await this.get(subscription.platform, subscription.channel, subscription.jeditaskid);
    if (!current || current.id !== subscription.id) return;
    await this.subs.set(this.prefix + keys.state(subscription.id), {
      ...state,
      seenCodes: state.seenCodes.slice(-MAX_SEEN_CODES),
    });
  }

  async posted(subscriptionId: string, end: string): Promise<PostedRecord | undefined> {
    const parsed = PostedRecordSchema.safeParse(await this.records.get(this.prefix + keys.posted(subscriptionId, end)));
    return parsed.success ? parsed.data : undefined;
  }

  async recordPosted(record: PostedRecord): Promise<void> {
    await this.records.set(
      this.prefix + keys.posted(record.subscriptionId, record.end),
      PostedRecordSchema.parse(record),
      POSTED_TTL_MS,
    );
  }

  /** Set-if-absent with a lease, shared by every process on the store. */
  claim(key: string, leaseMs: number): Promise<boolean> {
    return this.store.claimOnce(this.prefix + key, leaseMs);
  }
}
