import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyDraft } from '../../src/core/answer.ts';
import type { Agent } from '../../src/agents/agent.ts';
import { FakeMattermost, type FakeChannel, type FakeUser } from '../fakes/mattermost.ts';
import {
  SLASH_TOKEN,
  answersIn,
  sleep,
  startMattermost,
  waitForAnswers,
  type MattermostHarness,
} from './adapter-helpers.ts';
import { REDIS_URL, sharedRedis } from '../support/services.ts';

const REDIS_UP = await sharedRedis();

describe('Mattermost: questions in channels, DMs and threads', () => {
  let h: MattermostHarness;
  let ana: FakeUser;
  let ben: FakeUser;
  let channel: FakeChannel;
  beforeAll(async () => {
    h = await startMattermost();
    ana = h.fake.addUser({ username: 'ana' });
    ben = h.fake.addUser({ username: 'ben' });
    channel = h.fake.addChannel({ name: 'atlas-adc', members: [ana, ben], withBot: true });
  });
  afterAll(async () => h?.close());

  it('answers a mention in the thread of the question, once, with monitor links and buttons', async () => {
    const question = h.fake.userPosts(ana, channel, '@askpanda why did job 6802258254 fail?');
    const [answer] = await waitForAnswers(h.fake, question.id);
    await h.adapter.idle();
    expect(answer!.root_id).toBe(question.id);
    expect(answer!.message).toContain('1305');
    expect(answer!.message).toContain('https://bigpanda.cern.ch/job?pandaid=6802258254');
    const attachments = JSON.stringify(answer!.props.attachments);
    expect(attachments).toContain('followup0');
    expect(attachments).toContain('feedbackdown');
    expect(answersIn(h.fake, question.id)).toHaveLength(1);
  });

  it('answers any post in a DM, in its thread', async () => {
    const dm = h.fake.directChannel(ana);
    const question = h.fake.userPosts(ana, dm, 'what is happening with task 46374283?');
    const [answer] = await waitForAnswers(h.fake, question.id);
    expect(answer!.channel_id).toBe(dm.id);
    expect(answer!.message).toMatch(/46374283/);
  });

  it('answers a reply without a mention in a thread it answered in, and keeps to the job', async () => {
    const question = h.fake.userPosts(ana, channel, '@askpanda why did job 6800730400 fail?');
    await waitForAnswers(h.fake, question.id);
    h.fake.userPosts(ben, channel, 'how can I fix it?', { rootId: question.id });
    const answers = await waitForAnswers(h.fake, question.id, 2);
    expect(answers[1]!.message).toMatch(/6800730400/);
  });

  it('ignores replies in threads it never took part in, its own posts, other bots, webhooks and system posts', async () => {
    const root = h.fake.userPosts(ana, channel, 'lunch at 12?');
    h.fake.userPosts(ben, channel, 'why did job 6802258254 fail? (not asking the bot)', { rootId: root.id });
    const otherBot = h.fake.addUser({ username: 'jirabot', isBot: true });
    h.fake.addChannel({ name: 'noise', members: [ana, otherBot], withBot: true });
    h.fake.userPosts(otherBot, channel, '@askpanda why did job 6802258254 fail?');
    h.fake.webhookPosts(ana, channel, '@askpanda why did job 6802258254 fail?');
    h.fake.systemPosts(ana, channel, 'system_join_channel', '@askpanda joined the channel');
    await sleep(600);
    await h.adapter.idle();
    expect(h.fake.botPosts({ rootId: root.id })).toHaveLength(0);
    expect(h.fake.botPosts({ channelId: channel.id }).filter((p) => p.create_at > root.create_at)).toHaveLength(0);
  });

  it('answers the same post once when the server delivers it twice', async () => {
    const question = h.fake.userPosts(ana, channel, '@askpanda what is happening with task 46374283?');
    h.fake.replayPosted(question.id);
    await waitForAnswers(h.fake, question.id);
    await sleep(300);
    await h.adapter.idle();
    expect(answersIn(h.fake, question.id)).toHaveLength(1);
  });

  it('reads a thread that began before it was asked, so a bare follow-up finds the job', async () => {
    const root = h.fake.userPosts(ana, channel, 'my job 6800730400 failed overnight, anyone know why?');
    h.fake.userPosts(ben, channel, 'no idea, looks like memory', { rootId: root.id });
    const question = h.fake.userPosts(ana, channel, '@askpanda can you explain it?', { rootId: root.id });
    const [answer] = await waitForAnswers(h.fake, root.id);
    expect(answer!.message).toMatch(/6800730400/);
    expect(h.fake.callsTo('getPostThread').length).toBeGreaterThan(0);
    expect(question.id).not.toBe(root.id);
  });
});

/** A job agent that takes its time and then writes a very long answer. */
const slowLongJob: Agent = {
  kind: 'job',
  async handle({ route, progress }) {
    progress(`is reading pilotlog.txt of job ${route.pandaid}…`);
    await sleep(1_200);
    const draft = emptyDraft('job', `Job ${route.pandaid} failed reading its input.`);
    draft.evidence.push({
      source: 'pilotlog.txt',
      lines: Array.from(
        { length: 400 },
        (_, i) =>
          `2026-11-27 23:10:${String(i % 60).padStart(2, '0')} | INFO | pilot.control.payload | event ${i}: TFile::Init checksum mismatch`,
      ),
    });
    draft.links.push({ title: `job ${route.pandaid}`, url: `https://bigpanda.cern.ch/job?pandaid=${route.pandaid}` });
    return draft;
  },
};
/** A general agent whose model streams. */
const streaming: Agent = {
  kind: 'general',
  async handle({ onPartialText }) {
    let text = '';
    for (const word of [
      'A **pilot** is',
      ' the small job that',
      ' lands on a worker node,',
      ' checks the environment',
      ' and runs the payload.',
    ]) {
      text += word;
      onPartialText?.(text);
      await sleep(400);
    }
    return emptyDraft('general', text, 'openai:gpt-4o-mini');
  },
};

describe('Mattermost: status, streaming, long answers and reconnects', () => {
  let h: MattermostHarness;
  let ana: FakeUser;
  let channel: FakeChannel;
  beforeAll(async () => {
    const fake = await FakeMattermost.start({ maxPostSize: 4000 });
    h = await startMattermost({
      fake,
      agents: { job: slowLongJob, general: streaming, documents: streaming },
      statusDelayMs: 0,
    });
    ana = h.fake.addUser({ username: 'ana' });
    channel = h.fake.addChannel({ name: 'panda-help', members: [ana], withBot: true });
  });
  afterAll(async () => {
    await h?.close();
    await h?.fake.close();
  });

  it('shows typing in the thread within a second and keeps it up while the answer runs; splits a long answer under MaxPostSize', async () => {
    const question = h.fake.userPosts(ana, channel, '@askpanda why did job 6802258254 fail?');
    const [first] = await h.fake.waitForTyping(1, (t) => t.parentId === question.id, 1_000);
    expect(first!.at - question.create_at).toBeLessThan(1_000);
    const answers = await h.fake.waitUntil(
      () =>
        h.fake.botPosts({ rootId: question.id }).length >= 2 ? h.fake.botPosts({ rootId: question.id }) : undefined,
      8_000,
    );
    await h.adapter.idle();
    expect(h.fake.typing.filter((t) => t.parentId === question.id).length).toBeGreaterThanOrEqual(1);
    expect(h.fake.reactions.some((r) => r.post_id === question.id)).toBe(false);
    for (const post of answers) expect([...post.message].length).toBeLessThanOrEqual(4000);
    expect(answers.length).toBeLessThanOrEqual(4);
    expect(answers[0]!.message).toMatch(/^Job 6802258254 failed reading its input/);
    expect(
      answers
        .map((p) => p.message)
        .join('\n')
        .split('```').length % 2,
    ).toBe(1);
  });

  it('streams into one draft edited at most once a second, then replaced by the answer', async () => {
    const question = h.fake.userPosts(ana, channel, '@askpanda tell me about pilots');
    const [answer] = await waitForAnswers(h.fake, question.id, 1, 8_000);
    const edits = h.fake.calls.filter((c) => c.route === 'patchPost' && c.path.includes(answer!.id));
    expect(edits.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < edits.length - 1; i++) expect(edits[i]!.at - edits[i - 1]!.at).toBeGreaterThanOrEqual(900);
    expect(answer!.message).toContain('A **pilot** is the small job that lands on a worker node');
    expect(h.fake.botPosts({ rootId: question.id })).toHaveLength(1);
  });

  it('after the websocket drops mid-answer and the server restarts, answers what was asked meanwhile, once', async () => {
    const before = h.fake.userPosts(ana, channel, '@askpanda why did job 6800730400 fail?');
    await h.fake.waitForTyping(1, (t) => t.parentId === before.id, 2_000);
    h.fake.acceptWebsockets = false;
    h.fake.dropWebsockets();
    h.fake.restart();
    const missed = h.fake.userPosts(ana, channel, '@askpanda what is happening with task 46374283?');
    await sleep(300);
    h.fake.acceptWebsockets = true;
    await waitForAnswers(h.fake, missed.id, 1, 10_000);
    await waitForAnswers(h.fake, before.id, 1, 10_000);
    await sleep(500);
    await h.adapter.idle();
    expect(answersIn(h.fake, missed.id)).toHaveLength(1);
    expect(answersIn(h.fake, before.id)).toHaveLength(1);
  });
});

describe('Mattermost: slash command and buttons', () => {
  let h: MattermostHarness;
  let ana: FakeUser;
  let ben: FakeUser;
  let channel: FakeChannel;
  beforeAll(async () => {
    h = await startMattermost();
    ana = h.fake.addUser({ username: 'ana' });
    ben = h.fake.addUser({ username: 'ben' });
    channel = h.fake.addChannel({ name: 'atlas-dpa', members: [ana, ben], withBot: true });
  });
  afterAll(async () => h?.close());
  const commandUrl = () => `${h.baseUrl}/mattermost/command`;

  it('refuses a wrong slash command token with 401', async () => {
    const reply = await h.fake.slashCommand({
      url: commandUrl(),
      token: 'not-the-token',
      user: ana,
      channel,
      text: 'help',
    });
    expect(reply.status).toBe(401);
    expect(h.fake.ephemeral).toHaveLength(0);
  });

  it('answers `help` privately within the request', async () => {
    const started = Date.now();
    const reply = await h.fake.slashCommand({
      url: commandUrl(),
      token: SLASH_TOKEN,
      user: ana,
      channel,
      text: 'help',
    });
    expect(reply.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(reply.body).toMatchObject({ response_type: 'ephemeral' });
    expect(h.fake.ephemeral.at(-1)!.post.message).toMatch(/subscribe|why did job/i);
  });

  it('asks a question in the channel and answers in its thread, so others can follow up', async () => {
    const reply = await h.fake.slashCommand({
      url: commandUrl(),
      token: SLASH_TOKEN,
      user: ana,
      channel,
      text: 'why did job 6802258254 fail?',
    });
    expect(reply.status).toBe(200);
    const [root] = await h.fake.waitForBotPosts(
      1,
      (p) => p.root_id === '' && p.message.includes('@ana asked: why did job 6802258254 fail?'),
    );
    const [answer] = await waitForAnswers(h.fake, root!.id);
    expect(answer!.message).toContain('1305');
  });

  it("answers a follow-up button in the thread as the clicker's question; a forged context gets 403 and does nothing", async () => {
    const question = h.fake.userPosts(ana, channel, '@askpanda why did job 6800730400 fail?');
    const [answer] = await waitForAnswers(h.fake, question.id);
    const click = await h.fake.clickButton({ postId: answer!.id, actionId: 'followup0', user: ben });
    expect(click.status).toBe(200);
    const answers = await waitForAnswers(h.fake, question.id, 2);
    expect(answers[1]!.message).toMatch(/^@ben asked: /);

    const request = click.request!;
    const context = { ...(request.context as Record<string, unknown>), question: 'delete everything' };
    const forged = await h.fake.postAction(`${h.baseUrl}/mattermost/actions`, { ...request, context });
    expect(forged.status).toBe(403);
    const unsigned = await h.fake.postAction(`${h.baseUrl}/mattermost/actions`, {
      ...request,
      context: { action: 'followup', question: 'hi', channel: channel.id, thread: question.id },
    });
    expect(unsigned.status).toBe(403);
    await sleep(400);
    await h.adapter.idle();
    expect(answersIn(h.fake, question.id)).toHaveLength(2);
  });

  it('stores a 👎 vote in feedback and thanks the voter privately', async () => {
    const question = h.fake.userPosts(ana, channel, '@askpanda why did job 6802258254 fail?');
    const [answer] = await waitForAnswers(h.fake, question.id);
    const click = await h.fake.clickButton({ postId: answer!.id, actionId: 'feedbackdown', user: ana });
    expect(click.status).toBe(200);
    expect(click.body).toMatchObject({ ephemeral_text: expect.stringContaining('Thanks') });
    const record = (await h.app.store.ns('feedback').get(`mattermost:${channel.id}:${answer!.id}:${ana.id}`)) as
      Record<string, unknown> | undefined;
    expect(record).toMatchObject({
      platform: 'mattermost',
      rating: 'down',
      user: ana.id,
      question: 'why did job 6802258254 fail?',
      pandaid: 6802258254,
    });
  });
});

describe.skipIf(!REDIS_UP)('Mattermost: two replicas sharing Redis', () => {
  it('answer each mention once', async () => {
    const fake = await FakeMattermost.start();
    const dataDir = mkdtempSync(path.join(tmpdir(), 'askpanda-mm-replicas-'));
    const replicas = await Promise.all([0, 1].map(() => startMattermost({ fake, dataDir, store: REDIS_URL })));
    try {
      // Six people, so no one meets the per-person limit of questions in flight.
      const people = Array.from({ length: 6 }, (_, i) => fake.addUser({ username: `physicist${i}` }));
      const channel = fake.addChannel({ name: 'replicas', members: people, withBot: true });
      const questions = people.map((person, i) =>
        fake.userPosts(person, channel, `@askpanda what is happening with task 46374283? (${i})`),
      );
      for (const q of questions) await waitForAnswers(fake, q.id);
      await sleep(300);
      await Promise.all(replicas.map((r) => r.adapter.idle()));
      for (const q of questions) expect(answersIn(fake, q.id)).toHaveLength(1);
    } finally {
      for (const r of replicas) await r.close();
      await fake.close();
    }
  });
});
