import type { AgentDeps } from './agent-deps.ts';
import type { Agent, Route } from './agent.ts';
import { GeneralAgent } from './general.ts';
import { createDocumentsAgent } from './documents.ts';
import { createPandaAgents } from './panda-agents.ts';
import { ErrorCodeAgent } from './error-code.ts';
import { DEMO_PUBLIC_URL } from '../panda/demo/server.ts';

/** One line per agent: a new agent is one new file plus its line here. */
export async function createAgents(_deps: AgentDeps): Promise<Partial<Record<Route['agent'], Agent>>> {
  const panda = await createPandaAgents(_deps);
  const documents = createDocumentsAgent(_deps);
  return {
    general: new GeneralAgent({ documents }),
    documents,
    error_code: new ErrorCodeAgent({ monitorUrl: _deps.demo ? DEMO_PUBLIC_URL : _deps.config.monitor.url }),
    job: panda.job,
    task: panda.task,
    queue: panda.queue,
  };
}
