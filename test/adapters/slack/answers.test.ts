import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyDraft } from '../../../src/core/answer.ts';
import type { Agent } from '../../../src/agents/agent.ts';
import {
  BOT_USER_ID,
  FakeSlack,
  eventCallback,
  mentionEvent,
  messageEvent,
  postSigned,
} from '../../fakes/slack-api.ts';
import { actionIds, answersIn, sectionText, sleep, startHarness, type Harness } from './helpers.ts';
import { REDIS_URL, sharedRedis } from '../../support/services.ts';

const REDIS_UP = await sharedRedis();

const CHANNEL = 'C07PANDALONG';
const ANA = 'U05ANAPHYS';
let seq = 0;
/** Unique per run too: the Redis store outlives the test. */
const ts = () => `${Math.floor(Date.now() / 1000)}.${String(seq++).padStart(6, '0')}`;

const PILOT_LINES = Array.from(
  { length: 1500 },
  (_, i) =>
    `2026-11-27 23:${String(10 + (i % 50)).padStart(2, '0')}:07,${String(i % 1000).padStart(3, '0')} | INFO | pilot.control.payload | run_payload | [athena] event ${i}: TFile::Init <file:///srv/workDir/EVNT.29063451._000123.pool.root.1> & checksum mismatch`,
);

/** A job agent with a long answer: 1,500 log lines of evidence. */
const longAgent: Agent = {
  kind: 'job',
  async handle({ route }) {
    const draft = emptyDraft('job', `Job ${route.pandaid} failed reading its input file (checksum mismatch).`);
    draft.sections.push({
      title: 'Non-expert guidance',
      body: '- The input file is damaged.\n- Ask for a retry on another replica.',
    });
    draft.evidence.push({ source: 'pilotlog.txt', lines: PILOT_LINES });
    draft.links.push({ title: `job ${route.pandaid}`, url: `https://bigpanda.cern.ch/job?pandaid=${route.pandaid}` });
    draft.followUps.push({ question: 'How can I fix it?', why: 'steps' });
    return draft;
  },
};

/** An agent whose model streams the answer in five pieces. */
const streamingAgent: Agent = {
  kind: 'general',
  async handle({ onPartialText }) {
    const words = [
      'A **pilot** is',
      ' the small job that',
      ' lands on a worker node,',
      ' checks the environment',
      ' and runs the payload.',
    ];
    let text = '';
    for (const w of words) {
      text += w;
      onPartialText?.(text);
      await sleep(120);
    }
    return emptyDraft('general', text, 'openai:gpt-4o-mini');
  },
};

/** An agent that takes its time, like a slow monitor. */
const slowAgent: Agent = {
  kind: 'job',
  async handle({ route, progress }) {
    progress(`is reading pilotlog.txt of job ${route.pandaid}…`);
    await sleep(900);
    return emptyDraft('job', `Job ${route.pandaid} ran out of memory.`);
  },
};

async function mention(h: Harness, channel: string, text: string, messageTs: string, eventId?: string): Promise<void> {
  const res = await postSigned(
    h.eventsUrl,
    eventCallback(mentionEvent(channel, ANA, `<@${BOT_USER_ID}> ${text}`, messageTs), eventId),
  );
  expect(res.status).toBe(200);
}

describe('long answers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ agents: { job: longAgent, general: longAgent } });
  });
  afterAll(async () => h?.close());

  it('splits into thread messages Slack accepts, trims with the monitor link, buttons on the last', async () => {
    const messageTs = ts();
    await mention(h, CHANNEL, 'why did job 6802258254 fail?', messageTs);
    await h.adapter.idle();
    const attempts = h.fake.callsOf('chat.postMessage').filter((c) => c.args.thread_ts === messageTs);
    const replies = h.fake.repliesIn(CHANNEL, messageTs);
    // every post was accepted by Slack's limits: no refused attempt, no plain-text fallback
    expect(attempts).toHaveLength(replies.length);
    expect(replies.length).toBeGreaterThan(1);
    expect(replies.length).toBeLessThanOrEqual(4);
    for (const reply of replies) {
      expect(reply.blocks.length).toBeLessThanOrEqual(50);
      expect(sectionText(reply.blocks).length).toBeLessThan(12_000);
    }
    expect(sectionText(replies[0]!.blocks)).toMatch(/^Job 6802258254 failed/);
    const last = replies.at(-1)!;
    expect(sectionText(last.blocks)).toContain('<https://bigpanda.cern.ch/job?pandaid=6802258254|job 6802258254>');
    expect(sectionText(last.blocks)).toMatch(/too long for Slack/);
    expect(actionIds(last.blocks)).toEqual(['askpanda_followup_0', 'askpanda_feedback_up', 'askpanda_feedback_down']);
    for (const reply of replies.slice(0, -1)) expect(actionIds(reply.blocks)).toEqual([]);
  });

  it('posts plain text when Slack refuses the blocks, instead of failing', async () => {
    const messageTs = ts();
    h.fake.fail('chat.postMessage', { error: 'invalid_blocks' });
    await mention(h, CHANNEL, 'why did job 6800730400 fail?', messageTs);
    await h.adapter.idle();
    const replies = h.fake.repliesIn(CHANNEL, messageTs);
    expect(replies.length).toBeGreaterThan(1);
    expect(replies[0]!.blocks).toEqual([]);
    expect(replies[0]!.text).toMatch(/^Job 6800730400 failed/);
    expect(replies[0]!.text.length).toBeLessThanOrEqual(3000);
  });
});

describe('streaming and status', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      agents: { general: streamingAgent, job: slowAgent, documents: streamingAgent },
      statusDelayMs: 300,
    });
  });
  afterAll(async () => h?.close());

  it('streams into one draft message, updates it at the configured pace, then replaces it with the answer', async () => {
    const messageTs = ts();
    await mention(h, CHANNEL, 'tell me something nice', messageTs);
    await h.adapter.idle();
    const replies = h.fake.repliesIn(CHANNEL, messageTs);
    expect(replies).toHaveLength(1);
    const updates = h.fake.callsOf('chat.update').filter((c) => c.args.ts === replies[0]!.ts);
    // 5 partials over ~600 ms at ≥200 ms spacing: a few updates, not one per partial, then the final one
    expect(updates.length).toBeGreaterThanOrEqual(2);
    expect(updates.length).toBeLessThanOrEqual(5);
    for (let i = 1; i < updates.length - 1; i++)
      expect(updates[i]!.at - updates[i - 1]!.at).toBeGreaterThanOrEqual(150);
    expect(sectionText(replies[0]!.blocks)).toBe(
      'A *pilot* is the small job that lands on a worker node, checks the environment and runs the payload.',
    );
    expect(actionIds(replies[0]!.blocks)).toContain('askpanda_feedback_up');
  });

  it('shows 👀 within a second for a slow answer in a channel and removes it once answered', async () => {
    const messageTs = ts();
    const sent = performance.now();
    await mention(h, CHANNEL, 'why did job 6802258254 fail?', messageTs);
    const [added] = await h.fake.waitFor('reactions.add', (c) => c.args.timestamp === messageTs);
    expect(added!.at - sent).toBeLessThan(1000);
    await h.adapter.idle();
    const removed = await h.fake.waitFor('reactions.remove', (c) => c.args.timestamp === messageTs);
    const [reply] = h.fake.repliesIn(CHANNEL, messageTs);
    expect(reply).toBeDefined();
    expect(removed[0]!.at).toBeGreaterThan(added!.at);
  });

  it("shows the agent's own status in an assistant thread (DM)", async () => {
    const dm = 'D07ANASLOW1';
    const messageTs = ts();
    const sent = performance.now();
    await postSigned(h.eventsUrl, eventCallback(messageEvent(dm, ANA, 'why did job 6798544333 fail?', messageTs)));
    const [status] = await h.fake.waitFor('assistant.threads.setStatus', (c) => c.args.channel_id === dm);
    expect(status!.at - sent).toBeLessThan(1000);
    expect(status!.args).toMatchObject({ thread_ts: messageTs, status: 'is reading pilotlog.txt of job 6798544333…' });
    await h.adapter.idle();
    expect(h.fake.repliesIn(dm, messageTs)).toHaveLength(1);
  });
});

describe('fast answers', () => {
  it('need no status call: the answer is the feedback', async () => {
    // A delay no demo answer comes near even on a loaded machine (300 ms was passed at load average 13).
    const h = await startHarness({ statusDelayMs: 5_000 });
    try {
      const messageTs = ts();
      await mention(h, CHANNEL, 'what is happening with task 46374283?', messageTs);
      await h.adapter.idle();
      expect(answersIn(h.fake, CHANNEL, messageTs)).toHaveLength(1);
      expect(h.fake.callsOf('reactions.add')).toHaveLength(0);
      expect(h.fake.callsOf('assistant.threads.setStatus')).toHaveLength(0);
    } finally {
      await h.close();
    }
  });
});

describe('several replicas', () => {
  // .ci/run starts Redis when it is missing; a machine without one runs the SQLite case only.
  const stores: Array<{ name: string; store?: string }> = [
    { name: 'sharing one SQLite file' },
    ...(REDIS_UP ? [{ name: 'sharing Redis', store: REDIS_URL }] : []),
  ];
  for (const variant of stores) {
    it(`answer each event once when Slack delivers it to every replica (${variant.name})`, async () => {
      const store = variant.store;
      const fake = await FakeSlack.start();
      const dataDir = mkdtempSync(path.join(tmpdir(), 'askpanda-replicas-'));
      const replicas = await Promise.all([0, 1, 2].map(() => startHarness({ fake, dataDir, store })));
      try {
        const messages = Array.from({ length: 10 }, () => ts());
        await Promise.all(
          messages.flatMap((messageTs, i) => {
            // One person per message: ten at once from one person would meet the per-person limit.
            const payload = eventCallback(
              mentionEvent(CHANNEL, `U05PHYS${i}`, `<@${BOT_USER_ID}> why did job 6802258254 fail? (${i})`, messageTs),
              `Ev07REPLICA${messageTs.replace('.', '')}`,
            );
            return replicas.map((r, n) => postSigned(r.eventsUrl, payload, n > 0 ? { retryNum: n } : {}));
          }),
        );
        await Promise.all(replicas.map((r) => r.adapter.idle()));
        for (const messageTs of messages) expect(answersIn(fake, CHANNEL, messageTs)).toHaveLength(1);
        for (const messageTs of messages)
          expect(fake.repliesIn(CHANNEL, messageTs).filter((p) => p.text.startsWith('I am busy'))).toHaveLength(0);
      } finally {
        for (const r of replicas) await r.close();
        await fake.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }
});
