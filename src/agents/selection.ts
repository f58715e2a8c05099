import type { Turn } from '../bot/history.ts';
import { findIds } from '../bot/ids.ts';
import type { Route } from './agent.ts';
import { queueRoute } from './queue-route.ts';

/** The job or task a thread is about: the most recent turn that named one. */
export function threadFocus(history: readonly Turn[]): { pandaid?: number; jeditaskid?: number } | undefined {
  for (let i = history.length - 1; i >= 0; i--) {
    const turn = history[i]!;
    if (turn.pandaid !== undefined || turn.jeditaskid !== undefined) {
      return { pandaid: turn.pandaid, jeditaskid: turn.jeditaskid };
    }
  }
  return undefined;
}

const DOC_QUESTION = /^(?:what(?:'s| is| are| does| do)|whats|define|definition of|explain|meaning of|tell me about|how (?:do|can|should) (?:i|we|you|one)|how to|where (?:do|can) i|is there (?:a|any) (?:doc|documentation))\b/i;
/** Words that make a question in a job/task thread about that job/task. */
const FOLLOW_UP = /\b(it|its|it's|this|that|these|those|the (?:job|task|failure|error|log|site|pilot|payload)|fix|retry|resubmit|rerun|again|why|cause|happen|happened|going on|wrong|fail|failed|failing|failure|error|log|logs|memory|site|attempt|more|details|expert|explain|other one|next|status|progress|kill)\b/i;
/** "and the other one?": only the thread's earlier turns say which one, so a model should decide. */
const OTHER_ONE = /\b(?:the )?other (?:one|job|task)s?\b/i;
/** Generic concept questions stay with the documents even inside a job thread. */
const GENERIC_CONCEPT = /^(?:what(?:'s| is| are) (?:a|an|the)?\s*(?:pilot|panda|jedi|harvester|rucio|cric|payload|queue|task|job|dataset|container|scout|brokerage|site)s?\b\s*\??$)/i;

/** "and CRIC?" after a documentation answer: short enough that it can only lean on the thread. */
const SHORT_FOLLOW_UP_WORDS = 8;

function lastAnswerAgent(history: readonly Turn[]): string | undefined {
  for (let i = history.length - 1; i >= 0; i--) if (history[i]!.role === 'assistant') return history[i]!.agent;
  return undefined;
}

/** A 10-digit number is today a PanDA job id (6.8e9); an 8-digit one a JEDI task id (4.6e7). */
function guessKindOfBareId(id: number): 'job' | 'task' {
  return id >= 1_000_000_000 ? 'job' : 'task';
}

export type FastRoute = { route: Route; confident: boolean } | { problem: string };

/**
 * The deterministic fast path of the selection agent: ids, thread focus and question shape decide
 * without a model call. `confident: false` marks questions a model may route better.
 */
export function selectFast(question: string, history: readonly Turn[]): FastRoute {
  const { mentions, problem } = findIds(question);
  if (problem) return { problem };
  const focus = threadFocus(history);
  const explicit = mentions.find((m) => m.kind !== 'bare');
  if (explicit?.kind === 'job') return { route: { agent: 'job', pandaid: explicit.id, reason: 'job id in the question' }, confident: true };
  if (explicit?.kind === 'task') return { route: { agent: 'task', jeditaskid: explicit.id, reason: 'task id in the question' }, confident: true };

  const bare = mentions[0];
  if (bare) {
    if (focus?.pandaid !== undefined && focus.jeditaskid === undefined) {
      return { route: { agent: 'job', pandaid: bare.id, reason: 'bare number in a thread about a job' }, confident: true };
    }
    if (focus?.jeditaskid !== undefined && focus.pandaid === undefined) {
      return { route: { agent: 'task', jeditaskid: bare.id, reason: 'bare number in a thread about a task' }, confident: true };
    }
    const kind = guessKindOfBareId(bare.id);
    return kind === 'job'
      ? { route: { agent: 'job', pandaid: bare.id, reason: 'bare 10+ digit number: a PanDA job id' }, confident: false }
      : { route: { agent: 'task', jeditaskid: bare.id, reason: 'bare number under 10 digits: a JEDI task id' }, confident: false };
  }

  // Queues, sites and PanDA's health (CRIC): before the thread rules, so "what is the status of
  // site MWT2?" in a job thread is answered from CRIC.
  const queue = queueRoute(question, history, focus !== undefined);
  if (queue) return queue;

  const trimmed = question.trim();
  if (focus && OTHER_ONE.test(trimmed)) {
    return focus.pandaid !== undefined
      ? { route: { agent: 'job', pandaid: focus.pandaid, jeditaskid: focus.jeditaskid, reason: '"the other one" in a thread about a job' }, confident: false }
      : { route: { agent: 'task', jeditaskid: focus.jeditaskid, reason: '"the other one" in a thread about a task' }, confident: false };
  }
  if (focus && !GENERIC_CONCEPT.test(trimmed) && FOLLOW_UP.test(trimmed)) {
    return focus.pandaid !== undefined
      ? { route: { agent: 'job', pandaid: focus.pandaid, jeditaskid: focus.jeditaskid, reason: 'follow-up in a thread about a job' }, confident: true }
      : { route: { agent: 'task', jeditaskid: focus.jeditaskid, reason: 'follow-up in a thread about a task' }, confident: true };
  }
  if (DOC_QUESTION.test(trimmed)) return { route: { agent: 'documents', reason: 'a "what is / how do I" question' }, confident: true };
  if (lastAnswerAgent(history) === 'documents' && trimmed.split(/\s+/).length <= SHORT_FOLLOW_UP_WORDS) {
    return { route: { agent: 'documents', reason: 'short follow-up to a documentation answer' }, confident: true };
  }
  if (focus) {
    return focus.pandaid !== undefined
      ? { route: { agent: 'job', pandaid: focus.pandaid, jeditaskid: focus.jeditaskid, reason: 'question in a thread about a job' }, confident: false }
      : { route: { agent: 'task', jeditaskid: focus.jeditaskid, reason: 'question in a thread about a task' }, confident: false };
  }
  return { route: { agent: 'general', reason: 'no id and no documentation cue' }, confident: false };
}
