import { countTokens as countO200k } from 'gpt-tokenizer';
import type { ChatMessage } from './chat-model.ts';

/**
 * Tokens of `text` in the o200k encoding (GPT-4o). Other providers' tokenizers differ by a few
 * percent; one tokenizer everywhere keeps budgets and benchmarks comparable.
 */
export function countTokens(text: string): number {
  // Special-token markers in log text would make the encoder throw; they are data here.
  return countO200k(text.replaceAll('<|', '< |'));
}

/** Per-message overhead of chat formats (role markers), as OpenAI documents it: about 4 tokens. */
const MESSAGE_OVERHEAD = 4;

export function countMessageTokens(messages: readonly ChatMessage[]): number {
  return messages.reduce((sum, m) => sum + countTokens(m.content) + MESSAGE_OVERHEAD, 3);
}
