import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Store } from '../storage/store.ts';
import { errorDraft } from '../core/answer.ts';
import { Admission, type AdmissionLimits, type Refused } from './admission.ts';
import type { Bot } from './bot.ts';
import { DraftStream } from './draft-stream.ts';
import { feedbackContext, recordVote, type Vote } from './feedback.ts';
import { threadKey, type Incoming } from '../core/incoming.ts';
import type { PlatformMessage } from './platform-message.ts';
import { postAll, postChannelMessage, type ChannelMessage } from './posting.ts';
import { toAnswer } from './render.ts';
import { runSlash, type SlashRequest } from './slash-command.ts';
import type { Surface, SurfacePlatform } from './surface.ts';
import { ThinkingStatus } from './thinking-status.ts';
import { ThreadHistory } from './thread-history.ts';
import { seedFromPlatform } from './thread-seed.ts';
import { ThreadQueue } from './thread-queue.ts';
import { withRequest } from '../util/request-context.ts';
import { dedupeHitsTotal, queueDepth, questionsTotal, storeErrorsTotal } from '../core/metrics.ts';

/** Platforms re-deliver for minutes (Slack's retries, a websocket resync): an hour of claims covers it. */
const DEDUPE_TTL_MS = 60 * 60 * 1000;
/** The default back-pressure (config `limits`): 16 answered at once, more wait their turn. */
export const DEFAULT_LIMITS: AdmissionLimits = {
  maxConcurrent: 16,
  maxQueued: 200,
  perUserInFlight: 3,
  perUserPerMinute: 20,
  perMinute: 600,
};
/** Answers still running this long after stop() are abandoned. */
const STOP_GRACE_MS = 10_000;

export interface ConversationDeps {
  bot: Bot;
  store: Store;
  config: Pick<Config, 'bot' | 'history'> & { limits?: AdmissionLimits };
  logger: Logger;
}

/**
 * The conversation core every chat platform shares: claim-once per message, answers in order per
 * thread, the thinking status, streaming a draft, posting the rendered messages (the first one
 * replacing the draft, plain text when the platform refuses), seeding history from the platform's
 * thread, feedback and follow-up clicks, slash commands, the concurrency cap and the error fallback.
 * Adapters translate their platform's events into these calls and implement `Surface`.
 */
export class Conversation {
  private readonly history: ThreadHistory;
  private readonly logger: Logger;
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly admission: Admission;
  private readonly queue = new ThreadQueue();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly surfaces = new Map<SurfacePlatform, Surface>();
  private stopping = false;

  constructor(private readonly deps: ConversationDeps) {
    this.history = new ThreadHistory(deps.store.ns('history'), deps.config.history);
    this.logger = deps.logger.child({ component: 'conversation' });
    const limits = deps.config.limits ?? DEFAULT_LIMITS;
    this.limit = pLimit(limits.maxConcurrent);
    this.admission = new Admission(limits);
  }

  /** An adapter registers its surface when it has connected: digests post through it. */
  attach(surface: Surface): void {
    this.surfaces.set(surface.platform, surface);
  }

  platforms(): SurfacePlatform[] {
    return [...this.surfaces.keys()];
  }

  /** The bot's own user id on a platform (learnt at connect): its mentions are stripped. */
  addBotUserId(id: string): void {
    this.deps.bot.addBotUserId(id);
  }

  /** The bot's username on a platform whose mentions are `@username` (Mattermost). */
  addBotName(name: string): void {
    this.deps.bot.addBotName(name);
  }

  /** Questions waiting for a slot or being answered. */
  get queued(): number {
    return this.limit.pendingCount + this.limit.activeCount;
  }

  /**
   * A mention, DM, thread reply or follow-up click: answered once, in order, in its thread. A
   * question over the limits gets a short "busy, try again in N s" reply instead (once, in order).
   */
  receive<M>(surface: Surface<M>, message: PlatformMessage): Promise<void> {
    if (this.stopping) return Promise.resolve();
    const key = threadKey({ platform: surface.platform, channel: message.channel, thread: message.thread });
    return this.track(this.queue.run(key, () => this.take(surface, message, key)));
  }

  /** Whether the message is the bot's business, then the claim (one replica, one delivery), then the limits. */
  private async take<M>(surface: Surface<M>, message: PlatformMessage, key: string): Promise<void> {
    const log = this.logger.child({ platform: surface.platform, channel: message.channel });
    if (message.addressed === 'thread-reply') {
      // Without a mention, only threads the bot already answered in are its business.
      const turns = await this.history.load(key).catch(() => []);
      if (turns.length === 0) return;
    }
    if (!(await this.claim(surface, message, log))) return;
    // Counted after the claim: a re-delivery or a copy at another replica takes no one's slot.
    const admitted = this.admission.tryAdmit(`${surface.platform}:${message.user}`);
    queueDepth.set(this.admission.active);
    if (!admitted.ok) return this.refuse(surface, message, admitted, log);
    try {
      await this.limit(() =>
        withRequest({ platform: surface.platform }, () => this.answerClaimed(surface, message, log)),
      );
    } finally {
      admitted.release();
      queueDepth.set(this.admission.active);
    }
  }

  /** A 👍/👎 click (see recordVote). */
  vote<M>(surface: Surface<M>, vote: Vote, reply?: (thanks: string) => void): Promise<void> {
    return recordVote({ store: this.deps.store, logger: this.logger }, surface, vote, reply);
  }

  /** `/askpanda …`: commands answer privately; a question is asked in the channel and answered in its thread. */
  slash<M>(surface: Surface<M>, request: SlashRequest<M>): Promise<void> {
    const deps = {
      bot: this.deps.bot,
      logger: this.logger,
      inSlot: <T>(work: () => Promise<T>) => this.limit(work),
      receive: <N>(on: Surface<N>, message: PlatformMessage) => this.receive(on, message),
    };
    return this.track(runSlash(deps, surface, request));
  }

  /** Posts an unprompted message (a digest) in a channel of a connected platform (see postChannelMessage). */
  async postToChannel(platform: string, channel: string, message: ChannelMessage): Promise<{ messageId: string }> {
    const surface = this.surfaces.get(platform as SurfacePlatform);
    if (!surface) throw new Error(`${platform} is not connected in this process`);
    return postChannelMessage(surface, channel, message, this.logger);
  }

  /** Stops taking messages and gives answers in progress a bounded time to be posted. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    this.stopping = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
  }

  /** Resolves when every answer started so far is posted (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work)).catch(() => undefined);
    return work;
  }

  /** True for the one process (of all replicas) that answers this message. */
  private async claim<M>(surface: Surface<M>, message: PlatformMessage, log: Logger): Promise<boolean> {
    const dedupeKey = message.dedupeKey ?? `${surface.platform}:${message.channel}:${message.messageId}`;
    const claimed = await this.deps.store.claimOnce(dedupeKey, DEDUPE_TTL_MS).catch((err: unknown) => {
      // With the store down a rare duplicate answer is better than no answer at all.
      storeErrorsTotal.inc();
      log.warn({ err: String(err) }, 'dedupe store unavailable; answering without the claim');
      return true;
    });
    if (!claimed) {
      dedupeHitsTotal.inc();
      log.debug({ key: dedupeKey }, 'already answered (a re-delivery or another replica); skipped');
    }
    return claimed;
  }

  private async refuse<M>(surface: Surface<M>, message: PlatformMessage, refused: Refused, log: Logger): Promise<void> {
    log.info({ reason: refused.reason, retryAfterSeconds: refused.retryAfterSeconds }, 'busy: question turned away');
    questionsTotal.inc({ platform: surface.platform, agent: 'general', outcome: 'busy' });
    const text = `I am busy right now (${refused.reason}). Please ask again in about ${refused.retryAfterSeconds} s.`;
    const messages = surface.render(toAnswer(errorDraft('general', 'busy', text)), {
      where: { channel: message.channel, thread: message.thread },
      buttons: false,
      preface: message.preface,
    });
    await postAll(
      surface,
      { channel: message.channel, thread: message.thread },
      messages,
      undefined,
      this.logger,
    ).catch((err: unknown) => log.warn({ err: String(err) }, 'could not post the busy notice'));
  }

  private async answerClaimed<M>(surface: Surface<M>, message: PlatformMessage, log: Logger): Promise<void> {
    const where = { channel: message.channel, thread: message.thread };
    const onError = (err: unknown) => log.debug({ err: String(err) }, 'status or draft update failed');
    const status = new ThinkingStatus(
      surface.status({
        channel: message.channel,
        thread: message.thread,
        user: message.user,
        isDirect: message.isDirect,
        reactTo: message.reactTo === null ? undefined : (message.reactTo ?? message.messageId),
      }),
      surface.timing,
      onError,
    );
    const draft = new DraftStream(surface, where, onError);
    let answered = false;
    let historySaved: Promise<void> | undefined;
    try {
      if (message.readThreadFirst) {
        const key = threadKey({ platform: surface.platform, channel: message.channel, thread: message.thread });
        const thread = { key, channel: message.channel, thread: message.thread, messageId: message.messageId };
        await seedFromPlatform(surface, this.history, thread, (text) => this.asked(text), log);
      }
      const incoming: Incoming = {
        platform: surface.platform,
        channel: message.channel,
        thread: message.thread,
        user: message.user,
        text: message.text,
        isDirect: message.isDirect,
        messageId: message.messageId,
      };
      const answer = await this.deps.bot.handle(incoming, {
        progress: (text) => status.set(text),
        onPartialText: (markdown) => {
          status.stop();
          draft.update(markdown);
        },
        newThread: message.thread === message.messageId,
        // The history is written while the answer is rendered and posted; awaited below.
        deferHistorySave: (saved) => (historySaved = saved),
      });
      status.stop();
      const messages = surface.render(answer, {
        where,
        preface: message.preface,
        buttons: true,
        feedback: feedbackContext(answer, this.asked(message.text)),
      });
      await postAll(surface, where, messages, await draft.settle(), this.logger);
      answered = true;
    } catch (err) {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'could not answer a message');
      const notice = surface.renderNotice(
        'Something went wrong on my side while answering. Please try again in a minute.',
      );
      await postAll(surface, where, [notice], await draft.settle(), this.logger).catch(() => undefined);
    } finally {
      await status.finish(answered);
      // A refused history write was already reported by the bot; the answer is posted either way.
      await historySaved?.catch(() => undefined);
    }
  }

  private asked(text: string): string {
    return this.deps.bot.stripMention(text);
  }
}
