import { describe, expect, it } from 'vitest';
import { parseInstant } from '../../src/server/mcp/instant.ts';

describe('panda_task_failures time arguments', () => {
  it('reads ISO-8601 times and dates as UTC, with offsets', () => {
    expect(parseInstant('2025-09-08')?.toISOString()).toBe('2025-09-08T00:00:00.000Z');
    expect(parseInstant('2025-09-08T06:30')?.toISOString()).toBe('2025-09-08T06:30:00.000Z');
    expect(parseInstant('2025-09-08 06:30:15Z')?.toISOString()).toBe('2025-09-08T06:30:15.000Z');
    expect(parseInstant('2025-09-08T08:30:00+02:00')?.toISOString()).toBe('2025-09-08T06:30:00.000Z');
    expect(parseInstant('2025-09-08T08:30:00+0200')?.toISOString()).toBe('2025-09-08T06:30:00.000Z');
  });

  it('refuses what is not a time rather than guessing', () => {
    for (const text of ['yesterday', '08/09/2025', '2025-02-30', '2025-13-01', '2025-09-08T25:00', ''])
      expect(parseInstant(text), text).toBeUndefined();
  });
});
