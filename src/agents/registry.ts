import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Store } from '../storage/store.ts';
import type { MonitorConnection } from '../panda/connect.ts';
import type { CricClient } from '../panda/cric-client.ts';
import type { Retriever } from '../rag/retriever.ts';
import type { Agent, Route } from './agent.ts';
import { GeneralAgent } from './general.ts';
import { createDocumentsAgent } from './documents.ts';
import { createPandaAgents } from './panda-agents.ts';
import { ErrorCodeAgent } from './error-code.ts';
import { DEMO_PUBLIC_URL } from '../panda/demo/server.ts';

/** What agents may use; built once per process by createApp. */
export interface AgentDeps {
  config: Config;
  store: Store;
  logger: Logger;
  /** Answer from the embedded demo monitor (an in-process loopback BigPanDA) instead of config.monitor.url. */
  demo: boolean;
  /** Settings given from outside the defaults (environment, config file): the demo keeps a CRIC_URL the user set. */
  explicitSettings?: ReadonlySet<string>;
  /** Start-up notices for the user (e.g. the demo banner). */
  banners: string[];
  /** Cleanup run by App.close, last registered first. */
  closers: Array<() => Promise<void>>;
  /** The app's BigPanDA connection, shared with the digests; agents connect their own when absent. */
  monitor?: MonitorConnection;
  /** The app's CRIC client; agents connect their own when absent. */
  cric?: CricClient;
  /** The app's docs index (shared with the MCP docs search); the documents agent opens its own when absent. */
  openDocsIndex?: () => Promise<Retriever>;
}

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
