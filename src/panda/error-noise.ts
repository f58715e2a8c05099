/**
 * Error codes that only accompany another code of the same jobs. The monitor counts every non-zero
 * component code of a failed job, so one payload crash shows up as pilot:1305 and again as the
 * transform's exit code; a digest listing both tells the reader the same thing twice. The rules are
 * the monitor's own (panda-bigmon-core core/libs/error.py, how it writes a job's errorinfo), applied
 * to a window's counts:
 * - taskbuffer:300, dataservice:200 and supervisor:8970 are dropped when any other code is present;
 * - with pilot:1305 (payload failed) or pilot:1235 (payload killed for memory), the payload's own
 *   exit codes (transform:*, executor:*) are that same failure, as long as there are no more of them
 *   than of those pilot codes (any beyond that must stand on their own).
 */

const LOW_PRIORITY = new Set(['taskbuffer:300', 'dataservice:200', 'supervisor:8970']);
const PAYLOAD_PILOT_CODES = new Set(['pilot:1305', 'pilot:1235']);
const PAYLOAD_COMPONENTS = new Set(['transform', 'executor']);

export interface CodeCount {
  error: string;
  count: number;
}

export function splitNoise<T extends CodeCount>(groups: readonly T[]): { kept: T[]; noise: T[] } {
  const payloadFailures = groups.filter((g) => PAYLOAD_PILOT_CODES.has(g.error)).reduce((n, g) => n + g.count, 0);
  const isNoise = (g: T): boolean => {
    if (LOW_PRIORITY.has(g.error))
      return groups.some((other) => other.error !== g.error && !LOW_PRIORITY.has(other.error));
    const component = g.error.split(':')[0] ?? '';
    return payloadFailures > 0 && PAYLOAD_COMPONENTS.has(component) && g.count <= payloadFailures;
  };
  const kept: T[] = [];
  const noise: T[] = [];
  for (const g of groups) (isNoise(g) ? noise : kept).push(g);
  return { kept, noise };
}
