import type { PandaClient } from './client.ts';
import { guidanceFor, pilotCode, type Guidance } from './knowledge.ts';
import type { Dataset, ErrorCount, TaskResponse, TaskWithCounts } from './schemas.ts';
import { isAskPandaError } from '../core/errors.ts';

export interface TaskFailureGroup {
  /** "pilot:1305" */
  error: string;
  component: string;
  code: number;
  count: number;
  diag: string;
  examplePandaid?: number;
  name?: string;
  guidance?: Guidance;
}

export interface DatasetProgress {
  type: string;
  name: string;
  nfiles: number;
  finished: number;
  failed: number;
  missing: number;
  waiting: number;
  nevents?: number;
  neventsUsed?: number;
  status?: string;
}

/** What the task agent and its prompt builder know about a task. */
export interface TaskAnalysis {
  task: TaskResponse['task'];
  params: Record<string, unknown>;
  datasets: DatasetProgress[];
  jobStateCount: Record<string, number>;
  failures: TaskFailureGroup[];
  sites: Array<{ name: string; errors: number }>;
  input: {
    nfiles: number;
    finished: number;
    failed: number;
    missing: number;
    pctFinished: number;
    events?: number;
    eventsUsed?: number;
  };
  notes: string[];
}

/**
 * Collects a task's status: /task/N/ (task and datasets), /tasks/?extra=jobstatecount (job state
 * counts) and /errors/ (failures by code with an example job), fetched in parallel. The errors
 * summary is optional: without it the answer says so.
 */
export async function analyzeTask(client: PandaClient, jeditaskid: number): Promise<TaskAnalysis> {
  const [detail, withCounts, errors] = await Promise.all([
    client.task(jeditaskid),
    client.taskWithJobCounts(jeditaskid).catch((err: unknown) => {
      if (isAskPandaError(err) && err.kind === 'not_found') return undefined;
      throw err;
    }),
    client.taskErrors(jeditaskid).catch((err: unknown) => err as Error),
  ]);
  const notes: string[] = [];
  const datasets = detail.datasets.map(toProgress);
  const counts: Record<string, number> = { ...((withCounts as TaskWithCounts | undefined)?.job_state_count ?? {}) };
  let errs: ErrorCount[] = [];
  let sites: TaskAnalysis['sites'] = [];
  if (errors instanceof Error) {
    notes.push(
      `The error summary could not be read (${errors.message.split('.')[0]}); failures are not broken down by code.`,
    );
  } else {
    errs = errors.errsByCount;
    sites = errors.errsBySite
      .map((s) => ({ name: s.name, errors: s.toterrors ?? 0 }))
      .sort((a, b) => b.errors - a.errors);
  }
  const failures = errs
    .map((e): TaskFailureGroup => {
      const [component = '', codeText = ''] = e.error.split(':');
      const code = Number(codeText);
      return {
        error: e.error,
        component,
        code,
        count: e.count,
        diag: e.diag ?? '',
        examplePandaid: e.example_pandaid,
        name: component === 'pilot' ? pilotCode(code)?.name : undefined,
        guidance: guidanceFor(component === 'exe' ? 'executor' : component, code),
      };
    })
    .sort((a, b) => b.count - a.count);

  const primaryInputs = datasets.filter((d) => d.type === 'input' || d.type === 'pseudo_input');
  const ds = detail.task.dsinfo ?? undefined;
  const sum = (pick: (d: DatasetProgress) => number) => primaryInputs.reduce((n, d) => n + pick(d), 0);
  const nfiles = ds?.nfiles ?? sum((d) => d.nfiles);
  const finished = ds?.nfilesfinished ?? sum((d) => d.finished);
  const input = {
    nfiles,
    finished,
    failed: ds?.nfilesfailed ?? sum((d) => d.failed),
    missing: ds?.nfilesmissing ?? sum((d) => d.missing),
    pctFinished: nfiles ? Math.floor((100 * finished) / nfiles) : 0,
    events: ds?.neventsTot,
    eventsUsed: ds?.neventsUsedTot,
  };
  if (!withCounts) notes.push('Job state counts were not available from the task list.');
  return {
    task: detail.task,
    params: detail.taskparams ?? {},
    datasets,
    jobStateCount: counts,
    failures,
    sites,
    input,
    notes,
  };
}

function toProgress(d: Dataset): DatasetProgress {
  return {
    type: d.type,
    name: d.containername || d.datasetname,
    nfiles: d.nfiles ?? 0,
    finished: d.nfilesfinished ?? 0,
    failed: d.nfilesfailed ?? 0,
    missing: d.nfilesmissing ?? 0,
    waiting: d.nfileswaiting ?? 0,
    nevents: d.nevents,
    neventsUsed: d.neventsused,
    status: d.status,
  };
}
