import type { AgentDeps } from './registry.ts';
import { createPandaClient } from '../panda/client.ts';
import { DEMO_PUBLIC_URL, startDemoMonitor } from '../panda/demo/server.ts';
import { JobAgent } from './job.ts';
import { TaskAgent } from './task.ts';

/**
 * The job and task agents over one shared BigPanDA client (one cache, one concurrency cap). In
 * demo mode the client talks to the embedded loopback monitor, while links keep pointing at the
 * real monitor's pages.
 */
export async function createPandaAgents(deps: AgentDeps): Promise<{ job: JobAgent; task: TaskAgent }> {
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
  const client = createPandaClient(deps.config, { baseUrl, publicUrl, logger: deps.logger, persistent: deps.store.ns('cache'), cacheScope });
  return {
    job: new JobAgent({ client, config: deps.config, logger: deps.logger }),
    task: new TaskAgent({ client }),
  };
}
