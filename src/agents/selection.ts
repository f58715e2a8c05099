import type { Turn } from '../core/turn.ts';
import { findIds, type IdMention } from '../core/ids.ts';
import { lookupCode } from '../panda/error-codes.ts';
import type { Route } from './agent.ts';
import { queueRoute } from './queue-route.ts';
import { findCodeMention, findCodeMentionWithHow, type CodeMention } from './code-question.ts';
import { PANDA_WORDS } from './panda-words.ts';
import {
  ABOUT_THE_BOT,
  ABOUT_THE_CODE,
  GENERIC_CONCEPT,
  QUESTION_SHAPE,
  SMALL_TALK,
  THREAD_FOLLOW_UP,
} from './routing-words.ts';

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

/** The error code the thread's last error-code answer explained ("**Pilot error 1213 (REACHEDMAXTIME)**…"). */
export function threadCode(history: readonly Turn[]): CodeMention | undefined {
  for (let i = history.length - 1; i >= 0; i--) {
    const turn = history[i]!;
    if (turn.role === 'assistant') return turn.agent === 'error_code' ? findCodeMention(turn.text) : undefined;
  }
  return undefined;
}

/** Everything a rule may look at: the question, its ids and codes, and what the thread was about. */
export interface Situation {
  question: string;
  words: number;
  mentions: IdMention[];
  code?: CodeMention & { named: boolean };
  focus?: { pandaid?: number; jeditaskid?: number };
  /** The agent of the thread's last answer. */
  lastAgent?: string;
  history: readonly Turn[];
}

export type Decision = { route: Route; confident: boolean };

/** One routing rule: a name for logs and tests, and a decision or `undefined` to pass. */
export interface RoutingRule {
  name: string;
  decide(s: Situation): Decision | undefined;
}

/** "and the other one?": only the thread's earlier turns say which one, so a model should decide. */
const OTHER_ONE = /\b(?:the )?other (?:one|job|task)s?\b/i;
/** After an error-code answer: "and 1212?", "what about 1236". */
const LONE_NUMBER = /(?<![\w.])(\d{1,5})(?![\w.]*\d)/;

/** "and CRIC?" after a documentation answer: short enough that it can only lean on the thread. */
const SHORT_FOLLOW_UP_WORDS = 8;
/** "show failed jobs with this error in my task" after an error-code answer. */
const CODE_FOLLOW_UP_WORDS = 12;

/** A 10-digit number is today a PanDA job id (6.8e9); an 8-digit one a JEDI task id (4.6e7). */
function guessKindOfBareId(id: number): 'job' | 'task' {
  return id >= 1_000_000_000 ? 'job' : 'task';
}

const job = (pandaid: number, reason: string, confident: boolean, jeditaskid?: number): Decision => ({
  route: { agent: 'job', pandaid, ...(jeditaskid !== undefined ? { jeditaskid } : {}), reason },
  confident,
});
const task = (jeditaskid: number, reason: string, confident: boolean): Decision => ({
  route: { agent: 'task', jeditaskid, reason },
  confident,
});
const focused = (f: { pandaid?: number; jeditaskid?: number }, reason: string, confident: boolean): Decision =>
  f.pandaid !== undefined
    ? job(f.pandaid, `${reason} about a job`, confident, f.jeditaskid)
    : task(f.jeditaskid!, `${reason} about a task`, confident);
const to = (agent: 'documents' | 'general', reason: string, confident: boolean): Decision => ({
  route: { agent, reason },
  confident,
});
const code = (errorCode: CodeMention, reason: string): Decision => ({
  route: { agent: 'error_code', errorCode, reason },
  confident: true,
});

/** A bare "error 429" is a job error only if some component's table knows the number. */
function isKnownBareCode(mention: CodeMention): boolean {
  return lookupCode('pilot', mention.code) !== undefined || lookupCode('transform', mention.code) !== undefined;
}

/**
 * The routing table, tried in order; the first rule that decides wins. Ids beat everything, then
 * error codes, small talk, the thread's job or task, and documentation; anything else goes to the
 * documents agent, which declines (and says what it searched) only when no passage covers it.
 * `confident: false` marks the questions a model, when one is configured, routes better. A new
 * agent's rule is one line here.
 */
export const ROUTING_RULES: readonly RoutingRule[] = [
  { name: 'job id', decide: (s) => first(s, 'job', (id) => job(id, 'job id in the question', true)) },
  { name: 'task id', decide: (s) => first(s, 'task', (id) => task(id, 'task id in the question', true)) },
  {
    name: 'bare number in a job thread',
    decide: (s) =>
      s.mentions[0] && s.focus?.pandaid !== undefined && s.focus.jeditaskid === undefined
        ? job(s.mentions[0].id, 'bare number in a thread about a job', true)
        : undefined,
  },
  {
    name: 'bare number in a task thread',
    decide: (s) =>
      s.mentions[0] && s.focus?.jeditaskid !== undefined && s.focus.pandaid === undefined
        ? task(s.mentions[0].id, 'bare number in a thread about a task', true)
        : undefined,
  },
  {
    name: 'bare number',
    decide: (s) =>
      s.mentions[0] &&
      (guessKindOfBareId(s.mentions[0].id) === 'job'
        ? job(s.mentions[0].id, 'bare 10+ digit number: a PanDA job id', false)
        : task(s.mentions[0].id, 'bare number under 10 digits: a JEDI task id', false)),
  },
  {
    name: 'error code',
    decide: (s) =>
      s.code && (s.code.named || isKnownBareCode(s.code))
        ? code(
            { ...(s.code.component ? { component: s.code.component } : {}), code: s.code.code },
            'an error code in the question',
          )
        : undefined,
  },
  {
    name: 'small talk',
    decide: (s) =>
      SMALL_TALK.test(s.question) || ABOUT_THE_BOT.test(s.question)
        ? to('general', 'small talk or a question about askpanda', true)
        : undefined,
  },
  // Queues, sites and PanDA's health (CRIC): before the thread rules, so "what is the status of
  // site MWT2?" in a job thread is answered from CRIC.
  { name: 'queue or site', decide: (s) => queueRoute(s.question, s.history, s.focus !== undefined) },
  {
    name: 'the other one',
    decide: (s) =>
      s.focus && OTHER_ONE.test(s.question) ? focused(s.focus, '"the other one" in a thread', false) : undefined,
  },
  {
    name: 'job or task follow-up',
    decide: (s) =>
      s.focus && !GENERIC_CONCEPT.test(s.question) && THREAD_FOLLOW_UP.test(s.question)
        ? focused(s.focus, 'follow-up in a thread', true)
        : undefined,
  },
  { name: 'error code follow-up', decide: codeFollowUp },
  {
    name: 'documentation question',
    decide: (s) =>
      QUESTION_SHAPE.test(s.question)
        ? to('documents', 'a documentation question', PANDA_WORDS.test(s.question))
        : undefined,
  },
  {
    name: 'documentation follow-up',
    decide: (s) =>
      s.lastAgent === 'documents' && s.words <= SHORT_FOLLOW_UP_WORDS
        ? to('documents', 'short follow-up to a documentation answer', true)
        : undefined,
  },
  {
    name: 'question in a job or task thread',
    decide: (s) => (s.focus ? focused(s.focus, 'question in a thread', false) : undefined),
  },
  {
    name: 'anything else',
    decide: () => to('documents', 'no id, code or question shape: the documentation is searched', false),
  },
];

function first(s: Situation, kind: 'job' | 'task', decision: (id: number) => Decision): Decision | undefined {
  const mention = s.mentions.find((m) => m.kind === kind);
  // An id labelled the other way earlier in the question wins ("job 6802258254 of task 46374283").
  const earlier = s.mentions.find((m) => m.kind !== 'bare');
  return mention && earlier === mention ? decision(mention.id) : undefined;
}

function codeFollowUp(s: Situation): Decision | undefined {
  if (s.lastAgent !== 'error_code' || s.words > CODE_FOLLOW_UP_WORDS) return undefined;
  const previous = threadCode(s.history);
  if (!previous) return undefined;
  const lone = LONE_NUMBER.exec(s.question);
  if (lone)
    return code(
      { ...(previous.component ? { component: previous.component } : {}), code: Number(lone[1]) },
      'a code number after an error-code answer',
    );
  if (GENERIC_CONCEPT.test(s.question) || !ABOUT_THE_CODE.test(s.question)) return undefined;
  return code(previous, 'a follow-up about the code of the last answer');
}

/** A decision and the name of the rule that made it. */
export type FastRoute = (Decision & { rule: string }) | { problem: string };

/**
 * The deterministic fast path of the selection agent: ids, codes, thread focus and question shape
 * decide without a model call.
 */
export function selectFast(question: string, history: readonly Turn[]): FastRoute {
  const { mentions, problem } = findIds(question);
  if (problem) return { problem };
  const trimmed = question.trim();
  const code = findCodeMentionWithHow(trimmed);
  const situation: Situation = {
    question: trimmed,
    words: trimmed.split(/\s+/).filter(Boolean).length,
    // "ddm error 12345": the number is the code, not a bare task id.
    mentions: code ? mentions.filter((m) => m.kind !== 'bare' || m.id !== code.code) : mentions,
    code,
    focus: threadFocus(history),
    lastAgent: lastAnswerAgent(history),
    history,
  };
  for (const rule of ROUTING_RULES) {
    const decision = rule.decide(situation);
    if (decision) return { ...decision, rule: rule.name };
  }
  return { ...to('documents', 'no rule matched', false), rule: 'none' };
}

function lastAnswerAgent(history: readonly Turn[]): string | undefined {
  for (let i = history.length - 1; i >= 0; i--) if (history[i]!.role === 'assistant') return history[i]!.agent;
  return undefined;
}
