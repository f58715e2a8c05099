import { jobErrors } from '../../panda/job-analysis.ts';
import { pilotCode } from '../../panda/knowledge.ts';
import type { Job } from '../../panda/schemas.ts';
import { redactSecrets } from '../../util/redact.ts';
import { pandaid } from './inputs.ts';
import { defineTool } from './tool.ts';

/** panda_job_status: the job's metadata and error codes from the monitor, without reading a log. */
export const jobStatusTool = defineTool({
  name: 'panda_job_status',
  title: 'PanDA job status',
  description:
    'Metadata summary of one PanDA job from the BigPanDA monitor: status, site, attempt, times, core count, memory, ' +
    'and its non-zero error codes with their official messages. Fast; reads no logs. ' +
    'Use panda_job_log_analysis to find out why a failed job failed.',
  input: { pandaid },
  returnsAnswer: false,
  readOnly: true,
  openWorld: true,
  async run({ pandaid: id }, call) {
    const client = call.app.panda;
    call.progress(`is looking up job ${id}…`);
    const { job } = await client.job(id);
    const errors = jobErrors(job).map((e) => ({
      component: e.component,
      code: e.code,
      ...(e.component === 'pilot' && pilotCode(e.code)
        ? { name: pilotCode(e.code)!.name, message: pilotCode(e.code)!.message }
        : {}),
      diag: redactSecrets(e.diag).slice(0, 500),
    }));
    const links = [
      { title: `Job ${id}`, url: client.jobPage(id) },
      ...(job.jeditaskid ? [{ title: `Task ${job.jeditaskid}`, url: client.taskPage(job.jeditaskid) }] : []),
    ];
    const structured = {
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
    };
    const lines = [
      headline(id, job),
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
      ...(errors.length
        ? [
            '',
            '**Errors**',
            ...errors.map(
              (e) =>
                `- ${e.component}:${e.code}${'name' in e ? ` ${e.name}` : ''}: ` +
                `${e.diag || ('message' in e ? e.message : '') || 'no message'}`,
            ),
          ]
        : ['- no error codes set']),
      '',
      `**Monitor:** ${links.map((l) => `[${l.title}](${l.url})`).join(' · ')}`,
    ];
    return { text: lines.join('\n'), structured };
  },
});

/** "**Job 6800730400** is **failed** at BNL_PROD_MCORE, attempt 2 of 3." */
function headline(id: number, job: Job): string {
  const sub = job.jobsubstatus ? ` (${job.jobsubstatus})` : '';
  const site = job.computingsite ? ` at ${job.computingsite}` : '';
  const attempt =
    job.attemptnr !== undefined ? `, attempt ${job.attemptnr}${job.maxattempt ? ` of ${job.maxattempt}` : ''}` : '';
  return `**Job ${id}** is **${job.jobstatus}**${sub}${site}${attempt}.`;
}
