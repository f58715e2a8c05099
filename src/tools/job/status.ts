import { emptyDraft, type AnswerDraft } from '../../core/answer.ts';
import { jobErrors } from '../../panda/job-analysis.ts';
import { pilotCode } from '../../panda/knowledge.ts';
import type { Job } from '../../panda/schemas.ts';
import { redactSecrets } from '../../util/redact.ts';
import { pandaid } from '../inputs.ts';
import { defineTool } from '../tool.ts';

interface JobError {
  component: string;
  code: number;
  name?: string;
  message?: string;
  diag: string;
}

interface JobStatus {
  pandaid: number;
  job: Job;
  errors: JobError[];
  links: Array<{ title: string; url: string }>;
}

/** panda_job_status: the job's metadata and error codes from the monitor, without reading a log. */
export const jobStatusTool = defineTool({
  name: 'panda_job_status',
  title: 'PanDA job status',
  description:
    'Metadata summary of one PanDA job from the BigPanDA monitor: status, site, attempt, times, core count, memory, ' +
    'and its non-zero error codes with their official messages. Fast; reads no logs. ' +
    'Use panda_job_log_analysis to find out why a failed job failed.',
  input: { pandaid },
  answers: 'job',
  monitorRequests: 1,
  openWorld: true,
  async run({ pandaid: id }, { panda, progress }): Promise<JobStatus> {
    progress(`is looking up job ${id}…`);
    const { job } = await panda.job(id);
    const errors = jobErrors(job).map((e): JobError => {
      const known = e.component === 'pilot' ? pilotCode(e.code) : undefined;
      return {
        component: e.component,
        code: e.code,
        ...(known ? { name: known.name, message: known.message } : {}),
        diag: redactSecrets(e.diag).slice(0, 500),
      };
    });
    const links = [
      { title: `Job ${id}`, url: panda.jobPage(id) },
      ...(job.jeditaskid ? [{ title: `Task ${job.jeditaskid}`, url: panda.taskPage(job.jeditaskid) }] : []),
    ];
    return { pandaid: id, job, errors, links };
  },
  render: renderStatus,
  forModel: ({ pandaid: id, job, errors, links }) => ({
    pandaid: id,
    jobstatus: job.jobstatus,
    jobsubstatus: job.jobsubstatus,
    jeditaskid: job.jeditaskid,
    jobname: job.jobname,
    computingsite: job.computingsite,
    cloud: job.cloud,
    prodsourcelabel: job.prodsourcelabel,
    produsername: job.produsername,
    transformation: job.transformation,
    attemptnr: job.attemptnr,
    maxattempt: job.maxattempt,
    creationtime: job.creationtime,
    starttime: job.starttime,
    endtime: job.endtime,
    modificationtime: job.modificationtime,
    durationsec: job.durationsec,
    corecount: job.actualcorecount ?? job.corecount,
    minramcount: job.minramcount,
    minramunit: job.minramunit,
    maxpss: job.maxpss,
    nevents: job.nevents,
    errors,
    links,
  }),
});

function renderStatus({ pandaid: id, job, errors, links }: JobStatus): AnswerDraft {
  const lines = [
    ...(job.jeditaskid ? [`- task: ${job.jeditaskid}`] : []),
    ...(job.transformation ? [`- transformation: ${job.transformation}`] : []),
    `- created ${job.creationtime ?? '?'}${job.starttime ? `, started ${job.starttime}` : ''}` +
      `${job.endtime ? `, ended ${job.endtime}` : ''} (UTC)`,
    ...(job.maxpss
      ? [
          `- memory used (maxPSS): ${(job.maxpss / 1024 / 1024).toFixed(1)} GiB` +
            `${job.minramcount ? `; requested ${job.minramcount} ${job.minramunit ?? 'MB'}` : ''}`,
        ]
      : []),
  ];
  const errorLines = errors.length
    ? errors.map(
        (e) => `- ${e.component}:${e.code}${e.name ? ` ${e.name}` : ''}: ${e.diag || e.message || 'no message'}`,
      )
    : ['- no error codes set'];
  const draft = emptyDraft('job', headline(id, job));
  draft.sections.push({ title: 'Job', body: lines.join('\n') }, { title: 'Errors', body: errorLines.join('\n') });
  draft.links.push(...links);
  draft.facts = { pandaid: id, jobstatus: job.jobstatus, jeditaskid: job.jeditaskid };
  return draft;
}

/** "**Job 6800730400** is **failed** at BNL_PROD_MCORE, attempt 2 of 3." */
function headline(id: number, job: Job): string {
  const sub = job.jobsubstatus ? ` (${job.jobsubstatus})` : '';
  const site = job.computingsite ? ` at ${job.computingsite}` : '';
  const attempt =
    job.attemptnr !== undefined ? `, attempt ${job.attemptnr}${job.maxattempt ? ` of ${job.maxattempt}` : ''}` : '';
  return `**Job ${id}** is **${job.jobstatus}**${sub}${site}${attempt}.`;
}
