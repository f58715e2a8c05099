import { emptyDraft, errorDraft, type Answer, type AnswerDraft } from '../bot/answer.ts';
import { toAnswer } from '../bot/render.ts';
import { ALL_PILOT_CODES, errorComponent, guidanceFor, pilotCode } from '../panda/knowledge.ts';

/**
 * The job error components a caller may name, and the knowledge base's name for each. BigPanDA
 * writes `exe:` and `ddm:` in its error summaries; the job record's fields say executor and
 * dataservice.
 */
export const COMPONENT_ALIASES: Record<string, string> = {
  pilot: 'pilot',
  exe: 'executor',
  executor: 'executor',
  transform: 'transform',
  trans: 'transform',
  ddm: 'dataservice',
  dataservice: 'dataservice',
  taskbuffer: 'taskbuffer',
  brokerage: 'brokerage',
  jobdispatcher: 'jobdispatcher',
  dispatcher: 'jobdispatcher',
  supervisor: 'supervisor',
};

const bullets = (items: readonly string[]) => items.map((i) => `- ${i}`).join('\n');
const SOURCE = { title: 'askpanda error-code knowledge base (pilot codes from PanDAWMS/pilot3 errorcodes.py; curated guidance for the most common codes)' };
const PILOT_CODES_URL = 'https://github.com/PanDAWMS/pilot3/blob/master/pilot/common/errorcodes.py';

/**
 * What a PanDA error code means, from the error-code knowledge base alone (no monitor request, no
 * model): the official name and message, the component's meaning, and for the curated codes the
 * causes, what to do and where the evidence is. One small function on purpose: when an error-code
 * agent exists it can answer this instead (the MCP tool calls only this).
 */
export function errorCodeAnswer(componentName: string, code: number): Answer {
  const component = COMPONENT_ALIASES[componentName.trim().toLowerCase()];
  if (!component) {
    return toAnswer(errorDraft('general', 'bad_input', `"${componentName.slice(0, 40)}" is not a PanDA job error component. Use one of: ${Object.keys(COMPONENT_ALIASES).join(', ')}.`));
  }
  const info = errorComponent(component);
  const pilot = component === 'pilot' ? pilotCode(code) : undefined;
  const guidance = guidanceFor(component, code);
  const label = `${component} error ${code}`;
  if (component === 'pilot' && !pilot) {
    return toAnswer(
      errorDraft('general', 'not_found', `Pilot error ${code} is not one of the ${ALL_PILOT_CODES.length} pilot error codes I know. Check the number on the job page (piloterrorcode), or the pilot's list of codes at ${PILOT_CODES_URL}.`, {
        facts: { component, code },
        sources: [SOURCE],
      }),
    );
  }

  let summary: string;
  if (pilot) summary = `**Pilot error ${code}** (${pilot.name}): ${pilot.message}.${guidance ? ` ${guidance.problem}` : ''}`;
  else if (guidance) summary = `**${info?.title ?? component} ${code}**: ${guidance.problem}`;
  else summary = `**${info?.title ?? component} ${code}**: I have no description of this particular code. ${info?.meaning ?? ''} The job's ${info?.diagField ?? 'error'} text on its monitor page says what happened.`.trim();

  const draft: AnswerDraft = emptyDraft('general', summary);
  draft.facts = { component, code, ...(pilot ? { name: pilot.name } : {}), curated: guidance !== undefined, ...(guidance ? { owner: guidance.owner, log: guidance.log } : {}) };
  draft.sources = [pilot ? { ...SOURCE, url: PILOT_CODES_URL } : SOURCE];
  if (info) {
    const side = info.side === 'user' ? 'usually the user (the payload or the job definition)' : info.side === 'system' ? 'usually the PanDA/grid services, not the user' : 'the user or the site, depending on the code';
    draft.sections.push({ title: 'Component', body: `**${info.title}** (\`${info.codeField}\`${info.diagField ? `, message in \`${info.diagField}\`` : ''}): ${info.meaning} Who acts: ${side}.` });
  }
  if (pilot?.note) draft.sections.push({ title: 'Note', body: pilot.note });
  if (guidance) {
    draft.sections.push({ title: 'Possible causes', body: bullets(guidance.causes) });
    draft.sections.push({ title: 'What to do', body: bullets(guidance.recommendations) });
    const where = guidance.log === 'none' ? 'No log: the PanDA server sets this code, not the job.' : guidance.log === 'payload' ? 'The cause is in the payload\'s own output: `payload.stdout` and `payload.stderr` in the job\'s log tarball.' : 'The cause is in the pilot\'s log, `pilotlog.txt`, in the job\'s log tarball.';
    draft.sections.push({ title: 'Where to look', body: `${where}\n${bullets(guidance.investigation)}` });
    draft.sections.push({ title: 'Expert notes', body: guidance.analysis });
  }
  draft.followUps = [
    { question: 'How do I find the logs of a failed job?', why: `the log of a job that failed with ${label} shows its cause (or ask "why did job N fail?" with its id)` },
    ...(guidance?.owner === 'user' || component === 'executor' || component === 'transform' ? [{ question: 'How do I retry my failed jobs?', why: 'after fixing the cause, the failed files can be retried' }] : []),
  ];
  return toAnswer(draft);
}
