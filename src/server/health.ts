import { monitorHealth } from '../panda/monitor-health.ts';
import { HttpServer, sendJson, sendText } from '../http/server.ts';
import { registry } from '../core/metrics.ts';

/** One part /readyz asks: undefined when it is fine, else the reason it is not. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<string | undefined> | string | undefined;
}

const CHECK_TIMEOUT_MS = 2_000;
/** A monitor failure this recent, with no success since, makes the process not ready. */
const MONITOR_WINDOW_MS = 5 * 60_000;

/** The monitor as /readyz sees it: failing when its last request failed recently and none succeeded since. */
export function monitorCheck(now = Date.now): ReadinessCheck {
  return {
    name: 'monitor',
    check: () => {
      const health = monitorHealth();
      if (health.lastFailureAt === undefined || now() - health.lastFailureAt > MONITOR_WINDOW_MS) return undefined;
      if (health.lastOkAt !== undefined && health.lastOkAt > health.lastFailureAt) return undefined;
      return `the PanDA monitor's last answer failed ${Math.round((now() - health.lastFailureAt) / 1000)} s ago (${health.lastFailure ?? 'error'}) and none succeeded since`;
    },
  };
}

async function run(check: ReadinessCheck): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      Promise.resolve().then(() => check.check()),
      new Promise<string>(
        (resolve) =>
          (timer = setTimeout(() => resolve(`no answer within ${CHECK_TIMEOUT_MS / 1000} s`), CHECK_TIMEOUT_MS)),
      ),
    ]);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * /healthz (the process is alive), /readyz (every check passes: 200, else 503 with the reasons) and
 * /metrics (Prometheus text) on the one HTTP server. `checks` is read per request, so parts started
 * later (adapters) are included.
 */
export function addHealthRoutes(server: HttpServer, checks: () => ReadinessCheck[]): void {
  server.add({ method: 'GET', path: '/healthz', handler: ({ res }) => sendText(res, 200, 'ok\n') });
  server.add({
    method: 'GET',
    path: '/readyz',
    timeoutMs: CHECK_TIMEOUT_MS * 3,
    handler: async ({ res }) => {
      const list = checks();
      const results = await Promise.all(list.map(run));
      const failing = list.map((c, i) => ({ name: c.name, reason: results[i] })).filter((r) => r.reason !== undefined);
      const status = Object.fromEntries(list.map((c, i) => [c.name, results[i] ?? 'ok']));
      if (failing.length)
        sendJson(res, 503, {
          status: 'not ready',
          reasons: failing.map((f) => `${f.name}: ${f.reason}`),
          checks: status,
        });
      else sendJson(res, 200, { status: 'ready', checks: status });
    },
  });
  server.add({
    method: 'GET',
    path: '/metrics',
    handler: async ({ res }) => sendText(res, 200, await registry.metrics(), registry.contentType),
  });
}
