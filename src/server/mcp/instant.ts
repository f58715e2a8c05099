const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** An ISO-8601 instant (a zone-less time or a bare date is UTC, as on the monitor). */
export function parseInstant(text: string): Date | undefined {
  const m = INSTANT.exec(text.trim());
  if (!m) return undefined;
  const zone = m[7] ?? 'Z';
  const utc = zone.toUpperCase() === 'Z';
  const offset = utc ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  const date = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}${offset}`);
  if (Number.isNaN(date.getTime())) return undefined;
  // "2025-02-30" rolls over in Date: refuse it rather than answer about another day.
  if (date.getUTCDate() !== Number(m[3]) && utc) return undefined;
  return date;
}

/** 2025-09-08T06:00:00Z */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.000Z$/, 'Z');
}
