/** The one wait of the tests: Node's own, as in src/. */
export { setTimeout as sleep } from 'node:timers/promises';

/** An instant from an ISO string, for schedules and windows. */
export const t = (iso: string): Date => new Date(iso);

export const minute = 60_000;
export const hour = 3_600_000;
