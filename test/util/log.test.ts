import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../src/util/log.ts';
import { startMattermost, waitForAnswers, type MattermostHarness } from '../mattermost/adapter-helpers.ts';

/** The app's logger (createLogger: its mixin and redaction), writing JSON lines into an array. */
function capture(level: string): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger(level, stream);
  return { logger, lines };
}

describe('logs', () => {
  const harnesses: MattermostHarness[] = [];
  afterAll(async () => {
    for (const h of harnesses) await h.close();
  });

  it('carry one request id per question, from the conversation core to the monitor requests', async () => {
    const { logger, lines } = capture('debug');
    const h = await startMattermost({ logger });
    harnesses.push(h);
    const ana = h.fake.addUser({ username: 'ana' });
    const channel = h.fake.addChannel({ name: 'logs', members: [ana], withBot: true });
    const first = h.fake.userPosts(ana, channel, '@askpanda why did job 6800730400 fail?');
    const second = h.fake.userPosts(ana, channel, '@askpanda what is happening with task 46374283?');
    await waitForAnswers(h.fake, first.id);
    await waitForAnswers(h.fake, second.id);
    await h.adapter.idle();
    const monitor = lines.filter((l) => l.msg === 'monitor request');
    expect(monitor.length).toBeGreaterThanOrEqual(2);
    const ids = new Set(monitor.map((l) => l.requestId));
    // Every monitor request was made on behalf of a question, and the two questions have their own ids.
    expect(ids.has(undefined)).toBe(false);
    expect(ids.size).toBe(2);
    const routed = lines.filter((l) => l.msg === 'routed');
    expect(new Set(routed.map((l) => l.requestId))).toEqual(ids);
  });

  it('at info, hold no message text, answer text or token', async () => {
    const { logger, lines } = capture('info');
    const h = await startMattermost({ logger });
    harnesses.push(h);
    const ana = h.fake.addUser({ username: 'ana' });
    const channel = h.fake.addChannel({ name: 'quiet', members: [ana], withBot: true });
    const question = h.fake.userPosts(
      ana,
      channel,
      '@askpanda why did job 6802258254 fail? my secret phrase is zebra-umbrella-42',
    );
    const [answer] = await waitForAnswers(h.fake, question.id);
    await h.adapter.idle();
    const text = JSON.stringify(lines);
    expect(lines.length).toBeGreaterThan(0);
    expect(text).not.toContain('zebra-umbrella-42');
    expect(text).not.toContain(answer!.message.slice(0, 60));
    expect(text).not.toContain('b7ot3askpandatoken8e1kmcpq');
  });
});
