import type { Turn } from '../core/turn.ts';
import type { Route } from './agent.ts';
import { knownNamesIn, nameShapedWords } from './queue-names.ts';
import {
  CONCEPT,
  LIST_FILTERS,
  LIST_SHAPE,
  LIST_WORDS,
  QUEUE_NOUNS,
  QUEUE_SUBJECT_WORDS,
  QUEUE_WORDS,
  isHealthQuestion,
  isLimitKillQuestion,
} from './queue-words.ts';

/**
 * The selection agent's rules for the queue agent: questions about PanDA queues and sites (their
 * status and limits, lists and counts from CRIC) and "is PanDA up?". selectFast asks this after
 * the job and task id rules.
 */

function lastAnswerAgent(history: readonly Turn[]): string | undefined {
  for (let i = history.length - 1; i >= 0; i--) if (history[i]!.role === 'assistant') return history[i]!.agent;
  return undefined;
}

const route = (reason: string, confident = true) => ({ route: { agent: 'queue', reason } as Route, confident });

/**
 * The queue route for a question, or undefined when it is not about queues, sites or PanDA's
 * health. `focused`: the thread is about a job or task, where a plain "why did it fail at MWT2?"
 * stays with that job.
 */
export function queueRoute(
  question: string,
  history: readonly Turn[],
  focused = false,
): { route: Route; confident: boolean } | undefined {
  const q = question.trim();
  if (isHealthQuestion(q)) return route('PanDA server health question');
  if (CONCEPT.test(q)) return undefined;
  const names = knownNamesIn(q);
  const queueWords = QUEUE_WORDS.test(q);
  const words = q.split(/\s+/).filter(Boolean).length;
  if (names.length && queueWords) return route('known queue or site name with queue words');
  // "AGLT2?", "status of BNL", "tell me about MWT2": the name is the whole question.
  if (names.length && !focused && words - names.length <= 3) return route('known queue or site name');
  const shaped = nameShapedWords(q);
  if (shaped.length && queueWords && QUEUE_SUBJECT_WORDS.test(q)) {
    return route('queue words with a queue-shaped name', false);
  }
  // "what formula weighs sites for analysis jobs?" is a documentation question: a list names the
  // queues it wants ("which queues", "sites in cloud US"), not just a noun somewhere in it.
  if (
    QUEUE_NOUNS.test(q) &&
    (LIST_WORDS.test(q) || /^(?:queues|sites)\b/i.test(q)) &&
    LIST_FILTERS.test(q) &&
    LIST_SHAPE.test(q)
  )
    return route('queue list or count question');
  // "which are brokeroff?", "list the copytools": not "what is the default of X for a copytool?".
  if (/\b(?:brokeroff|copytools?)\b/i.test(q) && /\b(?:which|list|show|how many|count|all|any)\b/i.test(q))
    return route('queue list question');
  if (!focused && isLimitKillQuestion(q) && !/\b(?:how (?:do|can|should) (?:i|we)|how to)\b/i.test(q))
    return route('memory or time limit question without a job id', false);
  if (
    lastAnswerAgent(history) === 'queue' &&
    words <= 8 &&
    (names.length || shaped.length || queueWords || /^(?:and|what about|how about)\b/i.test(q))
  ) {
    return route('follow-up to a queue answer');
  }
  return undefined;
}
