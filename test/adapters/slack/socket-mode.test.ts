import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APP_TOKEN,
  BOT_USER_ID,
  blockActions,
  eventCallback,
  mentionEvent,
  messageEvent,
  slashCommand,
} from '../../fakes/slack-api.ts';
import { answersIn, sectionText, sleep, startHarness, turnsOf, waitForAnswers, type Harness } from './helpers.ts';

const CHANNEL = 'C07PANDAOPS';
const ANA = 'U05ANAPHYS';

let h: Harness;
let seq = 0;
const ts = () => `1732807${String(100 + seq++).padStart(3, '0')}.${String(200000 + seq).slice(-6)}`;

beforeAll(async () => {
  h = await startHarness({ transport: 'socket' });
});
afterAll(async () => {
  await h?.close();
});

describe('Slack over Socket Mode (apps.connections.open + websocket envelopes)', () => {
  it('opens the connection with the app-level token', () => {
    expect(h.started.transport).toBe('socket');
    const open = h.fake.callsOf('apps.connections.open');
    expect(open.length).toBeGreaterThanOrEqual(1);
    expect(open[0]!.token).toBe(APP_TOKEN);
    expect(h.fake.socketCount).toBe(1);
  });

  it('acknowledges a mention envelope and answers once in the thread', async () => {
    const mentionTs = ts();
    const ack = await h.fake.sendEnvelope(
      'events_api',
      eventCallback(mentionEvent(CHANNEL, ANA, `<@${BOT_USER_ID}> why did job 6802258254 fail?`, mentionTs)),
    );
    expect(ack).toEqual({});
    await waitForAnswers(h.fake, CHANNEL, mentionTs, 1);
    await h.adapter.idle();
    const replies = answersIn(h.fake, CHANNEL, mentionTs);
    expect(replies).toHaveLength(1);
    expect(sectionText(replies[0]!.blocks).length).toBeGreaterThan(0);
    expect((await turnsOf(h, CHANNEL, mentionTs))[0]).toMatchObject({
      role: 'user',
      text: 'why did job 6802258254 fail?',
      pandaid: 6802258254,
    });
  });

  it('answers a retried envelope (retry_attempt) only once', async () => {
    const mentionTs = ts();
    const payload = eventCallback(
      mentionEvent(CHANNEL, ANA, `<@${BOT_USER_ID}> what is happening with task 46374283?`, mentionTs),
      'Ev07SOCKRETRY1',
    );
    await Promise.all([
      h.fake.sendEnvelope('events_api', payload),
      h.fake.sendEnvelope('events_api', payload, { retryAttempt: 1 }),
      h.fake.sendEnvelope('events_api', payload, { retryAttempt: 2 }),
    ]);
    await waitForAnswers(h.fake, CHANNEL, mentionTs, 1);
    await h.adapter.idle();
    await sleep(50);
    expect(answersIn(h.fake, CHANNEL, mentionTs)).toHaveLength(1);
  });

  it('answers a DM and a thread follow-up without a mention', async () => {
    const dm = 'D07ANASOCK1';
    const dmTs = ts();
    await h.fake.sendEnvelope('events_api', eventCallback(messageEvent(dm, ANA, 'why did job 6800730400 fail?', dmTs)));
    await waitForAnswers(h.fake, dm, dmTs, 1);
    const followTs = ts();
    await h.fake.sendEnvelope(
      'events_api',
      eventCallback(messageEvent(dm, ANA, 'how can I fix it?', followTs, { thread_ts: dmTs })),
    );
    await waitForAnswers(h.fake, dm, dmTs, 2);
    await h.adapter.idle();
    const replies = answersIn(h.fake, dm, dmTs);
    expect(replies).toHaveLength(2);
    // The follow-up named no job; the thread did, so it was routed to that job.
    const turns = await turnsOf(h, dm, dmTs);
    // (long answers may push the oldest turns out of the history budget)
    expect(turns.filter((t) => t.text === 'how can I fix it?')).toEqual([
      expect.objectContaining({ role: 'user', pandaid: 6800730400 }),
    ]);
    expect(turns.at(-1)!.role).toBe('assistant');
    expect(sectionText(replies[1]!.blocks).length).toBeGreaterThan(0);
  });

  it('answers a channel thread reply without a mention once it has answered in that thread', async () => {
    const rootTs = ts();
    await h.fake.sendEnvelope(
      'events_api',
      eventCallback(mentionEvent(CHANNEL, ANA, `<@${BOT_USER_ID}> what is happening with task 46374283?`, rootTs)),
    );
    await waitForAnswers(h.fake, CHANNEL, rootTs, 1);
    const replyTs = ts();
    await h.fake.sendEnvelope(
      'events_api',
      eventCallback(
        messageEvent(CHANNEL, ANA, 'why are jobs failing?', replyTs, { thread_ts: rootTs, parent_user_id: ANA }),
      ),
    );
    await waitForAnswers(h.fake, CHANNEL, rootTs, 2);
    await h.adapter.idle();
    await sleep(50);
    expect(answersIn(h.fake, CHANNEL, rootTs)).toHaveLength(2);
    expect((await turnsOf(h, CHANNEL, rootTs)).filter((t) => t.text === 'why are jobs failing?')).toEqual([
      expect.objectContaining({ role: 'user', jeditaskid: 46374283 }),
    ]);
  });

  it('handles button clicks and slash commands delivered as envelopes', async () => {
    const rootTs = ts();
    await h.fake.sendEnvelope(
      'events_api',
      eventCallback(mentionEvent(CHANNEL, ANA, `<@${BOT_USER_ID}> why did job 6802258254 fail?`, rootTs)),
    );
    await waitForAnswers(h.fake, CHANNEL, rootTs, 1);
    await h.adapter.idle();
    const answer = answersIn(h.fake, CHANNEL, rootTs)[0]!;
    await h.fake.sendEnvelope(
      'interactive',
      blockActions({
        channel: CHANNEL,
        user: ANA,
        messageTs: answer.ts,
        threadTs: rootTs,
        actionId: 'askpanda_followup_0',
        value: 'help',
        responseUrl: `http://127.0.0.1:${h.fake.port}/respond/sock-click`,
      }),
    );
    await waitForAnswers(h.fake, CHANNEL, rootTs, 2);

    await h.fake.sendEnvelope(
      'slash_commands',
      slashCommand({
        channel: CHANNEL,
        user: ANA,
        text: 'help',
        responseUrl: `http://127.0.0.1:${h.fake.port}/respond/sock-help`,
      }),
    );
    await h.adapter.idle();
    const help = h.fake.responses.find((r) => r.id === 'sock-help');
    expect(help?.body.response_type).toBe('ephemeral');
  });

  it('reconnects when Slack asks it to (disconnect message) and keeps answering', async () => {
    const opensBefore = h.fake.callsOf('apps.connections.open').length;
    await h.fake.sendDisconnect();
    await h.fake.waitFor('apps.connections.open', () => true, opensBefore + 1, 15_000);
    await h.fake.waitForSocket(10_000);
    const mentionTs = ts();
    await h.fake.sendEnvelope(
      'events_api',
      eventCallback(mentionEvent(CHANNEL, ANA, `<@${BOT_USER_ID}> why did job 6798544333 fail?`, mentionTs)),
    );
    await waitForAnswers(h.fake, CHANNEL, mentionTs, 1);
  }, 20_000);
});
