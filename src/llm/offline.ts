import {
  ModelUnavailableError,
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  type ChatStreamEvent,
} from './chat-model.ts';
import { defineProvider } from './provider.ts';

/** The end of every chain: agents answer from the knowledge base and the data alone. No settings. */
export const offline = defineProvider({
  name: 'offline',
  settings: {},
  create: async () => new OfflineModel(),
});

/**
 * The model used when ASKPANDA_LLM=offline (the default) and as the last link of a fallback chain.
 * It generates nothing: agents see `offline` and answer from the error-code knowledge base, the
 * monitor data and the docs index. Calling it is a programming error that surfaces as "unavailable"
 * so a caller that forgot the check still degrades to its offline answer.
 */
export class OfflineModel implements ChatModel {
  readonly id = 'offline';
  readonly offline = true;
  readonly supportsTools = false;

  async complete(_request: ChatRequest): Promise<ChatResult> {
    throw new ModelUnavailableError('No language model is configured (ASKPANDA_LLM=offline).', this.id);
  }

  // eslint-disable-next-line require-yield
  async *stream(_request: ChatRequest): AsyncIterable<ChatStreamEvent> {
    throw new ModelUnavailableError('No language model is configured (ASKPANDA_LLM=offline).', this.id);
  }
}
