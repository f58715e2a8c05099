import { describe, expect, it } from 'vitest';
import { errorCodeAnswer } from '../../src/server/error-code-answer.ts';
import { parseInstant } from '../../src/server/mcp-tools.ts';

describe('panda_task_failures time arguments', () => {
  it('reads ISO-8601 times and dates as UTC, with offsets', () => {
    expect(parseInstant('2025-09-08')?.toISOString()).toBe('2025-09-08T00:00:00.000Z');
    expect(parseInstant('2025-09-08T06:30')?.toISOString()).toBe('2025-09-08T06:30:00.000Z');
    expect(parseInstant('2025-09-08 06:30:15Z')?.toISOString()).toBe('2025-09-08T06:30:15.000Z');
    expect(parseInstant('2025-09-08T08:30:00+02:00')?.toISOString()).toBe('2025-09-08T06:30:00.000Z');
    expect(parseInstant('2025-09-08T08:30:00+0200')?.toISOString()).toBe('2025-09-08T06:30:00.000Z');
  });

  it('refuses what is not a time rather than guessing', () => {
    for (const text of ['yesterday', '08/09/2025', '2025-02-30', '2025-13-01', '2025-09-08T25:00', '']) expect(parseInstant(text), text).toBeUndefined();
  });
});

describe('panda_error_code answers', () => {
  it('takes the monitor\'s short component names', () => {
    expect(errorCodeAnswer('ddm', 200).facts).toMatchObject({ component: 'dataservice', code: 200 });
    expect(errorCodeAnswer('EXE', 65).facts).toMatchObject({ component: 'executor' });
    expect(errorCodeAnswer('transform', 137).text).toMatch(/^\*\*Transformation exit code 137\*\*/);
  });

  it('gives the curated guidance where there is one, with where to look', () => {
    const answer = errorCodeAnswer('pilot', 1305);
    expect(answer.error).toBeUndefined();
    expect(answer.sections.map((s) => s.title)).toEqual(['Component', 'Possible causes', 'What to do', 'Where to look', 'Expert notes']);
    expect(answer.sections.find((s) => s.title === 'Where to look')!.body).toMatch(/payload\.stdout/);
    expect(errorCodeAnswer('taskbuffer', 100).text).toMatch(/reassigned/);
  });

  it('an uncurated pilot code still gets its official name and message', () => {
    const known = errorCodeAnswer('pilot', 1098);
    expect(known.error).toBeUndefined();
    expect(known.facts).toMatchObject({ code: 1098, curated: false });
    expect(known.text).toMatch(/^\*\*Pilot error 1098\*\* \(\w+\): /);
  });
});
