import type { Logger } from 'pino';
import type { Bot } from '../bot/bot.ts';
import type { Conversation } from '../bot/conversation.ts';
import type { Config } from '../config/schema.ts';
import type { CricClient } from '../panda/cric-client.ts';
import type { PandaClient } from '../panda/client.ts';
import type { Retriever } from '../rag/retriever.ts';

/** What the HTTP surfaces (MCP, /v1, the web chat) are given by the composition root. */
export interface ServerDeps {
  config: Config;
  logger: Logger;
  /** One agent on a route an MCP tool names (no conversation), and how the bot reads a message. */
  bot: Bot;
  /** Every question asks through it: limits, order, status, drafts, history. */
  conversation: Conversation;
  /** The process's BigPanDA client (MCP's PanDA tools). */
  panda: PandaClient;
  cric: CricClient;
  /** The docs index, opened on first use (MCP's docs search). */
  docs: () => Promise<Retriever>;
}
