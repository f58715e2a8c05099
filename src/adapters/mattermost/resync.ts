import pLimit from 'p-limit';
import { mattermostResyncPostsTotal } from '../../core/metrics.ts';
import type { Logger } from '../../util/log.ts';
import type { ChannelType, MattermostPost } from './events.ts';

/**
 * What the bot missed on its websocket, found again over REST and handed over once.
 *
 * The tracker keeps, per channel, the newest `create_at` it has seen (the cursor, in the server's
 * clock). Before the websocket opens it takes every channel's `last_post_at` as the cursor, so
 * history is never answered, while a post made before the first hello can still be found.
 *
 * A resync lists the bot's channels (one request per team) and reads only those whose
 * `last_post_at` is past the cursor, newest first, in pages that double from 25 to 200 posts, until
 * a page reaches a post older than the cursor. What it reads is at most about twice what was
 * missed (at least one page of 25 per channel behind), not a fixed look-back: a reconnect storm
 * costs in proportion to what it missed, and a busy channel cannot outrun it.
 *
 * A live event moves its channel's cursor only while the stream is known to be whole: from any
 * trouble (a closed socket, a new connection id, a skipped event) until the next resync has listed
 * the channels, events may come after a hole, and the cursor waits for the resync to fill it.
 *
 * Posts handed over are remembered (by id, bounded): a post the websocket delivered is not handed
 * over again, and a post a resync handed over is not handed over again when its event arrives
 * late. Posts are handed over oldest first, a few per author and a few in all at a time: after an
 * outage the conversation core gets the missed questions at the pace it answers them, instead of
 * all at once and over its per-person limit ("busy").
 *
 * The stall check sees a socket that stays open but carries no events: a channel found past its
 * cursor at one check and still not caught up with that post at the next is a stall.
 */

export interface ResyncChannel {
  id: string;
  type: ChannelType | undefined;
  /** The server's time of the channel's newest post (0: none). */
  lastPostAt: number;
}

/** The REST reads a resync needs; each throws on failure. */
export interface ResyncSource {
  /** Every channel the bot is in: its teams' channels, its DMs and group messages; none deleted. */
  listChannels(): Promise<ResyncChannel[]>;
  /** One page of a channel, newest first: the page's own posts (not the thread context the server adds). */
  readPage(channelId: string, page: number, perPage: number): Promise<MattermostPost[]>;
}

export type ResyncTrigger = 'start' | 'new_connection' | 'reconnect' | 'stalled' | 'skipped_event';

export interface ResyncSettings {
  /** A missed post older than this is not handed over (0: nothing is). */
  maxAgeMs: number;
  /** Channels read by one resync at most, the most recently active first. */
  maxChannels: number;
  /** Posts read per channel by one resync at most; older missed posts are given up (and logged). */
  maxPostsPerChannel: number;
  /**
   * Posts up to this much older than the cursor are checked too when the pages read reach them: a
   * post committed a moment before the newest seen one can have its event sent after it.
   */
  overlapMs: number;
  /**
   * How long read posts wait before they count as missed: a post read while its event is still on
   * the way is left to the event (and not reported as missed).
   */
  settleMs: number;
  /** Missed posts with the core at the same time: in all, and of one author (below the core's per-person limit). */
  handoff: { total: number; perAuthor: number };
}

export interface ResyncResult {
  trigger: ResyncTrigger;
  /** Channels listed. */
  channels: number;
  /** Channels past their cursor, read. */
  behind: number;
  /** Posts read (new to the tracker or not). */
  read: number;
  /** Posts no event had delivered: handed over now. */
  posts: number;
  failedChannels: number;
}

export interface ResyncHooks {
  /** Hands a missed post over; the returned promise holds its hand-over slot until it settles. */
  deliver(post: MattermostPost, channelType: ChannelType | undefined): void | Promise<void>;
  onDone(result: ResyncResult): void;
}

const FIRST_PAGE = 25;
const MAX_PAGE = 200;
const REMEMBERED_IDS = 20_000;
const RETRIES = 3;

/** A set that forgets its oldest entries past `max`. */
class BoundedSet {
  private readonly items = new Set<string>();
  constructor(private readonly max: number) {}
  has(id: string): boolean {
    return this.items.has(id);
  }
  add(id: string): void {
    this.items.delete(id);
    this.items.add(id);
    if (this.items.size > this.max) this.items.delete(this.items.values().next().value!);
  }
  delete(id: string): boolean {
    return this.items.delete(id);
  }
}

export class MattermostResync {
  /** Per channel: the newest create_at seen (server clock). */
  private readonly cursors = new Map<string, number>();
  /** Per channel: the newest create_at that counts as history (its last post at start): never handed over. */
  private readonly history = new Map<string, number>();
  /** Per channel found past its cursor at the last stall check: the last_post_at seen then. */
  private readonly behindAtLastCheck = new Map<string, number>();
  /** Posts handed over, live or re-read. */
  private readonly delivered = new BoundedSet(REMEMBERED_IDS);
  /** Posts a resync handed over: their late events are dropped. */
  private readonly resynced = new BoundedSet(REMEMBERED_IDS);
  /** Count of troubles seen, and the count the last resync's listing covered: equal = the stream is whole. */
  private troubles = 0;
  private wholeAt = 0;
  /** Channels found behind but not read (a failed read, over the channel cap): their cursors wait. */
  private readonly unread = new Set<string>();
  /** Our clock when tracking began: the floor of channels without a cursor (joined later). */
  private startedAt = Date.now();
  private running: Promise<void> | undefined;
  private queued: ResyncTrigger | undefined;
  private stopped = false;
  /** Per author: hand-overs under way, and those waiting for one of the author's slots. */
  private readonly authors = new Map<string, { active: number; waiting: Array<() => Promise<void>> }>();
  private readonly handoffLimit: ReturnType<typeof pLimit>;
  private handoffsPending = 0;
  private handoffsIdle: Array<() => void> = [];
  /** Ends the pause between retries early (stop). */
  private wake: (() => void) | undefined;

  constructor(
    private readonly source: ResyncSource,
    private readonly hooks: ResyncHooks,
    private readonly settings: ResyncSettings,
    private readonly logger: Logger,
  ) {
    this.handoffLimit = pLimit(Math.max(1, settings.handoff.total));
  }

  /** A `posted` event from the websocket: false when a resync already handed that post over. */
  live(post: MattermostPost): boolean {
    if (this.wholeAt === this.troubles && !this.unread.has(post.channel_id))
      this.advance(post.channel_id, post.create_at);
    if (this.resynced.delete(post.id)) return false;
    this.delivered.add(post.id);
    return true;
  }

  /**
   * The starting point, taken before the websocket opens: every channel's newest post counts as
   * seen and as history. Throws when the listing fails (channels then start at our clock).
   */
  async baseline(): Promise<void> {
    this.startedAt = Date.now();
    const channels = await this.source.listChannels();
    for (const channel of channels) {
      this.advance(channel.id, channel.lastPostAt);
      this.history.set(channel.id, Math.max(this.history.get(channel.id) ?? 0, channel.lastPostAt));
    }
  }

  /** Events may have been lost from here on: cursors stay until a resync has listed the channels. */
  trouble(): void {
    this.troubles++;
  }

  /** Runs a resync now, or once more after the one running (triggers coalesce). */
  request(trigger: ResyncTrigger): void {
    if (this.stopped) return;
    if (this.running) {
      this.queued ??= trigger;
      return;
    }
    this.running = (async () => {
      try {
        let next: ResyncTrigger | undefined = trigger;
        while (next && !this.stopped) {
          this.queued = undefined;
          await this.withRetries(next);
          next = this.queued;
        }
      } finally {
        this.running = undefined;
      }
    })();
  }

  /** True while a resync runs (a stall check then waits for the next tick). */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /**
   * The stall check: lists the channels and returns how many fell behind since the last check
   * (a post seen then in the listing and still not seen now). Throws when the listing fails.
   */
  async checkStalled(): Promise<number> {
    const channels = await this.source.listChannels();
    let stalled = 0;
    const listed = new Set<string>();
    for (const channel of channels) {
      listed.add(channel.id);
      const cursor = this.cursors.get(channel.id) ?? this.floor();
      const before = this.behindAtLastCheck.get(channel.id);
      if (before !== undefined && cursor < before) stalled++;
      if (channel.lastPostAt > cursor) this.behindAtLastCheck.set(channel.id, channel.lastPostAt);
      else this.behindAtLastCheck.delete(channel.id);
    }
    for (const id of this.behindAtLastCheck.keys()) if (!listed.has(id)) this.behindAtLastCheck.delete(id);
    if (stalled > 0) this.behindAtLastCheck.clear();
    return stalled;
  }

  /** Stops resyncing and handing over; what is already with the core finishes there. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running?.catch(() => undefined);
  }

  /** Resolves when no resync runs and every missed post handed over has been dealt with. */
  async idle(): Promise<void> {
    while (this.running || this.handoffsPending > 0) {
      await this.running?.catch(() => undefined);
      if (this.handoffsPending > 0) await new Promise<void>((resolve) => this.handoffsIdle.push(resolve));
    }
  }

  // ------------------------------------------------------------------ internals

  private advance(channelId: string, createAt: number): void {
    if (createAt > (this.cursors.get(channelId) ?? 0)) this.cursors.set(channelId, createAt);
  }

  /** Where a channel without a cursor starts: when tracking began, or the age limit if later. */
  private floor(): number {
    return Math.max(this.startedAt, Date.now() - this.settings.maxAgeMs);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wake?.(), ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private async withRetries(trigger: ResyncTrigger): Promise<void> {
    for (let attempt = 0; attempt < RETRIES && !this.stopped; attempt++) {
      try {
        const failed = await this.once(trigger);
        if (failed === 0) return;
        this.logger.warn({ trigger, failedChannels: failed, attempt }, 'Mattermost resync skipped channels; retrying');
      } catch (err) {
        this.logger.warn({ err: describeError(err), trigger, attempt }, 'Mattermost resync failed; retrying');
      }
      // 1 s, then 2 s, with up to 50 % jitter: a server that failed is not asked again at once.
      if (attempt + 1 < RETRIES) await this.pause(1_000 * 2 ** attempt * (1 + Math.random() / 2));
    }
  }

  /** Reads every channel past its cursor and hands over what no event delivered; returns failed channels. */
  private async once(trigger: ResyncTrigger): Promise<number> {
    const troubles = this.troubles;
    const channels = await this.source.listChannels();
    // Everything up to this listing is read below: live events may move the cursors again.
    this.wholeAt = Math.max(this.wholeAt, troubles);
    if (this.settings.maxAgeMs <= 0) {
      // Resync is off: nothing missed is answered, and the listing only moves the cursors.
      for (const channel of channels) this.advance(channel.id, channel.lastPostAt);
      return 0;
    }
    const behind = channels
      .filter((c) => c.lastPostAt > (this.cursors.get(c.id) ?? this.floor()))
      .sort((a, b) => b.lastPostAt - a.lastPostAt);
    for (const channel of behind) this.unread.add(channel.id);
    if (behind.length > this.settings.maxChannels)
      this.logger.warn(
        { behind: behind.length, read: this.settings.maxChannels },
        'Mattermost resync: more channels behind than it reads at once; the least recently active wait for the next resync',
      );
    const limit = pLimit(4);
    let failedChannels = 0;
    let read = 0;
    const perChannel = await Promise.all(
      behind.slice(0, this.settings.maxChannels).map((channel) =>
        limit(async () => {
          if (this.stopped) return [];
          try {
            const posts = await this.readMissed(channel);
            this.unread.delete(channel.id);
            read += posts.length;
            return posts.map((post) => ({ post, channelType: channel.type }));
          } catch (err) {
            failedChannels++;
            this.logger.warn({ err: describeError(err), channelId: channel.id }, 'Mattermost resync: channel skipped');
            return [];
          }
        }),
      ),
    );
    const candidates = perChannel
      .flat()
      .filter(({ post }) => !this.delivered.has(post.id))
      .sort((a, b) => a.post.create_at - b.post.create_at);
    if (candidates.length > 0 && this.settings.settleMs > 0) await this.pause(this.settings.settleMs);
    const floor = Date.now() - this.settings.maxAgeMs;
    let missed = 0;
    for (const { post, channelType } of candidates) {
      if (this.stopped) break;
      // Checked and marked in one step: a live event of the same post is dropped from now on.
      if (this.delivered.has(post.id) || post.delete_at !== 0 || post.create_at < floor) continue;
      this.delivered.add(post.id);
      this.resynced.add(post.id);
      missed++;
      this.handOver(post, channelType);
    }
    mattermostResyncPostsTotal.inc({ result: 'missed' }, missed);
    mattermostResyncPostsTotal.inc({ result: 'seen' }, read - missed);
    const result = { trigger, channels: channels.length, behind: behind.length, read, posts: missed, failedChannels };
    // Channels left for later count as failed: the retry reads them.
    failedChannels += Math.max(0, behind.length - this.settings.maxChannels);
    if (missed > 0)
      this.logger.warn(result, 'Mattermost resync found posts no websocket event delivered; answering them now');
    else this.logger.info(result, 'Mattermost resync done');
    this.hooks.onDone(result);
    return failedChannels;
  }

  /**
   * A channel's posts from its newest back to the cursor (and the overlap, where the pages read
   * reach it), oldest first. The cursor moves to what the listing said, so a deleted newest post
   * does not leave the channel behind forever.
   */
  private async readMissed(channel: ResyncChannel): Promise<MattermostPost[]> {
    const cursor = this.cursors.get(channel.id) ?? this.floor();
    const oldest = Math.max(
      cursor - this.settings.overlapMs,
      (this.history.get(channel.id) ?? this.startedAt - 1) + 1,
      Date.now() - this.settings.maxAgeMs,
    );
    const found: MattermostPost[] = [];
    // Offsets 0-25, 25-50, 50-100, 100-200, 200-400, 400-600, …: page × size stays contiguous as the
    // size doubles. A post arriving meanwhile shifts a later page by one: read twice, never skipped.
    let size = FIRST_PAGE;
    let page = 0;
    let total = 0;
    for (;;) {
      const posts = await this.source.readPage(channel.id, page, size);
      total += posts.length;
      let reachedCursor = false;
      for (const post of posts) {
        if (post.create_at < cursor) reachedCursor = true;
        if (post.create_at >= oldest) found.push(post);
      }
      if (reachedCursor || posts.length < size || this.stopped) break;
      if (total >= this.settings.maxPostsPerChannel) {
        this.logger.warn(
          { channelId: channel.id, read: total },
          'Mattermost resync: more posts missed in a channel than it reads at once; the older ones are not answered',
        );
        break;
      }
      if (page === 0) page = 1;
      else if (size < MAX_PAGE) size *= 2;
      else page++;
    }
    this.advance(channel.id, channel.lastPostAt);
    for (const post of found) this.advance(channel.id, post.create_at);
    return found;
  }

  /** Queues a missed post for the core: FIFO per author, at most `perAuthor` of theirs and `total` in all at once. */
  private handOver(post: MattermostPost, channelType: ChannelType | undefined): void {
    this.handoffsPending++;
    const author = post.user_id;
    let slots = this.authors.get(author);
    if (!slots) this.authors.set(author, (slots = { active: 0, waiting: [] }));
    slots.waiting.push(async () => {
      try {
        await this.handoffLimit(async () => {
          if (!this.stopped) await this.hooks.deliver(post, channelType);
        });
      } catch (err) {
        this.logger.error({ err: describeError(err), postId: post.id }, 'Mattermost post handler failed');
      } finally {
        slots.active--;
        if (--this.handoffsPending === 0) for (const resolve of this.handoffsIdle.splice(0)) resolve();
        this.startHandoffs(author);
      }
    });
    this.startHandoffs(author);
  }

  private startHandoffs(author: string): void {
    const slots = this.authors.get(author);
    if (!slots) return;
    while (slots.active < Math.max(1, this.settings.handoff.perAuthor) && slots.waiting.length > 0) {
      slots.active++;
      void slots.waiting.shift()!();
    }
    if (slots.active === 0 && slots.waiting.length === 0) this.authors.delete(author);
  }
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
