import { describe, expect, it } from 'vitest';
import type { Answer } from '../../../src/core/answer.ts';
import { chunkMrkdwn, SLACK_LIMITS } from '../../../src/adapters/slack/limits.ts';
import { markdownToMrkdwn } from '../../../src/adapters/slack/mrkdwn.ts';
import { renderAnswer, renderPartial } from '../../../src/adapters/slack/render.ts';
import { classifyMessageEvent } from '../../../src/adapters/slack/events.ts';
import { ChannelPacer } from '../../../src/adapters/slack/pacer.ts';

function answer(text: string, extra: Partial<Answer> = {}): Answer {
  return {
    agent: 'job',
    text,
    sections: [],
    facts: { pandaid: 6802258254 },
    evidence: [],
    followUps: [],
    sources: [],
    links: [],
    model: 'offline',
    ...extra,
  };
}

const PILOT_LOG_LINE =
  '2026-11-27 23:41:07,112 | WARNING | payload.py | run_payload | payload failed: exit code 65; ' +
  'see payload.stderr for athena.py "TFile::Init" <corrupted> & unreadable input';

describe('markdown → Slack mrkdwn', () => {
  it('converts bold, links, bullets, headings and escapes control characters', () => {
    const md = [
      '# Job 6802258254 failed',
      '**Problem**: the payload exited with code 65 (<input file> & friends)',
      '- see [the job page](https://bigpanda.cern.ch/job?pandaid=6802258254)',
      '* an *emphasis* and ~~strike~~ and `a <b> c`',
    ].join('\n');
    expect(markdownToMrkdwn(md).split('\n')).toEqual([
      '*Job 6802258254 failed*',
      '*Problem*: the payload exited with code 65 (&lt;input file&gt; &amp; friends)',
      '• see <https://bigpanda.cern.ch/job?pandaid=6802258254|the job page>',
      '• an _emphasis_ and ~strike~ and `a &lt;b&gt; c`',
    ]);
  });

  it('keeps fenced code verbatim (escaped) and drops the language tag', () => {
    const md = 'Evidence:\n```text\n**not bold** [x](https://a.b)\nerror <1>\n```\nafter';
    expect(markdownToMrkdwn(md)).toBe('Evidence:\n```\n**not bold** [x](https://a.b)\nerror &lt;1&gt;\n```\nafter');
  });

  it('closes an unterminated fence', () => {
    expect(markdownToMrkdwn('```\nline')).toBe('```\nline\n```');
  });
});

describe('Block Kit within Slack limits', () => {
  it('splits a very long answer into thread messages with ≤ 3,000 characters per section and ≤ 50 blocks, then trims with a link', () => {
    const evidence = Array.from({ length: 900 }, (_, i) => `${PILOT_LOG_LINE} #${i}`).join('\n');
    const text = `**Summary**\nThe job failed.\n\n**Evidence from pilotlog.txt**\n\`\`\`\n${evidence}\n\`\`\``;
    const messages = renderAnswer(
      answer(text, { links: [{ title: 'job 6802258254', url: 'https://bigpanda.cern.ch/job?pandaid=6802258254' }] }),
    );
    expect(messages.length).toBe(SLACK_LIMITS.messagesPerAnswer);
    for (const message of messages) {
      expect(message.blocks.length).toBeLessThanOrEqual(50);
      const sections = message.blocks.filter((b) => b.type === 'section') as Array<{ text: { text: string } }>;
      for (const s of sections) {
        expect(s.text.text.length).toBeLessThanOrEqual(3000);
        // every section's code stays fenced: an even number of fences
        expect((s.text.text.match(/```/g) ?? []).length % 2).toBe(0);
      }
      expect(sections.reduce((n, s) => n + s.text.text.length, 0)).toBeLessThanOrEqual(SLACK_LIMITS.messageChars + 500);
      expect(message.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackChars);
    }
    const last = JSON.stringify(messages.at(-1)!.blocks);
    expect(last).toContain('too long for Slack');
    expect(last).toContain('<https://bigpanda.cern.ch/job?pandaid=6802258254|job 6802258254>');
  });

  it('turns follow-ups into buttons (not a repeated list) and adds feedback buttons with a compact value', () => {
    const text = 'The job ran out of memory.\n\n**You could ask next**\n- How can I fix it? _(steps)_';
    const [message] = renderAnswer(
      answer(text, {
        followUps: [
          { question: 'How can I fix it?', why: 'steps' },
          { question: 'x'.repeat(300), why: 'long' },
        ],
      }),
      {
        feedback: { agent: 'job', model: 'offline', question: 'q'.repeat(5000), pandaid: 6802258254 },
      },
    );
    expect(JSON.stringify(message!.blocks)).not.toContain('You could ask next');
    const actions = message!.blocks.filter((b) => b.type === 'actions') as Array<{
      elements: Array<{ action_id: string; value: string; text: { text: string } }>;
    }>;
    expect(actions[0]!.elements.map((e) => e.action_id)).toEqual(['askpanda_followup_0', 'askpanda_followup_1']);
    expect(actions[0]!.elements[1]!.text.text.length).toBeLessThanOrEqual(75);
    const feedback = actions[1]!.elements;
    expect(feedback.map((e) => e.action_id)).toEqual(['askpanda_feedback_up', 'askpanda_feedback_down']);
    expect(feedback[0]!.value.length).toBeLessThanOrEqual(2000);
    expect(JSON.parse(feedback[0]!.value)).toMatchObject({ agent: 'job', pandaid: 6802258254 });
  });

  it('keeps identifiers intact in the notification text while dropping formatting marks', () => {
    const [message] = renderAnswer(
      answer(
        'Job 6802258254 *failed* at ANALY_MWT2_UCORE: _see_ `payload.stderr` and ~old~ ' +
          '[job page](https://bigpanda.cern.ch/job?pandaid=6802258254)',
      ),
    );
    expect(message!.text).toBe('Job 6802258254 failed at ANALY_MWT2_UCORE: see payload.stderr and old job page');
  });

  it('leaves a long code block out of the notification text even when it runs far into the message', () => {
    // The notification is built from the section's opening; a fence that opens early and closes late must still be skipped whole.
    const code = Array.from(
      { length: 18 },
      (_, i) =>
        `[2026-11-27 23:41:${String(i).padStart(2, '0')}] cling JIT session error: Cannot allocate memory (line ${i})`,
    ).join('\n');
    const prose = Array.from(
      { length: 12 },
      (_, i) => `The payload ran out of memory on attempt ${i}; request more with --memory 6000.`,
    ).join('\n');
    const text = `Job 6802258254 failed:\n\`\`\`\n${code}\n\`\`\`\n${prose}`;
    expect(text.indexOf(code) + code.length).toBeGreaterThan(4 * SLACK_LIMITS.fallbackChars);
    const [message, ...more] = renderAnswer(answer(text));
    expect(more).toEqual([]);
    expect(message!.blocks.filter((b) => b.type === 'section')).toHaveLength(1);
    expect(message!.text).toMatch(
      /^Job 6802258254 failed: The payload ran out of memory on attempt 0; request more with --memory 6000\. The payload ran out/,
    );
    expect(message!.text).not.toContain('cling');
    expect(message!.text).toHaveLength(SLACK_LIMITS.fallbackChars);
    expect(message!.text.endsWith('…')).toBe(true);
  });

  it('renders no buttons for ephemeral replies', () => {
    const [message] = renderAnswer(answer('help text', { followUps: [{ question: 'help', why: 'x' }] }), {
      buttons: false,
    });
    expect(message!.blocks.every((b) => b.type !== 'actions')).toBe(true);
  });

  it('cuts a single enormous line without breaking an entity or a link', () => {
    const line = `${'a&b '.repeat(2000)}[x](https://bigpanda.cern.ch/job?pandaid=1)`;
    const chunks = chunkMrkdwn(markdownToMrkdwn(line), 2900);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(2900);
      expect(c).not.toMatch(/&(?:a|am|amp)?$/);
    }
    expect(chunks.join(' ')).toContain('<https://bigpanda.cern.ch/job?pandaid=1|x>');
  });

  it('shows a streaming draft as one section within the limit', () => {
    const draft = renderPartial('x'.repeat(10_000));
    expect(draft.blocks).toHaveLength(1);
    expect((draft.blocks[0] as { text: { text: string } }).text.text.length).toBeLessThanOrEqual(3000);
  });
});

describe('which Slack events are questions', () => {
  const bot = 'U07ASKPANDA';
  it('answers mentions and DMs, defers thread replies, ignores the rest', () => {
    expect(
      classifyMessageEvent({ type: 'app_mention', channel: 'C1', user: 'U1', text: `<@${bot}> hi`, ts: '1.1' }, bot),
    ).toMatchObject({ kind: 'question', threadTs: '1.1', isDirect: false });
    expect(
      classifyMessageEvent(
        { type: 'message', channel: 'D1', channel_type: 'im', user: 'U1', text: 'hi', ts: '2.1', thread_ts: '2.0' },
        bot,
      ),
    ).toMatchObject({ kind: 'question', threadTs: '2.0', isDirect: true });
    expect(
      classifyMessageEvent(
        {
          type: 'message',
          channel: 'C1',
          channel_type: 'channel',
          user: 'U1',
          text: 'and?',
          ts: '3.2',
          thread_ts: '3.1',
        },
        bot,
      ),
    ).toMatchObject({ kind: 'thread-reply' });
    expect(
      classifyMessageEvent(
        {
          type: 'message',
          channel: 'C1',
          channel_type: 'channel',
          user: 'U1',
          text: `<@${bot}> and?`,
          ts: '3.3',
          thread_ts: '3.1',
        },
        bot,
      ).kind,
    ).toBe('ignore');
    expect(
      classifyMessageEvent(
        { type: 'message', channel: 'C1', channel_type: 'channel', user: 'U1', text: 'root', ts: '4.1' },
        bot,
      ).kind,
    ).toBe('ignore');
    expect(
      classifyMessageEvent({ type: 'message', subtype: 'message_changed', channel: 'D1', ts: '5.1' }, bot).kind,
    ).toBe('ignore');
    expect(
      classifyMessageEvent(
        { type: 'message', channel: 'D1', channel_type: 'im', bot_id: 'B9', user: 'U9', text: 'beep', ts: '6.1' },
        bot,
      ).kind,
    ).toBe('ignore');
    expect(
      classifyMessageEvent(
        { type: 'message', channel: 'D1', channel_type: 'im', user: bot, text: 'me', ts: '7.1' },
        bot,
      ).kind,
    ).toBe('ignore');
    expect(classifyMessageEvent({ type: 'message', channel: 'D1' }, bot).kind).toBe('ignore');
  });
});

describe('per-channel pacing', () => {
  it('lets a short burst through, then spaces posts in one channel by the interval, leaving other channels alone', async () => {
    const pacer = new ChannelPacer(120, 2);
    const started = performance.now();
    const times: Record<string, number[]> = { a: [], b: [] };
    await Promise.all([
      ...[0, 1, 2, 3].map(() => pacer.wait('C-A').then(() => times.a!.push(performance.now() - started))),
      pacer.wait('C-B').then(() => times.b!.push(performance.now() - started)),
    ]);
    times.a!.sort((x, y) => x - y);
    expect(times.a![1]!).toBeLessThan(50); // the burst of two
    expect(times.a![2]!).toBeGreaterThanOrEqual(100);
    expect(times.a![3]! - times.a![2]!).toBeGreaterThanOrEqual(100);
    expect(times.b![0]!).toBeLessThan(50);
  });
});
