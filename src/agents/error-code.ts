import { emptyDraft, errorDraft, type AnswerDraft, type FollowUp, type Link, type Section } from '../core/answer.ts';
import {
  COMPONENT_NAMES,
  componentInfo,
  isLowPriority,
  knownCodes,
  lookupCode,
  neighbours,
  type CodeInfo,
  type ComponentName,
} from '../panda/error-codes.ts';
import type { Agent, AgentContext } from './agent.ts';
import { findCodeMention, type CodeMention } from './code-question.ts';
import { suggestFollowUps } from './follow-ups.ts';
import { threadFocus } from './selection.ts';

/** How a component's codes are named in answers ("pilot error 1213", "transform exit code 65"). */
const CODE_NOUN: Record<ComponentName, string> = {
  pilot: 'pilot error',
  transform: 'transform exit code',
  executor: 'executor error',
  dataservice: 'DDM error',
  taskbuffer: 'taskbuffer error',
  brokerage: 'brokerage error',
  jobdispatcher: 'job dispatcher error',
  supervisor: 'supervisor error',
};
/** The job field that holds the component's code: the monitor's job list filters on it. */
const CODE_FIELD: Record<ComponentName, string> = {
  pilot: 'piloterrorcode',
  transform: 'transexitcode',
  executor: 'exeerrorcode',
  dataservice: 'ddmerrorcode',
  taskbuffer: 'taskbuffererrorcode',
  brokerage: 'brokerageerrorcode',
  jobdispatcher: 'jobdispatchererrorcode',
  supervisor: 'superrorcode',
};
const OWNER_SENTENCE: Record<string, string> = {
  user:
    'Usually a **user-side** problem: the fix is in the job itself (code, options, ' +
    'inputs or requested resources), and retries fail the same way.',
  site:
    'Usually a **site** problem (the computing site or its storage): ' +
    'retries, often at another site, usually succeed and you rarely need to act.',
  system:
    'Usually a **system** problem (PanDA, JEDI, Rucio or another central service): it is handled centrally and retried automatically.',
  mixed:
    'It can be **either side**: the job or the site. ' +
    'Failures of one code at one site in the same hours point at the site; ' +
    'the same failure everywhere points at the job.',
};
/** "what jobs of my task failed with this error": the answer leads with the job list. */
const JOBS_WITH_THIS_ERROR =
  /\b(?:show|list|which|find|what|give)\b.*\bjobs?\b|\bjobs?\b.*\b(?:with|failed|failing)\b/i;
/** A job list over the last hours: the monitor's default window for job lists is about 12 h. */
const JOB_LIST_HOURS = 12;

export interface ErrorCodeAgentOptions {
  /** The monitor users open (links), e.g. https://bigpanda.cern.ch. */
  monitorUrl: string;
}

/**
 * "What does pilot error 1213 mean?", "exit code 65 of a transform", "taskbuffer error 100":
 * explains a code from the knowledge base alone (official name and message, what it means, the
 * usual causes and fixes, who usually acts, where to look) with monitor links to the jobs that
 * fail with it. A code the tables do not hold is answered with "I don't know", never a guess.
 * No model is asked: these answers are facts from the tables, the same with any configuration.
 */
export class ErrorCodeAgent implements Agent {
  readonly kind = 'error_code' as const;
  private readonly monitorUrl: string;

  constructor(options: ErrorCodeAgentOptions) {
    this.monitorUrl = options.monitorUrl.replace(/\/+$/, '');
  }

  async handle(context: AgentContext): Promise<AnswerDraft> {
    const mention = context.route.errorCode ?? findCodeMention(context.question);
    if (!mention) {
      return errorDraft(
        'error_code',
        'bad_input',
        'Which error code do you mean? Ask e.g. ' +
          '"what does pilot error 1213 mean?", "exit code 65 of a transform" or "taskbuffer error 100".',
      );
    }
    const focus = threadFocus(context.history);
    const resolved = resolve(mention);
    const draft = resolved.info
      ? this.known(resolved.info, context.question, focus?.jeditaskid)
      : this.unknown(resolved.component, mention.code, resolved.candidates);
    draft.followUps = suggestFollowUps(draft, context);
    return draft;
  }

  private known(info: CodeInfo, question: string, jeditaskid: number | undefined): AnswerDraft {
    const noun = CODE_NOUN[info.component];
    const title = `${capitalise(noun)} ${info.code}${info.name ? ` (${info.name})` : ''}`;
    const official = info.message && info.message !== info.meaning ? ` The official message is "${info.message}".` : '';
    const draft = emptyDraft('error_code', `**${title}**: ${info.meaning}${official}`, 'offline');
    const sections: Section[] = [];
    if (info.guidance) {
      sections.push({ title: 'Usual causes', body: bullets(info.guidance.causes) });
    }
    sections.push({
      title: 'What to do',
      body: bullets(
        info.advice.length ? info.advice : ['Read the diagnostic on the job page and the log it points to.'],
      ),
    });
    const who = [
      info.owner ? OWNER_SENTENCE[info.owner] : '',
      info.category ? `The monitor files it under **${info.category.name}**: ${info.category.description}` : '',
      info.recoverable ? 'The pilot counts it as recoverable: another attempt is expected to work.' : '',
    ]
      .filter(Boolean)
      .join(' ');
    if (who) sections.push({ title: 'Whose problem is it?', body: who });
    sections.push({ title: 'Where to look', body: whereToLook(info) });
    if (info.guidance) {
      sections.push({
        title: 'For experts',
        body: [info.guidance.analysis, bullets(info.guidance.investigation)].join('\n'),
      });
    }
    if (info.note) sections.push({ title: 'Note', body: capitalise(info.note) });
    const links = this.links(info.component, info.code, jeditaskid);
    if (JOBS_WITH_THIS_ERROR.test(question)) {
      sections.unshift({
        title: `Jobs that failed with ${noun} ${info.code}`,
        body:
          jeditaskid !== undefined
            ? `The failed jobs of task ${jeditaskid} with this code: ${links[0]!.url}`
            : `The failed jobs with this code in the last ${JOB_LIST_HOURS} hours: ${links[0]!.url}. ` +
              `For one task, tell me its id: "which jobs of task 46374283 failed with ${noun} ${info.code}?"`,
      });
    }
    draft.sections = sections;
    draft.links = links;
    draft.facts = {
      component: info.component,
      code: info.code,
      codeField: CODE_FIELD[info.component],
      name: info.name,
      message: info.message,
      known: true,
      owner: info.owner,
      category: info.category?.name,
      family: info.family,
      curated: info.guidance !== undefined,
    };
    draft.followUps = this.followUps(info.component, info.code, jeditaskid);
    return draft;
  }

  private unknown(component: ComponentName | undefined, code: number, candidates: ComponentName[]): AnswerDraft {
    if (code === 0) {
      const draft = emptyDraft(
        'error_code',
        `Code 0 means **no error**${component ? ` for the ${component} component` : ''}: ` +
          `the monitor shows a component's code only when it is not 0. ` +
          `Look at the other error fields of the job (pilot, executor, transform, DDM, ` +
          `taskbuffer …) for the one that is set.`,
        'offline',
      );
      draft.facts = { component, code, known: true };
      return draft;
    }
    const where = component ? `of component ${component}` : 'of any component';
    const message = `I don't know code ${code} ${where}.`;
    const lines: string[] = [];
    if (component) {
      const about = componentInfo(component);
      if (about) lines.push(`${about.title} codes (\`${about.codeField}\`): ${about.meaning}`);
      if (isLowPriority(component, code))
        lines.push(
          `The monitor treats ${component} ${code} as a secondary code: ` +
            `when the job has another error, that one is shown instead and is the one to read.`,
        );
      const known = knownCodes(component);
      if (known.length > 1) {
        const near = neighbours(component, code);
        lines.push(
          `The ${CODE_NOUN[component]} codes I know run from ${known[0]} to ${known.at(-1)} (${known.length} ` +
            `codes)${near.length ? `; the nearest I know: ${near.join(' and ')}` : ''}.`,
        );
      } else if (known.length === 1) {
        lines.push(`The only ${CODE_NOUN[component]} code I have notes on is ${known[0]}.`);
      }
      lines.push(
        `The job's own diagnostic (\`${about?.diagField ?? CODE_FIELD[component].replace('code', 'diag')}\`) ` +
          `on its monitor page says what happened.`,
      );
    } else {
      lines.push(
        `Name the component, e.g. "pilot error ${code}", ` +
          `"transform exit code ${code}" or "taskbuffer error ${code}". ` +
          `I know the pilot codes (1008–1386) and the transform exit codes (1–253), ` +
          `and have notes on a few server codes.`,
      );
    }
    const draft = errorDraft('error_code', 'not_found', message, {
      sections: [{ title: 'What I can tell you', body: bullets(lines) }],
    });
    draft.summary = `${message} I will not guess what it means.`;
    draft.facts = { component, code, known: false, ...(candidates.length ? { candidates } : {}) };
    if (component) draft.links = this.links(component, code, undefined);
    draft.followUps = component
      ? neighbours(component, code).map((n) => ({
          question: `What does ${CODE_NOUN[component]} ${n} mean?`,
          why: `a neighbouring ${component} code I know`,
        }))
      : [];
    return draft;
  }

  private links(component: ComponentName, code: number, jeditaskid: number | undefined): Link[] {
    const field = CODE_FIELD[component];
    const links: Link[] = [];
    if (jeditaskid !== undefined)
      links.push({
        title: `Failed jobs of task ${jeditaskid} with this code`,
        url: `${this.monitorUrl}/jobs/?jeditaskid=${jeditaskid}&jobstatus=failed&${field}=${code}`,
      });
    links.push({
      title: `Failed jobs with ${field}=${code} (last ${JOB_LIST_HOURS} h)`,
      url: `${this.monitorUrl}/jobs/?jobstatus=failed&${field}=${code}&hours=${JOB_LIST_HOURS}`,
    });
    links.push({ title: 'Errors of the last 24 h by code and site', url: `${this.monitorUrl}/errors/?hours=24` });
    return links;
  }

  private followUps(component: ComponentName, code: number, jeditaskid: number | undefined): FollowUp[] {
    const noun = CODE_NOUN[component];
    const out: FollowUp[] = [];
    if (jeditaskid !== undefined)
      out.push({
        question: `Which jobs of task ${jeditaskid} failed with ${noun} ${code}?`,
        why: `this thread is about task ${jeditaskid}; its error summary shows how many jobs hit it`,
      });
    for (const n of neighbours(component, code))
      out.push({ question: `What does ${noun} ${n} mean?`, why: `the neighbouring ${component} code` });
    out.push({
      question: 'What do the error categories on the monitor mean?',
      why: 'the handbook explains what each category asks of you',
    });
    return out;
  }
}

/**
 * The component a code belongs to. Named components are looked up as given; "error code 1213"
 * without one is tried against the pilot table, then the transform exit codes.
 */
function resolve(mention: CodeMention): { info?: CodeInfo; component?: ComponentName; candidates: ComponentName[] } {
  if (mention.component)
    return { info: lookupCode(mention.component, mention.code), component: mention.component, candidates: [] };
  const candidates = COMPONENT_NAMES.filter((c) => c !== 'executor' && lookupCode(c, mention.code) !== undefined);
  const component = candidates[0];
  return { info: component ? lookupCode(component, mention.code) : undefined, component, candidates };
}

function whereToLook(info: CodeInfo): string {
  const log = info.guidance?.log;
  if (info.component === 'pilot' && (info.code === 1305 || log === 'payload'))
    return (
      "The payload's own output: the end of `payload.stdout` and `payload.stderr`, " +
      'and the executor or transform exit code on the job page.'
    );
  if (info.component === 'pilot')
    return (
      "`pilotlog.txt` in the job's logs (monitor job page → Logs): " +
      'search for the code or for the ERROR lines before it. ' +
      'The diagnostic `piloterrordiag` reads "<standard message>:<detail>".'
    );
  if (info.component === 'transform' || info.component === 'executor')
    return (
      "The payload's output: the end of `payload.stderr` and `payload.stdout`, " +
      "the transform's step logs (`log.<step>`) and `jobReport.json`."
    );
  return `The job page's error block: \`${CODE_FIELD[info.component]}\` and its diagnostic text.`;
}

const bullets = (items: readonly string[]) => items.map((i) => `- ${i}`).join('\n');
const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
