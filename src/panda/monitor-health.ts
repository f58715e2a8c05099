import { monitorRequestsTotal } from '../core/metrics.ts';

/**
 * Whether the PanDA monitor has been answering, for /readyz: the outcome of the last requests this
 * process made (no extra probe requests: BigPanDA allows about 1,000 an hour per client).
 */
interface Health {
  lastOkAt?: number;
  lastFailureAt?: number;
  lastFailure?: string;
}

const health: Health = {};

/** The endpoint label of a monitor request: /job, /task, /tasks, /errors, /filebrowser … */
export function endpointOf(pathAndQuery: string): string {
  const first = pathAndQuery.replace(/^\/+/, '').split(/[/?&]/)[0] ?? '';
  return /^[a-z]{1,20}$/.test(first) ? first : 'other';
}

/** One HTTP attempt's outcome (ok, not_found, rate_limited, error, timeout). */
export function recordMonitorRequest(
  pathAndQuery: string,
  outcome: 'ok' | 'not_found' | 'rate_limited' | 'error' | 'timeout',
  detail?: string,
): void {
  monitorRequestsTotal.inc({ endpoint: endpointOf(pathAndQuery), outcome });
  if (outcome === 'ok' || outcome === 'not_found') {
    health.lastOkAt = Date.now();
  } else {
    health.lastFailureAt = Date.now();
    health.lastFailure = detail ?? outcome;
  }
}

/** A question answered from the cache instead of the monitor. */
export function recordMonitorCacheHit(key: string): void {
  monitorRequestsTotal.inc({ endpoint: key.split(':')[0] || 'other', outcome: 'cache_hit' });
}

export function monitorHealth(): Readonly<Health> {
  return health;
}
