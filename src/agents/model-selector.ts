import type { Logger } from 'pino';
import { z } from 'zod';
import type { Selector } from './agent.ts';
import type { Turn } from '../core/turn.ts';
import { findIds } from '../core/ids.ts';
import { COMPONENT_NAMES } from '../panda/error-codes.ts';
import { ModelUnavailableError, type ChatModel } from '../llm/chat-model.ts';
import { loadPrompt } from '../llm/prompts.ts';
import { silentLogger } from '../util/log.ts';
import type { Route } from './agent.ts';
import { findCodeMention } from './code-question.ts';
import { threadCode } from './selection.ts';

/** The closed list the model chooses from. */
export const SELECTABLE_AGENTS = ['job', 'task', 'queue', 'documents', 'error_code', 'general'] as const;

const optionalId = z
  .union([
    z.number().int().positive(),
    z
      .string()
      .regex(/^\d{1,15}$/)
      .transform(Number),
    z.null(),
  ])
  .optional()
  .transform((v) => v ?? undefined);

const ChoiceSchema = z.object({
  agent: z.enum(SELECTABLE_AGENTS),
  pandaid: optionalId,
  jeditaskid: optionalId,
  /** For error_code: the code the question or the thread names, and its component if known. */
  code: z
    .union([
      z.number().int().nonnegative().max(99_999),
      z
        .string()
        .regex(/^\d{1,5}$/)
        .transform(Number),
      z.null(),
    ])
    .optional()
    .transform((v) => v ?? undefined),
  component: z
    .enum(COMPONENT_NAMES)
    .nullable()
    .optional()
    .catch(undefined)
    .transform((v) => v ?? undefined),
  reason: z.string().max(300).optional().catch(undefined),
});
export type ModelChoice = z.infer<typeof ChoiceSchema>;

/** Turns of the thread the selector shows the model (it only needs the gist and the ids). */
const HISTORY_TURNS = 6;
const TURN_CHARS = 400;

/** Every id the question or the thread mentions: the only ids a choice may carry. */
export function idsInPlay(
  question: string,
  history: readonly Turn[],
): { jobs: Set<number>; tasks: Set<number>; any: Set<number> } {
  const jobs = new Set<number>();
  const tasks = new Set<number>();
  const any = new Set<number>();
  const add = (text: string) => {
    for (const m of findIds(text).mentions) {
      any.add(m.id);
      if (m.kind === 'job') jobs.add(m.id);
      if (m.kind === 'task') tasks.add(m.id);
    }
    // "jobs 6798544333 and 6800730400": findIds labels only the first; the second is in play too.
    for (const m of text.matchAll(/(?<![\w.])(\d{5,15})(?![\w])/g)) any.add(Number(m[1]));
  };
  add(question);
  for (const turn of history) {
    add(turn.text);
    if (turn.pandaid !== undefined) {
      jobs.add(turn.pandaid);
      any.add(turn.pandaid);
    }
    if (turn.jeditaskid !== undefined) {
      tasks.add(turn.jeditaskid);
      any.add(turn.jeditaskid);
    }
  }
  return { jobs, tasks, any };
}

/** Every number of 1–5 digits in the question or the thread: the only codes an error_code choice may carry. */
function codesInPlay(question: string, history: readonly Turn[]): Set<number> {
  const codes = new Set<number>();
  for (const text of [question, ...history.map((t) => t.text)])
    for (const m of text.matchAll(/(?<![\w.])(\d{1,5})(?![\w.]*\d)/g)) codes.add(Number(m[1]));
  for (const text of [question, ...history.map((t) => t.text)]) {
    const named = findCodeMention(text);
    if (named) codes.add(named.code);
  }
  return codes;
}

/** The model's choice as a Route, or why it cannot be used. */
export function validateChoice(
  raw: string,
  question: string,
  history: readonly Turn[],
  fastGuess: Route,
): { route: Route } | { problem: string } {
  const start = raw.indexOf('{');
  const end = raw.lastIndexOf('}');
  if (start < 0 || end <= start) return { problem: 'no JSON object' };
  let json: unknown;
  try {
    json = JSON.parse(raw.slice(start, end + 1));
  } catch {
    return { problem: 'invalid JSON' };
  }
  const parsed = ChoiceSchema.safeParse(json);
  if (!parsed.success)
    return { problem: `not a known agent or bad ids (${parsed.error.issues[0]?.message ?? 'invalid'})` };
  const choice = parsed.data;
  const ids = idsInPlay(question, history);
  for (const id of [choice.pandaid, choice.jeditaskid]) {
    if (id !== undefined && !ids.any.has(id))
      return { problem: `id ${id} appears neither in the question nor in the thread` };
  }
  const reason = `model: ${choice.reason?.trim() || 'chose ' + choice.agent}`;
  switch (choice.agent) {
    case 'job': {
      const pandaid = choice.pandaid ?? fastGuess.pandaid ?? (ids.jobs.size === 1 ? [...ids.jobs][0] : undefined);
      if (pandaid === undefined) return { problem: 'chose the job agent without a job id' };
      return { route: { agent: 'job', pandaid, jeditaskid: choice.jeditaskid, reason } };
    }
    case 'task': {
      const jeditaskid =
        choice.jeditaskid ?? fastGuess.jeditaskid ?? (ids.tasks.size === 1 ? [...ids.tasks][0] : undefined);
      if (jeditaskid === undefined) return { problem: 'chose the task agent without a task id' };
      return { route: { agent: 'task', jeditaskid, reason } };
    }
    case 'error_code': {
      // Only a code someone wrote: the question, the thread, or the fast path's reading of them.
      const named = fastGuess.errorCode ?? findCodeMention(question) ?? threadCode(history);
      const code = choice.code ?? named?.code;
      if (code === undefined) return { problem: 'chose the error_code agent without a code' };
      if (!codesInPlay(question, history).has(code))
        return { problem: `code ${code} appears neither in the question nor in the thread` };
      const component = choice.component ?? (named?.code === code ? named.component : undefined);
      return { route: { agent: 'error_code', errorCode: { ...(component ? { component } : {}), code }, reason } };
    }
    default:
      return { route: { agent: choice.agent, reason } };
  }
}

function conversation(question: string, history: readonly Turn[], fastGuess: Route): string {
  const lines = history.slice(-HISTORY_TURNS).map((turn) => {
    const about = [
      turn.pandaid !== undefined ? `job ${turn.pandaid}` : '',
      turn.jeditaskid !== undefined ? `task ${turn.jeditaskid}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    const text = turn.text.replace(/\s+/g, ' ').slice(0, TURN_CHARS);
    return `${turn.role}${about ? ` (about ${about})` : ''}: ${text}`;
  });
  const code = fastGuess.errorCode
    ? `${fastGuess.errorCode.component ?? 'component unknown'} code ${fastGuess.errorCode.code}`
    : '';
  const guess = [
    fastGuess.agent,
    fastGuess.pandaid !== undefined ? `pandaid ${fastGuess.pandaid}` : '',
    fastGuess.jeditaskid !== undefined ? `jeditaskid ${fastGuess.jeditaskid}` : '',
    code,
  ]
    .filter(Boolean)
    .join(', ');
  return [
    lines.length ? `Conversation so far (oldest first):\n${lines.join('\n')}` : 'No earlier conversation.',
    `Rule-based guess: ${guess}.`,
    `Latest message: ${question.replace(/\s+/g, ' ').slice(0, 2000)}`,
  ].join('\n\n');
}

/**
 * The selection agent's model step, for questions the deterministic fast path is unsure about
 * (the Bot calls it only then). The model picks from a closed list; a choice that is not valid
 * JSON, names an unknown agent or an id from nowhere is ignored and the fast path's guess stands.
 */
export function createModelSelector(
  model: ChatModel,
  logger: Logger = silentLogger,
  options: { timeoutMs?: number } = {},
): Selector {
  // Routing must be quick: past this the fast path's guess is better than a late perfect choice.
  const timeoutMs = options.timeoutMs ?? 15_000;
  return async (question, history, fastGuess) => {
    if (model.offline) return fastGuess;
    const messages = [
      { role: 'system' as const, content: loadPrompt('selector') },
      { role: 'user' as const, content: conversation(question, history, fastGuess) },
    ];
    let result;
    try {
      result = await model.complete({
        messages,
        json: true,
        temperature: 0,
        maxOutputTokens: 150,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      // No model now, or too slow: the fast path's guess is a fine answer, not an error.
      if (err instanceof ModelUnavailableError || (err instanceof Error && err.name === 'TimeoutError'))
        return fastGuess;
      throw err;
    }
    const checked = validateChoice(result.text, question, history, fastGuess);
    if ('problem' in checked) {
      logger.warn({ model: result.model, problem: checked.problem }, 'model routing rejected; using the fast path');
      return fastGuess;
    }
    logger.debug({ model: result.model, route: checked.route }, 'model routed');
    return checked.route;
  };
}
