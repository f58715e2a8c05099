import type { Logger } from 'pino';
import type { Config } from './config/schema.ts';
import { Bot } from './bot/bot.ts';
import { Conversation } from './bot/conversation.ts';
import { ThreadHistory } from './bot/thread-history.ts';
import { type Store } from './storage/store.ts';
import { openStore } from './storage/open-store.ts';
import { createChatModel } from './llm/create.ts';
import type { ChatModel } from './llm/chat-model.ts';
import { createAgents } from './agents/registry.ts';
import { withAnswerExtras } from './agents/answer-extras.ts';
import { createModelSelector } from './agents/model-selector.ts';
import type { Agent, Route } from './agents/agent.ts';
import { CommandRegistry } from './bot/commands.ts';
import { connectMonitor } from './panda/connect.ts';
import type { PandaClient } from './panda/client.ts';
import type { CricClient } from './panda/cric-client.ts';
import { connectCric } from './agents/panda-agents.ts';
import { lazyDocsIndex } from './rag/docs-index.ts';
import type { Retriever } from './rag/retriever.ts';
import { SubscriptionStore } from './digest/subscription-store.ts';
import { digestCommands } from './digest/commands.ts';
import { CHAT_PLATFORMS } from './adapters/registry.ts';
import type { PlatformDescriptor } from './adapters/platform-descriptor.ts';
import { createLogger } from './util/log.ts';

/** Everything a surface needs, built once from the configuration (the composition root). */
export interface App {
  config: Config;
  logger: Logger;
  store: Store;
  model: ChatModel;
  /** The one BigPanDA client of the process (agents and digests share its cache and concurrency cap). */
  panda: PandaClient;
  subscriptions: SubscriptionStore;
  /** The one CRIC client of the process (queue agent, job answers' queue limits, MCP queue tool). */
  cric: CricClient;
  /** The docs index, opened on first use and reopened after an ingest (documents agent, MCP docs search). */
  docs: () => Promise<Retriever>;
  bot: Bot;
  /** The conversation core every surface asks through (claims, order, limits, status, drafts, history). */
  conversation: Conversation;
  /** Lines to show the user at start (demo banner, model fallbacks …). */
  banners: string[];
  close(): Promise<void>;
}

export interface AppOptions {
  logger?: Logger;
  /** Serve the embedded demo monitor instead of config.monitor.url (see config/demo-mode.ts). */
  demo?: boolean;
  /** An already opened store (the CLI decides what a store that cannot be opened means); closed with the app. */
  store?: Store;
  /** Told once when thread history cannot be read or written (see BotDeps.onStoreProblem). */
  onStoreProblem?: (message: string) => void;
  /** Agents of the caller's own in place of the configured ones (tests: slow, streaming, long answers). */
  agents?: Partial<Record<Route['agent'], Agent>>;
  /** Setting paths given from outside the defaults (see loadConfigDetailed's origin). */
  explicitSettings?: ReadonlySet<string>;
  /** The chat platforms `subscribe` offers digests in (default: every platform of src/adapters/registry.ts). */
  chatPlatforms?: readonly PlatformDescriptor[];
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const closers: Array<() => Promise<void>> = [];
  const banners: string[] = [];
  const store = options.store ?? (await openStore(config));
  closers.push(() => store.close());

  const model: ChatModel = await createChatModel(config, logger, banners);
  const history = new ThreadHistory(store.ns('history'), config.history);
  const demo = options.demo ?? config.demo;
  const monitor = await connectMonitor({ config, store, logger, demo, closers });
  const panda = monitor.client;
  const cric = await connectCric({
    config,
    store,
    logger,
    closers,
    explicitSettings: options.explicitSettings,
    monitor,
  });
  const docs = lazyDocsIndex(config, logger);
  const subscriptions = new SubscriptionStore(store);
  const commands = new CommandRegistry();
  const chatPlatforms = options.chatPlatforms ?? CHAT_PLATFORMS;
  for (const command of digestCommands({ config, subscriptions, client: panda, chatPlatforms }))
    commands.register(command);
  let agents: Partial<Record<Route['agent'], Agent>>;
  if (options.agents) {
    agents = options.agents;
  } else {
    const created = await createAgents({
      config,
      store,
      logger,
      banners,
      closers,
      demo,
      monitor,
      cric,
      openDocsIndex: docs,
      explicitSettings: options.explicitSettings,
    });
    // Every answer gets grounded follow-ups and its token count, whichever agent wrote it.
    agents = Object.fromEntries(Object.entries(created).map(([kind, agent]) => [kind, withAnswerExtras(agent)]));
  }
  const bot = new Bot({
    config,
    history,
    model,
    agents,
    commands,
    logger,
    selector: createModelSelector(model, logger, { timeoutMs: Math.min(config.llm.timeoutMs, 15_000) }),
    onStoreProblem: options.onStoreProblem,
  });

  const conversation = new Conversation({ bot, store, history, limits: config.limits, logger });
  closers.push(() => conversation.stop());

  return {
    config,
    logger,
    store,
    model,
    panda,
    subscriptions,
    cric,
    docs,
    bot,
    conversation,
    banners,
    async close() {
      for (const close of closers.reverse()) await close().catch(() => undefined);
    },
  };
}
