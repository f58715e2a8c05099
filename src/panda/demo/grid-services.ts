import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { PANDA_ALIVE_PATH } from '../service-health.ts';

/**
 * The grid services next to the demo monitor, on the same loopback server: CRIC's queue dump
 * (the reference snapshot converted by scripts/convert-cric-queuedata.ts, with the demo jobs'
 * queues in it) and the PanDA server's liveness URL. Demo mode only.
 */

const DUMP_FILE = fileURLToPath(new URL('./cric-queuedata.json', import.meta.url));
let dump: Buffer | undefined;

/** The demo's CRIC queue dump, as CRIC serves it (read once, on first use). */
export function demoQueueDump(): Buffer {
  dump ??= readFileSync(DUMP_FILE);
  return dump;
}

/** Where links of demo queue answers point: the real CRIC. */
export const DEMO_CRIC_PUBLIC_URL = 'https://atlas-cric.cern.ch';
export const DEMO_PANDA_SERVER_PUBLIC_URL = 'https://pandaserver.cern.ch:25443';

/** Answers CRIC's and the PanDA server's URLs; false for everything else (the monitor's). */
export function serveDemoGridServices(_req: IncomingMessage, res: ServerResponse, url: URL): boolean {
  if (url.pathname === '/api/atlas/pandaqueue/query/' || url.pathname === '/api/atlas/pandaqueue/query') {
    if (!url.searchParams.has('json')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!DOCTYPE html><html><body>CRIC: add ?json for the queue list</body></html>');
      return true;
    }
    const body = demoQueueDump();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
    return true;
  }
  if (url.pathname === PANDA_ALIVE_PATH) {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('alive=yes');
    return true;
  }
  return false;
}

/** Queue and site names of the demo dump, for routing before the first queue question. */
export function demoQueueNames(): string[] {
  const parsed = JSON.parse(demoQueueDump().toString('utf8')) as Record<
    string,
    { atlas_site?: unknown; rc_site?: unknown; panda_site?: unknown }
  >;
  const names = new Set<string>();
  for (const [name, q] of Object.entries(parsed)) {
    names.add(name);
    for (const site of [q.atlas_site, q.rc_site, q.panda_site]) if (typeof site === 'string' && site) names.add(site);
  }
  return [...names];
}
