/**
 * Time-zone arithmetic on the IANA database that ships with Node (Intl), so schedules follow the
 * zone's own daylight-saving rules without a date library. Times are epoch milliseconds.
 */

export interface WallClock {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday … 6 = Saturday */
  weekday: number;
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(zone, f);
  }
  return f;
}

/**
 * The zone's canonical IANA name ("europe/zurich" → "Europe/Zurich"), or undefined when Node does
 * not know it. Only Area/City names and UTC are accepted: abbreviations such as CET or EST are
 * ambiguous (and some do not follow daylight saving the way people expect).
 */
export function canonicalZone(name: string): string | undefined {
  const trimmed = name.trim();
  if (/^(utc|gmt|z|etc\/utc)$/i.test(trimmed)) return 'UTC';
  if (!/^[A-Za-z]+(?:\/[A-Za-z0-9_+-]+){1,2}$/.test(trimmed)) return undefined;
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: trimmed }).resolvedOptions().timeZone;
    return resolved === 'Etc/UTC' ? 'UTC' : resolved;
  } catch {
    return undefined;
  }
}

export function wallClock(t: number, zone: string): WallClock {
  const parts: Record<string, string> = {};
  for (const p of formatter(zone).formatToParts(t)) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: WEEKDAYS[parts.weekday ?? ''] ?? 0,
  };
}

/** Local time minus UTC at instant t, in milliseconds (Zurich in summer: +2 h). */
export function offsetMs(t: number, zone: string): number {
  const w = wallClock(t, zone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(t / 1000) * 1000;
}

/**
 * The instants at which the zone's clocks show this wall time: one normally, none inside a
 * spring-forward gap, two in the repeated hour of a fall-back (earliest first).
 */
export function instantsOf(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  zone: string,
): number[] {
  const naive = Date.UTC(year, month - 1, day, hour, minute);
  // The offsets a day either side cover every transition near this wall time (zones change at most
  // once within two days).
  const offsets = new Set([offsetMs(naive - 86_400_000, zone), offsetMs(naive + 86_400_000, zone)]);
  const found = new Set<number>();
  for (const offset of offsets) {
    const t = naive - offset;
    const w = wallClock(t, zone);
    if (w.year === year && w.month === month && w.day === day && w.hour === hour && w.minute === minute) found.add(t);
  }
  return [...found].sort((a, b) => a - b);
}

/**
 * Where a wall time that falls into a spring-forward gap lands: read with the offset in force
 * before the gap (RFC 5545 §3.3.5), so 02:30 on the day Zurich jumps from 02:00 to 03:00 is 03:30.
 */
export function instantInGap(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  zone: string,
): number {
  const naive = Date.UTC(year, month - 1, day, hour, minute);
  return naive - offsetMs(naive - 86_400_000, zone);
}

/** The civil date k days after the given one (calendar arithmetic, no zone involved). */
export function addDays(
  date: { year: number; month: number; day: number },
  k: number,
): { year: number; month: number; day: number; weekday: number } {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + k));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), weekday: d.getUTCDay() };
}

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** "Mon 8 Sep 2025, 08:00 Europe/Zurich": the same text on every machine (no locale involved). */
export function formatLocal(t: number, zone: string, options: { year?: boolean; zoneName?: boolean } = {}): string {
  const w = wallClock(t, zone);
  const date = `${DAY_NAMES[w.weekday]} ${w.day} ${MONTH_NAMES[w.month - 1]}${options.year === false ? '' : ` ${w.year}`}`;
  return `${date}, ${two(w.hour)}:${two(w.minute)}${options.zoneName === false ? '' : ` ${zone}`}`;
}

/** "08:00 UTC" style clock time only. */
export function formatClock(t: number, zone: string): string {
  const w = wallClock(t, zone);
  return `${two(w.hour)}:${two(w.minute)}`;
}

/** "UTC+2", "UTC-4", "UTC+5:30" */
export function formatOffset(t: number, zone: string): string {
  const minutes = Math.round(offsetMs(t, zone) / 60_000);
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `UTC${sign}${Math.floor(abs / 60)}${abs % 60 ? `:${two(abs % 60)}` : ''}`;
}
