import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Conversation } from './conversation.ts';

/** What a chat platform adapter is given: it translates, and the conversation core does the rest. */
export interface PlatformDeps {
  config: Config;
  logger: Logger;
  conversation: Conversation;
}
