import { afterEach, describe, expect, it } from 'vitest';
import { AnswerSchema } from '../../src/core/answer.ts';
import { fitBudget } from '../../src/bot/thread-history.ts';
import type { Turn } from '../../src/core/turn.ts';
import { stripMention } from '../../src/bot/mention.ts';
import { botWithEchoAgents, message } from './helpers.ts';
import type { Store } from '../../src/storage/store.ts';

const stores: Store[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});
async function setup(env: Record<string, string> = {}) {
  const made = await botWithEchoAgents(env);
  stores.push(made.store);
  return made;
}

describe('bad input', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['empty', '', /empty/],
    ['whitespace', '   \n\t  ', /empty/],
    ['only the mention', '<@U0BOT> ', /empty/],
    ['too long', 'why did job 6802258254 fail? ' + 'x'.repeat(8_000), /at most 8,000/],
    ['id with letters', 'why did job 68022a58254 fail?', /not a PanDA id/],
    ['id of 30 digits', 'why did job 123456789012345678901234567890 fail?', /30 digits/],
    ['unknown command', '/frobnicate now', /do not know the command `frobnicate`/],
    ['non-UTF-8 bytes', 'why did job \uFFFD\uFFFD fail', /not valid UTF-8/],
  ];
  it.each(cases)('%s gets a short, friendly bad_input answer', async (_name, text, expected) => {
    const { bot, agents } = await setup();
    const answer = await bot.handle(message(text));
    expect(AnswerSchema.parse(answer)).toEqual(answer);
    expect(answer.error?.kind).toBe('bad_input');
    expect(answer.error?.message).toMatch(expected);
    expect(answer.text.length).toBeLessThan(400);
    expect(answer.text).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    expect(Object.values(agents).every((a) => a.seen.length === 0)).toBe(true);
  });

  it('a malformed incoming message is answered, not thrown', async () => {
    const { bot } = await setup();
    const answer = await bot.handle({ ...message('hi'), channel: '' });
    expect(answer.error?.kind).toBe('bad_input');
  });
});

describe('commands', () => {
  it('answers help with the command list, without an agent', async () => {
    const { bot, agents } = await setup();
    const answer = await bot.handle(message('<@U0BOT> help'));
    expect(answer.agent).toBe('command');
    expect(answer.text).toContain('why did job 6802258254 fail?');
    expect(answer.text).toContain('`help`');
    expect(agents.general.seen).toHaveLength(0);
  });

  it('lets later features register commands', async () => {
    const { bot } = await setup();
    bot.commands.register({
      name: 'subscribe',
      summary: 'daily digest of a task',
      usage: 'subscribe <task id>',
      run: async ({ args }) => ({
        agent: 'command',
        summary: `subscribed to ${args[0]}`,
        sections: [],
        facts: {},
        evidence: [],
        followUps: [],
        sources: [],
        links: [],
        model: 'offline',
      }),
    });
    expect((await bot.handle(message('subscribe 46374283'))).text).toBe('subscribed to 46374283');
    expect((await bot.handle(message('help'))).text).toContain('subscribe <task id>');
  });
});

describe('routing and thread history', () => {
  it('routes a follow-up without an id to the job of the thread', async () => {
    const { bot, agents } = await setup();
    await bot.handle(message('@askpanda why did job 6802258254 fail?', 'thread-a'));
    const followUp = await bot.handle(message('how can I fix it?', 'thread-a'));
    expect(followUp.agent).toBe('job');
    expect(agents.job.seen[1]!.route).toMatchObject({
      agent: 'job',
      pandaid: 6802258254,
      reason: 'follow-up in a thread about a job',
    });
    expect(agents.job.seen[1]!.history.map((t) => t.role)).toEqual(['user', 'assistant']);
    // Another thread has no such context.
    const elsewhere = await bot.handle(message('how can I fix it?', 'thread-b'));
    expect(elsewhere.agent).toBe('documents');
  });

  it('routes a bare number in a task thread to a task, and a concept question to the documents', async () => {
    const { bot, agents } = await setup();
    await bot.handle(message('what is happening with task 46374283?', 'tt'));
    await bot.handle(message('and 46374290?', 'tt'));
    expect(agents.task.seen[1]!.route.jeditaskid).toBe(46374290);
    expect((await bot.handle(message('what is a pilot?', 'tt'))).agent).toBe('documents');
  });

  it('keeps a short follow-up to a documentation answer with the documents', async () => {
    const { bot } = await setup();
    await bot.handle(message('What is Rucio?', 'docs-thread'));
    expect((await bot.handle(message('and CRIC?', 'docs-thread'))).agent).toBe('documents');
    // Without the documentation answer before it, the question mark alone makes it a documentation question.
    expect((await bot.handle(message('and CRIC?', 'fresh-thread'))).agent).toBe('documents');
    // Small talk is the general agent's, in any thread.
    expect((await bot.handle(message('thanks!', 'docs-thread'))).agent).toBe('general');
  });

  it('keeps history per thread and survives a new bot on the same store', async () => {
    const { bot, store, agents } = await setup();
    await bot.handle(message('why did job 6800730400 fail?', 'persist'));
    const { Bot } = await import('../../src/bot/bot.ts');
    const { ThreadHistory } = await import('../../src/bot/thread-history.ts');
    const { loadConfig } = await import('../../src/load-config.ts');
    const { OfflineModel } = await import('../../src/llm/offline.ts');
    const config = loadConfig({ env: {} });
    const again = new Bot({
      config,
      history: new ThreadHistory(store.ns('history'), config.history),
      model: new OfflineModel(),
      agents,
    });
    expect((await again.handle(message('why?', 'persist'))).facts.pandaid).toBe(6800730400);
  });

  it('does not remember ids of an answer that failed', async () => {
    const { bot } = await setup();
    await bot.handle(message('why did job 68022a58254 fail?', 'bad'));
    expect((await bot.handle(message('how can I fix it?', 'bad'))).agent).toBe('documents');
  });

  it('trims history to the configured budget', async () => {
    const { bot, agents } = await setup({ ASKPANDA_HISTORY_MAX_TURNS: '4' });
    for (let i = 0; i < 5; i++) await bot.handle(message(`why did job 680000000${i} fail?`, 'long'));
    await bot.handle(message('why?', 'long'));
    const last = agents.job.seen.at(-1)!;
    expect(last.history).toHaveLength(4);
    expect(last.route.pandaid).toBe(6800000004);
  });
});

describe('history budget', () => {
  const turn = (text: string, pandaid?: number): Turn => ({ role: 'user', text, at: 0, pandaid });
  it('keeps the newest turns within the character budget', () => {
    const kept = fitBudget([turn('a'.repeat(50)), turn('b'.repeat(50)), turn('c'.repeat(50))], {
      maxTurns: 10,
      maxChars: 120,
    });
    expect(kept.map((t) => t.text[0])).toEqual(['b', 'c']);
  });
  it('cuts a single oversized turn instead of losing its ids', () => {
    const kept = fitBudget([turn('x'.repeat(500), 6802258254)], { maxTurns: 10, maxChars: 100 });
    expect(kept).toHaveLength(1);
    expect(kept[0]!.text).toHaveLength(100);
    expect(kept[0]!.pandaid).toBe(6802258254);
  });
});

describe('mention stripping', () => {
  it('strips only the bot once the adapter has told it its user id', async () => {
    const { bot, agents } = await setup();
    bot.addBotUserId('U0BOT');
    await bot.handle(message('<@U0BOT> why did <@U777> get job 6802258254 failed?'));
    expect(agents.job.seen[0]!.question).toBe('why did <@U777> get job 6802258254 failed?');
  });

  it('keeps a long answer from pushing the earlier turns out of the history budget', async () => {
    const { bot, agents } = await setup();
    agents.job.handle = async (context) => ({
      agent: 'job',
      summary: 'x'.repeat(12_500),
      sections: [],
      facts: { pandaid: context.route.pandaid },
      evidence: [],
      followUps: [],
      sources: [],
      links: [],
      model: 'offline',
    });
    await bot.handle(message('what is a pilot?', 'budget'));
    await bot.handle(message('why did job 6800730400 fail?', 'budget'));
    await bot.handle(message('why did job 6800730401 fail?', 'budget'));
    const seen = agents.documents.seen.length;
    await bot.handle(message('what is a pilot?', 'budget'));
    expect(agents.documents.seen[seen]!.history.map((t) => t.text)).toContain('what is a pilot?');
  });

  it.each([
    ['<@U0BOT> why did job 1 fail?', 'why did job 1 fail?'],
    ['<@U0BOT|askpanda>: help', 'help'],
    ['@askpanda: what is a pilot?', 'what is a pilot?'],
    ['hey @AskPanda, status of task 46374283', 'hey status of task 46374283'],
    ['ping <@U999OTHER> about it', 'ping <@U999OTHER> about it'],
  ])('%s → %s', (input, output) => {
    expect(stripMention(input, 'askpanda', ['U0BOT'])).toBe(output);
  });
});

describe('forget', () => {
  it("deletes the thread's history, so a follow-up no longer finds the job", async () => {
    const { bot, store } = await setup();
    const thread = { thread: 'forget-thread-1' };
    await bot.handle({ ...message('why did job 6802258254 fail?'), ...thread });
    expect((await bot.handle({ ...message('how can I fix it?'), ...thread })).agent).toBe('job');
    expect(await store.ns('history').get('slack:C0123:forget-thread-1')).toBeDefined();
    const forgot = await bot.handle({ ...message('forget this thread'), ...thread });
    expect(forgot.agent).toBe('command');
    expect(forgot.text).toMatch(/deleted what I remembered of this thread/);
    expect(await store.ns('history').get('slack:C0123:forget-thread-1')).toBeUndefined();
    expect((await bot.handle({ ...message('how can I fix it?'), ...thread })).agent).not.toBe('job');
  });

  it('is a question, not the command, when more follows', async () => {
    const { bot } = await setup();
    expect((await bot.handle(message('forget about the pilot, what is a harvester?'))).agent).not.toBe('command');
  });
});
