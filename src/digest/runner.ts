import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { PandaClient } from '../panda/client.ts';
import { silentLogger } from '../util/log.ts';
import { buildDigest, type BuiltDigest, type TaskDigest, type TaskWindowData } from './builder.ts';
import { DigestData, missingFailuresNote, missingStatusNote, type Fetched } from './digest-data.ts';
import type { DigestMessage, DigestPoster, DigestTarget } from './poster.ts';
import { latestRunAtOrBefore, runsBetween } from '../core/schedule.ts';
import { keys, targetKey, type DigestState, type Subscription } from './subscription.ts';
import type { SubscriptionStore } from './subscription-store.ts';
import type { ErrorsResponse, TaskWithCounts } from '../panda/schemas.ts';
import { AskPandaError } from '../core/errors.ts';

export interface DigestSettings {
  quiet: 'post' | 'silent';
  /** After the monitor or the platform failed, the next attempt comes this many minutes later. */
  retryMinutes: number;
  /** A digest this late (behind its scheduled time) goes out with a note instead of waiting longer. */
  maxDelayMinutes: number;
  /**
   * How long a claim on (subscription, window end) holds. A run that died after claiming is retried
   * once it expires; a run never posts on a claim older than this (minus a margin).
   */
  claimLeaseMs: number;
}

export interface DigestRunnerDeps {
  subscriptions: SubscriptionStore;
  client: PandaClient;
  poster: DigestPoster;
  settings: DigestSettings;
  logger?: Logger;
  /** Real time for the claim lease (the store's expiry runs on it), even when `run(at)` is virtual. */
  clock?: () => number;
  /** Optional one-line summary on top (a model); failures and time-outs just leave it out. */
  summarize?: (message: DigestMessage, tasks: readonly TaskDigest[]) => Promise<string | undefined>;
  /** Channels posted to at once. */
  postConcurrency?: number;
}

export interface RunReport {
  at: string;
  /** Subscriptions whose window was due in this run (postable ones). */
  due: number;
  posted: Array<{ target: DigestTarget; messageId: string; tasks: number[]; catchUp: boolean }>;
  /** Windows recorded without a message (nothing new and digest.quiet = silent). */
  quiet: number;
  /** Due windows another run or replica holds (or already posted). */
  claimedElsewhere: number;
  /** Windows put back because the monitor did not answer; retried from retryAt. */
  waitingForMonitor: Array<{ jeditaskid: number; target: DigestTarget; retryAt: string }>;
  /** Posts the platform refused; retried later, given up after maxDelayMinutes. */
  failedPosts: Array<{ target: DigestTarget; error: string; givenUp: boolean }>;
  /** Due subscriptions on platforms no poster reaches; left due, untouched. */
  unpostable: Array<{ platform: string; subscriptions: number }>;
  /** Tasks whose last digest went out (final state): those subscriptions ended. */
  ended: number[];
  monitorRequests: number;
  /** Milliseconds spent building each channel's message (the benchmark's per-channel figure). */
  buildMs: number[];
}

interface DueWindow {
  subscription: Subscription;
  state: DigestState;
  end: number;
  endIso: string;
  dataFrom: number;
  attempt: number;
  missedRuns: number;
  claimedAt?: number;
}

const iso = (t: number) => new Date(t).toISOString();

function initialState(subscription: Subscription, now: number): DigestState {
  return {
    subscriptionId: subscription.id,
    lastEnd: subscription.createdAt,
    dataFrom: subscription.createdAt,
    seenCodes: [],
    attempt: 0,
    updatedAt: iso(now),
  };
}

export type CollectedWindow = TaskWindowData & {
  errorsFetch: Fetched<ErrorsResponse>;
  statusFetch: Fetched<TaskWithCounts>;
};

/**
 * Fetches what the builder needs for a set of task windows: one /errors/ request per distinct
 * (task, window), /tasks/ rows in chunks of 50.
 */
export async function collectTaskWindows(
  data: DigestData,
  items: ReadonlyArray<{
    jeditaskid: number;
    window: { after: number; until: number };
    previous?: TaskWindowData['previous'];
    missedRuns?: number;
  }>,
): Promise<CollectedWindow[]> {
  const [statuses, errors] = await Promise.all([
    data.statuses(items.map((i) => i.jeditaskid)),
    Promise.all(items.map((i) => data.errors(i.jeditaskid, i.window))),
  ]);
  return items.map((item, index) => {
    const status = statuses.get(item.jeditaskid);
    const fetched = errors[index]!;
    return {
      jeditaskid: item.jeditaskid,
      window: item.window,
      previous: item.previous,
      missedRuns: item.missedRuns,
      task: status?.ok ? status.value : undefined,
      taskProblem: status && !status.ok ? missingStatusNote(status.error) : undefined,
      errors: fetched.ok ? fetched.value : undefined,
      errorsProblem: fetched.ok ? undefined : missingFailuresNote(fetched.error),
      errorsFetch: fetched,
      statusFetch: status ?? {
        ok: false,
        error: new AskPandaError('monitor_unavailable', `No status for task ${item.jeditaskid}.`),
      },
    };
  });
}

/**
 * One digest run at instant `at`: what `serve`'s tick does each minute and `askpanda digest run
 * --at` does once. For every subscription whose latest scheduled time is past the end of its last
 * window, the window (last end, that time] is due; windows missed while nothing ran fold into one
 * catch-up. Each (subscription, window end, attempt) is claimed in the store before anything is
 * fetched or posted, and a posted record written after the post makes the window done: a second
 * run at the same instant, a restart or a second replica posts nothing twice, and a run that died
 * between claim and post is retried once its claim's lease has expired.
 */
export class DigestRunner {
  private readonly logger: Logger;
  private readonly clock: () => number;

  constructor(private readonly deps: DigestRunnerDeps) {
    this.logger = deps.logger ?? silentLogger;
    this.clock = deps.clock ?? Date.now;
  }

  async run(at: Date = new Date()): Promise<RunReport> {
    const atMs = at.getTime();
    const { subscriptions, settings, poster } = this.deps;
    const requestsBefore = this.deps.client.stats.requests;
    const report: RunReport = {
      at: iso(atMs),
      due: 0,
      posted: [],
      quiet: 0,
      claimedElsewhere: 0,
      waitingForMonitor: [],
      failedPosts: [],
      unpostable: [],
      ended: [],
      monitorRequests: 0,
      buildMs: [],
    };

    const byChannel = new Map<string, { target: DigestTarget; windows: DueWindow[] }>();
    const unpostable = new Map<string, number>();
    for (const { subscription, state: stored } of await subscriptions.loadAll()) {
      const state = stored ?? initialState(subscription, this.clock());
      const lastEnd = Date.parse(state.lastEnd);
      const end = latestRunAtOrBefore(subscription.schedule, subscription.timezone, atMs);
      if (end === undefined || end <= lastEnd) continue;
      const endIso = iso(end);
      const pending = state.pendingEnd === endIso;
      if (pending && state.retryAt && Date.parse(state.retryAt) > atMs) continue;
      const target = { platform: subscription.platform, channel: subscription.channel };
      if (poster.canPost && !poster.canPost(target)) {
        unpostable.set(target.platform, (unpostable.get(target.platform) ?? 0) + 1);
        continue;
      }
      const missedRuns = Math.max(
        0,
        runsBetween(subscription.schedule, subscription.timezone, lastEnd, end).length - 1,
      );
      const window: DueWindow = {
        subscription,
        state,
        end,
        endIso,
        dataFrom: Math.min(Date.parse(state.dataFrom), lastEnd),
        attempt: pending ? state.attempt : 0,
        missedRuns,
      };
      const key = targetKey(target.platform, target.channel);
      const group = byChannel.get(key) ?? { target, windows: [] };
      group.windows.push(window);
      byChannel.set(key, group);
      report.due++;
    }
    report.unpostable = [...unpostable].map(([platform, count]) => ({ platform, subscriptions: count }));

    // Claim first, so replicas never fetch or post the same window twice.
    const claimed: Array<{ target: DigestTarget; windows: DueWindow[] }> = [];
    const minute = iso(Math.floor(atMs / 60_000) * 60_000);
    for (const group of byChannel.values()) {
      // One run takes a whole channel, so two replicas never split one channel's digest in two.
      if (
        !(await subscriptions.claim(
          keys.channelLock(group.target.platform, group.target.channel, minute),
          settings.claimLeaseMs,
        ))
      ) {
        report.claimedElsewhere += group.windows.length;
        continue;
      }
      const mine: DueWindow[] = [];
      for (const window of group.windows) {
        if (await this.finishIfPosted(window)) {
          report.claimedElsewhere++;
          continue;
        }
        if (
          !(await subscriptions.claim(
            keys.claim(window.subscription.id, window.endIso, window.attempt),
            settings.claimLeaseMs,
          ))
        ) {
          report.claimedElsewhere++;
          continue;
        }
        // Posted by a run whose claim had already expired when ours was taken: done, nothing to post.
        if (await this.finishIfPosted(window)) {
          report.claimedElsewhere++;
          continue;
        }
        window.claimedAt = this.clock();
        mine.push(window);
      }
      if (mine.length) claimed.push({ target: group.target, windows: mine });
    }

    if (claimed.length) {
      const data = new DigestData(this.deps.client);
      const items = claimed.flatMap((g) => g.windows);
      const collected = await collectTaskWindows(
        data,
        items.map((w) => ({
          jeditaskid: w.subscription.jeditaskid,
          window: { after: w.dataFrom, until: w.end },
          previous: { status: w.state.lastStatus, seenCodes: w.state.seenCodes },
          missedRuns: w.missedRuns,
        })),
      );
      const byWindow = new Map(items.map((w, i) => [w, collected[i]!]));
      const limit = pLimit(this.deps.postConcurrency ?? 4);
      await Promise.all(
        claimed.map((group) => limit(() => this.postChannel(group.target, group.windows, byWindow, atMs, report))),
      );
    }
    report.monitorRequests = this.deps.client.stats.requests - requestsBefore;
    return report;
  }

  /** A posted record for the window means it is done: finish the bookkeeping a dead run left. */
  private async finishIfPosted(window: DueWindow): Promise<boolean> {
    const posted = await this.deps.subscriptions.posted(window.subscription.id, window.endIso);
    if (!posted) return false;
    await this.deps.subscriptions.saveState(window.subscription, posted.next);
    if (posted.ended) await this.deps.subscriptions.remove(window.subscription);
    return true;
  }

  private async postChannel(
    target: DigestTarget,
    windows: DueWindow[],
    byWindow: Map<DueWindow, CollectedWindow>,
    atMs: number,
    report: RunReport,
  ): Promise<void> {
    const { settings, subscriptions } = this.deps;
    const maxDelayMs = settings.maxDelayMinutes * 60_000;
    const ready: DueWindow[] = [];
    for (const window of windows) {
      // Unsubscribed while this run fetched: nothing is posted for it any more.
      const current = await subscriptions.get(
        window.subscription.platform,
        window.subscription.channel,
        window.subscription.jeditaskid,
      );
      if (current?.id !== window.subscription.id) continue;
      const collected = byWindow.get(window)!;
      if (!collected.errorsFetch.ok && atMs - window.end < maxDelayMs) {
        const retryAt = iso(atMs + settings.retryMinutes * 60_000);
        await subscriptions.saveState(window.subscription, {
          ...window.state,
          attempt: window.attempt + 1,
          pendingEnd: window.endIso,
          retryAt,
          updatedAt: iso(this.clock()),
        });
        report.waitingForMonitor.push({ jeditaskid: window.subscription.jeditaskid, target, retryAt });
        this.logger.warn(
          { task: window.subscription.jeditaskid, retryAt, err: collected.errorsFetch.error.message },
          'digest: monitor did not answer; retrying later',
        );
        continue;
      }
      ready.push(window);
    }
    if (ready.length === 0) return;

    const buildStart = performance.now();
    const built: BuiltDigest = buildDigest({
      tasks: ready.map((w) => byWindow.get(w)!),
      timezone: ready[0]!.subscription.timezone,
      quiet: settings.quiet,
      links: { taskPage: (id) => this.deps.client.taskPage(id), jobPage: (id) => this.deps.client.jobPage(id) },
    });
    report.buildMs.push(performance.now() - buildStart);
    let message = built.message;
    if (message && this.deps.summarize) {
      const line = await this.deps.summarize(message, built.tasks).catch(() => undefined);
      if (line)
        message = buildDigest({
          tasks: ready.map((w) => byWindow.get(w)!),
          timezone: ready[0]!.subscription.timezone,
          quiet: settings.quiet,
          summaryLine: line,
          links: { taskPage: (id) => this.deps.client.taskPage(id), jobPage: (id) => this.deps.client.jobPage(id) },
        }).message;
    }

    // Never post on a claim that may have expired: another run could hold the window by now.
    const margin = Math.min(60_000, settings.claimLeaseMs / 4);
    const oldestClaim = Math.min(...ready.map((w) => w.claimedAt ?? 0));
    if (this.clock() - oldestClaim > settings.claimLeaseMs - margin) {
      for (const w of ready)
        await subscriptions.saveState(w.subscription, {
          ...w.state,
          attempt: w.attempt + 1,
          pendingEnd: w.endIso,
          retryAt: undefined,
          updatedAt: iso(this.clock()),
        });
      this.logger.warn(
        { target, tasks: ready.map((w) => w.subscription.jeditaskid) },
        'digest: the run took longer than the claim lease; retrying on the next tick',
      );
      return;
    }

    let messageId = '';
    let outcome: 'posted' | 'quiet' | 'undeliverable' = 'quiet';
    if (message) {
      try {
        messageId = (await this.deps.poster.post(target, message)).messageId;
        outcome = 'posted';
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        const late = atMs - Math.min(...ready.map((w) => w.end)) >= maxDelayMs;
        report.failedPosts.push({ target, error, givenUp: late });
        this.logger.warn({ target, err: error, givenUp: late }, 'digest: posting failed');
        if (!late) {
          const retryAt = iso(atMs + settings.retryMinutes * 60_000);
          for (const w of ready)
            await subscriptions.saveState(w.subscription, {
              ...w.state,
              attempt: w.attempt + 1,
              pendingEnd: w.endIso,
              retryAt,
              updatedAt: iso(this.clock()),
            });
          return;
        }
        outcome = 'undeliverable';
      }
    }

    for (const [index, w] of ready.entries()) {
      const digest = built.tasks[index]!;
      const collected = byWindow.get(w)!;
      const delivered = outcome !== 'undeliverable';
      const next: DigestState = {
        subscriptionId: w.subscription.id,
        lastEnd: w.endIso,
        // Failures the readers did not get (monitor down, post undeliverable) go into the next digest.
        dataFrom: delivered && collected.errorsFetch.ok ? w.endIso : iso(w.dataFrom),
        seenCodes: delivered ? [...new Set([...w.state.seenCodes, ...digest.codes])] : w.state.seenCodes,
        lastStatus: digest.status ?? w.state.lastStatus,
        attempt: 0,
        lastMessageId: messageId || w.state.lastMessageId,
        updatedAt: iso(this.clock()),
      };
      const ended = delivered && digest.ended;
      await subscriptions.recordPosted({
        subscriptionId: w.subscription.id,
        end: w.endIso,
        messageId,
        outcome,
        postedAt: iso(this.clock()),
        next,
        ended,
      });
      await subscriptions.saveState(w.subscription, next);
      if (ended) {
        await subscriptions.remove(w.subscription);
        report.ended.push(w.subscription.jeditaskid);
      }
    }
    if (outcome === 'posted') {
      report.posted.push({
        target,
        messageId,
        tasks: ready.map((w) => w.subscription.jeditaskid),
        catchUp: ready.some((w) => w.missedRuns > 0),
      });
      this.logger.info({ target, messageId, tasks: ready.map((w) => w.subscription.jeditaskid) }, 'digest posted');
    } else if (outcome === 'quiet') {
      report.quiet += ready.length;
    }
  }
}
