import { createHash } from 'node:crypto';
import type { Turn } from '../core/turn.ts';
import { findIds } from '../core/ids.ts';
import { threadKey } from '../core/incoming.ts';
import type { ThreadHistory } from '../bot/thread-history.ts';

/**
 * Thread history for OpenAI-compatible clients (Open WebUI). Such a client sends the whole
 * conversation with every request and no conversation id, so askpanda derives the thread from the
 * conversation itself:
 *
 * - the thread of a question is a hash of the scope (Open WebUI's chat id header when it forwards
 *   one, else the request's `user`, else nothing) and the user messages so far, this one included;
 * - the thread's history is rebuilt from the request's earlier messages on every request, their
 *   text as the client sent it; the job and task ids and the answering agent of each turn come
 *   from what askpanda stored for the previous question (the thread of the user messages before
 *   this one) when those turns line up with the request's, else from the ids written in the text.
 *
 * So follow-ups ("how can I fix it?") know the job, a regenerated answer does not see the answer it
 * replaces, and an edited earlier message starts from the edited conversation.
 */

export const V1_CHANNEL = 'v1';

export interface ConversationTurn {
  role: 'user' | 'assistant';
  text: string;
}

/** Whitespace differences (a client trimming or re-wrapping) do not make another conversation. */
function normalise(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

export function v1ThreadId(scope: string, userTexts: readonly string[]): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([scope, ...userTexts.map(normalise)]))
    .digest('hex');
  return `c${hash.slice(0, 32)}`;
}

/**
 * The thread of this request, and how to write its history from the request's messages (the
 * conversation core runs `seed` in the thread's turn, before the question is answered). `asked` is
 * how the bot reads a user message (its mention stripped), so stored turns compare.
 */
export function v1Thread(options: {
  scope: string;
  earlier: readonly ConversationTurn[];
  question: string;
  asked: (text: string) => string;
  now?: number;
}): { thread: string; seed(history: ThreadHistory): Promise<void> } {
  const { scope, earlier } = options;
  const userTexts = earlier.filter((t) => t.role === 'user').map((t) => options.asked(t.text));
  const thread = v1ThreadId(scope, [...userTexts, options.asked(options.question)]);
  const key = threadKey({ platform: 'http', channel: V1_CHANNEL, thread });
  return {
    thread,
    async seed(history) {
      if (earlier.length === 0) {
        // A first question (or its regeneration): nothing before it.
        await history.clear(key);
        return;
      }
      const previous = await history.load(
        threadKey({ platform: 'http', channel: V1_CHANNEL, thread: v1ThreadId(scope, userTexts) }),
      );
      await history.save(key, turnsOf(earlier, previous, options.asked, options.now ?? Date.now()));
    },
  };
}

/** The request's turns, with the stored turns' ids and agents where both conversations agree. */
export function turnsOf(
  earlier: readonly ConversationTurn[],
  stored: readonly Turn[],
  asked: (text: string) => string,
  now: number,
): Turn[] {
  const texts = earlier.map((t) => (t.role === 'user' ? asked(t.text) : t.text));
  // Stored history is the newest turns within the budget: line it up from the end.
  const matched = new Map<number, Turn>();
  for (let i = earlier.length - 1, j = stored.length - 1; i >= 0 && j >= 0; i--, j--) {
    const mine = stored[j]!;
    if (mine.role !== earlier[i]!.role) break;
    if (mine.role === 'user' && normalise(mine.text) !== normalise(texts[i]!)) break;
    matched.set(i, mine);
  }
  // Without a match for every stored turn the two conversations differ: the text decides alone.
  const aligned = matched.size === Math.min(stored.length, earlier.length);
  return earlier.map((turn, i) => {
    const mine = aligned ? matched.get(i) : undefined;
    const base = { role: turn.role, text: texts[i]!, at: mine?.at ?? now };
    if (mine)
      return {
        ...base,
        ...(mine.agent ? { agent: mine.agent } : {}),
        ...(mine.pandaid !== undefined ? { pandaid: mine.pandaid } : {}),
        ...(mine.jeditaskid !== undefined ? { jeditaskid: mine.jeditaskid } : {}),
      };
    return { ...base, ...idsIn(turn.role === 'user' ? texts[i]! : firstLine(texts[i]!)) };
  });
}

/** An answer's first line names what it is about; its follow-up suggestions name other jobs. */
function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}

function idsIn(text: string): Pick<Turn, 'pandaid' | 'jeditaskid'> {
  const ids: Pick<Turn, 'pandaid' | 'jeditaskid'> = {};
  for (const mention of findIds(text).mentions) {
    if (mention.kind === 'job' && ids.pandaid === undefined) ids.pandaid = mention.id;
    if (mention.kind === 'task' && ids.jeditaskid === undefined) ids.jeditaskid = mention.id;
  }
  return ids;
}
