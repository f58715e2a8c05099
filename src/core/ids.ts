import { echo } from '../util/echo.ts';

/**
 * PanDA ids as users type them. PanDA job ids and JEDI task ids are positive integers; today's
 * are 8 (tasks) to 10 (jobs) digits. Anything of 1–15 digits is accepted as an id; longer digit
 * runs and digit runs glued to letters are reported as bad input rather than guessed at.
 */
export const MAX_ID_DIGITS = 15;

export interface IdMention {
  kind: 'job' | 'task' | 'bare';
  id: number;
}

export type IdProblem = { problem: string };

const JOB_WORDS = String.raw`(?:panda\s*)?(?:job|jobs|pandaid|panda\s*id|panda)`;
const TASK_WORDS = String.raw`(?:jedi\s*)?(?:task|tasks|jeditaskid|jedi\s*task\s*id|jedi)`;

/** Finds job and task ids in a question, or the reason a would-be id is unusable. */
export function findIds(text: string): { mentions: IdMention[]; problem?: string } {
  const mentions: IdMention[] = [];
  const seen = new Set<string>();
  const push = (m: IdMention) => {
    const key = `${m.kind}:${m.id}`;
    if (!seen.has(key)) {
      seen.add(key);
      mentions.push(m);
    }
  };
  const glued = text.match(
    new RegExp(
      String.raw`\b(?:${JOB_WORDS}|${TASK_WORDS})\s*(?:id)?\s*[#:=]?\s*(\d+[A-Za-z_][\w]*|[A-Za-z]+\d+\w*)`,
      'i',
    ),
  );
  const tooLong = text.match(new RegExp(String.raw`(?<![\w.])\d{${MAX_ID_DIGITS + 1},}(?![\w.])`));
  if (tooLong)
    return {
      mentions,
      problem:
        `${tooLong[0].slice(0, 40)}${tooLong[0].length > 40 ? '…' : ''} has ${tooLong[0].length} digits; ` +
        `PanDA job and task ids have at most ${MAX_ID_DIGITS}`,
    };

  const labelled = new RegExp(
    String.raw`\b(${JOB_WORDS}|${TASK_WORDS})\s*(?:id)?\s*(?:number|no\.?|nr\.?)?\s*[#:=]?\s*(\d{1,${MAX_ID_DIGITS}})(?![\w])`,
    'gi',
  );
  for (const m of text.matchAll(labelled)) {
    const word = m[1]!.toLowerCase();
    push({ kind: /task|jedi/.test(word) ? 'task' : 'job', id: Number(m[2]) });
  }
  // Monitor links pasted into chat.
  for (const m of text.matchAll(/\/job\?pandaid=(\d{1,15})|\/jobs\/\?pandaid=(\d{1,15})/g))
    push({ kind: 'job', id: Number(m[1] ?? m[2]) });
  for (const m of text.matchAll(/\/task\/(\d{1,15})|jeditaskid=(\d{1,15})/g))
    push({ kind: 'task', id: Number(m[1] ?? m[2]) });
  if (mentions.length === 0) {
    for (const m of text.matchAll(/(?<![\w.#/])(\d{5,15})(?![\w.])/g)) push({ kind: 'bare', id: Number(m[1]) });
  }
  if (mentions.length === 0 && glued) {
    return {
      mentions,
      problem: `"${echo(glued[1]!, 40)}" is not a PanDA id; ids are whole numbers such as 6802258254`,
    };
  }
  return { mentions };
}
