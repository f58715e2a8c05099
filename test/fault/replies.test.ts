import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { echo } from '../../src/util/echo.ts';
import { answerProblems } from './helpers.ts';
import { startFakeApp, startFakeWorld, type FakeWorld } from './harness.ts';

/**
 * Refusals that quote what was typed quote a short, clean piece of it: the fuzz run found a
 * `subscribe` refusal that echoed a whole 1,000-character message back (and it would have echoed
 * 8,000), and quotes that carried control characters and line breaks into the reply.
 */

let world: FakeWorld;
let app: App;
beforeAll(async () => {
  world = await startFakeWorld();
  app = await startFakeApp(world);
});
afterAll(async () => {
  await app?.close();
  await world?.close();
});

const ask = (text: string) =>
  app.bot.handle({
    platform: 'slack',
    channel: 'C0ECHO',
    thread: `t-${Math.random()}`,
    user: 'U042',
    text,
    isDirect: false,
  });

describe('what a refusal quotes of the message', () => {
  it.each([
    [
      'a subscribe with 40 repeats',
      'subscribe task 46374283 '.repeat(40),
      /^I did not understand "(?:subscribe task 46374283 ){2}subscribe ta…"; the form is/,
    ],
    ['a task id of 7,000 letters', `subscribe task ${'x'.repeat(7_000)}`, /^"x{60}…" is not a task id/],
    [
      'a time zone of 5,000 characters',
      `subscribe task 46374283 tz ${'Mars/'.repeat(1_000)}`,
      /^I do not know the time zone "(?:Mars\/){12}…";/,
    ],
    ['a schedule time of junk', `subscribe task 46374283 daily at ${'9'.repeat(3_000)}`, /not "9{60}…"\.$/],
    ['an unknown command of 5,000 letters', `/${'a'.repeat(5_000)}`, /^I do not know the command `a{40}…`\./],
    [
      'an id glued to 7,000 letters',
      `why did job 6802258254${'z'.repeat(7_000)} fail?`,
      /^"6802258254z{30}…" is not a PanDA id/,
    ],
    [
      'control characters and line breaks',
      'subscribe task 46374283 every \u0000\u0007x\n\ny',
      /^After "every" I need a number of hours such as 6h, not "x"\.$/,
    ],
  ])('%s: one short sentence', async (_what, text, says) => {
    const answer = await ask(text);
    expect(answer.error?.kind).toBe('bad_input');
    expect(answer.error?.message).toMatch(says);
    expect(answer.error!.message.length).toBeLessThan(400);
    expect(answerProblems(answer)).toEqual([]);
  });

  it('cuts by characters, never inside a surrogate pair, and drops control characters', () => {
    expect(echo('🐼'.repeat(100), 3)).toBe('🐼🐼🐼…');
    expect(echo('a\u0000b\nc\u2028d')).toBe('a b c d');
    expect(echo('short')).toBe('short');
  });
});
