import { countTokens as countO200k } from 'gpt-tokenizer';
import type { ChatMessage } from './chat-model.ts';

/**
 * Tokens of `text` in the o200k encoding (GPT-4o). Other providers' tokenizers differ by a few
 * percent; one tokenizer everywhere keeps budgets and benchmarks comparable.
 */
export function countTokens(text: string): number {
  // Special-token markers in log text would make the encoder throw; they are data here. BPE cost
  // grows with the square of a word's length, so unbroken runs (base64, a line of 'x') are counted
  // in slices: a few tokens too many instead of a minute of CPU.
  const safe = text.replaceAll('<|', '< |').replace(/\S{200,}/g, (run) => run.match(/[\s\S]{1,100}/g)!.join(' '));
  return countO200k(safe);
}

/** Per-message overhead of chat formats (role markers), as OpenAI documents it: about 4 tokens. */
const MESSAGE_OVERHEAD = 4;

export function countMessageTokens(messages: readonly ChatMessage[]): number {
  return messages.reduce((sum, m) => sum + countTokens(m.content) + toolCallTokens(m) + MESSAGE_OVERHEAD, 3);
}

/** A tool call costs its name and arguments, as the provider's JSON carries them. */
function toolCallTokens(message: ChatMessage): number {
  if (message.role !== 'assistant' || !message.toolCalls?.length) return 0;
  return countTokens(JSON.stringify(message.toolCalls.map((c) => [c.name, c.invalidInput ?? c.input])));
}
