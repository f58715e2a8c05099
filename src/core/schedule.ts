import { z } from 'zod';
import { addDays, formatLocal, instantInGap, instantsOf, offsetMs, wallClock } from '../util/zone.ts';
import { echo } from '../util/echo.ts';

/**
 * When a subscription's digests are due, in the subscription's own time zone:
 * `daily at HH:MM`, `weekdays at HH:MM` (Monday to Friday) or `every Nh` (at 00:00 and every N
 * hours after it, local time). A wall time that a spring-forward skips is read with the offset
 * before the gap (02:30 becomes 03:30 that day); one that a fall-back repeats fires once, at its
 * first occurrence.
 */

export const ScheduleSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.enum(['daily', 'weekdays']),
    hour: z.number().int().min(0).max(23),
    minute: z.number().int().min(0).max(59),
  }),
  z.object({ kind: z.literal('every'), hours: z.number().int().min(1).max(24) }),
]);
export type Schedule = z.infer<typeof ScheduleSchema>;

/** Hours that divide a day, so `every Nh` runs at the same local hours every day. */
export const EVERY_HOURS = [1, 2, 3, 4, 6, 8, 12, 24] as const;

const two = (n: number) => String(n).padStart(2, '0');

export function describeSchedule(schedule: Schedule): string {
  if (schedule.kind === 'every') return schedule.hours === 24 ? 'daily at 00:00' : `every ${schedule.hours}h`;
  return `${schedule.kind} at ${two(schedule.hour)}:${two(schedule.minute)}`;
}

export type ScheduleParse = { schedule: Schedule; rest: string[] } | { problem: string };

/** A clock time "08:00", "8:00" or "0800" (24-hour). */
function parseClock(word: string | undefined): { hour: number; minute: number } | undefined {
  const m = word?.match(/^(\d{1,2}):?(\d{2})$/);
  if (!m) return undefined;
  const hour = Number(m[1]);
  const minute = Number(m[2]);
  if (hour > 23 || minute > 59) return undefined;
  return { hour, minute };
}

/**
 * Reads a schedule from the start of `words` ("daily at 08:00", "weekdays at 9:30", "every 6h",
 * "every 6 hours"); returns the words after it. No schedule words: undefined.
 */
export function parseSchedule(words: readonly string[]): ScheduleParse | undefined {
  const [first = '', ...after] = words;
  const head = first.toLowerCase();
  if (head === 'daily' || head === 'weekdays') {
    let rest = after;
    if (rest[0]?.toLowerCase() === 'at') rest = rest.slice(1);
    const clock = parseClock(rest[0]);
    if (!clock) {
      const got = rest[0] ? `"${echo(rest[0])}"` : 'nothing';
      return { problem: `After "${head} at" I need a 24-hour time such as 08:00 or 17:30, not ${got}.` };
    }
    return { schedule: { kind: head, ...clock }, rest: rest.slice(1) };
  }
  if (head === 'every') {
    let amount = after[0] ?? '';
    let rest = after.slice(1);
    const unit = rest[0]?.toLowerCase();
    if (/^\d+$/.test(amount) && (unit === 'h' || unit === 'hours' || unit === 'hour')) {
      amount = `${amount}h`;
      rest = rest.slice(1);
    }
    const m = amount.toLowerCase().match(/^(\d{1,3})h$/);
    if (!m)
      return {
        problem: `After "every" I need a number of hours such as 6h, not ${amount ? `"${echo(amount)}"` : 'nothing'}.`,
      };
    const hours = Number(m[1]);
    if (!(EVERY_HOURS as readonly number[]).includes(hours)) {
      return {
        problem:
          `"every ${hours}h" does not divide a day evenly; ` +
          `use ${EVERY_HOURS.slice(0, -1).join(', ')} or 24 hours, ` +
          `so the digests come at the same hours every day.`,
      };
    }
    return { schedule: { kind: 'every', hours }, rest };
  }
  if (
    /^(weekly|hourly|monthly|at|mondays?|tuesdays?|wednesdays?|thursdays?|fridays?|saturdays?|sundays?)$/.test(head)
  ) {
    return {
      problem: `I do not know the schedule "${echo(words.join(' '))}"; use "daily at HH:MM", "weekdays at HH:MM" or "every Nh".`,
    };
  }
  return undefined;
}

/** Local wall times of the schedule's runs on one civil date. */
function slotsOn(schedule: Schedule, weekday: number): Array<{ hour: number; minute: number }> {
  if (schedule.kind === 'every') {
    const slots: Array<{ hour: number; minute: number }> = [];
    for (let hour = 0; hour < 24; hour += schedule.hours) slots.push({ hour, minute: 0 });
    return slots;
  }
  if (schedule.kind === 'weekdays' && (weekday === 0 || weekday === 6)) return [];
  return [{ hour: schedule.hour, minute: schedule.minute }];
}

/** The instant of one run: a repeated wall time at its first occurrence, a skipped one moved. */
function runAt(date: { year: number; month: number; day: number }, hour: number, minute: number, zone: string): number {
  return (
    instantsOf(date.year, date.month, date.day, hour, minute, zone)[0] ??
    instantInGap(date.year, date.month, date.day, hour, minute, zone)
  );
}

/** The run instants falling on one local civil date. */
function runsOn(
  schedule: Schedule,
  zone: string,
  date: { year: number; month: number; day: number; weekday: number },
): number[] {
  return slotsOn(schedule, date.weekday)
    .map((slot) => runAt(date, slot.hour, slot.minute, zone))
    .sort((a, b) => a - b);
}

/** The latest run at or before t (undefined only for a schedule that never runs, which none is). */
export function latestRunAtOrBefore(schedule: Schedule, zone: string, t: number): number | undefined {
  const today = wallClock(t, zone);
  if (schedule.kind === 'every') {
    // Fast path (24 slots a day for every 1h): today's slots from the current hour down.
    for (let hour = Math.floor(today.hour / schedule.hours) * schedule.hours; hour >= 0; hour -= schedule.hours) {
      const run = runAt(today, hour, 0, zone);
      if (run <= t) return run;
    }
  }
  // Runs grow with the date (a gap moves a run by an hour or so, never into another day), so the
  // first date going back that has a run at or before t holds the answer; weekends skip two days.
  for (let k = 1; k >= -8; k--) {
    const runs = runsOn(schedule, zone, addDays(today, k)).filter((run) => run <= t);
    if (runs.length) return runs[runs.length - 1];
  }
  return undefined;
}

/** The first run strictly after t. */
export function nextRunAfter(schedule: Schedule, zone: string, t: number): number {
  const today = wallClock(t, zone);
  if (schedule.kind === 'every') {
    for (let hour = Math.floor(today.hour / schedule.hours) * schedule.hours; hour < 24; hour += schedule.hours) {
      const run = runAt(today, hour, 0, zone);
      if (run > t) return run;
    }
  }
  for (let k = -1; k <= 8; k++) {
    const run = runsOn(schedule, zone, addDays(today, k)).find((r) => r > t);
    if (run !== undefined) return run;
  }
  return t + 86_400_000;
}

/** Runs in (from, to], oldest first: how many digests a catch-up stands for. */
export function runsBetween(schedule: Schedule, zone: string, from: number, to: number, max = 1_000): number[] {
  const runs: number[] = [];
  let t = from;
  while (runs.length < max) {
    const next = nextRunAfter(schedule, zone, t);
    if (next > to) break;
    runs.push(next);
    t = next;
  }
  return runs;
}

/**
 * Notes for a schedule whose wall time a daylight-saving change in the zone skips or repeats in the
 * coming year: when it happens and what the digest does that day.
 */
export function daylightSavingNotes(schedule: Schedule, zone: string, from: number): string[] {
  const notes: string[] = [];
  let gapNoted = false;
  let repeatNoted = false;
  const start = wallClock(from, zone);
  for (let k = 0; k <= 366 && !(gapNoted && repeatNoted); k++) {
    const date = addDays(start, k);
    const dayStart =
      Date.UTC(date.year, date.month - 1, date.day) - offsetMs(Date.UTC(date.year, date.month - 1, date.day), zone);
    // Only days on which the offset changes can skip or repeat a wall time.
    if (offsetMs(dayStart - 3_600_000, zone) === offsetMs(dayStart + 30 * 3_600_000, zone)) continue;
    for (const slot of slotsOn(schedule, date.weekday)) {
      const instants = instantsOf(date.year, date.month, date.day, slot.hour, slot.minute, zone);
      const when = `${two(slot.hour)}:${two(slot.minute)}`;
      const day = formatLocal(Date.UTC(date.year, date.month - 1, date.day, 12), 'UTC', { zoneName: false }).replace(
        /, \d\d:\d\d$/,
        '',
      );
      if (instants.length === 0 && !gapNoted) {
        gapNoted = true;
        const moved = instantInGap(date.year, date.month, date.day, slot.hour, slot.minute, zone);
        notes.push(
          `Daylight saving: on ${day} the clocks in ${zone} skip ${when}, ` +
            `so that day's digest comes at ${formatLocal(moved, zone, { year: false, zoneName: false }).split(', ')[1]} instead.`,
        );
      }
      if (instants.length === 2 && !repeatNoted) {
        repeatNoted = true;
        notes.push(
          `Daylight saving: on ${day} ${when} happens twice in ${zone} (the clocks go back); the digest comes once, at the first ${when}.`,
        );
      }
    }
  }
  return notes;
}
