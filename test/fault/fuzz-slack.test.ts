import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BOT_USER_ID,
  blockActions,
  eventCallback,
  fetchToApp,
  interactiveForm,
  mentionEvent,
  messageEvent,
  postSigned,
  slackSignature,
  SIGNING_SECRET,
  slashCommand,
  TEAM_ID,
} from '../fakes/slack-api.ts';
import { EVENTS_MAX_BODY_BYTES } from '../../src/adapters/slack/frames.ts';
import { answersIn, startHarness, type Harness } from '../adapters/slack/helpers.ts';
import { fuzzSeed, guardNetwork, postsFromEnv, Random, scaled, SOAK, sleep, trackProcessFaults } from './helpers.ts';
import { chatMessage } from './messages.ts';

/**
 * Random and adversarial messages through the real Slack adapter (Bolt, both transports) against
 * the loopback Slack fake: events shaped like the Events API sends them (signed HTTP posts, Socket
 * Mode envelopes), plus malformed ones of every kind. Each mention or DM gets exactly one answer in
 * its thread, a re-delivery none, a broken envelope is refused or ignored without harm, and the
 * adapter still answers afterwards.
 */

/** ASKPANDA_FUZZ_SLACK_EVENTS replays a run at any size (ASKPANDA_FUZZ_SEED the seed). */
const EVENTS = postsFromEnv('ASKPANDA_FUZZ_SLACK_EVENTS') ?? scaled(250, 3_000);
const LIMITS = {
  ASKPANDA_LIMITS_MAX_QUEUED: '100000',
  ASKPANDA_LIMITS_PER_USER_IN_FLIGHT: '1000',
  ASKPANDA_LIMITS_PER_USER_PER_MINUTE: '100000',
  ASKPANDA_LIMITS_PER_MINUTE: '1000000',
};
let tsCounter = 0;
const nextTs = () =>
  `${1_750_000_000 + Math.floor(tsCounter / 1000)}.${String(++tsCounter % 1_000_000).padStart(6, '0')}`;

/** One fuzzed event as Slack would send it: a mention in a channel, a DM, or a reply in a thread. */
function fuzzEvent(
  r: Random,
  text: string,
): { event: Record<string, unknown>; channel: string; ts: string; addressed: boolean } {
  const ts = nextTs();
  const user = r.pick(['U05ANAPHYS', 'U05BOBPHYS', 'W012ENTERPRISE']);
  const shape = r.weighted<'mention' | 'dm' | 'reply' | 'edited' | 'bot'>([
    [60, 'mention'],
    [25, 'dm'],
    [7, 'reply'],
    [4, 'edited'],
    [4, 'bot'],
  ]);
  switch (shape) {
    case 'mention': {
      const channel = r.pick(['C07FUZZ01', 'C07FUZZ02']);
      const mention = r.pick([`<@${BOT_USER_ID}> `, `<@${BOT_USER_ID}|askpanda> `, `<@${BOT_USER_ID}>`, '']);
      return {
        event: mentionEvent(channel, user, r.chance(0.5) ? `${mention}${text}` : `${text} ${mention}`, ts),
        channel,
        ts,
        addressed: true,
      };
    }
    case 'dm':
      return { event: messageEvent('D07FUZZDM', user, text, ts), channel: 'D07FUZZDM', ts, addressed: true };
    case 'reply':
      // A reply without a mention in a thread the bot never answered in: ignored.
      return {
        event: messageEvent('C07FUZZ03', user, text, ts, { thread_ts: `1700000000.${r.int(100000, 999999)}` }),
        channel: 'C07FUZZ03',
        ts,
        addressed: false,
      };
    case 'edited':
      return {
        event: messageEvent('D07FUZZDM', user, text, ts, { subtype: 'message_changed', message: { text, user, ts } }),
        channel: 'D07FUZZDM',
        ts,
        addressed: false,
      };
    case 'bot':
      return {
        event: messageEvent('D07FUZZDM', user, text, ts, { bot_id: 'B0OTHERBOT', subtype: 'bot_message' }),
        channel: 'D07FUZZDM',
        ts,
        addressed: false,
      };
  }
}

/** Signed bodies that are no proper event: the receiver must refuse or ignore each, and keep going. */
function malformedBodies(
  r: Random,
): Array<{ name: string; body: string; contentType?: string; headers?: Record<string, string> }> {
  const event = mentionEvent('C07FUZZ01', 'U05ANAPHYS', `<@${BOT_USER_ID}> hi`, nextTs());
  const callback = (patch: Record<string, unknown>) => JSON.stringify({ ...eventCallback(event), ...patch });
  return [
    { name: 'not JSON', body: 'this is not json {' },
    { name: 'JSON null', body: 'null' },
    { name: 'a JSON array', body: '[1,2,3]' },
    { name: 'a JSON string', body: '"event_callback"' },
    { name: 'no event', body: callback({ event: undefined }) },
    { name: 'event is a string', body: callback({ event: 'app_mention' }) },
    { name: 'text is a number', body: callback({ event: { ...event, text: 12345 } }) },
    { name: 'text is an object', body: callback({ event: { ...event, text: { evil: true } } }) },
    { name: 'no channel', body: callback({ event: { ...event, channel: undefined } }) },
    { name: 'no ts', body: callback({ event: { ...event, ts: undefined, event_ts: undefined } }) },
    { name: 'no user', body: callback({ event: { ...event, user: undefined } }) },
    { name: 'unknown event type', body: callback({ event: { ...event, type: 'reaction_added' } }) },
    { name: 'unknown envelope type', body: callback({ type: 'app_rate_limited' }) },
    {
      name: 'url_verification',
      body: JSON.stringify({ token: 'x', challenge: 'c'.repeat(40), type: 'url_verification' }),
    },
    {
      name: 'deeply nested',
      body: callback({ event: { ...event, blocks: JSON.parse('['.repeat(2000) + ']'.repeat(2000)) as unknown } }),
    },
    {
      name: 'interactive payload that is not JSON',
      body: 'payload=%7Bnot%20json',
      contentType: 'application/x-www-form-urlencoded',
    },
    {
      name: 'block_actions without actions',
      body: interactiveForm({ type: 'block_actions', user: { id: 'U05ANAPHYS' }, actions: [] }),
      contentType: 'application/x-www-form-urlencoded',
    },
    {
      name: 'block_actions with a forged follow-up',
      body: interactiveForm(
        blockActions({
          channel: 'C07FUZZ01',
          user: 'U05ANAPHYS',
          messageTs: nextTs(),
          actionId: 'askpanda_followup_0',
          value: 'x'.repeat(3000),
          responseUrl: 'http://127.0.0.1:1/respond',
        }),
      ),
      contentType: 'application/x-www-form-urlencoded',
    },
    {
      name: 'feedback with a garbage value',
      body: interactiveForm(
        blockActions({
          channel: 'C07FUZZ01',
          user: 'U05ANAPHYS',
          messageTs: nextTs(),
          actionId: 'askpanda_feedback_up',
          value: '{"agent":{"$gt":""}}',
          responseUrl: 'http://127.0.0.1:1/respond',
        }),
      ),
      contentType: 'application/x-www-form-urlencoded',
    },
    {
      name: 'a slash command without a user',
      body: new URLSearchParams({ command: '/askpanda', text: 'help', channel_id: 'C07FUZZ01' }).toString(),
      contentType: 'application/x-www-form-urlencoded',
    },
    {
      name: 'a slash command with a 20 KB text',
      body: new URLSearchParams(
        slashCommand({
          channel: 'C07FUZZ01',
          user: 'U05ANAPHYS',
          text: 'x'.repeat(20_000),
          responseUrl: 'http://127.0.0.1:1/respond',
        }),
      ).toString(),
      contentType: 'application/x-www-form-urlencoded',
    },
    { name: 'a body over the 1 MB limit', body: callback({ event: { ...event, text: 'y'.repeat(1_200_000) } }) },
    { name: 'random bytes', body: Buffer.from(Array.from({ length: 512 }, () => r.int(0, 255))).toString('latin1') },
  ];
}

/** Waits until the conversation core has at most a few questions left (at most 10 s). */
async function drained(h: Harness): Promise<void> {
  const until = Date.now() + 10_000;
  while (h.app.conversation.queued > 16 && Date.now() < until) await sleep(10);
}

/** The bot's answers in a thread, and its clear refusals when over the limits ("I am busy right now …"). */
function answered(h: Harness, channel: string, ts: string): unknown[] {
  return [
    ...answersIn(h.fake, channel, ts),
    ...h.fake.repliesIn(channel, ts).filter((p) => p.text.startsWith('I am busy right now')),
  ];
}

describe('fuzz: the Slack adapter over HTTP events', () => {
  let h: Harness;
  const faults = trackProcessFaults();
  const network = guardNetwork();
  beforeAll(async () => {
    h = await startHarness({ env: LIMITS });
  });
  afterAll(async () => {
    network.stop();
    faults.stop();
    await h?.close();
  });

  it(
    `answers each of ${EVENTS} fuzzed mentions and DMs exactly once, re-deliveries never`,
    { timeout: SOAK ? 900_000 : 120_000 },
    async () => {
      const seed = fuzzSeed(20_251_204);
      const r = new Random(seed);
      console.log(`fuzz-slack (http): seed ${seed}, ${EVENTS} events`);
      const sent: Array<{
        channel: string;
        ts: string;
        addressed: boolean;
        body: Record<string, unknown>;
        oversized: boolean;
      }> = [];
      const wrongStatuses: string[] = [];
      for (let i = 0; i < EVENTS; i++) {
        const { text } = chatMessage(r, { foreignUrls: ['http://127.0.0.1:1'], botUserId: BOT_USER_ID });
        const made = fuzzEvent(r, text);
        const body = eventCallback(made.event);
        // A 300 KB text of 3-byte characters, twice in an edit event, is over the 1 MiB the receiver
        // reads: refused with 413 (Slack itself cuts messages at 40,000 characters).
        const oversized = Buffer.byteLength(JSON.stringify(body)) > EVENTS_MAX_BODY_BYTES;
        const expected = oversized ? 413 : 200;
        sent.push({ ...made, body, oversized });
        const check = (status: number) => {
          if (status !== expected) wrongStatuses.push(`${made.channel}/${made.ts}: ${status}, not ${expected}`);
        };
        check((await postSigned(h.eventsUrl, body)).status);
        // Slack re-sends an event it thinks was not acknowledged in time (X-Slack-Retry-Num).
        if (r.chance(0.1)) check((await postSigned(h.eventsUrl, body, { retryNum: 1 })).status);
        // People write at a human pace (Bolt acknowledges at once and answers later).
        if (i % 25 === 24) await drained(h);
      }
      await h.adapter.idle();
      expect(wrongStatuses, `seed ${seed}`).toEqual([]);
      const problems: string[] = [];
      for (const s of sent) {
        const answers = answered(h, s.channel, s.ts);
        const replies = h.fake.repliesIn(s.channel, s.ts);
        if (s.oversized) {
          if (replies.length > 0) problems.push(`${s.channel}/${s.ts}: answered a refused event`);
          continue;
        }
        if (s.addressed && answers.length !== 1)
          problems.push(
            `${s.channel}/${s.ts} ${JSON.stringify(String((s.body.event as { text: string }).text).slice(0, 80))}: ${answers.length} answers, ${replies.length} replies`,
          );
        if (!s.addressed && replies.length > 0)
          problems.push(`${s.channel}/${s.ts}: answered an event not addressed to the bot`);
      }
      expect(problems.slice(0, 20), `seed ${seed}`).toEqual([]);
      expect(faults.unhandledRejections, `seed ${seed}`).toEqual([]);
      expect(faults.uncaughtExceptions, `seed ${seed}`).toEqual([]);
    },
  );

  it('refuses a signed body that is not a JSON object at once (Bolt threw on it: an unhandled rejection, a request never answered)', async () => {
    for (const body of ['null', '[]', '"event_callback"', '42']) {
      const timestamp = Math.floor(Date.now() / 1000);
      const started = performance.now();
      const response = await fetchToApp(h.eventsUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-slack-request-timestamp': String(timestamp),
          'x-slack-signature': slackSignature(SIGNING_SECRET, timestamp, body),
        },
        body,
      });
      expect(response.status, body).toBe(400);
      expect(await response.json(), body).toEqual({ error: 'not a Slack request: the body is not a JSON object' });
      expect(performance.now() - started, body).toBeLessThan(1_000);
    }
    expect(faults.unhandledRejections).toEqual([]);
  });

  it('refuses or ignores malformed, forged and oversized requests, and still answers afterwards', async () => {
    const r = new Random(3);
    for (const { name, body, contentType } of malformedBodies(r)) {
      const timestamp = Math.floor(Date.now() / 1000);
      const response = await fetchToApp(h.eventsUrl, {
        method: 'POST',
        headers: {
          'content-type': contentType ?? 'application/json',
          'x-slack-request-timestamp': String(timestamp),
          'x-slack-signature': slackSignature(SIGNING_SECRET, timestamp, body),
        },
        body,
      });
      await response.arrayBuffer();
      expect(response.status, name).toBeLessThan(500);
    }
    // Forged: a wrong signature, a stale timestamp, no signature at all.
    const valid = JSON.stringify(
      eventCallback(
        mentionEvent('C07FUZZ01', 'U05ANAPHYS', `<@${BOT_USER_ID}> why did job 6802258254 fail?`, nextTs()),
      ),
    );
    expect((await postSigned(h.eventsUrl, valid, { signature: 'v0=deadbeef' })).status).toBe(401);
    expect(
      (
        await postSigned(h.eventsUrl, JSON.parse(valid) as Record<string, unknown>, {
          timestamp: Math.floor(Date.now() / 1000) - 3600,
        })
      ).status,
    ).toBe(401);
    expect(
      (await fetchToApp(h.eventsUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: valid }))
        .status,
    ).toBe(401);
    await h.adapter.idle();
    const ts = nextTs();
    await postSigned(
      h.eventsUrl,
      eventCallback(mentionEvent('C07FUZZ09', 'U05ANAPHYS', `<@${BOT_USER_ID}> why did job 6802258254 fail?`, ts)),
    );
    await h.adapter.idle();
    expect(answersIn(h.fake, 'C07FUZZ09', ts)).toHaveLength(1);
    expect(faults.unhandledRejections).toEqual([]);
    expect(faults.uncaughtExceptions).toEqual([]);
    // Links in messages were never fetched: only the Slack fake and the demo monitor were contacted.
    expect(network.outside()).toEqual([]);
  });
});

describe('fuzz: the Slack adapter over Socket Mode', () => {
  let h: Harness;
  const faults = trackProcessFaults();
  beforeAll(async () => {
    h = await startHarness({ transport: 'socket', env: LIMITS });
  });
  afterAll(async () => {
    faults.stop();
    await h?.close();
  });

  it('skips frames without an envelope id, payload or event (the Socket Mode client rejected unhandled on them)', async () => {
    for (const frame of [
      'null',
      '{"type":"events_api"}',
      `{"envelope_id":"${randomUUID()}","type":"events_api","payload":null}`,
      `{"envelope_id":"${randomUUID()}","type":"events_api","payload":{"type":"event_callback"}}`,
    ])
      h.fake.sendRaw(frame);
    await sleep(300);
    expect(faults.unhandledRejections).toEqual([]);
    const ts = nextTs();
    await h.fake.sendEnvelope(
      'events_api',
      eventCallback(mentionEvent('C07FUZZ08', 'U05ANAPHYS', `<@${BOT_USER_ID}> what is a pilot?`, ts)),
    );
    await h.adapter.idle();
    expect(answersIn(h.fake, 'C07FUZZ08', ts)).toHaveLength(1);
  });

  it(
    `answers each of ${Math.round(EVENTS / 2)} fuzzed envelopes once and survives broken frames`,
    { timeout: SOAK ? 900_000 : 120_000 },
    async () => {
      const seed = fuzzSeed(20_251_205);
      const r = new Random(seed);
      console.log(`fuzz-slack (socket): seed ${seed}, ${Math.round(EVENTS / 2)} envelopes`);
      const sent: Array<{ channel: string; ts: string; addressed: boolean }> = [];
      for (let i = 0; i < EVENTS / 2; i++) {
        const { text } = chatMessage(r, { foreignUrls: ['http://127.0.0.1:1'], botUserId: BOT_USER_ID });
        const made = fuzzEvent(r, text);
        sent.push(made);
        const envelopeId = randomUUID();
        await h.fake.sendEnvelope('events_api', eventCallback(made.event), { envelopeId });
        if (r.chance(0.1))
          await h.fake.sendEnvelope('events_api', eventCallback(made.event), { envelopeId, retryAttempt: 1 });
        if (i % 25 === 24) await drained(h);
        if (r.chance(0.15)) {
          // Frames no Slack server sends, or sends broken: each must be dropped without harm.
          const frame = r.pick<string | Buffer>([
            'not json at all',
            '{}',
            'null',
            '[]',
            JSON.stringify({ type: 'events_api' }),
            JSON.stringify({ envelope_id: randomUUID(), type: 'events_api', payload: null }),
            JSON.stringify({
              envelope_id: randomUUID(),
              type: 'events_api',
              payload: { type: 'event_callback', team_id: TEAM_ID },
            }),
            JSON.stringify({
              envelope_id: randomUUID(),
              type: 'events_api',
              payload: { type: 'event_callback', event: { type: 'app_mention', text: 5 } },
            }),
            JSON.stringify({
              envelope_id: randomUUID(),
              type: 'interactive',
              payload: { type: 'block_actions' },
              accepts_response_payload: true,
            }),
            JSON.stringify({
              envelope_id: randomUUID(),
              type: 'slash_commands',
              payload: { command: '/askpanda' },
              accepts_response_payload: true,
            }),
            JSON.stringify({ envelope_id: randomUUID(), type: 'no_such_type', payload: {} }),
            JSON.stringify({
              envelope_id: 42,
              type: 'events_api',
              payload: eventCallback(mentionEvent('C07FUZZ01', 'U1', 'x', nextTs())),
            }),
            Buffer.from([0xff, 0xfe, 0x00, 0x01]),
            `{"envelope_id":"${randomUUID()}","type":"events_api","payload":${'['.repeat(5000)}`,
            JSON.stringify({
              envelope_id: randomUUID(),
              type: 'events_api',
              payload: eventCallback({
                ...mentionEvent('C07FUZZ01', 'U05ANAPHYS', `<@${BOT_USER_ID}> ${'z'.repeat(2_000_000)}`, nextTs()),
              }),
            }),
          ]);
          h.fake.sendRaw(frame, { binary: Buffer.isBuffer(frame) });
        }
      }
      await sleep(200);
      await h.adapter.idle();
      const problems: string[] = [];
      for (const s of sent) {
        const answers = answered(h, s.channel, s.ts);
        if (s.addressed && answers.length !== 1) problems.push(`${s.channel}/${s.ts}: ${answers.length} answers`);
        if (!s.addressed && h.fake.repliesIn(s.channel, s.ts).length > 0)
          problems.push(`${s.channel}/${s.ts}: answered an event not addressed to the bot`);
      }
      expect(problems.slice(0, 20), `seed ${seed}`).toEqual([]);
      // Still connected and answering.
      const ts = nextTs();
      await h.fake.sendEnvelope(
        'events_api',
        eventCallback(
          mentionEvent('C07FUZZ09', 'U05ANAPHYS', `<@${BOT_USER_ID}> what is happening with task 46374283?`, ts),
        ),
      );
      await h.adapter.idle();
      expect(answersIn(h.fake, 'C07FUZZ09', ts)).toHaveLength(1);
      expect(faults.unhandledRejections, `seed ${seed}`).toEqual([]);
      expect(faults.uncaughtExceptions, `seed ${seed}`).toEqual([]);
    },
  );
});
