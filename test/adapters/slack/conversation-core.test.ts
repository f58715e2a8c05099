import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyDraft } from '../../../src/core/answer.ts';
import type { Agent } from '../../../src/agents/agent.ts';
import { BOT_USER_ID, eventCallback, mentionEvent, messageEvent, postSigned } from '../../fakes/slack-api.ts';
import { answersIn, sectionText, sleep, startHarness, type Harness } from './helpers.ts';

const CHANNEL = 'C07PANDAORDER';
const ANA = 'U05ANAPHYS';
let seq = 0;
const ts = () => `${Math.floor(Date.now() / 1000)}.${String(seq++).padStart(6, '0')}`;

/** Job questions take their time (a slow monitor); task questions are instant. */
const slowJob: Agent = {
  kind: 'job',
  async handle({ route, progress }) {
    progress(`is reading pilotlog.txt of job ${route.pandaid}…`);
    await sleep(700);
    return emptyDraft('job', `Job ${route.pandaid} ran out of memory.`);
  },
};
const fastTask: Agent = {
  kind: 'task',
  async handle({ route }) {
    return emptyDraft('task', `Task ${route.jeditaskid} is running.`);
  },
};

describe('the conversation core on Slack', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      agents: { job: slowJob, task: fastTask, general: fastTask },
      statusDelayMs: 0,
      statusRefreshMs: 150,
    });
  });
  afterAll(async () => h?.close());

  it('answers two quick messages in one thread in the order they were sent', async () => {
    const root = ts();
    await postSigned(
      h.eventsUrl,
      eventCallback(mentionEvent(CHANNEL, ANA, `<@${BOT_USER_ID}> why did job 6802258254 fail?`, root)),
    );
    await postSigned(
      h.eventsUrl,
      eventCallback(
        mentionEvent(CHANNEL, ANA, `<@${BOT_USER_ID}> and what is happening with task 46374283?`, ts(), root),
      ),
    );
    await h.adapter.idle();
    const answers = answersIn(h.fake, CHANNEL, root).map((p) => sectionText(p.blocks));
    expect(answers).toHaveLength(2);
    expect(answers[0]).toMatch(/^Job 6802258254 ran out of memory/);
    expect(answers[1]).toMatch(/^Task 46374283 is running/);
  });

  it('does not hold other threads behind a slow answer', async () => {
    const slowRoot = ts();
    const otherRoot = ts();
    await postSigned(
      h.eventsUrl,
      eventCallback(mentionEvent(CHANNEL, ANA, `<@${BOT_USER_ID}> why did job 6800730400 fail?`, slowRoot)),
    );
    await postSigned(
      h.eventsUrl,
      eventCallback(mentionEvent(CHANNEL, ANA, `<@${BOT_USER_ID}> what is happening with task 46374283?`, otherRoot)),
    );
    await h.adapter.idle();
    const posts = h.fake.callsOf('chat.postMessage');
    const slowAt = posts.find((c) => c.args.thread_ts === slowRoot)!.at;
    const otherAt = posts.find((c) => c.args.thread_ts === otherRoot)!.at;
    expect(otherAt).toBeLessThan(slowAt);
  });

  it('re-sends the status while a slow answer runs', async () => {
    const dm = 'D07ANAREFRESH';
    const messageTs = ts();
    await postSigned(h.eventsUrl, eventCallback(messageEvent(dm, ANA, 'why did job 6798544333 fail?', messageTs)));
    await h.adapter.idle();
    const statuses = h.fake.callsOf('assistant.threads.setStatus').filter((c) => c.args.channel_id === dm);
    // 700 ms of work with a refresh every 150 ms: the first status and several refreshes.
    expect(statuses.length).toBeGreaterThanOrEqual(4);
    expect(statuses.at(-1)!.args.status).toBe('is reading pilotlog.txt of job 6798544333…');
    const reply = h.fake
      .callsOf('chat.postMessage')
      .find((c) => c.args.channel === dm && c.args.thread_ts === messageTs)!;
    // Nothing is re-sent after the answer: Slack clears the status when the reply is posted.
    expect(statuses.every((s) => s.at <= reply.at)).toBe(true);
  });
});

describe('back-pressure', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      agents: { job: slowJob, task: fastTask, general: fastTask },
      env: {
        ASKPANDA_LIMITS_MAX_CONCURRENT: '2',
        ASKPANDA_LIMITS_MAX_QUEUED: '1',
        ASKPANDA_LIMITS_PER_USER_IN_FLIGHT: '1',
        ASKPANDA_LIMITS_PER_USER_PER_MINUTE: '3',
      },
    });
  });
  afterAll(async () => h?.close());

  const ask = (user: string, text: string, root = ts()) =>
    postSigned(h.eventsUrl, eventCallback(mentionEvent(CHANNEL, user, `<@${BOT_USER_ID}> ${text}`, root))).then(
      () => root,
    );

  it('turns away a second question of one person while the first runs, saying when to ask again', async () => {
    const first = await ask('U05BUSYONE', 'why did job 6802258254 fail?');
    const second = await ask('U05BUSYONE', 'what is happening with task 46374283?');
    await h.adapter.idle();
    expect(sectionText(answersIn(h.fake, CHANNEL, first)[0]!.blocks)).toMatch(/^Job 6802258254/);
    const [busy] = h.fake.repliesIn(CHANNEL, second);
    expect(busy!.text).toMatch(
      /^I am busy right now \(you already have 1 question being answered\)\. Please ask again in about \d+ s\.$/,
    );
  });

  it('turns away questions beyond the concurrency and queue, others keep being answered', async () => {
    const roots = await Promise.all(
      ['U05Q1', 'U05Q2', 'U05Q3', 'U05Q4'].map((user) => ask(user, 'why did job 6800730400 fail?')),
    );
    await h.adapter.idle();
    const texts = roots.map((root) => h.fake.repliesIn(CHANNEL, root)[0]!.text);
    expect(texts.filter((t) => t.startsWith('Job 6800730400'))).toHaveLength(3);
    expect(
      texts.filter((t) => t.startsWith('I am busy right now (3 questions are being answered or waiting)')),
    ).toHaveLength(1);
  });

  it('limits questions per person per minute', async () => {
    const user = 'U05CHATTY';
    const roots: string[] = [];
    for (let i = 0; i < 4; i++) {
      roots.push(await ask(user, 'what is happening with task 46374283?'));
      await h.adapter.idle();
    }
    const texts = roots.map((root) => h.fake.repliesIn(CHANNEL, root)[0]!.text);
    expect(texts.slice(0, 3).every((t) => t.startsWith('Task 46374283'))).toBe(true);
    expect(texts[3]).toMatch(
      /^I am busy right now \(you asked 3 questions in the last minute \(the limit is 3\)\)\. Please ask again in about (5\d|60) s\.$/,
    );
  });
});
