import { boundedGet, GetFailure, seconds } from './bounded-get.ts';

/**
 * "Is PanDA up?": one liveness request to the PanDA server (`/server/panda/isAlive`, which
 * answers `alive=yes`) and one to the monitor, no retries (the question is about now), each with
 * a deadline. A check that answers but takes longer than `slowMs` is reported as slow.
 */

export const PANDA_ALIVE_PATH = '/server/panda/isAlive';

export type ServiceState = 'alive' | 'slow' | 'down' | 'no_answer' | 'unexpected';

export interface ServiceCheck {
  service: 'PanDA server' | 'PanDA monitor';
  /** The URL a person can try (never a loopback URL of the demo). */
  url: string;
  state: ServiceState;
  /** Time to the answer, when there was one. */
  ms?: number;
  /** One sentence: what happened. */
  detail: string;
}

export interface HealthOptions {
  timeoutMs: number;
  slowMs: number;
  /** Shown instead of the requested URL (the demo asks a loopback server). */
  publicUrl?: string;
}

const MAX_BODY = 64 * 1024;

export async function checkPandaServer(baseUrl: string, options: HealthOptions): Promise<ServiceCheck> {
  const url = baseUrl.replace(/\/+$/, '') + PANDA_ALIVE_PATH;
  const shown = (options.publicUrl ?? baseUrl).replace(/\/+$/, '') + PANDA_ALIVE_PATH;
  try {
    const res = await boundedGet(url, {
      timeoutMs: options.timeoutMs,
      maxBytes: MAX_BODY,
      headers: { accept: 'text/plain, */*' },
    });
    const ms = Math.round(res.ms);
    if (res.status === 200 && /alive\s*=\s*yes/i.test(res.body)) {
      return res.ms > options.slowMs
        ? {
            service: 'PanDA server',
            url: shown,
            state: 'slow',
            ms,
            detail: `answered alive=yes, but slowly (${seconds(res.ms)}; above ${seconds(options.slowMs)} it counts as slow)`,
          }
        : { service: 'PanDA server', url: shown, state: 'alive', ms, detail: `answered alive=yes in ${ms} ms` };
    }
    if (res.status >= 500)
      return {
        service: 'PanDA server',
        url: shown,
        state: 'down',
        ms,
        detail: `answered HTTP ${res.status}, so it is failing or overloaded`,
      };
    const said = res.body.trim().replace(/\s+/g, ' ').slice(0, 60);
    return {
      service: 'PanDA server',
      url: shown,
      state: 'unexpected',
      ms,
      detail:
        `answered HTTP ${res.status}${said ? ` ("${said}")` : ''} instead of alive=yes: ` +
        `it is reachable, but did not confirm it is alive`,
    };
  } catch (err) {
    return failed('PanDA server', shown, err, options.timeoutMs);
  }
}

export async function checkMonitor(baseUrl: string, options: HealthOptions): Promise<ServiceCheck> {
  const url = baseUrl.replace(/\/+$/, '') + '/';
  const shown = (options.publicUrl ?? baseUrl).replace(/\/+$/, '') + '/';
  try {
    const res = await boundedGet(url, {
      timeoutMs: options.timeoutMs,
      maxBytes: 4 * 1024 * 1024,
      headers: { accept: 'text/html, */*' },
    });
    const ms = Math.round(res.ms);
    if (res.status >= 500)
      return {
        service: 'PanDA monitor',
        url: shown,
        state: 'down',
        ms,
        detail: `answered HTTP ${res.status}, so it is failing or overloaded`,
      };
    if (res.status === 429)
      return {
        service: 'PanDA monitor',
        url: shown,
        state: 'alive',
        ms,
        detail: `answered, but is rate-limiting requests from here (HTTP 429)`,
      };
    if (res.ms > options.slowMs)
      return {
        service: 'PanDA monitor',
        url: shown,
        state: 'slow',
        ms,
        detail: `answered, but slowly (${seconds(res.ms)})`,
      };
    return { service: 'PanDA monitor', url: shown, state: 'alive', ms, detail: `answered in ${ms} ms` };
  } catch (err) {
    return failed('PanDA monitor', shown, err, options.timeoutMs);
  }
}

function failed(service: ServiceCheck['service'], url: string, err: unknown, timeoutMs: number): ServiceCheck {
  if (err instanceof GetFailure && err.reason === 'timeout')
    return { service, url, state: 'no_answer', detail: `did not answer within ${seconds(timeoutMs)}` };
  const why = err instanceof Error ? err.message : String(err);
  return { service, url, state: 'down', detail: `could not be reached (${why})` };
}
