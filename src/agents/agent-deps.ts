import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Store } from '../storage/store.ts';
import type { MonitorConnection } from '../panda/connect.ts';
import type { CricClient } from '../panda/cric-client.ts';
import type { Retriever } from '../rag/retriever.ts';

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
