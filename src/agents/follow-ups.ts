import type { AnswerDraft, FollowUp } from '../core/answer.ts';
import type { Turn } from '../core/turn.ts';
import { findIds } from '../core/ids.ts';
import { PANDA_WORDS } from './panda-words.ts';
import { selectFast } from './selection.ts';

export const MIN_FOLLOW_UPS = 2;
export const MAX_FOLLOW_UPS = 4;

/** PanDA concepts worth a documentation follow-up when an answer mentions them. */
const CONCEPTS: Array<{ term: RegExp; question: string }> = [
  { term: /\bpilots?\b/i, question: 'What is a PanDA pilot?' },
  { term: /\bJEDI\b/, question: 'What is JEDI?' },
  { term: /\bRucio\b/i, question: 'What is Rucio?' },
  { term: /\bHarvester\b/i, question: 'What is Harvester?' },
  { term: /\bCRIC\b/, question: 'What is CRIC?' },
  { term: /\bbrokerage\b/i, question: 'What is brokerage in PanDA?' },
  { term: /\bscout jobs?\b/i, question: 'What are scout jobs?' },
  { term: /\bstage[- ]?in\b/i, question: 'What is stage-in?' },
  { term: /\bstage[- ]?out\b/i, question: 'What is stage-out?' },
  { term: /\bpayload\b/i, question: 'What is a payload?' },
  { term: /\bdatasets?\b/i, question: 'What is a dataset in Rucio?' },
  { term: /\bqueues?\b/i, question: 'What is a PanDA queue?' },
];

function num(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^-?\d{1,15}$/.test(value.trim())) return Number(value);
  return undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function short(text: string, max = 70): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/** Ids the answer and its thread are about: a follow-up may only name these. */
function knownIds(draft: AnswerDraft, history: readonly Turn[]): Set<number> {
  const ids = new Set<number>();
  for (const [key, value] of Object.entries(draft.facts)) {
    const n = num(value);
    if (n !== undefined && /pandaid|jeditaskid|taskid/i.test(key)) ids.add(n);
  }
  for (const turn of history) {
    if (turn.pandaid !== undefined) ids.add(turn.pandaid);
    if (turn.jeditaskid !== undefined) ids.add(turn.jeditaskid);
  }
  for (const text of [draft.summary, ...draft.sections.map((s) => s.body)]) {
    for (const mention of findIds(text).mentions) ids.add(mention.id);
  }
  return ids;
}

/** A documentation follow-up must be about PanDA, or about something the answer itself said. */
function onTopic(question: string, draft: AnswerDraft): boolean {
  if (PANDA_WORDS.test(question)) return true;
  const answerWords = new Set(
    [draft.summary, ...draft.sections.map((s) => s.body), ...Object.values(draft.facts).map(String)]
      .join(' ')
      .toLowerCase()
      .match(/[a-z][a-z0-9_-]{4,}/g) ?? [],
  );
  return (question.toLowerCase().match(/[a-z][a-z0-9_-]{4,}/g) ?? []).some(
    (word) =>
      answerWords.has(word) &&
      !/^(?:what|which|where|there|about|does|should|could|would|their|these|those)$/.test(word),
  );
}

function normalise(question: string): string {
  return question
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/**
 * A follow-up askpanda can answer: its routing reaches an agent other than "general" (or it is the
 * `help` command), and every id it names is one the answer or the thread was about.
 */
export function isAnswerable(question: string, draft: AnswerDraft, history: readonly Turn[]): boolean {
  if (question.trim().toLowerCase() === 'help') return true;
  const { mentions, problem } = findIds(question);
  if (problem) return false;
  const ids = knownIds(draft, history);
  if (mentions.some((m) => !ids.has(m.id))) return false;
  const thread: Turn[] = [...history];
  const pandaid = num(draft.facts.pandaid);
  const jeditaskid = num(draft.facts.jeditaskid);
  if (pandaid !== undefined || jeditaskid !== undefined)
    thread.push({ role: 'assistant', text: draft.summary, at: 0, pandaid, jeditaskid });
  const routed = selectFast(question, thread);
  // Only questions the fast path routes with confidence: a suggestion must not need a model to land.
  if ('problem' in routed || routed.route.agent === 'general' || !routed.confident) return false;
  return routed.route.agent !== 'documents' || onTopic(question, draft);
}

/** Follow-ups derived from what the answer found: its error codes, site, task, attempts, terms. */
export function groundedFollowUps(draft: AnswerDraft): FollowUp[] {
  const f = draft.facts;
  const out: FollowUp[] = [];
  const pandaid = num(f.pandaid);
  const jeditaskid = num(f.jeditaskid);
  const pilotCode = num(f.piloterrorcode);
  const exeCode = num(f.exeerrorcode);
  const site = str(f.computingsite);
  const attempt = num(f.attemptnr);
  const maxAttempt = num(f.maxattempt);
  const diag = str(f.piloterrordiag);

  if (pilotCode) {
    out.push({
      question: `What does pilot error ${pilotCode} mean?`,
      why: `job ${pandaid ?? ''} failed with it${diag ? ` ("${short(diag, 60)}")` : ''}`.replace('job  ', 'the job '),
    });
  }
  if (exeCode)
    out.push({
      question: `What does transform error ${exeCode} mean?`,
      why: `the payload of job ${pandaid ?? ''} exited with it`.replace('job  ', 'the job '),
    });
  if (draft.agent === 'job' && jeditaskid) {
    out.push({
      question: `What is happening with task ${jeditaskid}?`,
      why: `job ${pandaid ?? ''} belongs to it; shows whether its other jobs fail the same way`.replace(
        'job  ',
        'this job ',
      ),
    });
  }
  if (draft.agent === 'job' && pandaid && attempt !== undefined && maxAttempt !== undefined && attempt < maxAttempt) {
    out.push({ question: `Will job ${pandaid} be retried?`, why: `this was attempt ${attempt} of ${maxAttempt}` });
  }
  if (draft.agent === 'job' && site && jeditaskid) {
    out.push({
      question: `Are the failures of task ${jeditaskid} concentrated at ${site}?`,
      why: `job ${pandaid ?? ''} ran at ${site}; a site problem shows as failures clustered there`.replace(
        'job  ',
        'the job ',
      ),
    });
  }
  if (draft.agent === 'task') {
    for (const [key, value] of Object.entries(f)) {
      const id = num(value);
      if (id !== undefined && /pandaid/i.test(key)) {
        out.push({
          question: `Why did job ${id} fail?`,
          why: `a failed job of task ${jeditaskid ?? ''} (${key}); its logs show the cause`.replace(
            'task  ',
            'this task ',
          ),
        });
        break;
      }
    }
    const status = str(f.status) ?? str(f.taskstatus) ?? str(f.superstatus);
    if (status)
      out.push({
        question: `What does the task status "${status}" mean?`,
        why: `task ${jeditaskid ?? ''} is in it now`.replace('task  ', 'the task '),
      });
  }
  if (draft.agent === 'documents') {
    for (const source of draft.sources.slice(0, 2))
      out.push({
        question: `Tell me about ${short(source.title, 60)}`,
        why: 'one of the sources of this answer has more on it',
      });
  }
  const prose = [draft.summary, ...draft.sections.map((s) => s.body)].join('\n');
  for (const concept of CONCEPTS) {
    if (concept.term.test(prose))
      out.push({ question: concept.question, why: 'this answer mentions it; the documentation explains it' });
  }
  return out;
}

/**
 * 2–4 follow-ups for an answer: the model's suggestions that pass the checks first, then ones
 * derived from the answer's facts; `help` only when nothing else applies.
 */
export function suggestFollowUps(
  draft: AnswerDraft,
  context: { question: string; history: readonly Turn[] },
  candidates: readonly FollowUp[] = [],
): FollowUp[] {
  const seen = new Set([normalise(context.question)]);
  const chosen: FollowUp[] = [];
  const consider = (followUp: FollowUp) => {
    if (chosen.length >= MAX_FOLLOW_UPS) return;
    const question = followUp.question.trim().replace(/\s+/g, ' ');
    const why = followUp.why.trim().replace(/\s+/g, ' ');
    if (!question || !why || question.length > 200 || why.length > 200) return;
    const key = normalise(question);
    if (seen.has(key) || !isAnswerable(question, draft, context.history)) return;
    seen.add(key);
    chosen.push({ question, why });
  };
  for (const candidate of [...candidates, ...draft.followUps, ...groundedFollowUps(draft)]) consider(candidate);
  if (chosen.length < MIN_FOLLOW_UPS)
    consider({ question: 'help', why: 'lists the questions and commands I can answer' });
  if (chosen.length < MIN_FOLLOW_UPS)
    consider({ question: 'What is PanDA?', why: 'the documentation I can search starts there' });
  return chosen;
}
