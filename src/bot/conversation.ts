import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import { emptyDraft, errorDraft, type Answer } from '../core/answer.ts';
import { AskPandaError } from '../core/errors.ts';
import { threadKey, type Incoming } from '../core/incoming.ts';
import { dedupeHitsTotal, queueDepth, questionsTotal, storeErrorsTotal } from '../core/metrics.ts';
import type { Store } from '../storage/store.ts';
import { withRequest } from '../util/request-context.ts';
import { Admission, busySentence, DEFAULT_LIMITS, type AdmissionLimits, type Refused } from './admission.ts';
import type { Bot } from './bot.ts';
import { DraftStream } from './draft-stream.ts';
import { feedbackContext, recordVote, type Vote } from './feedback.ts';
import type { PlatformMessage } from './platform-message.ts';
import { postAll, postChannelMessage, type ChannelMessage } from './posting.ts';
import type { Asked, QuestionRequest, Requester } from './question-request.ts';
import { toAnswer } from './render.ts';
import { runSlash, type SlashRequest } from './slash-command.ts';
import type { Surface, SurfacePlatform } from './surface.ts';
import { ThinkingStatus } from './thinking-status.ts';
import type { ThreadHistory } from './thread-history.ts';
import { seedFromPlatform } from './thread-seed.ts';
import { ThreadQueue } from './thread-queue.ts';

/** Platforms re-deliver for minutes (Slack's retries, a websocket resync): an hour of claims covers it. */
const DEDUPE_TTL_MS = 60 * 60 * 1000;
/** Answers still running this long after stop() are abandoned. */
const STOP_GRACE_MS = 10_000;
const FAILURE_NOTICE = 'Something went wrong on my side while answering. Please try again in a minute.';

export interface ConversationDeps {
  bot: Bot;
  store: Store;
  /** The process's one thread history (the bot reads and writes it): the core checks, seeds and prepares threads. */
  history: ThreadHistory;
  /** Config `limits`; DEFAULT_LIMITS when omitted. */
  limits?: AdmissionLimits;
  logger: Logger;
}

/** One question on its way through the core, from a chat platform or from a request. */
interface Question {
  channel: string;
  thread: string;
  /** The thread's storage key (threadKey). */
  key: string;
  messageId: string;
  user: string;
  text: string;
  isDirect: boolean;
  preface?: string;
  reactTo?: string;
  remember?: boolean;
  signal?: AbortSignal;
  /** Writes the thread's history before the question is answered (the platform's thread, the request's messages). */
  seed?: () => Promise<void>;
  /** `notice`: a failure is answered in the thread (chat). `throw`: the caller's protocol reports it (a request). */
  onFailure: 'notice' | 'throw';
}

/**
 * The conversation core every surface shares: claim-once per chat message, answers in order per
 * thread, one admission pool and one concurrency cap per process, the thinking status, streaming a
 * draft, posting the rendered messages (the first one replacing the draft, plain text when the
 * platform refuses), seeding history from the platform's thread, feedback and follow-up clicks,
 * slash commands and the error fallback. Chat adapters translate their platform's events into
 * `receive`, `slash` and `vote`; the terminal, `ask`, the web chat, /v1 and MCP call `ask` on a
 * request surface and get the Answer back.
 */
export class Conversation {
  private readonly logger: Logger;
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly admission: Admission;
  private readonly queue = new ThreadQueue();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly surfaces = new Map<SurfacePlatform, Surface>();
  private stopping = false;

  constructor(private readonly deps: ConversationDeps) {
    this.logger = deps.logger.child({ component: 'conversation' });
    const limits = deps.limits ?? DEFAULT_LIMITS;
    this.limit = pLimit(limits.maxConcurrent);
    this.admission = new Admission(limits);
  }

  /** A chat adapter registers its surface when it has connected: digests post through it. */
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

  /**
   * A question from a request surface: in order in its thread, within the same limits, with the
   * same status and draft streaming as a chat message; resolves with the Answer (the busy sentence
   * when over the limits) and rejects when answering failed (the caller's protocol says so).
   */
  ask<M>(surface: Surface<M>, request: QuestionRequest): Promise<Asked> {
    const thread = request.thread ?? `once-${randomUUID()}`;
    const key = threadKey({ platform: surface.platform, channel: request.channel, thread });
    const seed = request.seed;
    const question: Question = {
      channel: request.channel,
      thread,
      key,
      // No platform id and never delivered twice: an id of its own, and nothing to claim.
      messageId: randomUUID(),
      user: request.user,
      text: request.text,
      isDirect: true,
      remember: request.thread !== undefined,
      signal: request.signal,
      seed: seed && (() => seed(this.deps.history)),
      onFailure: 'throw',
    };
    const log = this.logger.child({ platform: surface.platform, channel: request.channel });
    return this.track(
      this.queue.run(key, async () => {
        const outcome = await this.withinLimits(surface.platform, clientOf(surface.platform, request), () =>
          this.answer(surface, question, log),
        );
        if (outcome.ok) return outcome.value;
        return { answer: busyAnswer(outcome), retryAfterSeconds: outcome.retryAfterSeconds };
      }),
    );
  }

  /**
   * Work that answers without a thread (an MCP tool reading the monitor) within the same limits as
   * every question; over them it throws AskPandaError "busy" with the sentence a chat user gets.
   */
  async limited<T>(platform: SurfacePlatform, requester: Requester, work: () => Promise<T>): Promise<T> {
    const outcome = await this.withinLimits(platform, clientOf(platform, requester), work);
    if (!outcome.ok) throw new AskPandaError('busy', busySentence(outcome));
    return outcome.value;
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

  /** Stops taking chat messages and gives answers in progress a bounded time to be posted. */
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

  /** Whether the message is the bot's business, then the claim (one replica, one delivery), then the limits. */
  private async take<M>(surface: Surface<M>, message: PlatformMessage, key: string): Promise<void> {
    const log = this.logger.child({ platform: surface.platform, channel: message.channel });
    if (message.addressed === 'thread-reply') {
      // Without a mention, only threads the bot already answered in are its business.
      const turns = await this.deps.history.load(key).catch(() => []);
      if (turns.length === 0) return;
    }
    if (!(await this.claim(surface, message, log))) return;
    const where = { key, channel: message.channel, thread: message.thread, messageId: message.messageId };
    const question: Question = {
      ...where,
      user: message.user,
      text: message.text,
      isDirect: message.isDirect,
      preface: message.preface,
      reactTo: message.reactTo === null ? undefined : (message.reactTo ?? message.messageId),
      seed: message.readThreadFirst
        ? () => seedFromPlatform(surface, this.deps.history, where, (text) => this.asked(text), log)
        : undefined,
      onFailure: 'notice',
    };
    // Counted after the claim: a re-delivery or a copy at another replica takes no one's slot. A
    // person is one user on their platform, whichever channel they write in.
    const client = { key: `${surface.platform}:${message.user}`, perUser: true };
    const outcome = await this.withinLimits(surface.platform, client, () => this.answer(surface, question, log));
    if (!outcome.ok) await this.refuse(surface, message, outcome, log);
  }

  /** Admission (the in-flight and per-minute limits), then one of `maxConcurrent` answer slots, as one request for the logs. */
  private async withinLimits<T>(
    platform: SurfacePlatform,
    client: Client,
    work: () => Promise<T>,
  ): Promise<{ ok: true; value: T } | Refused> {
    const admitted = this.admission.tryAdmit(client.key, { perUser: client.perUser });
    queueDepth.set(this.admission.active);
    if (!admitted.ok) {
      this.logger.info(
        { platform, reason: admitted.reason, retryAfterSeconds: admitted.retryAfterSeconds },
        'busy: question turned away',
      );
      questionsTotal.inc({ platform, agent: 'general', outcome: 'busy' });
      return admitted;
    }
    try {
      return { ok: true, value: await this.limit(() => withRequest({ platform }, work)) };
    } finally {
      admitted.release();
      queueDepth.set(this.admission.active);
    }
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
    const where = { channel: message.channel, thread: message.thread };
    const messages = surface.render(busyAnswer(refused), { where, buttons: false, preface: message.preface });
    await postAll(surface, where, messages, undefined, this.logger).catch((err: unknown) =>
      log.warn({ err: String(err) }, 'could not post the busy notice'),
    );
  }

  /** The status, the draft, the bot's answer, posting it; then the status cleared and the history written. */
  private async answer<M>(surface: Surface<M>, question: Question, log: Logger): Promise<Asked> {
    const where = { channel: question.channel, thread: question.thread };
    const onError = (err: unknown) => log.debug({ err: String(err) }, 'status or draft update failed');
    const status = new ThinkingStatus(
      surface.status({ ...where, user: question.user, isDirect: question.isDirect, reactTo: question.reactTo }),
      surface.timing,
      onError,
    );
    const renderDraft = surface.renderDraft?.bind(surface);
    const draft = renderDraft && new DraftStream(surface, renderDraft, where, onError);
    let historySaved: Promise<void> | undefined;
    let outcome: { answer: Answer } | { failure: unknown };
    try {
      await question.seed?.();
      const incoming: Incoming = {
        platform: surface.platform,
        ...where,
        user: question.user,
        text: question.text,
        isDirect: question.isDirect,
        messageId: question.messageId,
      };
      const answer = await this.deps.bot.handle(incoming, {
        progress: (text) => status.set(text),
        onPartialText:
          draft &&
          ((markdown) => {
            status.stop();
            draft.update(markdown);
          }),
        newThread: question.thread === question.messageId,
        remember: question.remember,
        signal: question.signal,
        // The history is written while the answer is rendered and posted; awaited below.
        deferHistorySave: (saved) => (historySaved = saved),
      });
      status.stop();
      const messages = surface.render(answer, {
        where,
        preface: question.preface,
        buttons: true,
        feedback: feedbackContext(answer, this.asked(question.text)),
      });
      await postAll(surface, where, messages, await draft?.settle(), this.logger);
      outcome = { answer };
    } catch (err) {
      outcome = { failure: err };
      const draftId = await draft?.settle();
      if (question.onFailure === 'notice') {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'could not answer a message');
        await postAll(surface, where, [surface.renderNotice(FAILURE_NOTICE)], draftId, this.logger).catch(
          () => undefined,
        );
      }
    }
    await status.finish('answer' in outcome);
    // A refused history write was already reported by the bot; the answer is posted either way.
    const historyError = await historySaved?.then(
      () => undefined,
      (err: unknown) => err ?? new Error('the history was not saved'),
    );
    if ('failure' in outcome) {
      if (question.onFailure === 'throw') throw outcome.failure;
      // What the thread was told instead of an answer.
      return { answer: toAnswer(emptyDraft('general', FAILURE_NOTICE)) };
    }
    return historyError === undefined ? { answer: outcome.answer } : { answer: outcome.answer, historyError };
  }

  private asked(text: string): string {
    return this.deps.bot.stripMention(text);
  }
}

/** Who the limits count a question against. */
interface Client {
  key: string;
  /** false: the one local user (a terminal, a local MCP client), held only to the process-wide limits. */
  perUser: boolean;
}

/** A request's client is one user per endpoint (the web chat and /v1 from one address are two). */
function clientOf(platform: SurfacePlatform, requester: Requester): Client {
  return { key: `${platform}:${requester.channel}:${requester.user}`, perUser: !requester.local };
}

function busyAnswer(refused: Refused): Answer {
  return toAnswer(errorDraft('general', 'busy', busySentence(refused)));
}
