import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BOT_USER_ID,
  eventCallback,
  interactiveForm,
  blockActions,
  mentionEvent,
  messageEvent,
  postSigned,
  slackSignature,
  slashCommand,
  SIGNING_SECRET,
} from '../../fakes/slack-api.ts';
import { actionIds, answersIn, sectionText, sleep, startHarness, turnsOf, type Harness } from './helpers.ts';

const CHANNEL = 'C07PANDAHELP';
const ANA = 'U05ANAPHYS';
const BEN = 'U05BENOPS';

let h: Harness;
let tsSeq = 0;
/** A fresh message ts, so each test's messages are new to the dedupe store. */
const ts = () => `17328061${String(10 + (tsSeq++ % 89)).padStart(2, '0')}.${String(100000 + tsSeq).slice(-6)}`;

beforeAll(async () => {
  h = await startHarness({ transport: 'http' });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  h.fake.assistantStatusError = undefined;
});

async function send(
  event: Record<string, unknown>,
  options: { retryNum?: number; eventId?: string } = {},
): Promise<Response> {
  const res = await postSigned(h.eventsUrl, eventCallback(event, options.eventId), { retryNum: options.retryNum });
  return res;
}

describe('Slack over HTTP (signed Events API requests)', () => {
  it('answers the URL verification challenge', async () => {
    const res = await postSigned(h.eventsUrl, {
      token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl',
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      type: 'url_verification',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' });
  });

  it('answers a channel mention once, in the thread of the mention, with feedback buttons', async () => {
    const mentionTs = ts();
    const res = await send(mentionEvent(CHANNEL, ANA, `<@${BOT_USER_ID}> why did job 6802258254 fail?`, mentionTs));
    expect(res.status).toBe(200);
    await h.adapter.idle();
    const replies = answersIn(h.fake, CHANNEL, mentionTs);
    expect(replies).toHaveLength(1);
    const reply = replies[0]!;
    expect(sectionText(reply.blocks).length).toBeGreaterThan(20);
    // The question reached the bot without the mention and was routed to the job.
    expect((await turnsOf(h, CHANNEL, mentionTs))[0]).toMatchObject({
      role: 'user',
      text: 'why did job 6802258254 fail?',
      pandaid: 6802258254,
    });
    expect(sectionText(reply.blocks)).not.toMatch(/\*\*/); // markdown bold became mrkdwn
    expect(actionIds(reply.blocks)).toEqual(expect.arrayContaining(['askpanda_feedback_up', 'askpanda_feedback_down']));
    expect(reply.text.length).toBeGreaterThan(0);
    expect(reply.text.length).toBeLessThanOrEqual(300);
  });

  it('answers the mention once although Slack also delivers it as a message event and retries it', async () => {
    const mentionTs = ts();
    const text = `<@${BOT_USER_ID}> what is happening with task 46374283?`;
    const mention = mentionEvent(CHANNEL, ANA, text, mentionTs);
    const eventId = 'Ev07RETRY00001';
    await Promise.all([
      send(mention, { eventId }),
      send(messageEvent(CHANNEL, ANA, text, mentionTs), { eventId: 'Ev07TWIN000001' }),
      send(mention, { eventId, retryNum: 1 }),
      send(mention, { eventId, retryNum: 2 }),
    ]);
    await h.adapter.idle();
    await sleep(50);
    expect(answersIn(h.fake, CHANNEL, mentionTs)).toHaveLength(1);
  });

  it('does not post when another replica already claimed the message, even on a first delivery', async () => {
    const mentionTs = ts();
    expect(await h.app.store.claimOnce(`slack:${CHANNEL}:${mentionTs}`, 60_000)).toBe(true);
    await send(mentionEvent(CHANNEL, ANA, `<@${BOT_USER_ID}> why did job 6802258254 fail?`, mentionTs));
    await h.adapter.idle();
    await sleep(50);
    expect(h.fake.repliesIn(CHANNEL, mentionTs)).toHaveLength(0);
  });

  it('replies inside an existing thread and reads its earlier messages from Slack first', async () => {
    const rootTs = ts();
    const mentionTs = ts();
    h.fake.threads.set(`${CHANNEL}:${rootTs}`, [
      { ts: rootTs, user: BEN, text: 'my job 6802258254 at CERN-PROD failed overnight', thread_ts: rootTs },
      { ts: ts(), user: ANA, text: 'same here, any idea?', thread_ts: rootTs },
      { ts: mentionTs, user: ANA, text: `<@${BOT_USER_ID}> how can I fix it?`, thread_ts: rootTs },
    ]);
    await send(mentionEvent(CHANNEL, ANA, `<@${BOT_USER_ID}> how can I fix it?`, mentionTs, rootTs));
    await h.adapter.idle();
    expect(h.fake.callsOf('conversations.replies').some((c) => c.args.ts === rootTs)).toBe(true);
    const replies = answersIn(h.fake, CHANNEL, rootTs);
    expect(replies).toHaveLength(1);
    // The seeded thread named the job, so the follow-up is about it.
    const turns = await turnsOf(h, CHANNEL, rootTs);
    expect(turns[0]).toMatchObject({
      role: 'user',
      text: 'my job 6802258254 at CERN-PROD failed overnight',
      pandaid: 6802258254,
    });
    expect(turns.filter((t) => t.text === 'how can I fix it?')).toEqual([
      expect.objectContaining({ role: 'user', pandaid: 6802258254 }),
    ]);
  });

  it('answers a DM in its thread and shows the assistant status while working', async () => {
    const dm = 'D07ANADM01';
    const dmTs = ts();
    await send(messageEvent(dm, ANA, 'why did job 6800730400 fail?', dmTs));
    await h.adapter.idle();
    expect(answersIn(h.fake, dm, dmTs)).toHaveLength(1);
    const status = h.fake.callsOf('assistant.threads.setStatus').filter((c) => c.args.channel_id === dm);
    expect(status.length).toBeGreaterThan(0);
    expect(status[0]!.args.thread_ts).toBe(dmTs);
    expect(String(status[0]!.args.status)).toMatch(/^is /);
  });

  it('falls back to a 👀 reaction where assistant threads are not available', async () => {
    h.fake.assistantStatusError = 'not_allowed_token_type';
    const dm = 'D07BENDM01';
    await send(messageEvent(dm, BEN, 'why did job 6798544333 fail?', ts()));
    await h.adapter.idle();
    await h.fake.waitFor('assistant.threads.setStatus', (c) => c.args.channel_id === dm);
    await sleep(20);
    const refused = h.fake.callsOf('assistant.threads.setStatus').length;
    // Once refused, statuses go to reactions on the user's message.
    const dmTs = ts();
    await send(messageEvent(dm, BEN, 'what is going on with job 6798544333?', dmTs));
    await h.adapter.idle();
    await h.fake.waitFor('reactions.remove', (c) => c.args.timestamp === dmTs);
    expect(h.fake.callsOf('assistant.threads.setStatus')).toHaveLength(refused);
    expect(h.fake.callsOf('reactions.add').some((c) => c.args.timestamp === dmTs && c.args.name === 'eyes')).toBe(true);
    expect(answersIn(h.fake, dm, dmTs)).toHaveLength(1);
  });

  it('answers a reply in a thread it takes part in without a mention, and ignores other threads', async () => {
    const rootTs = ts();
    await send(mentionEvent(CHANNEL, ANA, `<@${BOT_USER_ID}> why did job 6802258254 fail?`, rootTs));
    await h.adapter.idle();
    const followTs = ts();
    await send(messageEvent(CHANNEL, ANA, 'how can I fix it?', followTs, { thread_ts: rootTs, parent_user_id: ANA }));
    const otherRoot = ts();
    const otherTs = ts();
    await send(messageEvent(CHANNEL, BEN, 'lunch at 12?', otherTs, { thread_ts: otherRoot, parent_user_id: BEN }));
    await send(messageEvent(CHANNEL, BEN, 'plain channel chatter about job 6802258254', ts()));
    await h.adapter.idle();
    const replies = answersIn(h.fake, CHANNEL, rootTs);
    expect(replies).toHaveLength(2);
    expect((await turnsOf(h, CHANNEL, rootTs)).filter((t) => t.text === 'how can I fix it?')).toEqual([
      expect.objectContaining({ role: 'user', pandaid: 6802258254 }),
    ]);
    expect(answersIn(h.fake, CHANNEL, otherRoot)).toHaveLength(0);
  });

  it('ignores its own messages, other bots, edits and joins', async () => {
    const before = h.fake.callsOf('chat.postMessage').length;
    const dm = 'D07ANADM01';
    await send(messageEvent(dm, BOT_USER_ID, 'my own answer', ts()));
    await send(messageEvent(dm, 'U0OTHERBOT', 'beep', ts(), { bot_id: 'B0OTHERBOT', subtype: 'bot_message' }));
    await send(
      messageEvent(dm, ANA, '', ts(), {
        subtype: 'message_changed',
        message: { text: 'why did job 6802258254 fail?', user: ANA },
      }),
    );
    await send(messageEvent(CHANNEL, BEN, `<@${BEN}> has joined the channel`, ts(), { subtype: 'channel_join' }));
    await h.adapter.idle();
    await sleep(50);
    expect(h.fake.callsOf('chat.postMessage').length).toBe(before);
  });

  it('rejects forged and stale signatures with 401 and answers neither', async () => {
    const mentionTs = ts();
    const body = eventCallback(mentionEvent(CHANNEL, ANA, `<@${BOT_USER_ID}> why did job 6802258254 fail?`, mentionTs));
    const forged = await postSigned(h.eventsUrl, body, { secret: 'not-the-signing-secret' });
    expect(forged.status).toBe(401);
    const stale = await postSigned(h.eventsUrl, body, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(stale.status).toBe(401);
    const tampered = JSON.stringify(body);
    const now = Math.floor(Date.now() / 1000);
    const res = await fetch(h.eventsUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-slack-request-timestamp': String(now),
        'x-slack-signature': slackSignature(SIGNING_SECRET, now, tampered.replace('6802258254', '6802258255')),
      },
      body: tampered,
    });
    expect(res.status).toBe(401);
    await sleep(100);
    expect(answersIn(h.fake, CHANNEL, mentionTs)).toHaveLength(0);
  });

  it("asks a follow-up button's question in the thread, once per click", async () => {
    const rootTs = ts();
    await send(mentionEvent(CHANNEL, ANA, `<@${BOT_USER_ID}> why did job 6802258254 fail?`, rootTs));
    await h.adapter.idle();
    const answer = answersIn(h.fake, CHANNEL, rootTs)[0]!;
    const click = blockActions({
      channel: CHANNEL,
      user: BEN,
      messageTs: answer.ts,
      threadTs: rootTs,
      actionId: 'askpanda_followup_0',
      value: 'help',
      responseUrl: `http://127.0.0.1:${h.fake.port}/respond/click1`,
    });
    const [first, second] = await Promise.all([
      postSigned(h.eventsUrl, interactiveForm(click)),
      postSigned(h.eventsUrl, interactiveForm(click)),
    ]);
    expect(first!.status).toBe(200);
    expect(second!.status).toBe(200);
    await h.adapter.idle();
    const replies = answersIn(h.fake, CHANNEL, rootTs);
    expect(replies).toHaveLength(2);
    const preface = replies[1]!.blocks[0] as { type: string; elements: Array<{ text: string }> };
    expect(preface.type).toBe('context');
    expect(preface.elements[0]!.text).toContain(`<@${BEN}> asked: help`);
  });

  it('stores 👍/👎 feedback with the answer it is about and thanks the voter privately', async () => {
    const rootTs = ts();
    await send(mentionEvent(CHANNEL, ANA, `<@${BOT_USER_ID}> why did job 6802258254 fail?`, rootTs));
    await h.adapter.idle();
    const answer = answersIn(h.fake, CHANNEL, rootTs)[0]!;
    const feedbackBlock = answer.blocks.find((b) => (b as { block_id?: string }).block_id === 'askpanda_feedback') as {
      elements: Array<{ action_id: string; value: string }>;
    };
    const down = feedbackBlock.elements.find((e) => e.action_id === 'askpanda_feedback_down')!;
    const click = blockActions({
      channel: CHANNEL,
      user: ANA,
      messageTs: answer.ts,
      threadTs: rootTs,
      actionId: down.action_id,
      value: down.value,
      text: answer.text,
      responseUrl: `http://127.0.0.1:${h.fake.port}/respond/fb1`,
    });
    expect((await postSigned(h.eventsUrl, interactiveForm(click))).status).toBe(200);
    await h.adapter.idle();
    const record = (await h.app.store.ns('feedback').get(`slack:${CHANNEL}:${answer.ts}:${ANA}`)) as
      Record<string, unknown> | undefined;
    expect(record).toMatchObject({
      rating: 'down',
      user: ANA,
      channel: CHANNEL,
      messageId: answer.ts,
      question: 'why did job 6802258254 fail?',
    });
    expect(typeof record!.agent).toBe('string');
    const thanks = await h.fake.waitFor('chat.postEphemeral', (c) => c.args.user === ANA);
    expect(thanks[0]!.args.thread_ts).toBe(rootTs);
  });

  it('answers /askpanda help privately and a /askpanda question in the channel, in a thread', async () => {
    const helpRes = await postSigned(
      h.eventsUrl,
      new URLSearchParams(
        slashCommand({
          channel: CHANNEL,
          user: ANA,
          text: 'help',
          responseUrl: `http://127.0.0.1:${h.fake.port}/respond/help1`,
        }),
      ).toString(),
    );
    expect(helpRes.status).toBe(200);
    const questionRes = await postSigned(
      h.eventsUrl,
      new URLSearchParams(
        slashCommand({
          channel: CHANNEL,
          user: BEN,
          text: 'why did job 6802258254 fail?',
          responseUrl: `http://127.0.0.1:${h.fake.port}/respond/q1`,
        }),
      ).toString(),
    );
    expect(questionRes.status).toBe(200);
    await h.adapter.idle();
    const help = h.fake.responses.find((r) => r.id === 'help1');
    expect(help?.body.response_type).toBe('ephemeral');
    expect(JSON.stringify(help?.body.blocks)).toMatch(/Commands/);
    const root = [...h.fake.posted.values()].find(
      (p) => p.channel === CHANNEL && !p.thread_ts && p.text.includes(`<@${BEN}> asked: why did job 6802258254 fail?`),
    );
    expect(root).toBeDefined();
    const replies = answersIn(h.fake, CHANNEL, root!.ts);
    expect(replies).toHaveLength(1);
    expect((await turnsOf(h, CHANNEL, root!.ts))[0]).toMatchObject({
      text: 'why did job 6802258254 fail?',
      pandaid: 6802258254,
    });
  });

  it('treats an empty /askpanda as help', async () => {
    await postSigned(
      h.eventsUrl,
      new URLSearchParams(
        slashCommand({
          channel: CHANNEL,
          user: ANA,
          text: '  ',
          responseUrl: `http://127.0.0.1:${h.fake.port}/respond/empty1`,
        }),
      ).toString(),
    );
    await h.adapter.idle();
    const response = h.fake.responses.find((r) => r.id === 'empty1');
    expect(response?.body.response_type).toBe('ephemeral');
    expect(JSON.stringify(response?.body.blocks)).toMatch(/Commands/);
  });

  it('tells the user privately how to invite it when it cannot post in the channel', async () => {
    h.fake.outsideChannels.add('C07NOTMEMBER');
    await postSigned(
      h.eventsUrl,
      new URLSearchParams(
        slashCommand({
          channel: 'C07NOTMEMBER',
          user: ANA,
          text: 'why did job 6802258254 fail?',
          responseUrl: `http://127.0.0.1:${h.fake.port}/respond/outside1`,
        }),
      ).toString(),
    );
    await h.adapter.idle();
    const response = h.fake.responses.find((r) => r.id === 'outside1');
    expect(response?.body.response_type).toBe('ephemeral');
    expect(String(response?.body.text)).toMatch(/invite/i);
  });

  it('waits out a 429 Retry-After and still posts the answer exactly once', async () => {
    const mentionTs = ts();
    h.fake.fail('chat.postMessage', { status: 429, retryAfter: 1 });
    const started = Date.now();
    await send(mentionEvent(CHANNEL, ANA, `<@${BOT_USER_ID}> why did job 6802258254 fail?`, mentionTs));
    await h.adapter.idle();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(answersIn(h.fake, CHANNEL, mentionTs)).toHaveLength(1);
    const attempts = h.fake.callsOf('chat.postMessage').filter((c) => c.args.thread_ts === mentionTs);
    expect(attempts).toHaveLength(2);
  });

  it('serves a health route next to the events endpoint', async () => {
    const res = await fetch(h.eventsUrl.replace('/slack/events', '/healthz'));
    expect(res.status).toBe(200);
  });
});
