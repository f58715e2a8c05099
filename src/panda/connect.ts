import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Store } from '../storage/store.ts';
import { createPandaClient, type PandaClient } from './client.ts';
import { DEMO_PUBLIC_URL, startDemoMonitor } from './demo/server.ts';

/** The process's monitor client, and where the embedded demo services listen when it is the demo. */
export interface MonitorConnection {
  client: PandaClient;
  /** The demo monitor's loopback base URL (it also serves the demo CRIC dump and PanDA server liveness). */
  demoUrl?: string;
}

/**
 * The process's one BigPanDA client (one cache, one concurrency cap for agents and digests). In
 * demo mode it talks to the embedded loopback monitor, while links keep pointing at the real
 * monitor's pages.
 */
export async function connectMonitor(deps: {
  config: Config;
  store: Store;
  logger: Logger;
  demo: boolean;
  closers: Array<() => Promise<void>>;
}): Promise<MonitorConnection> {
  let baseUrl: string | undefined;
  let publicUrl: string | undefined;
  let cacheScope: string | undefined;
  if (deps.demo) {
    const demo = await startDemoMonitor();
    deps.closers.push(() => demo.close());
    baseUrl = demo.url;
    publicUrl = DEMO_PUBLIC_URL;
    // The demo listens on a new port each run; its cached data is the demo's, never the real monitor's.
    cacheScope = 'demo';
  }
  // Final jobs' data is also kept in the store, so a follow-up in another process (ask --thread) is free.
  const client = createPandaClient(deps.config, {
    baseUrl,
    publicUrl,
    logger: deps.logger,
    persistent: deps.store.ns('cache'),
    cacheScope,
  });
  return { client, demoUrl: baseUrl };
}
