import type { ChatMessage } from './chat-model.ts';
import { countMessageTokens, countTokens } from './tokens.ts';

/**
 * Fits a prompt into `maxTokens` instead of failing: first drops the oldest history turns (messages
 * between the system prompt and the final user message), then cuts lines out of the middle of the
 * longest message (evidence: the head names the context and the tail holds the failure).
 */
export function fitToBudget(
  messages: readonly ChatMessage[],
  maxTokens: number,
): { messages: ChatMessage[]; trimmed: boolean } {
  const out = messages.map((m) => ({ ...m }));
  if (countMessageTokens(out) <= maxTokens) return { messages: out, trimmed: false };

  const lastUserIndex = () => out.map((m) => m.role).lastIndexOf('user');
  while (countMessageTokens(out) > maxTokens) {
    const dropIndex = out.findIndex((m, i) => m.role !== 'system' && i < lastUserIndex());
    if (dropIndex < 0) break;
    // A tool call goes with its results: a result without its call is refused by every provider.
    let results = 0;
    while (out[dropIndex + 1 + results]?.role === 'tool') results++;
    out.splice(dropIndex, 1 + results);
  }

  for (let guard = 0; guard < 64 && countMessageTokens(out) > maxTokens; guard++) {
    const longest = out.reduce((best, m, i) => (m.content.length > out[best]!.content.length ? i : best), 0);
    const excess = countMessageTokens(out) - maxTokens;
    const message = out[longest]!;
    const next = cutMiddle(message.content, countTokens(message.content) - excess - 16);
    if (next === message.content) break;
    out[longest] = { ...message, content: next };
  }
  return { messages: out, trimmed: true };
}

/** Keeps the head and tail lines of `text` so that it has about `targetTokens` tokens. */
export function cutMiddle(text: string, targetTokens: number): string {
  const total = countTokens(text);
  if (total <= targetTokens) return text;
  const target = Math.max(targetTokens, 16);
  const lines = text.split('\n');
  if (lines.length < 4) {
    // One long line: keep characters proportionally.
    const keep = Math.max(64, Math.floor((text.length * target) / total));
    const head = Math.floor(keep / 3);
    return `${text.slice(0, head)} […trimmed to fit the token budget…] ${text.slice(text.length - (keep - head))}`;
  }
  let head = Math.ceil(lines.length / 3);
  let tail = lines.length - head;
  const build = (h: number, t: number) =>
    [
      ...lines.slice(0, h),
      `[… ${lines.length - h - t} lines trimmed to fit the token budget …]`,
      ...lines.slice(lines.length - t),
    ].join('\n');
  // Shrink both ends (tail keeps twice the head's share: failures sit at the end of logs).
  while (head + tail > 2) {
    const candidate = build(head, tail);
    if (countTokens(candidate) <= target) return candidate;
    const step = Math.max(1, Math.floor((head + tail) / 8));
    head = Math.max(1, head - Math.ceil(step / 3));
    tail = Math.max(1, tail - Math.ceil((2 * step) / 3));
    if (head === 1 && tail === 1) break;
  }
  const minimal = build(1, 1);
  return countTokens(minimal) <= target ? minimal : cutMiddle(lines.join(' '), target);
}
