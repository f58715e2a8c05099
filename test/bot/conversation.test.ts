import { sleep } from '../support/time.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent, AgentContext, Route } from '../../src/agents/agent.ts';
import type { AdmissionLimits } from '../../src/bot/admission.ts';
import { Bot } from '../../src/bot/bot.ts';
import { Conversation } from '../../src/bot/conversation.ts';
import type { PlatformMessage } from '../../src/bot/platform-message.ts';
import { RequestSurface } from '../../src/bot/request-surface.ts';
import { ThreadHistory } from '../../src/bot/thread-history.ts';
import { loadConfig } from '../../src/load-config.ts';
import { AnswerSchema, emptyDraft, type AnswerDraft } from '../../src/core/answer.ts';
import { OfflineModel } from '../../src/llm/offline.ts';
import { openMemoryStore } from '../../src/storage/memory-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { silentLogger } from '../../src/util/log.ts';
import { RecordingSurface, type RecordingOptions } from '../support/recording-surface.ts';

/**
 * The conversation core driven directly: a real Bot with agents the test scripts, an in-memory
 * store, and a surface that records what the core posts, edits and shows as status.
 */

/** An agent whose answer the test decides: how long it takes, what it streams first, what it says. */
class ScriptedAgent implements Agent {
  readonly seen: AgentContext[] = [];
  delayMs = 0;
  stream: string[] = [];
  summary: (context: AgentContext) => string;

  constructor(readonly kind: Route['agent']) {
    this.summary = () => `The ${kind} answer.`;
  }

  async handle(context: AgentContext): Promise<AnswerDraft> {
    this.seen.push(context);
    context.progress(`is working on the ${this.kind} question…`);
    for (const text of this.stream) {
      context.onPartialText?.(text);
      await sleep(20);
    }
    if (this.delayMs) await sleep(this.delayMs);
    return emptyDraft(this.kind, this.summary(context));
  }
}

const OPEN_LIMITS: AdmissionLimits = {
  maxConcurrent: 16,
  maxQueued: 1000,
  perUserInFlight: 1000,
  perUserPerMinute: 1000,
  perMinute: 100_000,
};

const stores: Store[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

function core(options: { limits?: Partial<AdmissionLimits>; surface?: RecordingOptions } = {}) {
  const config = loadConfig({
    env: { ASKPANDA_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'askpanda-core-')), ASKPANDA_LOG_LEVEL: 'silent' },
  });
  const store = openMemoryStore('conversation test');
  stores.push(store);
  const history = new ThreadHistory(store.ns('history'), config.history);
  const agents = {
    job: new ScriptedAgent('job'),
    task: new ScriptedAgent('task'),
    queue: new ScriptedAgent('queue'),
    documents: new ScriptedAgent('documents'),
    error_code: new ScriptedAgent('error_code'),
    general: new ScriptedAgent('general'),
  };
  const bot = new Bot({ config, history, model: new OfflineModel(), agents });
  const conversation = new Conversation({
    bot,
    store,
    history,
    limits: { ...OPEN_LIMITS, ...options.limits },
    logger: silentLogger,
  });
  return { conversation, agents, surface: new RecordingSurface(options.surface), history };
}

let sequence = 0;
/** A mention starting its own thread, unless `thread` names an earlier one. */
function mention(text: string, extra: Partial<PlatformMessage> = {}): PlatformMessage {
  const messageId = `m${++sequence}`;
  return {
    channel: 'C1',
    thread: messageId,
    messageId,
    user: 'U1',
    text,
    isDirect: false,
    addressed: 'directly',
    ...extra,
  };
}

describe('the conversation core on a chat surface', () => {
  it('answers a message once however often the platform delivers it', async () => {
    const { conversation, agents, surface } = core();
    const message = mention('why did job 6802258254 fail?');
    await Promise.all([conversation.receive(surface, message), conversation.receive(surface, message)]);
    await conversation.receive(surface, message);
    expect(surface.answersIn('C1', message.thread)).toHaveLength(1);
    expect(agents.job.seen).toHaveLength(1);
    // Another message in the same thread is another question.
    await conversation.receive(
      surface,
      mention('and what is happening with task 46374283?', { thread: message.thread }),
    );
    expect(surface.answersIn('C1', message.thread)).toHaveLength(2);
  });

  it("answers a thread's messages in the order they came, while other threads go on", async () => {
    const { conversation, agents, surface } = core();
    agents.job.delayMs = 400;
    const first = mention('why did job 6802258254 fail?');
    const second = mention('what is happening with task 46374283?', { thread: first.thread });
    const elsewhere = mention('what is happening with task 46374284?');
    await Promise.all([first, second, elsewhere].map((message) => conversation.receive(surface, message)));
    const answers = surface.answersIn('C1', first.thread).map((p) => p.text);
    expect(answers).toEqual(['[answer] The job answer.', '[answer] The task answer.']);
    // The other thread's quick answer did not wait for the slow one.
    const order = surface.posts.map((p) => p.thread);
    expect(order.indexOf(elsewhere.thread)).toBeLessThan(order.indexOf(first.thread));
  });

  it('turns a question over the limits away with the busy sentence, in its own thread', async () => {
    const { conversation, agents, surface } = core({ limits: { perUserInFlight: 1 } });
    agents.job.delayMs = 300;
    const slow = mention('why did job 6802258254 fail?');
    const second = mention('what is happening with task 46374283?');
    await Promise.all([conversation.receive(surface, slow), conversation.receive(surface, second)]);
    expect(surface.answersIn('C1', slow.thread).map((p) => p.text)).toEqual(['[answer] The job answer.']);
    const [busy] = surface.answersIn('C1', second.thread);
    expect(busy!.text).toMatch(
      /^\[answer\] I am busy right now \(you already have 1 question being answered\)\. Please ask again in about \d+ s\.$/,
    );
    expect(surface.answers.find((a) => a.where?.thread === second.thread)!.answer.error?.kind).toBe('busy');
    expect(agents.task.seen).toHaveLength(0);
  });

  it('shows the thinking status only when an answer is slow, and clears it once the answer is posted', async () => {
    const { conversation, agents, surface } = core({ surface: { timing: { statusDelayMs: 150 } } });
    const quick = mention('what is happening with task 46374283?');
    await conversation.receive(surface, quick);
    expect(surface.statuses.filter((s) => s.thread === quick.thread)).toEqual([]);

    agents.job.delayMs = 600;
    const slow = mention('why did job 6802258254 fail?');
    await conversation.receive(surface, slow);
    const calls = surface.statuses.filter((s) => s.thread === slow.thread);
    expect(calls.map((c) => c.show).filter(Boolean)).toContain('is working on the job question…');
    expect(calls.at(-1)!.cleared).toEqual({ answered: true });
  });

  it('streams a draft while the answer is written, then puts the answer in its place', async () => {
    const { conversation, agents, surface } = core();
    agents.documents.stream = ['Grid jobs', 'Grid jobs wait in activated', 'Grid jobs wait in activated until a pilot'];
    agents.documents.summary = () => 'Grid jobs wait in activated until a pilot asks for work.';
    const message = mention('tell me about grid jobs sitting in activated for hours');
    await conversation.receive(surface, message);
    const posted = surface.posts.filter((p) => p.thread === message.thread);
    // One message: posted as the draft, edited as it grew, then replaced by the answer.
    expect(posted).toHaveLength(1);
    const edits = surface.edits.filter((e) => e.id === posted[0]!.id).map((e) => e.text);
    expect(edits.slice(0, -1).every((text) => text.startsWith('[draft] Grid jobs'))).toBe(true);
    expect(edits.at(-1)).toBe('[answer] Grid jobs wait in activated until a pilot asks for work.');
    expect(posted[0]!.text).toBe(edits.at(-1));
  });

  it('posts the answer as plain text when the platform refuses its formatting', async () => {
    const { conversation, agents, surface } = core({ surface: { refuseFormatted: 1 } });
    agents.job.summary = () => 'Job **6802258254** ran out of memory in `athena`.';
    const message = mention('why did job 6802258254 fail?');
    await conversation.receive(surface, message);
    expect(surface.refusedPosts).toBeGreaterThan(0);
    expect(surface.answersIn('C1', message.thread).map((p) => p.text)).toEqual([
      '[answer] Job 6802258254 ran out of memory in athena.',
    ]);
  });

  it("keeps the thread's history between turns: a follow-up knows the job, a reply elsewhere is not its business", async () => {
    const { conversation, agents, surface } = core();
    const first = mention('why did job 6802258254 fail?');
    await conversation.receive(surface, first);
    await conversation.receive(
      surface,
      mention('how can I fix it?', { thread: first.thread, addressed: 'thread-reply' }),
    );
    expect(agents.job.seen).toHaveLength(2);
    expect(agents.job.seen[1]!.route.pandaid).toBe(6802258254);
    expect(agents.job.seen[1]!.history.map((t) => t.role)).toEqual(['user', 'assistant']);
    // A reply without a mention in a thread the bot never answered in is left alone.
    const elsewhere = mention('how can I fix it?', { thread: 'someone-elses-thread', addressed: 'thread-reply' });
    await conversation.receive(surface, elsewhere);
    expect(surface.posts.filter((p) => p.thread === 'someone-elses-thread')).toEqual([]);
  });
});

describe('the conversation core on a request surface', () => {
  it('resolves with the Answer, after showing the status and streaming the draft', async () => {
    const { conversation, agents } = core();
    agents.documents.stream = ['Grid jobs', 'Grid jobs wait'];
    const statuses: string[] = [];
    const drafts: string[] = [];
    const surface = new RequestSurface('cli', {
      status: (text) => statuses.push(text),
      draft: (markdown) => drafts.push(markdown),
    });
    const asked = await conversation.ask(surface, {
      channel: 'cli',
      thread: 't1',
      user: 'ana',
      text: 'tell me about grid jobs sitting in activated for hours',
    });
    expect(AnswerSchema.parse(asked.answer)).toEqual(asked.answer);
    expect(asked.answer).toMatchObject({ agent: 'documents', text: 'The documents answer.' });
    expect(asked.retryAfterSeconds).toBeUndefined();
    expect(statuses[0]).toBe('is thinking…');
    expect(drafts).toEqual(['Grid jobs', 'Grid jobs wait']);

    // The same thread remembers; a question without a thread is a one-off nothing remembers.
    await conversation.ask(surface, {
      channel: 'cli',
      thread: 't2',
      user: 'ana',
      text: 'why did job 6802258254 fail?',
    });
    const followUp = await conversation.ask(surface, {
      channel: 'cli',
      thread: 't2',
      user: 'ana',
      text: 'how can I fix it?',
    });
    expect(followUp.answer.agent).toBe('job');
    await conversation.ask(surface, { channel: 'cli', user: 'ana', text: 'why did job 6800730400 fail?' });
    const alone = await conversation.ask(surface, { channel: 'cli', user: 'ana', text: 'how can I fix it?' });
    expect(alone.answer.agent).not.toBe('job');
  });

  it('shares one admission pool with the chat platforms: a request is refused while a chat answer holds it', async () => {
    const { conversation, agents, surface } = core({ limits: { maxConcurrent: 1, maxQueued: 0 } });
    agents.job.delayMs = 300;
    const chat = conversation.receive(surface, mention('why did job 6802258254 fail?'));
    await sleep(50);
    const request = new RequestSurface('http', {});
    const refused = await conversation.ask(request, {
      channel: 'web',
      thread: 'tab-1',
      user: '203.0.113.7',
      text: 'hello',
    });
    expect(refused.retryAfterSeconds).toBeGreaterThan(0);
    expect(refused.answer.error?.kind).toBe('busy');
    expect(refused.answer.text).toMatch(/^I am busy right now \(1 question is being answered or waiting\)/);
    await chat;
    // Once the slot is free the same request is answered.
    const answered = await conversation.ask(request, {
      channel: 'web',
      thread: 'tab-1',
      user: '203.0.113.7',
      text: 'hello',
    });
    expect(answered.answer.agent).toBe('general');
  });

  it('holds a shared client to the per-user limits, and the one local user only to the process-wide ones', async () => {
    const { conversation, agents } = core({ limits: { perUserInFlight: 1 } });
    agents.job.delayMs = 200;
    const surface = new RequestSurface('mcp', {});
    const ask = (thread: string, local: boolean) =>
      conversation.ask(surface, {
        channel: 'http',
        thread,
        user: 'client-1',
        local,
        text: 'why did job 6802258254 fail?',
      });
    const shared = await Promise.all([ask('a', false), ask('b', false)]);
    expect(shared.filter((a) => a.retryAfterSeconds !== undefined)).toHaveLength(1);
    const local = await Promise.all([ask('c', true), ask('d', true)]);
    expect(local.map((a) => a.answer.agent)).toEqual(['job', 'job']);
  });

  it('rejects when answering fails, so the request says so in its own protocol', async () => {
    const { conversation, agents } = core();
    agents.job.summary = () => {
      throw new Error('disk on fire');
    };
    // An agent's failure is an answer (the bot's apology); a failure of the surface's own work is the caller's.
    const apology = await conversation.ask(new RequestSurface('cli', {}), {
      channel: 'cli',
      user: 'ana',
      text: 'why did job 6802258254 fail?',
    });
    expect(apology.answer.text).toMatch(/^Something went wrong on my side/);
    const failing = conversation.ask(new RequestSurface('http', {}), {
      channel: 'v1',
      thread: 'c1',
      user: 'ana',
      text: 'hello',
      seed: async () => {
        throw new Error('store refused the write');
      },
    });
    await expect(failing).rejects.toThrow('store refused the write');
  });
});
