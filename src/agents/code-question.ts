import { codeByName, type ComponentName } from '../panda/error-codes.ts';
import { anyOf } from '../util/word-pattern.ts';

/** An error code named in chat text: "pilot error 1213", "exeerrorcode=65", "taskbuffer:300", "STAGEINFAILED". */
export interface CodeMention {
  /** Undefined for "error code 1213" with no component: the knowledge base decides. */
  component?: ComponentName;
  code: number;
}

/**
 * The words users (and the monitor's error keys and field names) put before a code, per component.
 * Order matters only where one word contains another: "exeerrorcode" before "exe".
 */
const COMPONENT_WORDS: Array<[ComponentName, string[]]> = [
  ['pilot', ['piloterrorcode', 'piloterror', 'pilot']],
  ['executor', ['exeerrorcode', 'executable', 'executor', 'exe']],
  ['transform', ['transexitcode', 'transformation', 'transform', 'trf', 'payload']],
  ['dataservice', ['ddmerrorcode', 'dataservice', 'data service', 'ddm']],
  ['taskbuffer', ['taskbuffererrorcode', 'taskbuffer', 'task buffer']],
  ['brokerage', ['brokerageerrorcode', 'brokerage', 'broker']],
  ['jobdispatcher', ['jobdispatchererrorcode', 'jobdispatcher', 'job dispatcher', 'dispatcher']],
  ['supervisor', ['superrorcode', 'supervisor']],
];

const CODE = String.raw`(\d{1,5})(?![\d.]*\d{6})(?![\w.]*\d)`;
const KIND = String.raw`(?:[\s_-]*(?:error|err|exit|return|failure))?(?:[\s_-]*(?:code|status|number|no\.?|nr\.?|#))?`;

/** "pilot error 1213", "pilot:1305", "piloterrorcode=1213", "transform exit code 65", "ddm error 200". */
const COMPONENT_FIRST = COMPONENT_WORDS.map(([component, words]) => ({
  component,
  regex: new RegExp(String.raw`\b${anyOf(words)}${KIND}\s*(?:[:=#]|is|of|was)?\s*${CODE}\b`, 'i'),
}));
/** "code 65 of the transform", "1213 pilot error" (not "3 pilot jobs": the code word is required). */
const CODE_FIRST = COMPONENT_WORDS.map(([component, words]) => ({
  component,
  regex: new RegExp(
    String.raw`\b(?:(?:error|exit)\s+)?code\s+(\d{1,5})\s+(?:of|from|in|by)\s+(?:the\s+|a\s+|an\s+)?${anyOf(words)}\b` +
      String.raw`|\b(\d{1,5})\s+${anyOf(words)}[\s_-]*(?:error|exit|code)\b`,
    'i',
  ),
}));
/** "exit code 137": the exit code of a job is its payload's (a transform or user executable). */
const EXIT_CODE = new RegExp(String.raw`\b(?:exit|return)[\s_-]*(?:code|status)\s*[:=#]?\s*${CODE}`, 'i');
/**
 * "error code 1213", "error 1213", "code 1213", "errorcode=1213": the component is left to the
 * tables (and the caller decides whether an unknown bare code is a code question at all).
 * "HTTP status code 429" is not a job error.
 */
const BARE_CODE = new RegExp(
  String.raw`(?<!\b(?:http|status|response)\s)\b(?:error[\s_-]*code|errorcode|error|code)\s*[:=#]?\s*${CODE}`,
  'i',
);
/** Acronyms copied from the monitor: STAGEINFAILED, TRF_EXEC_FAIL. Upper case only: "preemption" is a word, PREEMPTION a code. */
const ACRONYM = /\b[A-Z][A-Z0-9_]{4,}\b/g;

export function findCodeMention(text: string): CodeMention | undefined {
  const m = findCodeMentionWithHow(text);
  return m && { component: m.component, code: m.code };
}

/**
 * The mention and whether the component was named (a bare "error 429" may be no job error at all).
 * The earliest named mention wins: an answer that explains "transform exit code 65" and later
 * mentions "pilot error 1212" is about the transform code.
 */
export function findCodeMentionWithHow(text: string): (CodeMention & { named: boolean }) | undefined {
  let best: { at: number; mention: CodeMention & { named: boolean } } | undefined;
  const consider = (at: number, mention: CodeMention & { named: boolean }) => {
    if (!best || at < best.at) best = { at, mention };
  };
  for (const { component, regex } of COMPONENT_FIRST) {
    const m = regex.exec(text);
    if (m) consider(m.index, { component, code: Number(m[1]), named: true });
  }
  for (const { component, regex } of CODE_FIRST) {
    const m = regex.exec(text);
    if (m) consider(m.index, { component, code: Number(m[1] ?? m[2]), named: true });
  }
  const exit = EXIT_CODE.exec(text);
  if (exit) consider(exit.index, { component: 'transform', code: Number(exit[1]), named: true });
  for (const m of text.matchAll(ACRONYM)) {
    const named = codeByName(m[0]);
    if (named) {
      consider(m.index, { ...named, named: true });
      break;
    }
  }
  if (best) return best.mention;
  const bare = BARE_CODE.exec(text);
  return bare ? { code: Number(bare[1]), named: false } : undefined;
}
