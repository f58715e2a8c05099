import type { Server } from 'node:http';
import { App as BoltApp, LogLevel, type Logger as BoltLogger, type webApi } from '@slack/bolt';
import pLimit from 'p-limit';
import { z } from 'zod';
import type { App } from '../app.ts';
import type { Answer } from '../bot/answer.ts';
import { parseCommand } from '../bot/commands.ts';
import type { Turn } from '../bot/history.ts';
import { findIds } from '../bot/ids.ts';
import { threadKey, type Incoming } from '../bot/incoming.ts';
import { stripMention } from '../bot/mention.ts';
import { ThreadHistory } from '../bot/thread-history.ts';
import type { Logger } from '../util/log.ts';
import { errorMessage } from '../util/errors.ts';
import { BlockActionSchema, SlashCommandSchema, classifyMessageEvent, clickedMessage, isDirectChannel } from './slack-events.ts';
import { ChannelPacer } from './slack-pacer.ts';
import { ACTION_IDS, escapeMrkdwn, renderAnswer, renderNotice, renderPartial, type FeedbackContext, type SlackMessage } from './slack-render.ts';

type WebClient = webApi.WebClient;

/** Slack retries an unacknowledged event for a few minutes; an hour of memory covers every retry. */
const DEDUPE_TTL_MS = 60 * 60 * 1000;
/** Questions answered at once per process; more wait their turn instead of piling onto the monitor. */
const MAX_CONCURRENT_ANSWERS = 16;
/** Earlier thread messages read from Slack when a thread has no stored history. */
const SEED_REPLIES_LIMIT = 50;
/** Slack's own shutdown grace is short; answers still running after this are abandoned. */
const STOP_GRACE_MS = 10_000;

export type SlackTransport = 'socket' | 'http';

export interface SlackAdapterOptions {
  /** Default: Socket Mode when `slack.appToken` is set, else HTTP. */
  transport?: SlackTransport;
  /** HTTP port (default `config.port`; 0 picks a free one). */
  port?: number;
  /**
   * How long an answer may take before the user sees a status (assistant status or 👀 reaction).
   * Answers faster than this need no status: the reply itself is the feedback.
   */
  statusDelayMs?: number;
}

export interface SlackStarted {
  transport: SlackTransport;
  /** The HTTP port listened on (HTTP transport only). */
  port?: number;
  botUserId?: string;
}

/** One question on its way to an answer in a Slack thread. */
interface Question {
  channel: string;
  user: string;
  text: string;
  threadTs: string;
  isDirect: boolean;
  /** The key that makes the answer happen once, also across replicas sharing the store. */
  dedupeKey: string;
  /**
   * Slack's first delivery of an event (no retry number). Slack hands each delivery to one
   * connection or replica and retries only after 3 s without an ack, so the first delivery's claim
   * must be stored before a retry looks, not before the answer starts: it runs alongside.
   */
  firstDelivery?: boolean;
  messageId: string;
  /** The user's message, for the 👀 reaction; none for slash commands. */
  reactTo?: string;
  /** Read the thread's earlier messages from Slack when the store has none. */
  seedFromSlack: boolean;
  /** A top-level message: the thread is keyed by its own ts, so it has no history to read. */
  newThread?: boolean;
  /** Shown above the answer, e.g. who clicked a follow-up button. */
  preface?: string;
}

const FeedbackContextSchema = z.object({
  agent: z.string().max(40),
  model: z.string().max(200),
  question: z.string().max(2000),
  pandaid: z.number().int().optional(),
  jeditaskid: z.number().int().optional(),
});

const RepliesSchema = z.object({
  messages: z
    .array(z.object({ ts: z.string(), user: z.string().optional(), bot_id: z.string().optional(), text: z.string().optional(), subtype: z.string().optional() }))
    .default([]),
});

/**
 * The Slack surface, on Bolt: mentions, DMs and replies in threads the bot takes part in are answered
 * in their thread; follow-up buttons ask again, feedback buttons are stored; `/askpanda` runs commands
 * (ephemeral) or asks in the channel. Every event is answered once, also across replicas.
 */
export class SlackAdapter {
  readonly bolt: BoltApp;
  readonly transport: SlackTransport;
  private readonly logger: Logger;
  private readonly history: ThreadHistory;
  private readonly pacer: ChannelPacer;
  private readonly limit = pLimit(MAX_CONCURRENT_ANSWERS);
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly statusDelayMs: number;
  private botUserId: string | undefined;
  /** Set when `assistant.threads.setStatus` is refused (no assistant threads here): reactions instead. */
  private assistantStatusRefused = false;
  private server: Server | undefined;

  constructor(
    private readonly app: App,
    private readonly options: SlackAdapterOptions = {},
  ) {
    const slack = app.config.slack;
    if (!slack.botToken) throw new Error('SLACK_BOT_TOKEN is not set: create the Slack app from config/slack-app-manifest.yaml and copy its Bot User OAuth Token (xoxb-…).');
    this.transport = options.transport ?? (slack.appToken ? 'socket' : 'http');
    if (this.transport === 'socket' && !slack.appToken) throw new Error('Socket Mode needs SLACK_APP_TOKEN (an xapp-… app-level token with connections:write).');
    if (this.transport === 'http' && !slack.signingSecret) {
      throw new Error('SLACK_SIGNING_SECRET is not set: HTTP events cannot be verified without it. Copy it from the app\'s Basic Information page, or set SLACK_APP_TOKEN to use Socket Mode instead.');
    }
    this.logger = app.logger.child({ adapter: 'slack' });
    this.history = new ThreadHistory(app.store.ns('history'), app.config.history);
    this.pacer = new ChannelPacer(slack.postIntervalMs);
    this.statusDelayMs = options.statusDelayMs ?? 300;

    const clientOptions: webApi.WebClientOptions = {
      ...(slack.apiUrl ? { slackApiUrl: slack.apiUrl.endsWith('/') ? slack.apiUrl : `${slack.apiUrl}/` } : {}),
      timeout: 15_000,
      // 429s are retried after their Retry-After by the client's queue; other failures a few times with backoff.
      retryConfig: { retries: 4, factor: 2, minTimeout: 500, maxTimeout: 30_000, randomize: true },
      maxRequestConcurrency: 50,
    };
    const common = {
      token: slack.botToken,
      logger: boltLogger(this.logger),
      clientOptions,
      deferInitialization: true,
      // Bolt's per-conversation memory store is unused; history lives in our store.
      convoStore: false as const,
    };
    this.bolt =
      this.transport === 'socket'
        ? new BoltApp({ ...common, socketMode: true, appToken: slack.appToken })
        : new BoltApp({
            ...common,
            signingSecret: slack.signingSecret,
            endpoints: '/slack/events',
            customRoutes: [{ path: '/healthz', method: ['GET'], handler: (_req, res) => void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n') }],
          });
    this.register();
  }

  async start(): Promise<SlackStarted> {
    try {
      await this.bolt.init();
    } catch (err) {
      throw new Error(`Slack refused the bot token (auth.test: ${slackError(err)}). Check SLACK_BOT_TOKEN (xoxb-…) and that the app is installed in the workspace.`, { cause: err });
    }
    const auth = await this.bolt.client.auth.test().catch(() => undefined);
    this.botUserId = typeof auth?.user_id === 'string' ? auth.user_id : undefined;
    if (this.botUserId) this.app.bot.addBotUserId(this.botUserId);
    if (this.transport === 'socket') {
      try {
        await this.bolt.start();
      } catch (err) {
        throw new Error(`Slack refused the Socket Mode connection (apps.connections.open: ${slackError(err)}). Check SLACK_APP_TOKEN: an app-level token (xapp-…) with the connections:write scope, and Socket Mode enabled for the app.`, { cause: err });
      }
      this.logger.info({ transport: 'socket', botUserId: this.botUserId }, 'Slack connected (Socket Mode)');
      return { transport: 'socket', botUserId: this.botUserId };
    }
    const port = this.options.port ?? this.app.config.port;
    try {
      this.server = (await this.bolt.start(port)) as Server;
    } catch (err) {
      const inUse = (err as { code?: unknown }).code === 'EADDRINUSE';
      throw new Error(inUse ? `Port ${port} is already in use: set ASKPANDA_PORT to a free port for the Slack events endpoint.` : `Cannot serve Slack events on port ${port}: ${errorMessage(err)}`, { cause: err });
    }
    const address = this.server.address();
    const listening = typeof address === 'object' && address ? address.port : port;
    this.logger.info({ transport: 'http', port: listening, path: '/slack/events', botUserId: this.botUserId }, 'Slack events endpoint listening');
    return { transport: 'http', port: listening, botUserId: this.botUserId };
  }

  /** Stops receiving, then gives answers in progress a few seconds to be posted. */
  async stop(): Promise<void> {
    await this.bolt.stop().catch((err: unknown) => this.logger.warn({ err: errorMessage(err) }, 'Slack receiver did not stop cleanly'));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS)))]);
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

  private register(): void {
    this.bolt.error(async (err) => {
      this.logger.error({ err: errorMessage(err) }, 'Slack listener failed');
    });

    this.bolt.event('app_mention', async ({ event, body, context }) => {
      await this.track(this.onMessage(event, body.event_id, context.botUserId, context.retryNum));
    });
    this.bolt.message(async ({ message, body, context }) => {
      await this.track(this.onMessage(message, body.event_id, context.botUserId, context.retryNum));
    });

    this.bolt.action(new RegExp(`^${ACTION_IDS.followUpPrefix}\\d+$`), async ({ ack, body }) => {
      await ack();
      await this.track(this.onFollowUpClick(body));
    });
    this.bolt.action(new RegExp(`^(${ACTION_IDS.feedbackUp}|${ACTION_IDS.feedbackDown})$`), async ({ ack, body, client }) => {
      await ack();
      await this.track(this.onFeedbackClick(body, client));
    });

    this.bolt.command(/.*/, async ({ ack, command, respond }) => {
      await ack();
      await this.track(this.onSlashCommand(command, respond));
    });
  }

  private async onMessage(event: unknown, eventId: string, contextBotUserId: string | undefined, retryNum: number | undefined): Promise<void> {
    const addressed = classifyMessageEvent(event, contextBotUserId ?? this.botUserId);
    if (addressed.kind === 'ignore') {
      this.logger.debug({ eventId, reason: addressed.reason }, 'event ignored');
      return;
    }
    if (addressed.kind === 'thread-reply') {
      // Without a mention, only threads the bot already answered in are its business.
      const turns = await this.history.load(threadKey({ platform: 'slack', channel: addressed.channel, thread: addressed.threadTs }));
      if (turns.length === 0) return;
    }
    await this.answer({
      channel: addressed.channel,
      user: addressed.user,
      text: addressed.text,
      threadTs: addressed.threadTs,
      isDirect: addressed.isDirect,
      // One key per message, not per event: a mention's retries and its `message` twin share it.
      dedupeKey: `slack:${addressed.channel}:${addressed.ts}`,
      messageId: eventId || addressed.ts,
      firstDelivery: !retryNum,
      reactTo: addressed.ts,
      seedFromSlack: addressed.kind === 'question' && addressed.threadTs !== addressed.ts,
      newThread: addressed.threadTs === addressed.ts,
    });
  }

  private async onFollowUpClick(body: unknown): Promise<void> {
    const parsed = BlockActionSchema.safeParse(body);
    const where = parsed.success ? clickedMessage(parsed.data) : undefined;
    const action = parsed.success ? parsed.data.actions[0] : undefined;
    if (!parsed.success || !where || !action?.value) {
      this.logger.warn('follow-up click without a message or question; ignored');
      return;
    }
    const user = parsed.data.user.id;
    await this.answer({
      channel: where.channel,
      user,
      text: action.value,
      threadTs: where.threadTs,
      isDirect: isDirectChannel({ channel: where.channel }),
      // A double click asks once.
      dedupeKey: `slack:click:${where.channel}:${where.ts}:${action.action_id}:${user}`,
      messageId: action.action_ts ?? where.ts,
      reactTo: where.ts,
      seedFromSlack: false,
      preface: `<@${user}> asked: ${escapeMrkdwn(action.value)}`,
    });
  }

  private async onFeedbackClick(body: unknown, client: WebClient): Promise<void> {
    const parsed = BlockActionSchema.safeParse(body);
    const where = parsed.success ? clickedMessage(parsed.data) : undefined;
    if (!parsed.success || !where) {
      this.logger.warn('feedback click without a message; ignored');
      return;
    }
    const action = parsed.data.actions[0]!;
    const rating = action.action_id === ACTION_IDS.feedbackUp ? 'up' : 'down';
    let context: FeedbackContext | undefined;
    try {
      const value = FeedbackContextSchema.safeParse(JSON.parse(action.value ?? 'null'));
      if (value.success) context = value.data;
    } catch {
      // An unreadable value still records the vote, without the context.
    }
    const user = parsed.data.user.id;
    const record = {
      platform: 'slack',
      rating,
      user,
      channel: where.channel,
      messageTs: where.ts,
      threadTs: where.threadTs,
      ...context,
      answerText: (parsed.data.message?.text ?? '').slice(0, 2000),
      at: new Date().toISOString(),
    };
    // One vote per person and answer: changing one's mind overwrites it.
    await this.app.store.ns('feedback').set(`slack:${where.channel}:${where.ts}:${user}`, record);
    this.logger.info({ rating, channel: where.channel, messageTs: where.ts }, 'feedback stored');
    await client.chat
      .postEphemeral({ channel: where.channel, user, thread_ts: where.threadTs === where.ts ? undefined : where.threadTs, text: rating === 'up' ? 'Thanks, glad it helped.' : 'Thanks for telling me; the maintainers read these to improve the answers.' })
      .catch((err: unknown) => this.logger.debug({ err: slackError(err) }, 'could not thank for feedback'));
  }

  private async onSlashCommand(raw: unknown, respond: (message: { response_type: 'ephemeral' | 'in_channel'; text: string; blocks?: SlackMessage['blocks']; replace_original?: boolean }) => Promise<unknown>): Promise<void> {
    const parsed = SlashCommandSchema.safeParse(raw);
    if (!parsed.success) {
      this.logger.warn('unreadable slash command; ignored');
      return;
    }
    const command = parsed.data;
    const text = command.text.trim() || 'help';
    const reply = async (message: SlackMessage, type: 'ephemeral' | 'in_channel') => {
      await respond({ response_type: type, text: message.text, blocks: message.blocks }).catch((err: unknown) => this.logger.warn({ err: slackError(err) }, 'slash command response failed'));
    };

    if (parseCommand(text, this.app.bot.commands).kind !== 'none') {
      const answer = await this.limit(() =>
        this.app.bot.handle({ platform: 'slack', channel: command.channel_id, thread: `slash:${command.trigger_id ?? Date.now()}`, user: command.user_id, text, isDirect: false, messageId: command.trigger_id }),
      );
      for (const message of renderAnswer(answer, { buttons: false })) await reply(message, 'ephemeral');
      return;
    }

    // A question is asked in the channel, so everyone sees the answer and can follow up in its thread.
    let rootTs: string;
    try {
      await this.pacer.wait(command.channel_id);
      const root = await this.bolt.client.chat.postMessage({ channel: command.channel_id, text: `<@${command.user_id}> asked: ${escapeMrkdwn(text)}`, unfurl_links: false, unfurl_media: false });
      if (!root.ts) throw new Error('chat.postMessage returned no ts');
      rootTs = root.ts;
    } catch (err) {
      this.logger.info({ err: slackError(err), channel: command.channel_id }, 'cannot post in the slash command channel');
      await reply(renderNotice(`I cannot post in this channel (${escapeMrkdwn(slackError(err))}). Invite me with \`/invite @${escapeMrkdwn(this.app.config.bot.name)}\`, or ask me in a DM.`), 'ephemeral');
      return;
    }
    await this.answer({
      channel: command.channel_id,
      user: command.user_id,
      text,
      threadTs: rootTs,
      isDirect: isDirectChannel({ channel: command.channel_id }),
      dedupeKey: `slack:slash:${command.trigger_id ?? `${command.channel_id}:${rootTs}`}`,
      messageId: command.trigger_id ?? rootTs,
      seedFromSlack: false,
    });
  }

  /** Dedupe, status, history seed, the bot, then the rendered answer in the thread. */
  private async answer(question: Question): Promise<void> {
    const claim = this.app.store.claimOnce(question.dedupeKey, DEDUPE_TTL_MS).catch((err: unknown) => {
      // With the store down a rare duplicate answer is better than no answer at all.
      this.logger.warn({ err: errorMessage(err) }, 'dedupe store unavailable; answering without the claim');
      return true;
    });
    let claimSettled = false;
    void claim.then(() => (claimSettled = true));
    if (!question.firstDelivery && !(await claim)) {
      this.logger.debug({ key: question.dedupeKey }, 'already answered (retry or second replica); skipped');
      return;
    }
    const status = new ThinkingStatus(this, question);
    const stream = new StreamingReply(this.bolt.client, this.pacer, question, this.app.config.slack.streamUpdateMs, this.logger, claim);
    let posted = false;
    let historySaved: Promise<void> | undefined;
    try {
      if (question.seedFromSlack) await this.seedThread(question);
      const incoming: Incoming = {
        platform: 'slack',
        channel: question.channel,
        thread: question.threadTs,
        user: question.user,
        text: question.text,
        isDirect: question.isDirect,
        messageId: question.messageId,
      };
      const answer = await this.limit(() =>
        this.app.bot.handle(incoming, {
          progress: (text) => status.set(text),
          onPartialText: (markdown) => {
            status.stop();
            stream.update(markdown);
          },
          newThread: question.newThread,
          // The history is written while the answer is rendered and posted; awaited below.
          deferHistorySave: (saved) => (historySaved = saved),
        }),
      );
      status.stop();
      // SQLite needs this thread between preparing the claim's statement and running it: one turn
      // of the event loop lets the claim run while the answer is rendered, not after.
      if (!claimSettled) await new Promise((resolve) => setImmediate(resolve));
      const asked = stripMention(question.text, this.app.config.bot.name, this.botUserId ? [this.botUserId] : []);
      const messages = renderAnswer(answer, { preface: question.preface, feedback: feedbackContext(answer, asked) });
      const streamTs = await stream.settle();
      // Posting is what must happen once: a first delivery checks its claim here at the latest.
      if (question.firstDelivery && !(await claim)) {
        this.logger.debug({ key: question.dedupeKey }, 'a retry took this message first; not posting twice');
        return;
      }
      await this.post(question, messages, streamTs);
      posted = true;
    } catch (err) {
      this.logger.error({ err: errorMessage(err), channel: question.channel }, 'could not answer a Slack message');
      await this.post(question, [renderNotice('Something went wrong on my side while answering. Please try again in a minute.')], await stream.settle()).catch(() => undefined);
    } finally {
      status.finish(posted);
      // A refused history write was already reported by the bot; the answer is posted either way.
      await historySaved?.catch(() => undefined);
    }
  }

  /** Posts the messages in the thread (the first one replacing a streamed draft); never leaves a failed post. */
  private async post(question: Question, messages: SlackMessage[], draftTs: string | undefined): Promise<void> {
    for (const [index, message] of messages.entries()) {
      const target = index === 0 ? draftTs : undefined;
      try {
        await this.postOne(question, message, target);
      } catch (err) {
        // Blocks Slack refuses (invalid_blocks, msg_too_long …) must not cost the user the answer: plain text instead.
        this.logger.warn({ err: slackError(err), channel: question.channel }, 'Slack refused the rendered answer; posting it as plain text');
        await this.postOne(question, { text: message.blocks.map(blockText).filter(Boolean).join('\n\n').slice(0, 3000) || message.text, blocks: [] }, target);
      }
    }
  }

  private async postOne(question: Question, message: SlackMessage, updateTs: string | undefined): Promise<void> {
    const blocks = message.blocks.length ? message.blocks : undefined;
    if (updateTs) {
      await this.bolt.client.chat.update({ channel: question.channel, ts: updateTs, text: message.text, blocks: blocks ?? [] });
      return;
    }
    await this.pacer.wait(question.channel);
    await this.bolt.client.chat.postMessage({ channel: question.channel, thread_ts: question.threadTs, text: message.text, blocks, unfurl_links: false, unfurl_media: false });
  }

  /**
   * A thread that began before the bot was asked has no stored history: its earlier messages are
   * read from Slack once, so "how can I fix it?" knows which job the thread is about.
   */
  private async seedThread(question: Question): Promise<void> {
    const key = threadKey({ platform: 'slack', channel: question.channel, thread: question.threadTs });
    if ((await this.history.load(key)).length > 0) return;
    try {
      const raw = await this.bolt.client.conversations.replies({ channel: question.channel, ts: question.threadTs, limit: SEED_REPLIES_LIMIT });
      const replies = RepliesSchema.parse(raw).messages;
      const turns: Turn[] = replies
        .filter((m) => m.ts !== question.reactTo && !m.subtype?.startsWith('channel_') && (m.text ?? '').trim() !== '')
        .map((m) => {
          const fromBot = m.bot_id !== undefined || (this.botUserId !== undefined && m.user === this.botUserId);
          const text = stripMention(m.text ?? '', this.app.config.bot.name);
          const ids = Object.fromEntries(findIds(text).mentions.filter((x) => x.kind !== 'bare').map((x) => [x.kind === 'job' ? 'pandaid' : 'jeditaskid', x.id]));
          return { role: fromBot ? 'assistant' : 'user', text, at: Math.round(Number(m.ts) * 1000) || Date.now(), ...ids } satisfies Turn;
        });
      if (turns.length) await this.history.seed(key, turns);
    } catch (err) {
      // Without channels:history (or outside the channel) the question is answered without the thread.
      this.logger.info({ err: slackError(err), channel: question.channel }, 'could not read the thread from Slack');
    }
  }

  /** Status in an assistant thread (DMs) while that works, else 👀 on the user's message. */
  useAssistantStatus(question: Question): boolean {
    return question.isDirect && !this.assistantStatusRefused;
  }

  async setAssistantStatus(question: Question, status: string): Promise<boolean> {
    try {
      await this.bolt.client.assistant.threads.setStatus({ channel_id: question.channel, thread_ts: question.threadTs, status });
      return true;
    } catch (err) {
      // Slack saying no (not an assistant thread, missing assistant:write) is lasting; a network hiccup is not.
      if ((err as { code?: unknown }).code === 'slack_webapi_platform_error') {
        this.logger.info({ err: slackError(err) }, 'assistant status refused; using reactions instead');
        this.assistantStatusRefused = true;
      }
      return false;
    }
  }

  async react(question: Question, add: boolean): Promise<void> {
    if (!question.reactTo) return;
    const args = { channel: question.channel, timestamp: question.reactTo, name: 'eyes' };
    await (add ? this.bolt.client.reactions.add(args) : this.bolt.client.reactions.remove(args)).catch((err: unknown) =>
      this.logger.debug({ err: slackError(err) }, add ? 'could not add the reaction' : 'could not remove the reaction'),
    );
  }

  get delayBeforeStatus(): number {
    return this.statusDelayMs;
  }
}

/**
 * "is looking up job 6802258254…" for answers that take a moment. Fast answers show no status: the
 * answer arrives before a status would be read. Slow ones get it after `statusDelayMs`.
 */
class ThinkingStatus {
  private latest = 'is thinking…';
  private timer: NodeJS.Timeout | undefined;
  private shown: 'none' | 'assistant' | 'reaction' = 'none';
  private pending: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly adapter: SlackAdapter,
    private readonly question: Question,
  ) {
    // No delay means at once, not after whatever the answer does first.
    if (adapter.delayBeforeStatus <= 0) this.show();
    else this.timer = setTimeout(() => this.show(), adapter.delayBeforeStatus);
  }

  set(text: string): void {
    this.latest = text;
    if (this.shown === 'assistant') this.pending = this.pending.then(() => (this.adapter.useAssistantStatus(this.question) ? this.adapter.setAssistantStatus(this.question, text) : undefined));
  }

  /** The answer (or its streamed draft) is about to appear: no status from now on. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private show(): void {
    if (this.stopped) return;
    if (this.adapter.useAssistantStatus(this.question)) {
      this.shown = 'assistant';
      this.pending = this.adapter.setAssistantStatus(this.question, this.latest).then((ok) => {
        if (!ok && !this.stopped) {
          this.shown = 'reaction';
          return this.adapter.react(this.question, true);
        }
        return undefined;
      });
    } else {
      this.shown = 'reaction';
      this.pending = this.adapter.react(this.question, true);
    }
  }

  /** Slack clears an assistant status when the reply is posted; a reaction is removed by us. */
  finish(posted: boolean): void {
    this.stop();
    void this.pending.then(async () => {
      if (this.shown === 'reaction') await this.adapter.react(this.question, false);
      else if (this.shown === 'assistant' && !posted) await this.adapter.setAssistantStatus(this.question, '');
    });
  }
}

/**
 * A streamed answer: the first partial text is posted as a draft in the thread, later ones update it
 * at most every `intervalMs` (chat.update is Tier 3, ~50 a minute), the final answer replaces it.
 */
class StreamingReply {
  private ts: Promise<string | undefined> | undefined;
  private latest = '';
  private lastUpdate = 0;
  private timer: NodeJS.Timeout | undefined;
  private updating: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: WebClient,
    private readonly pacer: ChannelPacer,
    private readonly question: Question,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    /** The dedupe claim: no draft is posted for a message someone else answers. */
    private readonly claim: Promise<boolean>,
  ) {}

  update(markdown: string): void {
    this.latest = markdown;
    if (!this.ts) {
      this.lastUpdate = Date.now();
      this.ts = this.postDraft();
      return;
    }
    if (this.timer) return;
    const wait = Math.max(0, this.lastUpdate + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastUpdate = Date.now();
      const text = this.latest;
      this.updating = this.updating.then(async () => {
        const ts = await this.ts;
        if (!ts) return;
        const message = renderPartial(text);
        await this.client.chat.update({ channel: this.question.channel, ts, text: message.text, blocks: message.blocks }).catch((err: unknown) => this.logger.debug({ err: slackError(err) }, 'draft update failed'));
      });
    }, wait);
  }

  private async postDraft(): Promise<string | undefined> {
    try {
      if (!(await this.claim)) return undefined;
      await this.pacer.wait(this.question.channel);
      const message = renderPartial(this.latest);
      const result = await this.client.chat.postMessage({ channel: this.question.channel, thread_ts: this.question.threadTs, text: message.text, blocks: message.blocks, unfurl_links: false, unfurl_media: false });
      return result.ts;
    } catch (err) {
      this.logger.debug({ err: slackError(err) }, 'could not post the draft; the answer is posted whole');
      return undefined;
    }
  }

  /** The draft's ts once no update is pending (undefined when nothing was streamed). */
  async settle(): Promise<string | undefined> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.updating;
    return this.ts ? await this.ts : undefined;
  }
}

function feedbackContext(answer: Answer, question: string): FeedbackContext {
  const number = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) ? v : typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : undefined);
  return {
    agent: answer.agent,
    model: answer.model,
    question,
    pandaid: number(answer.facts.pandaid),
    jeditaskid: number(answer.facts.jeditaskid),
  };
}

function blockText(block: SlackMessage['blocks'][number]): string {
  if (block.type === 'section' && block.text) return block.text.text;
  if (block.type === 'context') return block.elements.map((e) => ('text' in e && typeof e.text === 'string' ? e.text : '')).join(' ');
  return '';
}

/** The Slack error code ("not_in_channel", "ratelimited" …) or the message, never a token. */
export function slackError(err: unknown): string {
  if (err && typeof err === 'object' && 'data' in err) {
    const data = (err as { data?: { error?: unknown } }).data;
    if (data && typeof data.error === 'string') return data.error;
  }
  return errorMessage(err).replace(/xox[a-z]-[\w-]+|xapp-[\w-]+/g, '[redacted]');
}

/** Bolt and the Slack SDKs log through pino too (at their own levels), as the `slack` component. */
function boltLogger(logger: Logger): BoltLogger {
  const child = logger.child({ component: 'bolt' });
  const text = (parts: unknown[]) => parts.map((p) => (typeof p === 'string' ? p : errorMessage(p))).join(' ').replace(/xox[a-z]-[\w-]+|xapp-[\w-]+/g, '[redacted]');
  // The SDKs log every request and payload at debug: the text is only built for a level that is on.
  const at = (level: 'debug' | 'info' | 'warn' | 'error') => (...m: unknown[]) => {
    if (child.isLevelEnabled(level)) child[level](text(m));
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    setLevel: () => undefined,
    getLevel: () => (['trace', 'debug'].includes(child.level) ? LogLevel.DEBUG : child.level === 'info' ? LogLevel.INFO : child.level === 'warn' ? LogLevel.WARN : LogLevel.ERROR),
    setName: () => undefined,
  };
}
