import { describe, expect, it } from 'vitest';
import {
  daylightSavingNotes,
  describeSchedule,
  latestRunAtOrBefore,
  nextRunAfter,
  parseSchedule,
  runsBetween,
  type Schedule,
} from '../../src/core/schedule.ts';
import { canonicalZone, formatLocal, instantsOf } from '../../src/util/zone.ts';

const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
const at = (s: string) => Date.parse(s);
const daily = (hour: number, minute = 0): Schedule => ({ kind: 'daily', hour, minute });

describe('schedule words', () => {
  it.each([
    [['daily', 'at', '08:00'], { kind: 'daily', hour: 8, minute: 0 }],
    [['daily', '8:05'], { kind: 'daily', hour: 8, minute: 5 }],
    [['weekdays', 'at', '09:30'], { kind: 'weekdays', hour: 9, minute: 30 }],
    [['every', '6h'], { kind: 'every', hours: 6 }],
    [['every', '12', 'hours'], { kind: 'every', hours: 12 }],
    [['EVERY', '1H'], { kind: 'every', hours: 1 }],
  ])('%j → %j', (words, schedule) => {
    expect(parseSchedule(words)).toEqual({ schedule, rest: [] });
  });

  it.each([
    [['daily', 'at', '25:00'], 'After "daily at" I need a 24-hour time such as 08:00 or 17:30, not "25:00".'],
    [['daily', 'at'], 'After "daily at" I need a 24-hour time such as 08:00 or 17:30, not nothing.'],
    [['weekdays', 'at', '9am'], 'After "weekdays at" I need a 24-hour time such as 08:00 or 17:30, not "9am".'],
    [
      ['every', '5h'],
      '"every 5h" does not divide a day evenly; use 1, 2, 3, 4, 6, 8, 12 or 24 hours, so the digests come at the same hours every day.',
    ],
    [['every', 'day'], 'After "every" I need a number of hours such as 6h, not "day".'],
    [['weekly'], 'I do not know the schedule "weekly"; use "daily at HH:MM", "weekdays at HH:MM" or "every Nh".'],
  ])('%j is refused with one sentence', (words, problem) => {
    expect(parseSchedule(words)).toEqual({ problem });
  });

  it('leaves words that are not a schedule alone', () => {
    expect(parseSchedule(['tz', 'Europe/Zurich'])).toBeUndefined();
    expect(parseSchedule(['daily', 'at', '08:00', 'tz', 'UTC'])).toEqual({ schedule: daily(8), rest: ['tz', 'UTC'] });
    expect(describeSchedule({ kind: 'every', hours: 6 })).toBe('every 6h');
    expect(describeSchedule({ kind: 'weekdays', hour: 9, minute: 5 })).toBe('weekdays at 09:05');
  });
});

describe('time zones', () => {
  it('accepts IANA Area/City names in any case and UTC, refuses abbreviations and unknown zones', () => {
    expect(canonicalZone('europe/zurich')).toBe('Europe/Zurich');
    expect(canonicalZone('America/Argentina/Buenos_Aires')).toMatch(/Buenos_Aires$/);
    expect(canonicalZone('utc')).toBe('UTC');
    expect(canonicalZone('CET')).toBeUndefined();
    expect(canonicalZone('EST')).toBeUndefined();
    expect(canonicalZone('Mars/Olympus_Mons')).toBeUndefined();
    expect(canonicalZone('Europe/Zurich; rm -rf /')).toBeUndefined();
  });

  it('finds none, one or two instants for a wall time around the Zurich changes', () => {
    expect(instantsOf(2025, 3, 30, 2, 30, 'Europe/Zurich')).toEqual([]);
    expect(instantsOf(2025, 10, 26, 2, 30, 'Europe/Zurich').map(iso)).toEqual([
      '2025-10-26T00:30:00.000Z',
      '2025-10-26T01:30:00.000Z',
    ]);
    expect(instantsOf(2025, 7, 1, 8, 0, 'Europe/Zurich').map(iso)).toEqual(['2025-07-01T06:00:00.000Z']);
    expect(formatLocal(at('2025-10-26T01:30:00Z'), 'Europe/Zurich')).toBe('Sun 26 Oct 2025, 02:30 Europe/Zurich');
  });
});

describe('next and latest runs', () => {
  it('daily 08:00 across time zones', () => {
    const t = at('2025-09-08T12:00:00Z');
    expect(iso(nextRunAfter(daily(8), 'UTC', t))).toBe('2025-09-09T08:00:00.000Z');
    expect(iso(nextRunAfter(daily(8), 'Europe/Zurich', t))).toBe('2025-09-09T06:00:00.000Z');
    expect(iso(nextRunAfter(daily(8), 'America/Chicago', t))).toBe('2025-09-08T13:00:00.000Z');
    expect(iso(nextRunAfter(daily(8), 'Asia/Tokyo', t))).toBe('2025-09-08T23:00:00.000Z');
    expect(iso(nextRunAfter(daily(8), 'Asia/Kolkata', t))).toBe('2025-09-09T02:30:00.000Z');
    expect(iso(latestRunAtOrBefore(daily(8), 'America/Chicago', t))).toBe('2025-09-07T13:00:00.000Z');
    // A run exactly now is the latest run, not the next one.
    expect(iso(latestRunAtOrBefore(daily(8), 'UTC', at('2025-09-08T08:00:00Z')))).toBe('2025-09-08T08:00:00.000Z');
    expect(iso(nextRunAfter(daily(8), 'UTC', at('2025-09-08T08:00:00Z')))).toBe('2025-09-09T08:00:00.000Z');
  });

  it('weekdays skip the weekend in the zone, not in UTC', () => {
    const weekdays: Schedule = { kind: 'weekdays', hour: 9, minute: 30 };
    // Friday 12 Sep 2025 after 09:30 Zurich: next is Monday 15 Sep 09:30 CEST.
    expect(iso(nextRunAfter(weekdays, 'Europe/Zurich', at('2025-09-12T10:00:00Z')))).toBe('2025-09-15T07:30:00.000Z');
    expect(iso(latestRunAtOrBefore(weekdays, 'Europe/Zurich', at('2025-09-14T20:00:00Z')))).toBe(
      '2025-09-12T07:30:00.000Z',
    );
    // 09:30 Monday in Tokyo is still Sunday in UTC.
    expect(iso(nextRunAfter(weekdays, 'Asia/Tokyo', at('2025-09-13T00:00:00Z')))).toBe('2025-09-15T00:30:00.000Z');
  });

  it('every Nh counts from local midnight', () => {
    expect(
      runsBetween(
        { kind: 'every', hours: 6 },
        'Europe/Zurich',
        at('2025-09-08T00:00:00Z'),
        at('2025-09-09T00:00:00Z'),
      ).map(iso),
    ).toEqual([
      '2025-09-08T04:00:00.000Z',
      '2025-09-08T10:00:00.000Z',
      '2025-09-08T16:00:00.000Z',
      '2025-09-08T22:00:00.000Z',
    ]);
  });

  it('daily 08:00 Zurich follows both daylight-saving changes (07:00 then 06:00 UTC, and back)', () => {
    expect(
      runsBetween(daily(8), 'Europe/Zurich', at('2025-03-28T12:00:00Z'), at('2025-04-01T12:00:00Z')).map(iso),
    ).toEqual([
      '2025-03-29T07:00:00.000Z',
      '2025-03-30T06:00:00.000Z',
      '2025-03-31T06:00:00.000Z',
      '2025-04-01T06:00:00.000Z',
    ]);
    expect(
      runsBetween(daily(8), 'Europe/Zurich', at('2025-10-24T12:00:00Z'), at('2025-10-28T12:00:00Z')).map(iso),
    ).toEqual([
      '2025-10-25T06:00:00.000Z',
      '2025-10-26T07:00:00.000Z',
      '2025-10-27T07:00:00.000Z',
      '2025-10-28T07:00:00.000Z',
    ]);
  });

  it('a time the spring change skips runs an hour later that day; one the autumn change repeats runs once', () => {
    const s = daily(2, 30);
    expect(iso(nextRunAfter(s, 'Europe/Zurich', at('2025-03-29T12:00:00Z')))).toBe('2025-03-30T01:30:00.000Z'); // 03:30 CEST
    expect(iso(latestRunAtOrBefore(s, 'Europe/Zurich', at('2025-03-30T01:29:00Z')))).toBe('2025-03-29T01:30:00.000Z');
    expect(runsBetween(s, 'Europe/Zurich', at('2025-10-25T12:00:00Z'), at('2025-10-27T12:00:00Z')).map(iso)).toEqual([
      '2025-10-26T00:30:00.000Z',
      '2025-10-27T01:30:00.000Z',
    ]);
    // every 1h on the autumn day: 02:00 once, so 24 runs in a 25-hour day.
    const autumnDay = runsBetween(
      { kind: 'every', hours: 1 },
      'Europe/Zurich',
      at('2025-10-25T21:59:00Z'),
      at('2025-10-26T22:59:00Z'),
    );
    expect(autumnDay).toHaveLength(24);
  });

  it('notes the daylight-saving days a schedule is affected by, and none when it is not', () => {
    expect(daylightSavingNotes(daily(2, 30), 'Europe/Zurich', at('2025-01-01T00:00:00Z'))).toEqual([
      "Daylight saving: on Sun 30 Mar 2025 the clocks in Europe/Zurich skip 02:30, so that day's digest comes at 03:30 instead.",
      'Daylight saving: on Sun 26 Oct 2025 02:30 happens twice in Europe/Zurich (the clocks go back); the digest comes once, at the first 02:30.',
    ]);
    expect(daylightSavingNotes(daily(8), 'Europe/Zurich', at('2025-01-01T00:00:00Z'))).toEqual([]);
    expect(daylightSavingNotes(daily(2, 30), 'UTC', at('2025-01-01T00:00:00Z'))).toEqual([]);
    expect(daylightSavingNotes(daily(2, 30), 'America/New_York', at('2025-01-01T00:00:00Z'))[0]).toContain(
      'Sun 9 Mar 2025',
    );
  });
});
