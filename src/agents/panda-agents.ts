import type { AgentDeps } from './agent-deps.ts';
import { connectMonitor, type MonitorConnection } from '../panda/connect.ts';
import { createCricClient, type CricClient } from '../panda/cric-client.ts';
import { DEMO_CRIC_PUBLIC_URL, DEMO_PANDA_SERVER_PUBLIC_URL, demoQueueNames } from '../panda/demo/grid-services.ts';
import { JobAgent } from './job.ts';
import { QueueAgent } from './queue.ts';
import { rememberQueueNames } from './queue-names.ts';
import { TaskAgent } from './task.ts';

/**
 * The job, task and queue agents over one shared BigPanDA client (the app's, shared with the
 * digests; one cache, one concurrency cap) and one CRIC client. In demo mode both talk to the
 * embedded loopback services (CRIC's queue dump and the PanDA server's liveness URL live next to the
 * demo monitor), unless CRIC_URL, ASKPANDA_CRIC_FILE or PANDA_SERVER_URL were set; links keep
 * pointing at the real services.
 */
export async function createPandaAgents(
  deps: AgentDeps,
): Promise<{ job: JobAgent; task: TaskAgent; queue: QueueAgent }> {
  const config = deps.config;
  const monitor: MonitorConnection = deps.monitor ?? (await connectMonitor(deps));
  const { client, demoUrl } = monitor;
  const explicit = deps.explicitSettings ?? new Set<string>();
  const demoPandaServer = demoUrl !== undefined && !explicit.has('pandaServer.url');
  const cric = deps.cric ?? (await connectCric({ ...deps, monitor }));
  const monitorUrl = demoUrl ?? config.monitor.url;
  return {
    // A job answer waits for CRIC at most one request timeout (and never more than 10 s).
    job: new JobAgent({
      client,
      config,
      logger: deps.logger,
      cric,
      cricWaitMs: Math.min(10_000, config.cric.timeoutMs),
    }),
    task: new TaskAgent({ client }),
    queue: new QueueAgent({
      cric,
      monitorPublicUrl: client.publicUrl,
      logger: deps.logger,
      health: {
        pandaServerUrl: demoPandaServer ? demoUrl! : config.pandaServer.url,
        pandaServerPublicUrl: demoPandaServer ? DEMO_PANDA_SERVER_PUBLIC_URL : undefined,
        monitorUrl,
        monitorPublicUrl: client.publicUrl,
        timeoutMs: config.pandaServer.timeoutMs,
        slowMs: config.pandaServer.slowMs,
        demo: demoPandaServer,
      },
    }),
  };
}

/**
 * The process's CRIC client (the queue agent, the job agent's queue limits and the MCP
 * panda_queue_info tool share its snapshot). In demo mode it reads the demo monitor's copy of CRIC's
 * queue dump unless CRIC_URL or ASKPANDA_CRIC_FILE was set.
 */
export async function connectCric(
  deps: Pick<AgentDeps, 'config' | 'store' | 'logger' | 'closers' | 'explicitSettings'> & {
    monitor: MonitorConnection;
  },
): Promise<CricClient> {
  const demoUrl = deps.monitor.demoUrl;
  const explicit = deps.explicitSettings ?? new Set<string>();
  const demoCric = demoUrl !== undefined && !explicit.has('cric.url') && !explicit.has('cric.file');
  const cric = createCricClient(deps.config, {
    ...(demoCric ? { baseUrl: demoUrl, publicUrl: DEMO_CRIC_PUBLIC_URL, file: '', cacheScope: 'demo' } : {}),
    persistent: deps.store.ns('cache'),
    logger: deps.logger,
  });
  deps.closers.push(async () => cric.close());
  // Routing recognises queue names from the start: the demo's from its dump, otherwise the names
  // of the last snapshot any process stored (one small read).
  rememberQueueNames(demoCric ? demoQueueNames() : await cric.knownNames());
  return cric;
}
