import type { AgentDeps } from './registry.ts';
import { connectMonitor } from '../panda/connect.ts';
import { JobAgent } from './job.ts';
import { TaskAgent } from './task.ts';

/** The job and task agents over one shared BigPanDA client (the app's, or one of their own). */
export async function createPandaAgents(deps: AgentDeps): Promise<{ job: JobAgent; task: TaskAgent }> {
  const client = deps.panda ?? (await connectMonitor(deps));
  return {
    job: new JobAgent({ client, config: deps.config, logger: deps.logger }),
    task: new TaskAgent({ client }),
  };
}
