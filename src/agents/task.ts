import { emptyDraft, errorDraft, type AnswerDraft, type FollowUp, type Section } from '../core/answer.ts';
import type { PandaClient } from '../panda/client.ts';
import { analyzeTask, type TaskAnalysis } from '../panda/task-analysis.ts';
import { AskPandaError } from '../core/errors.ts';
import { redactSecrets } from '../util/redact.ts';
import type { Agent, AgentContext } from './agent.ts';
import { findCodeMention, type CodeMention } from './code-question.ts';
import { refineWithModel } from './refine.ts';
import { buildTaskPrompt } from './task-prompt.ts';

/** Status words of JEDI tasks, grouped by what they mean for the user. */
const IN_PROGRESS = [
  'registered',
  'defined',
  'assigning',
  'ready',
  'pending',
  'scouting',
  'scouted',
  'running',
  'prepared',
  'topreprocess',
  'preprocessing',
  'toretry',
  'toincexec',
  'rerefine',
  'throttled',
];

/**
 * Answers "what is happening with task N": status, progress per dataset type, job state counts,
 * the top failure reasons with an example job each, and what to do next.
 */
export class TaskAgent implements Agent {
  readonly kind = 'task' as const;

  constructor(private readonly deps: { client: PandaClient }) {}

  async handle(context: AgentContext): Promise<AnswerDraft> {
    const jeditaskid = context.route.jeditaskid;
    if (jeditaskid === undefined) {
      return errorDraft(
        'task',
        'bad_input',
        'Which task do you mean? Give me its JEDI task id, e.g. "what is happening with task 46374283?"',
      );
    }
    const client = this.deps.client;
    let analysis: TaskAnalysis;
    try {
      context.progress(`is looking up task ${jeditaskid}…`);
      analysis = await analyzeTask(client, jeditaskid);
    } catch (err) {
      if (err instanceof AskPandaError) {
        return errorDraft('task', err.kind, err.message, {
          facts: { jeditaskid },
          links: [{ title: `Task ${jeditaskid}`, url: client.taskPage(jeditaskid) }],
        });
      }
      throw err;
    }
    const draft = buildTaskDraft(analysis, client, context.model.id);
    const asked = findCodeMention(context.question);
    if (asked) draft.sections.unshift(codeSection(analysis, asked, client.publicUrl));
    if (context.model.offline) return draft;
    return refineWithModel(
      context,
      buildTaskPrompt({ question: context.question, analysis, history: context.history }),
      draft,
    );
  }
}

const pct = (n: number, of: number) => (of ? `${Math.floor((100 * n) / of)} %` : '0 %');
const fmt = (n: number | undefined) => (n === undefined ? '?' : n.toLocaleString('en-US'));
const bullets = (items: readonly string[]) => items.map((i) => `- ${i}`).join('\n');

export function buildTaskDraft(
  a: TaskAnalysis,
  client: Pick<PandaClient, 'taskPage' | 'publicUrl'>,
  model = 'offline',
): AnswerDraft {
  const t = a.task;
  const id = Number(t.jeditaskid);
  const draft = emptyDraft('task', summary(a), model);
  const failedJobs = a.jobStateCount.failed ?? 0;
  draft.facts = {
    jeditaskid: id,
    taskname: t.taskname,
    status: t.status,
    superstatus: t.superstatus,
    username: t.username,
    category: t.category,
    nfiles: a.input.nfiles,
    nfilesfinished: a.input.finished,
    nfilesfailed: a.input.failed,
    nfilesmissing: a.input.missing,
    pctfinished: a.input.pctFinished,
    jobStateCount: a.jobStateCount,
    failedJobs,
    topErrors: a.failures
      .slice(0, 5)
      .map((f) => ({ error: f.error, count: f.count, example_pandaid: f.examplePandaid })),
  };
  draft.sections = sections(a);
  draft.evidence = [
    {
      source: 'metadata',
      lines: [
        `status=${t.status}${t.superstatus ? ` superstatus=${t.superstatus}` : ''}`,
        `input files: ${a.input.finished}/${a.input.nfiles} finished, ${a.input.failed} failed, ${a.input.missing} missing`,
        `job states: ${Object.entries(a.jobStateCount)
          .filter(([, n]) => n > 0)
          .map(([s, n]) => `${s}=${n}`)
          .join(' ')}`,
        ...a.failures
          .slice(0, 5)
          .map(
            (f) =>
              `${f.error} count=${f.count} example_pandaid=${f.examplePandaid ?? '-'} diag="${redactSecrets(f.diag).slice(0, 120)}"`,
          ),
        ...(t.errordialog ? [`errordialog="${redactSecrets(t.errordialog).slice(0, 300)}"`] : []),
      ],
    },
  ];
  draft.links = [
    { title: `Task ${id}`, url: client.taskPage(id) },
    { title: 'Jobs of the task', url: `${client.publicUrl}/jobs/?jeditaskid=${id}` },
    { title: 'Errors of the task', url: `${client.publicUrl}/errors/?jeditaskid=${id}` },
  ];
  draft.followUps = followUps(a);
  return draft;
}

const CODE_FIELD: Record<string, string> = {
  pilot: 'piloterrorcode',
  executor: 'exeerrorcode',
  transform: 'transexitcode',
  dataservice: 'ddmerrorcode',
  taskbuffer: 'taskbuffererrorcode',
  brokerage: 'brokerageerrorcode',
  jobdispatcher: 'jobdispatchererrorcode',
  supervisor: 'superrorcode',
};
/** The monitor's error keys are "<component>:<code>"; some summaries abbreviate the executor as "exe". */
const componentOf = (key: string) => (key === 'exe' ? 'executor' : key);

/** "which jobs of task N failed with pilot error 1213?": that code's count, an example and the job list. */
function codeSection(a: TaskAnalysis, asked: CodeMention, publicUrl: string): Section {
  const id = Number(a.task.jeditaskid);
  const matches = a.failures.filter(
    (f) => f.code === asked.code && (!asked.component || componentOf(f.component) === asked.component),
  );
  const component = asked.component ?? (matches[0] ? componentOf(matches[0].component) : 'pilot');
  const list = `${publicUrl}/jobs/?jeditaskid=${id}&jobstatus=failed&${CODE_FIELD[component] ?? 'piloterrorcode'}=${asked.code}`;
  const title = `Jobs that failed with ${component} ${asked.code}`;
  if (matches.length === 0)
    return {
      title,
      body:
        `The task's error summary (the last hours the monitor reports) has no failures with ${component} code ` +
        `${asked.code}. All failed jobs with it: ${list}`,
    };
  const lines = matches.map(
    (f) =>
      `- ${f.error}${f.name ? ` (${f.name})` : ''}: ${fmt(f.count)} failures, e.g. ` +
      `job ${f.examplePandaid ?? '?'}${f.diag ? ` — ${redactSecrets(f.diag).slice(0, 140)}` : ''}`,
  );
  return { title, body: `${lines.join('\n')}\nThe list of those jobs: ${list}` };
}

function summary(a: TaskAnalysis): string {
  const t = a.task;
  const i = a.input;
  const running = a.jobStateCount.running ?? 0;
  let text =
    `Task ${t.jeditaskid} is **${t.status}**: ` +
    `${fmt(i.finished)} of ${fmt(i.nfiles)} input files done (${pct(i.finished, i.nfiles)})`;
  text += i.failed || i.missing ? `, ${fmt(i.failed)} failed, ${fmt(i.missing)} missing` : ', none failed';
  if (running) text += `; ${fmt(running)} jobs running`;
  text += '.';
  const top = a.failures[0];
  if (top)
    text +=
      ` Most frequent failure: ${top.error}${top.name ? ` (${top.name})` : ''} in ${fmt(top.count)} ` +
      `job${top.count === 1 ? '' : 's'}.`;
  return text;
}

function statusAdvice(a: TaskAnalysis): { problem: string; recommendations: string[] } {
  const status = a.task.status;
  const failedFiles = a.input.failed;
  if (status === 'done')
    return {
      problem: 'None: every input file was processed.',
      recommendations: ['your outputs are complete; download or use the output containers'],
    };
  if (status === 'finished') {
    return {
      problem: `The task ended but ${fmt(failedFiles)} input file${failedFiles === 1 ? '' : 's'} could not be processed.`,
      recommendations: [
        'retry the failed files (`pbook` → `retry(<task id>)`), after fixing the cause if it is in your job',
        'or use the partial output if the missing fraction does not matter for you',
      ],
    };
  }
  if (status === 'exhausted') {
    return {
      problem: 'JEDI stopped retrying: the task ran out of attempts or hit a failure limit, and waits for you.',
      recommendations: [
        'look at the top failure below and fix it (memory, code, inputs)',
        'then retry the task (`pbook` → `retry(<task id>)`), with new parameters if needed (e.g. more memory)',
      ],
    };
  }
  if (status === 'broken') {
    const dialog = a.task.errordialog ? ` (${redactSecrets(a.task.errordialog).slice(0, 200)})` : '';
    return {
      problem: `The task is broken: JEDI could not run it as defined${dialog}.`,
      recommendations: [
        "read the task's error dialog on the task page",
        'fix the submission (dataset name, release, options) and submit a new task; a broken task cannot be retried',
      ],
    };
  }
  if (status === 'failed' || status === 'aborted' || status === 'aborting') {
    return {
      problem:
        status === 'failed'
          ? 'The task failed: too many of its jobs failed.'
          : 'The task was aborted (by its owner or an operator).',
      recommendations:
        status === 'failed'
          ? ['fix the most frequent failure below, then retry the task or submit a new one']
          : ['if you did not abort it, ask the operators (DAST for user tasks) why'],
    };
  }
  if (IN_PROGRESS.includes(status)) {
    const failing = (a.jobStateCount.failed ?? 0) > 0 || a.failures.length > 0;
    return {
      problem: failing
        ? 'The task is progressing, with some failed jobs along the way.'
        : 'None: the task is progressing normally.',
      recommendations: failing
        ? [
            "failed jobs are retried automatically (up to the task's maximum attempts); act only if one failure dominates",
            'check the example job of the top failure below',
          ]
        : ['nothing to do: wait for the task to finish'],
    };
  }
  return { problem: `The task is in state "${status}".`, recommendations: ['check the task page for details'] };
}

function sections(a: TaskAnalysis): Section[] {
  const t = a.task;
  const desc: string[] = [];
  desc.push(
    `**${t.taskname ?? `Task ${t.jeditaskid}`}**${t.username ? ` by ${t.username}` : ''}${t.category ? ` (${t.category})` : ''}.`,
  );
  desc.push(
    `Status: **${t.status}**${t.superstatus && t.superstatus !== t.status ? ` (${t.superstatus})` : ''}; ` +
      `created ${t.creationdate ?? '?'}${t.starttime ? `, started ${t.starttime}` : ''}${t.endtime ? `, ended ${t.endtime}` : ''} (UTC).`,
  );
  desc.push(
    `Input: ${fmt(a.input.finished)}/${fmt(a.input.nfiles)} files finished ` +
      `(${pct(a.input.finished, a.input.nfiles)}), ${fmt(a.input.failed)} failed, ` +
      `${fmt(a.input.missing)} missing${a.input.events ? `; events ${fmt(a.input.eventsUsed)}/${fmt(a.input.events)} used` : ''}.`,
  );
  if (a.datasets.length) {
    desc.push('Datasets:');
    for (const d of a.datasets) {
      desc.push(
        `- ${d.type} \`${d.name}\`: ${fmt(d.finished)}/${fmt(d.nfiles)} finished, ${fmt(d.failed)} failed, ` +
          `${fmt(d.missing)} missing${d.waiting ? `, ${fmt(d.waiting)} waiting` : ''}${d.status ? ` (${d.status})` : ''}`,
      );
    }
  }
  const states = Object.entries(a.jobStateCount).filter(([, n]) => n > 0);
  if (states.length) desc.push(`Jobs by state: ${states.map(([s, n]) => `${s} ${fmt(n)}`).join(', ')}.`);
  for (const n of a.notes) desc.push(n);

  const advice = statusAdvice(a);
  const causes = a.failures
    .slice(0, 3)
    .map(
      (f) =>
        `${f.error}${f.name ? ` ${f.name}` : ''} (${fmt(f.count)} jobs): ` +
        `${f.guidance?.problem ?? (redactSecrets(f.diag) || 'see the example job')}`,
    );
  const recs = [...advice.recommendations];
  const top = a.failures[0];
  if (top?.guidance) recs.push(...top.guidance.recommendations.slice(0, 2).map((r) => `for ${top.error}: ${r}`));
  if (top?.examplePandaid)
    recs.push(`ask "why did job ${top.examplePandaid} fail?" for the log analysis of an example of the top failure`);
  const nonExpert = [
    `**Problem:** ${advice.problem}`,
    causes.length
      ? `**Possible causes:**\n${bullets(causes)}`
      : '**Possible causes:** no failures recorded in the error summary.',
    `**Recommendations:**\n${bullets(recs)}`,
  ].join('\n\n');

  const groups = a.failures
    .slice(0, 8)
    .map(
      (f) =>
        `${f.error}${f.name ? ` ${f.name}` : ''}: ${fmt(f.count)} jobs, e.g. ` +
        `job ${f.examplePandaid ?? '?'} — ${redactSecrets(f.diag).slice(0, 140) || 'no diagnostic'}` +
        `${f.guidance ? ` (usually ${usualProblem(f.guidance.owner)} problem)` : ''}`,
    );
  const sites = a.sites.slice(0, 5).map((s) => `${s.name}: ${fmt(s.errors)} errors`);
  const analysis = groups.length
    ? `Failures grouped by error code:\n${bullets(groups)}`
    : 'No failures in the error summary window.';
  const scenarios = top?.guidance?.scenarios.slice(0, 3) ?? [
    'transient site failures that retries absorb',
    'a payload problem that fails every job',
  ];
  const prevention = top?.guidance?.prevention.slice(0, 2) ?? ['test with a small submission before the full task'];
  const expert = [
    `**Analysis:** ${analysis}${sites.length ? `\n\nErrors by site:\n${bullets(sites)}` : ''}`,
    `**Investigation steps:**\n${bullets([
      'compare the failure codes across sites: one code everywhere points at the payload, one site with many codes at the site',
      ...(top?.examplePandaid ? [`read the logs of job ${top.examplePandaid} (top failure ${top.error})`] : []),
      'check the task parameters (memory, files per job) against what the failing jobs needed',
    ])}`,
    `**Possible scenarios:**\n${bullets(scenarios)}`,
    `**Preventative measures:**\n${bullets(prevention)}`,
  ].join('\n\n');
  return [
    { title: 'Description', body: desc.join('\n') },
    { title: 'Non-expert guidance', body: nonExpert },
    { title: 'Expert guidance', body: expert },
  ];
}

/** Who usually has to act on a failure, as the expert guidance names it. */
function usualProblem(owner: string): string {
  return owner === 'user' ? 'a user-side' : owner === 'site' ? 'a site' : owner === 'system' ? 'a system' : 'a mixed';
}

function followUps(a: TaskAnalysis): FollowUp[] {
  const out: FollowUp[] = [];
  for (const f of a.failures.slice(0, 2)) {
    if (f.examplePandaid)
      out.push({
        question: `Why did job ${f.examplePandaid} fail?`,
        why: `an example of ${f.error}${f.name ? ` (${f.name})` : ''}, which failed ${fmt(f.count)} jobs of this task`,
      });
  }
  if (a.input.failed > 0 || ['finished', 'exhausted', 'failed'].includes(a.task.status)) {
    out.push({
      question: `How do I retry the failed files of task ${a.task.jeditaskid}?`,
      why: `${fmt(a.input.failed)} input files failed so far`,
    });
  }
  if (out.length < 2)
    out.push({
      question: 'How long will my task take to finish?',
      why: `${pct(a.input.finished, a.input.nfiles)} of the input is done`,
    });
  if (out.length < 2)
    out.push({ question: 'What is a JEDI task?', why: 'background on how tasks, jobs and retries relate' });
  return out.slice(0, 4);
}
