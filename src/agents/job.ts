import type { Logger } from 'pino';
import { emptyDraft, errorDraft, type AnswerDraft, type FollowUp, type Link, type Section } from '../core/answer.ts';
import type { Config } from '../config/schema.ts';
import type { PandaClient } from '../panda/client.ts';
import type { CricClient } from '../panda/cric-client.ts';
import { causeName } from '../panda/evidence/cause.ts';
import { analyzeJob, componentTitle, formatBytes, type JobAnalysis } from '../panda/job-analysis.ts';
import { compareWithQueue, limitKind, type QueueComparison } from '../panda/job-queue-limits.ts';
import { USER_VERSUS_SYSTEM, errorComponent, isRecoverablePutError } from '../panda/knowledge.ts';
import type { Job } from '../panda/schemas.ts';
import { AskPandaError } from '../core/errors.ts';
import { silentLogger } from '../util/log.ts';
import { redactSecrets } from '../util/redact.ts';
import type { Agent, AgentContext } from './agent.ts';
import { buildJobPrompt } from './job-prompt.ts';
import { refineWithModel } from './refine.ts';

export interface JobAgentDeps {
  client: PandaClient;
  config: Pick<Config, 'logs' | 'monitor'>;
  logger?: Logger;
  /** Queue limits from CRIC for memory and time failures; without it (or without CRIC data) none are shown. */
  cric?: CricClient;
  /** How long a job answer waits for CRIC's queue list before it goes without (default 10 s). */
  cricWaitMs?: number;
}

/**
 * Answers questions about one PanDA job in any state: failures get a log analysis (error
 * component and code, the right log, evidence with context), other states a metadata summary.
 */
export class JobAgent implements Agent {
  readonly kind = 'job' as const;
  private readonly logger: Logger;

  constructor(private readonly deps: JobAgentDeps) {
    this.logger = deps.logger ?? silentLogger;
  }

  async handle(context: AgentContext): Promise<AnswerDraft> {
    const pandaid = context.route.pandaid;
    if (pandaid === undefined) {
      return errorDraft(
        'job',
        'bad_input',
        'Which job do you mean? Give me its PanDA id, e.g. "why did job 6802258254 fail?"',
      );
    }
    const client = this.deps.client;
    let analysis: JobAnalysis;
    try {
      context.progress(`is looking up job ${pandaid}…`);
      const data = await client.job(pandaid);
      analysis = await analyzeJob(client, this.deps.config, data, context.progress);
    } catch (err) {
      if (err instanceof AskPandaError) {
        return errorDraft('job', err.kind, err.message, {
          facts: { pandaid },
          links: [{ title: `Job ${pandaid}`, url: client.jobPage(pandaid) }],
        });
      }
      throw err;
    }
    const queue = await this.queueComparison(analysis, context);
    const draft = buildJobDraft(analysis, client, context.model.id, context.question, queue);
    this.logger.debug(
      {
        pandaid,
        status: analysis.job.jobstatus,
        primary: analysis.primary,
        logs: analysis.logs.map((l) => `${l.file}:${l.status}`),
      },
      'job analysed',
    );
    if (context.model.offline) return draft;
    return refineWithModel(
      context,
      buildJobPrompt({ question: context.question, analysis, history: context.history, queue }),
      draft,
    );
  }

  /**
   * The queue's limits for a memory or time failure. CRIC is asked for at most cricWaitMs: an
   * answer without the comparison beats a late one, and no CRIC data means no comparison at all.
   */
  private async queueComparison(analysis: JobAnalysis, context: AgentContext): Promise<QueueComparison | undefined> {
    const cric = this.deps.cric;
    const job = analysis.job;
    const kind = analysis.problem ? limitKind(analysis.primary, job, payloadOutOfMemory(analysis)) : undefined;
    if (!cric || !kind || !job.computingsite) return undefined;
    context.progress(`is reading the limits of queue ${job.computingsite} from CRIC…`);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<undefined>(
      (resolve) => (timer = setTimeout(() => resolve(undefined), this.deps.cricWaitMs ?? 10_000)),
    );
    try {
      const data = await Promise.race([cric.queues(), deadline]);
      if (!data) {
        this.logger.warn({ queue: job.computingsite }, 'CRIC was too slow for the job answer; no queue limits shown');
        return undefined;
      }
      const comparison = compareWithQueue(job, analysis.primary!, kind, data.index);
      return comparison && { ...comparison, page: cric.queuePage(comparison.queue.name) };
    } catch (err) {
      this.logger.warn(
        { queue: job.computingsite, err: err instanceof Error ? err.message : String(err) },
        'no CRIC data for the job answer',
      );
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

function payloadOutOfMemory(a: JobAnalysis): boolean {
  return a.cause?.kind === 'out-of-memory' || a.payloadSignals.some((sig) => /allocate memory|bad_alloc/i.test(sig));
}

/** "The log shows the cause: <what> — `<line>` (payload.stdout line 2044)." */
function causeSentence(a: JobAnalysis): string {
  const c = a.cause;
  if (!c) return '';
  const name = causeName(c.kind);
  const line = c.text.trim().replace(/`/g, "'");
  const quoted = line.length > 240 ? `${line.slice(0, 240)}…` : line;
  return ` ${c.source === 'jobReport.json' ? 'The job report' : 'The log'} shows the cause${name ? `: ${name}` : ''} — \`${quoted}\` (${c.source} line ${c.line}).`;
}

/** The complete offline answer: knowledge base + evidence + metadata (+ the queue's limits from CRIC). */
export function buildJobDraft(
  analysis: JobAnalysis,
  client: Pick<PandaClient, 'jobPage' | 'taskPage' | 'publicUrl'>,
  model = 'offline',
  question = '',
  queue?: QueueComparison,
): AnswerDraft {
  const job = analysis.job;
  let summary = analysis.problem ? failureSummary(analysis, queue) : statusSummary(job);
  // A follow-up such as "how can I fix it?" gets the recommendations first; the sections stay complete.
  if (analysis.problem && FIX_QUESTION.test(question)) {
    const recs = recommendationsFor(
      analysis,
      analysis.guidance?.recommendations ?? ['check whether the automatic retry succeeded on the task page'],
      queue,
    ).slice(0, 3);
    summary = `To fix job ${job.pandaid}: ${recs.join('; ')}.\n\n${summary}`;
  }
  const draft = emptyDraft('job', summary, model);
  draft.facts = jobFacts(analysis);
  if (queue) draft.facts.queueLimits = queue.facts;
  draft.sections = analysis.problem ? failureSections(analysis, queue) : statusSections(analysis);
  // `source` stays the plain file name (the Answer contract); where each excerpt starts is a fact.
  draft.evidence = [
    { source: 'metadata', lines: metadataLines(analysis) },
    ...analysis.evidence.map((e) => ({ source: e.source, lines: e.lines })),
  ];
  if (analysis.evidence.length)
    draft.facts.evidenceStart = analysis.evidence.map((e) => ({ source: e.source, firstLine: e.firstLine }));
  draft.links = jobLinks(job, client);
  if (queue?.page) draft.links.push({ title: `Queue ${queue.queue.name} in CRIC`, url: queue.page });
  draft.followUps = jobFollowUps(analysis, queue);
  return draft;
}

function jobLinks(job: Job, client: Pick<PandaClient, 'jobPage' | 'taskPage' | 'publicUrl'>): Link[] {
  const links: Link[] = [{ title: `Job ${job.pandaid}`, url: client.jobPage(job.pandaid) }];
  if (job.jeditaskid) links.push({ title: `Task ${job.jeditaskid}`, url: client.taskPage(job.jeditaskid) });
  if (['failed', 'finished', 'holding', 'closed', 'cancelled'].includes(job.jobstatus)) {
    links.push({ title: 'Log files', url: `${client.publicUrl}/filebrowser/?pandaid=${job.pandaid}` });
  }
  return links;
}

const FIX_QUESTION = /\b(fix|solve|avoid|prevent|what (?:should|can|do) (?:i|we) do|resubmit|retry|next step)/i;

const gib = (kb: number | undefined) => (kb === undefined ? undefined : `${(kb / 1024 / 1024).toFixed(1)} GiB`);

function memoryLimitKb(job: Job): number | undefined {
  if (!job.minramcount) return undefined;
  const perCore = /percore/i.test(job.minramunit ?? '');
  const mb = job.minramcount * (perCore ? (job.actualcorecount ?? job.corecount ?? 1) : 1);
  return mb * 1024;
}

function attemptText(job: Job): string {
  return job.attemptnr !== undefined ? `attempt ${job.attemptnr}${job.maxattempt ? ` of ${job.maxattempt}` : ''}` : '';
}

function failureSummary(a: JobAnalysis, queue?: QueueComparison): string {
  const job = a.job;
  const where = [job.computingsite ? `at ${job.computingsite}` : '', attemptText(job) ? `on ${attemptText(job)}` : '']
    .filter(Boolean)
    .join(' ');
  const verb = job.jobstatus === 'failed' ? 'failed' : `is ${job.jobstatus}`;
  if (!a.primary)
    return `Job ${job.pandaid} ${verb} ${where} without an error code in its record${job.jobsubstatus ? ` (substatus ${job.jobsubstatus})` : ''}.`;
  const p = a.primary;
  const name = a.pilot ? `${a.pilot.name}, ` : '';
  const what = a.pilot?.message ?? (redactSecrets(p.diag) || componentTitle(p.component));
  let text = `Job ${job.pandaid} ${verb} ${where}: ${what} (${name}${p.component} error ${p.code}).`;
  if (p.component === 'pilot' && p.code === 1235) {
    const fromDiag = /maxPSS=(\d+) kB > (\d+) kB/.exec(p.diag);
    const used = fromDiag ? Number(fromDiag[1]) : job.maxpss;
    const limit = fromDiag ? Number(fromDiag[2]) : memoryLimitKb(job);
    if (used && limit) text += ` Its memory use (maxPSS ${gib(used)}) was above its limit of ${gib(limit)}.`;
  }
  if (queue) text += ` ${queue.sentence}`;
  text += causeSentence(a);
  if (a.payloadSignals.length) text += ` The payload's output shows ${a.payloadSignals.slice(0, 3).join('; ')}.`;
  if (a.guidance) text += ` ${ownerSentence(a.guidance.owner)}`;
  return text;
}

function ownerSentence(owner: string): string {
  switch (owner) {
    case 'user':
      return 'This is usually fixed on the user side (job code, inputs or requested resources).';
    case 'site':
      return 'This is usually a site or storage problem; the automatic retry often succeeds.';
    case 'system':
      return 'This comes from the PanDA/grid services, not from your code.';
    default:
      return 'This can be a site problem or an input problem; the evidence below tells which.';
  }
}

function statusSummary(job: Job): string {
  const where = job.computingsite ? ` at ${job.computingsite}` : '';
  const attempt = attemptText(job) ? ` (${attemptText(job)})` : '';
  switch (job.jobstatus) {
    case 'running':
      return `Job ${job.pandaid} is running${where}${attempt}${job.duration ? `, for ${job.duration} so far` : ''}. Nothing has gone wrong with it yet.`;
    case 'finished':
      return `Job ${job.pandaid} finished successfully${where}${attempt}${job.duration ? ` after ${job.duration}` : ''}.`;
    default:
      return `Job ${job.pandaid} is ${job.jobstatus}${where}${attempt}.`;
  }
}

function bullets(items: readonly string[]): string {
  return items.map((i) => `- ${i}`).join('\n');
}

function failureSections(a: JobAnalysis, queue?: QueueComparison): Section[] {
  const job = a.job;
  const p = a.primary;
  const g = a.guidance;
  const description: string[] = [];
  description.push(
    `Job ${job.pandaid}${job.jeditaskid ? ` of task ${job.jeditaskid}` : ''} is **${job.jobstatus}**${job.jobsubstatus ? ` (substatus ${job.jobsubstatus})` : ''}${job.computingsite ? ` at ${job.computingsite}` : ''}${attemptText(job) ? `, ${attemptText(job)}` : ''}.`,
  );
  if (p) {
    const comp = errorComponent(p.component);
    description.push(
      `Error component: **${comp?.title ?? p.component}** — code ${p.code}${a.pilot ? ` (${a.pilot.name}: ${a.pilot.message})` : ''}.`,
    );
    if (p.diag) description.push(`Diagnostic: \`${redactSecrets(p.diag).slice(0, 256)}\``);
  }
  const others = a.errors.slice(1);
  if (others.length)
    description.push(
      `Other error fields: ${others.map((e) => `${e.component}:${e.code}${e.diag ? ` (${redactSecrets(e.diag).slice(0, 80)})` : ''}`).join(', ')}.`,
    );
  if (a.payloadSignals.length) description.push(`In the payload output: ${a.payloadSignals.join('; ')}.`);
  const logsRead = a.logs
    .filter((l) => l.status === 'scanned')
    .map((l) =>
      l.status === 'scanned'
        ? `${l.file} (${formatBytes(l.result.bytes)}, ${l.result.lines.toLocaleString('en-US')} lines, ${l.result.totalMatches} matching line${l.result.totalMatches === 1 ? '' : 's'})`
        : l.file,
    );
  if (logsRead.length) description.push(`Logs read: ${logsRead.join(', ')}.`);
  if (queue) description.push(queue.line);
  for (const note of a.notes) description.push(note);

  let nonExpert: string;
  let expert: string;
  if (g) {
    nonExpert = [
      `**Problem:** ${g.problem}`,
      `**Possible causes:**\n${bullets(g.causes)}`,
      `**Recommendations:**\n${bullets(recommendationsFor(a, g.recommendations, queue))}`,
    ].join('\n\n');
    const matches = a.topMatches
      .slice(0, 4)
      .map((m) => `\`${m.source}:${m.match.line}\` ${m.match.text.slice(0, 200)}`);
    expert = [
      `**Analysis:** ${g.analysis}${matches.length ? `\n\nStrongest matches in the logs:\n${bullets(matches)}` : ''}`,
      `**Investigation steps:**\n${bullets(g.investigation)}`,
      `**Possible scenarios:**\n${bullets(g.scenarios)}`,
      `**Preventative measures:**\n${bullets(g.prevention)}`,
    ].join('\n\n');
  } else {
    const comp = p ? errorComponent(p.component) : undefined;
    const problem = p
      ? `${comp?.meaning ?? 'The job failed.'}${a.pilot ? ` The pilot's standard message for ${p.code} is "${a.pilot.message}".` : ''}`
      : 'The job ended without an error code; the monitor page may show more.';
    const recoverable = p?.component === 'pilot' && isRecoverablePutError(p.code);
    nonExpert = [
      `**Problem:** ${problem}`,
      `**Possible causes:**\n${bullets(comp?.side === 'user' ? ['a problem in the payload, its options or its inputs'] : comp?.side === 'system' ? ['a temporary problem of a PanDA, Rucio or site service'] : ['a site problem (storage, worker node, batch system)', 'a problem in the payload or its inputs'])}`,
      `**Recommendations:**\n${bullets([recoverable ? 'this code counts as recoverable: the job is retried automatically' : 'check whether the automatic retry succeeded on the task page', 'read the evidence below for the exact message', 'if many jobs fail the same way, ask on the task page or to your analysis support'])}`,
    ].join('\n\n');
    expert = [
      `**Analysis:** ${p ? `${componentTitle(p.component)} ${p.code}.` : ''} ${USER_VERSUS_SYSTEM.join(' ')}`,
      `**Investigation steps:**\n${bullets(['read the evidence lines below and the full log on the log files page', "compare with the task's error summary: same code on every site (payload) or one site (site problem)?"])}`,
      `**Possible scenarios:**\n${bullets(['a transient site or service problem that a retry fixes', 'a deterministic payload problem that fails every attempt'])}`,
      `**Preventative measures:**\n${bullets(['test with a small submission first', 'watch the task page for failure clusters per site'])}`,
    ].join('\n\n');
  }
  return [
    { title: 'Description', body: description.join('\n') },
    { title: 'Non-expert guidance', body: nonExpert },
    { title: 'Expert guidance', body: expert },
  ];
}

function recommendationsFor(a: JobAnalysis, base: readonly string[], queue?: QueueComparison): string[] {
  const out = [...base];
  // Whether the queue allows what the job needs, or which ones do: first, or right after how much
  // memory to ask for (unshifted below).
  if (queue) out.unshift(queue.recommendation);
  const job = a.job;
  if (a.primary?.component === 'pilot' && a.primary.code === 1235 && job.maxpss) {
    const needMb = Math.ceil(((job.maxpss / 1024) * 1.2) / 100) * 100;
    out.unshift(
      `this job peaked at ${gib(job.maxpss)} PSS: request about ${needMb} MB (e.g. \`--memory ${needMb}\`) or process fewer events per job`,
    );
  }
  const outOfMemory = payloadOutOfMemory(a);
  if (a.primary?.component === 'pilot' && [1305, 1212, 1223].includes(a.primary.code) && outOfMemory) {
    const limit = memoryLimitKb(job);
    const usage = job.maxpss && limit ? ` (maxPSS ${gib(job.maxpss)} of ${gib(limit)} requested)` : '';
    const needMb = job.minramcount ? Math.ceil((job.minramcount * 1.5) / 500) * 500 : undefined;
    out.unshift(
      `the payload ran out of memory${usage}: request more memory${needMb ? ` (e.g. \`--memory ${needMb}\`)` : ''}, or reduce what it holds in memory (fewer histograms/systematics per job, smaller ROOT JIT code)`,
    );
  }
  if (job.attemptnr !== undefined && job.maxattempt !== undefined && job.attemptnr >= job.maxattempt) {
    out.push(
      `this was the last allowed attempt (${job.attemptnr} of ${job.maxattempt}): its input will not be retried automatically; resubmit (e.g. \`pbook\` retry) once fixed`,
    );
  }
  return out;
}

function statusSections(a: JobAnalysis): Section[] {
  const job = a.job;
  const lines: string[] = [];
  lines.push(
    `Status **${job.jobstatus}**${job.jobsubstatus ? ` (${job.jobsubstatus})` : ''}${job.computingsite ? ` at ${job.computingsite}` : ''}${attemptText(job) ? `, ${attemptText(job)}` : ''}.`,
  );
  if (job.jeditaskid)
    lines.push(
      `Task: ${job.jeditaskid}${job.processingtype ? ` (${job.processingtype})` : ''}${job.transformation ? `, transformation ${job.transformation}` : ''}${job.atlasrelease ? `, ${job.atlasrelease}` : ''}.`,
    );
  const times = [
    job.creationtime && `created ${job.creationtime}`,
    job.starttime && `started ${job.starttime}`,
    job.endtime && `ended ${job.endtime}`,
  ].filter(Boolean);
  if (times.length) lines.push(`Times (UTC): ${times.join(', ')}${job.duration ? `; wall time ${job.duration}` : ''}.`);
  const cores = job.actualcorecount ?? job.corecount;
  if (cores) lines.push(`Cores: ${cores}.`);
  if (job.cpuconsumptiontime) {
    const eff =
      job.durationsec && cores ? Math.round((100 * job.cpuconsumptiontime) / job.durationsec / cores) : undefined;
    lines.push(
      `CPU time: ${job.cpuconsumptiontime.toLocaleString('en-US')} s${eff !== undefined ? ` (CPU efficiency about ${eff} %)` : ''}.`,
    );
  }
  const limit = memoryLimitKb(job);
  if (job.maxpss) lines.push(`Memory: maxPSS ${gib(job.maxpss)}${limit ? ` of ${gib(limit)} requested` : ''}.`);
  if (job.nevents) lines.push(`Events: ${job.nevents.toLocaleString('en-US')}.`);

  const last = job.attemptnr !== undefined && job.maxattempt !== undefined && job.attemptnr >= job.maxattempt;
  const advice: string[] = [];
  if (job.jobstatus === 'running')
    advice.push('nothing to do: the job is processing; check back later or watch the job page');
  if (job.jobstatus === 'finished')
    advice.push("nothing to do: the outputs are registered in the task's output datasets");
  if (!['running', 'finished'].includes(job.jobstatus))
    advice.push(
      `the job is waiting in state "${job.jobstatus}"; jobs normally move on within hours, check the site status if it stays longer`,
    );
  if (last && job.jobstatus !== 'finished')
    advice.push(
      `this is attempt ${job.attemptnr} of ${job.maxattempt}, the last one: the earlier attempts failed, and if this one fails too its input files are marked failed in the task`,
    );
  const analysis: string[] = [];
  if (limit && job.maxpss)
    analysis.push(`Memory headroom: ${Math.round((100 * job.maxpss) / limit)} % of the request used so far.`);
  if (last)
    analysis.push(
      'Earlier attempts of the same input failed: their pilot error codes are on the task page (error summary); a repeating code points at the payload, different sites with different codes at site problems.',
    );
  if (!analysis.length) analysis.push('Metadata only: no log is read for a job that has not failed.');
  return [
    { title: 'Description', body: lines.join('\n') },
    { title: 'Non-expert guidance', body: `**Problem:** none so far.\n\n**Recommendations:**\n${bullets(advice)}` },
    { title: 'Expert guidance', body: `**Analysis:** ${analysis.join(' ')}` },
  ];
}

function metadataLines(a: JobAnalysis): string[] {
  const job = a.job;
  const keys: Array<keyof Job> = [
    'jobstatus',
    'jobsubstatus',
    'computingsite',
    'attemptnr',
    'maxattempt',
    'piloterrorcode',
    'piloterrordiag',
    'exeerrorcode',
    'exeerrordiag',
    'transexitcode',
    'taskbuffererrorcode',
    'taskbuffererrordiag',
    'ddmerrorcode',
    'ddmerrordiag',
    'starttime',
    'endtime',
    'maxpss',
    'minramcount',
    'minramunit',
  ];
  const out: string[] = [];
  for (const key of keys) {
    const value = job[key];
    if (
      value === undefined ||
      value === '' ||
      (typeof value === 'number' && value === 0 && /errorcode$/.test(String(key)))
    )
      continue;
    out.push(`${String(key)}=${redactSecrets(String(value))}`);
  }
  return out;
}

function jobFacts(a: JobAnalysis): Record<string, unknown> {
  const job = a.job;
  const facts: Record<string, unknown> = {
    pandaid: job.pandaid,
    jeditaskid: job.jeditaskid,
    jobstatus: job.jobstatus,
    jobsubstatus: job.jobsubstatus || undefined,
    computingsite: job.computingsite,
    attemptnr: job.attemptnr,
    maxattempt: job.maxattempt,
    piloterrorcode: job.piloterrorcode ?? 0,
    piloterrordiag: job.piloterrordiag ? redactSecrets(job.piloterrordiag) : '',
    exeerrorcode: job.exeerrorcode ?? 0,
    exeerrordiag: job.exeerrordiag ? redactSecrets(job.exeerrordiag) : '',
    transexitcode: job.transexitcode,
    taskbuffererrorcode: job.taskbuffererrorcode ?? 0,
    errorComponent: a.primary?.component,
    errorCode: a.primary?.code,
    errorName: a.pilot?.name,
    errorOwner: a.guidance?.owner,
    starttime: job.starttime,
    endtime: job.endtime,
    duration: job.duration,
    corecount: job.actualcorecount ?? job.corecount,
    cpuconsumptiontime: job.cpuconsumptiontime,
    maxpss: job.maxpss,
    minramcount: job.minramcount,
    logsRead: a.logs.map((l) => ({
      file: l.file,
      status: l.status,
      ...(l.status === 'scanned'
        ? {
            bytes: l.result.bytes,
            lines: l.result.lines,
            matches: l.result.totalMatches,
            truncated: l.result.truncated,
          }
        : {}),
    })),
    payloadSignals: a.payloadSignals.length ? a.payloadSignals : undefined,
    evidenceFamily: a.family,
    logsMissing: a.filesMissing.length ? a.filesMissing : undefined,
    cause: a.cause
      ? {
          kind: a.cause.kind,
          name: causeName(a.cause.kind),
          source: a.cause.source,
          line: a.cause.line,
          text: a.cause.text,
          pattern: a.cause.label,
          patternSource: a.cause.patternSource,
        }
      : undefined,
    jobReport: a.report,
  };
  return Object.fromEntries(Object.entries(facts).filter(([, v]) => v !== undefined));
}

function jobFollowUps(a: JobAnalysis, queue?: QueueComparison): FollowUp[] {
  const job = a.job;
  const out: FollowUp[] = [];
  const better = queue?.alternatives[0];
  const p = a.primary;
  if (job.jeditaskid) {
    out.push({
      question: `What is happening with task ${job.jeditaskid}?`,
      why: a.problem
        ? `shows whether other jobs of the task failed with ${p ? `${p.component} error ${p.code}` : 'the same problem'} too (payload bug) or only some (site problem)`
        : `job ${job.pandaid} is one of this task's jobs; the task shows overall progress and failures`,
    });
  }
  if (p?.component === 'pilot' && p.code === 1235) {
    out.push({
      question: 'How do I request more memory for my jobs?',
      why: `maxPSS ${gib(job.maxpss) ?? '?'} exceeded the limit; the task's memory request decides the limit`,
    });
  } else if (p?.component === 'pilot' && p.code === 1305) {
    out.push({
      question: 'How do I run my payload locally to reproduce the error?',
      why: `the failure is inside the payload${a.payloadSignals[0] ? ` (${a.payloadSignals[0]})` : ''}, so retries will fail the same way`,
    });
  } else if (a.guidance?.owner === 'site') {
    out.push({
      question: `What is the status of site ${job.computingsite ?? ''}?`.replace(' ?', '?'),
      why: `${p?.component} error ${p?.code} is usually a site or storage problem`,
    });
  }
  if (better)
    out.push({
      question: `What are the limits of queue ${better.name}?`,
      why: `${better.name} allows more ${queue!.kind === 'memory' ? 'memory' : 'walltime'} than ${queue!.queue.name}`,
    });
  if (p && a.pilot)
    out.push({
      question: `What does pilot error ${p.code} mean?`,
      why: `${a.pilot.name} is the code this job failed with`,
    });
  if (!a.problem && job.attemptnr !== undefined && job.maxattempt !== undefined && job.attemptnr >= job.maxattempt) {
    out.push({
      question: `Why did the earlier attempts of job ${job.pandaid}'s input fail?`,
      why: `this is attempt ${job.attemptnr} of ${job.maxattempt}: the earlier ones failed`,
    });
  }
  if (out.length < 2)
    out.push({
      question: `Show the log files of job ${job.pandaid}`,
      why: 'the full logs hold details the summary leaves out',
    });
  return out.slice(0, 4);
}
