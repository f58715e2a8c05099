import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Store } from '../storage/store.ts';
import { emptyDraft, errorDraft, type Answer } from '../core/answer.ts';
import { Admission, type AdmissionLimits, type Refused } from './admission.ts';
import type { Bot } from './bot.ts';
import { parseCommand } from './commands.ts';
import { DraftStream } from './draft-stream.ts';
import type { Turn } from '../core/turn.ts';
import { findIds } from '../core/ids.ts';
import { threadKey, type Incoming } from '../core/incoming.ts';
import { toAnswer } from './render.ts';
import type { FeedbackContext, Surface, SurfacePlatform } from './surface.ts';
import { ThinkingStatus } from './thinking-status.ts';
import { ThreadHistory } from './thread-history.ts';
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
/** Earlier thread messages read from the platform when a thread has no stored history. */
const SEED_MESSAGES_LIMIT = 50;
/** Answers still running this long after stop() are abandoned. */
const STOP_GRACE_MS = 10_000;

/** A message an adapter hands the core: already known to be a person writing, not the bot itself. */
export interface PlatformMessage {
  channel: string;
  /** The thread's root message id (the message's own id when it starts a thread). */
  thread: string;
  /** The platform's id of this message: dedupe and the status reaction. */
  messageId: string;
  user: string;
  text: string;
  isDirect: boolean;
  /**
   * `directly`: a mention, a DM, a slash question, a button click: always answered.
   * `thread-reply`: a reply without a mention: answered only in threads the bot takes part in.
   */
  addressed: 'directly' | 'thread-reply';
  /** The thread began before the bot was asked: read it from the platform once when the store has none. */
  readThreadFirst?: boolean;
  /** Default `<platform>:<channel>:<messageId>`; a click or a slash command brings its own. */
  dedupeKey?: string;
  /** Shown above the answer ("@ana asked: …" for a follow-up click). */
  preface?: string;
  /** Where the status reaction goes; default the message itself, null for none. */
  reactTo?: string | null;
}

/** A slash command: a command is answered privately, a question in the channel's new thread. */
export interface SlashRequest<M> {
  channel: string;
  user: string;
  text: string;
  /** The platform's id of this invocation (dedupe). */
  id: string;
  isDirect: boolean;
  /** The channel post that carries the question, in the platform's own mention syntax. */
  askedLine: string;
  respond(message: M, visibility: 'ephemeral' | 'in_channel'): Promise<void>;
  /** The notice for a channel the bot cannot post in. */
  cannotPost(err: unknown): M;
  /** Told when the question has been posted in the channel (the platform's request can be answered now). */
  accepted?: () => void;
}

export interface Vote {
  channel: string;
  /** The answer message voted on. */
  messageId: string;
  thread: string;
  user: string;
  rating: 'up' | 'down';
  context?: FeedbackContext;
  answerText?: string;
}

/** What a digest (or any unprompted message) posts: a main message, details as replies under it. */
export interface ChannelMessage {
  markdown: string;
  details?: string[];
}

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

  /**
   * A 👍/👎 click: one vote per person and answer (changing one's mind overwrites it), then a
   * thank-you: through `reply` when the platform answers the click itself (Mattermost), else as an
   * ephemeral message.
   */
  async vote<M>(surface: Surface<M>, vote: Vote, reply?: (thanks: string) => void): Promise<void> {
    const record = {
      platform: surface.platform,
      rating: vote.rating,
      user: vote.user,
      channel: vote.channel,
      messageId: vote.messageId,
      thread: vote.thread,
      ...vote.context,
      answerText: (vote.answerText ?? '').slice(0, 2000),
      at: new Date().toISOString(),
    };
    await this.deps.store
      .ns('feedback')
      .set(`${surface.platform}:${vote.channel}:${vote.messageId}:${vote.user}`, record);
    this.logger.info(
      { platform: surface.platform, rating: vote.rating, channel: vote.channel, messageId: vote.messageId },
      'feedback stored',
    );
    const thanks =
      vote.rating === 'up'
        ? 'Thanks, glad it helped.'
        : 'Thanks for telling me; the maintainers read these to improve the answers.';
    if (reply) return reply(thanks);
    await surface
      .postEphemeral?.(
        { channel: vote.channel, thread: vote.thread === vote.messageId ? undefined : vote.thread },
        vote.user,
        surface.renderNotice(thanks),
      )
      .catch((err: unknown) => this.logger.debug({ err: String(err) }, 'could not thank for feedback'));
  }

  /** `/askpanda …`: commands answer privately; a question is asked in the channel and answered in its thread. */
  slash<M>(surface: Surface<M>, request: SlashRequest<M>): Promise<void> {
    return this.track(this.runSlash(surface, request));
  }

  /**
   * Posts an unprompted message (a digest) in a channel: the main post (continued in its thread when
   * it is longer than the platform allows), then each of `details` as replies in its thread.
   */
  async postToChannel(platform: string, channel: string, message: ChannelMessage): Promise<{ messageId: string }> {
    const surface = this.surfaces.get(platform as SurfacePlatform);
    if (!surface) throw new Error(`${platform} is not connected in this process`);
    const rendered = (markdown: string) =>
      surface.render(toAnswer(emptyDraft('general', markdown)), { buttons: false });
    const [first, ...rest] = rendered(message.markdown);
    const main = await this.postWithFallback(surface, { channel }, first ?? surface.renderNotice(message.markdown));
    for (const more of [...rest, ...(message.details ?? []).flatMap(rendered)])
      await this.postWithFallback(surface, { channel, thread: main }, more);
    return { messageId: main };
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
    await this.postAll(surface, { channel: message.channel, thread: message.thread }, messages, undefined).catch(
      (err: unknown) => log.warn({ err: String(err) }, 'could not post the busy notice'),
    );
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
      if (message.readThreadFirst) await this.seedThread(surface, message, log);
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
      await this.postAll(surface, where, messages, await draft.settle());
      answered = true;
    } catch (err) {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'could not answer a message');
      const notice = surface.renderNotice(
        'Something went wrong on my side while answering. Please try again in a minute.',
      );
      await this.postAll(surface, where, [notice], await draft.settle()).catch(() => undefined);
    } finally {
      await status.finish(answered);
      // A refused history write was already reported by the bot; the answer is posted either way.
      await historySaved?.catch(() => undefined);
    }
  }

  private async runSlash<M>(surface: Surface<M>, request: SlashRequest<M>): Promise<void> {
    const text = request.text.trim() || 'help';
    if (parseCommand(text, this.deps.bot.commands).kind !== 'none') {
      const incoming: Incoming = {
        platform: surface.platform,
        channel: request.channel,
        thread: `slash:${request.id}`,
        user: request.user,
        text,
        isDirect: request.isDirect,
        messageId: request.id,
      };
      const answer = await this.limit(() => this.deps.bot.handle(incoming, { newThread: true }));
      for (const message of surface.render(answer, {
        where: { channel: request.channel, thread: incoming.thread },
        buttons: false,
      }))
        await request.respond(message, 'ephemeral');
      return;
    }
    // A question is asked in the channel, so everyone sees the answer and can follow up in its thread.
    let root: string;
    try {
      root = await surface.post({ channel: request.channel }, surface.renderNotice(request.askedLine));
    } catch (err) {
      this.logger.info(
        { platform: surface.platform, channel: request.channel, err: String(err) },
        'cannot post in the slash command channel',
      );
      await request.respond(request.cannotPost(err), 'ephemeral');
      return;
    }
    request.accepted?.();
    await this.receive(surface, {
      channel: request.channel,
      thread: root,
      messageId: root,
      user: request.user,
      text,
      isDirect: request.isDirect,
      addressed: 'directly',
      dedupeKey: `${surface.platform}:slash:${request.id}`,
      reactTo: null,
    });
  }

  /** Posts the messages in the thread (the first one replacing a streamed draft); never leaves a failed post. */
  private async postAll<M>(
    surface: Surface<M>,
    where: { channel: string; thread: string },
    messages: M[],
    draftId: string | undefined,
  ): Promise<void> {
    for (const [index, message] of messages.entries()) {
      if (index === 0 && draftId) {
        try {
          await surface.update({ channel: where.channel, id: draftId }, message);
        } catch (err) {
          this.logger.warn(
            { platform: surface.platform, err: String(err) },
            'the platform refused the rendered answer; sending it as plain text',
          );
          await surface.update({ channel: where.channel, id: draftId }, surface.plainText(message));
        }
        continue;
      }
      await this.postWithFallback(surface, where, message);
    }
  }

  private async postWithFallback<M>(
    surface: Surface<M>,
    where: { channel: string; thread?: string },
    message: M,
  ): Promise<string> {
    try {
      return await surface.post(where, message);
    } catch (err) {
      // Formatting a platform refuses (too long, invalid blocks) must not cost the user the answer.
      this.logger.warn(
        { platform: surface.platform, err: String(err) },
        'the platform refused the rendered message; sending it as plain text',
      );
      return surface.post(where, surface.plainText(message));
    }
  }

  /**
   * A thread that began before the bot was asked has no stored history: its earlier messages are
   * read from the platform once, so "how can I fix it?" knows which job the thread is about.
   */
  private async seedThread<M>(surface: Surface<M>, message: PlatformMessage, log: Logger): Promise<void> {
    if (!surface.readThread) return;
    const key = threadKey({ platform: surface.platform, channel: message.channel, thread: message.thread });
    if ((await this.history.load(key).catch(() => [])).length > 0) return;
    try {
      const earlier = await surface.readThread(
        { channel: message.channel, thread: message.thread },
        SEED_MESSAGES_LIMIT,
      );
      const turns: Turn[] = earlier
        .filter((m) => m.id !== message.messageId && m.text.trim() !== '')
        .map((m) => {
          const text = this.asked(m.text);
          const ids = Object.fromEntries(
            findIds(text)
              .mentions.filter((x) => x.kind !== 'bare')
              .map((x) => [x.kind === 'job' ? 'pandaid' : 'jeditaskid', x.id]),
          );
          return { role: m.fromBot ? 'assistant' : 'user', text, at: m.at, ...ids } satisfies Turn;
        });
      if (turns.length) await this.history.seed(key, turns);
    } catch (err) {
      // Without the right to read the channel the question is answered without the thread.
      log.info({ err: String(err) }, 'could not read the thread from the platform');
    }
  }

  private asked(text: string): string {
    return this.deps.bot.stripMention(text);
  }
}

function feedbackContext(answer: Answer, question: string): FeedbackContext {
  const number = (v: unknown) =>
    typeof v === 'number' && Number.isSafeInteger(v)
      ? v
      : typeof v === 'string' && /^\d{1,15}$/.test(v)
        ? Number(v)
        : undefined;
  return {
    agent: answer.agent,
    model: answer.model,
    question,
    pandaid: number(answer.facts.pandaid),
    jeditaskid: number(answer.facts.jeditaskid),
  };
}
