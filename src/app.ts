import type { Logger } from 'pino';
import type { Config } from './config/schema.ts';
import { Bot } from './bot/bot.ts';
import { ThreadHistory } from './bot/thread-history.ts';
import { openStore, type Store } from './storage/store.ts';
import { createChatModel } from './llm/create.ts';
import type { ChatModel } from './llm/chat-model.ts';
import { createAgents } from './agents/registry.ts';
import { withAnswerExtras } from './agents/answer-extras.ts';
import { createModelSelector } from './agents/model-selector.ts';
import type { Agent, Route } from './agents/agent.ts';
import { createLogger } from './util/log.ts';

/** Everything a surface needs, built once from the configuration (the composition root). */
export interface App {
  config: Config;
  logger: Logger;
  store: Store;
  model: ChatModel;
  bot: Bot;
  /** Lines to show the user at start (demo banner, model fallbacks …). */
  banners: string[];
  close(): Promise<void>;
}

export interface AppOptions {
  logger?: Logger;
  /** Serve the embedded demo monitor instead of config.monitor.url (see config/demo-mode.ts). */
  demo?: boolean;
  /** Setting paths given from outside the defaults (see loadConfigDetailed's origin). */
  explicitSettings?: ReadonlySet<string>;
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const closers: Array<() => Promise<void>> = [];
  const banners: string[] = [];
  const store = await openStore(config);
  closers.push(() => store.close());

  const model: ChatModel = await createChatModel(config, logger, banners);
  const history = new ThreadHistory(store.ns('history'), config.history);
  const created = await createAgents({ config, store, logger, banners, closers, demo: options.demo ?? config.demo, explicitSettings: options.explicitSettings });
  // Every answer gets grounded follow-ups and its token count, whichever agent wrote it.
  const agents: Partial<Record<Route['agent'], Agent>> = Object.fromEntries(Object.entries(created).map(([kind, agent]) => [kind, withAnswerExtras(agent)]));
  const bot = new Bot({ config, history, model, agents, logger, selector: createModelSelector(model, logger, { timeoutMs: Math.min(config.llm.timeoutMs, 15_000) }) });

  return {
    config,
    logger,
    store,
    model,
    bot,
    banners,
    async close() {
      for (const close of closers.reverse()) await close().catch(() => undefined);
    },
  };
}
