import type { QueueRecord } from './cric-schema.ts';
import type { JobError } from './job-analysis.ts';
import {
  describeMemory,
  describeWalltime,
  hours,
  memoryPerCoreMb,
  queuesThatFit,
  type JobNeeds,
  type QueueIndex,
} from './queues.ts';
import type { Job } from './schemas.ts';

/**
 * A failed job's use of memory or time next to its queue's limits in CRIC, for the job answer:
 * what it used, what it asked for, what the queue allows, and queues of the same site or cloud
 * that allow more when its own does not. Only for memory kills (1235, 1212, a 1305 that ran out
 * of memory) and time kills (1213, 1150, SIGXCPU, a SIGTERM/kill at the limit).
 */
export interface QueueComparison {
  kind: 'memory' | 'time';
  queue: QueueRecord;
  /** For the opening line: "The queue AGLT2 allows 48,000 MB per 8-core slot (6,000 MB per core)." */
  sentence: string;
  /** For the description: one line with the queue's limits and status. */
  line: string;
  /** First recommendation about the queue: stay, or go to these queues. */
  recommendation: string;
  alternatives: QueueRecord[];
  facts: Record<string, unknown>;
  /** The queue's CRIC page, added by the caller that knows CRIC's address. */
  page?: string;
}

const MEMORY_CODES = new Set([1235, 1212]);
const TIME_CODES = new Set([1213, 1150, 1204]);
/** Kill signals that are time kills only when the job ran as long as a limit. */
const SIGNAL_CODES = new Set([1200, 1201, 1208]);

const fmt = (n: number) => n.toLocaleString('en-US');

/** Which kind of limit a failure is about, or undefined when it is about neither. */
export function limitKind(
  primary: JobError | undefined,
  job: Job,
  payloadOutOfMemory: boolean,
): 'memory' | 'time' | undefined {
  if (!primary || primary.component !== 'pilot') return undefined;
  if (MEMORY_CODES.has(primary.code) || (primary.code === 1305 && payloadOutOfMemory)) return 'memory';
  if (TIME_CODES.has(primary.code)) return 'time';
  if (SIGNAL_CODES.has(primary.code) && job.durationsec) {
    const limits = [job.maxwalltime].filter((n): n is number => Boolean(n && n > 0));
    if (limits.some((limit) => job.durationsec! >= 0.95 * limit)) return 'time';
  }
  return undefined;
}

function jobCores(job: Job): number {
  return Math.max(1, job.actualcorecount ?? job.corecount ?? 1);
}

/** User jobs go to analysis (or unified) queues, the rest to production (or unified) ones. */
function activity(job: Job): JobNeeds['activity'] {
  if (!job.prodsourcelabel) return undefined;
  return /^(?:user|panda)$/.test(job.prodsourcelabel) ? 'analysis' : 'production';
}

function names(queues: readonly QueueRecord[], show: (q: QueueRecord) => string): string {
  return queues.map((q) => `${q.name} (${show(q)})`).join(', ');
}

export function compareWithQueue(
  job: Job,
  primary: JobError,
  kind: 'memory' | 'time',
  index: QueueIndex,
): QueueComparison | undefined {
  const queue = job.computingsite ? index.queue(job.computingsite) : undefined;
  if (!queue) return undefined;
  return kind === 'memory' ? compareMemory(job, primary, queue, index) : compareTime(job, primary, queue, index);
}

function compareMemory(job: Job, primary: JobError, q: QueueRecord, index: QueueIndex): QueueComparison | undefined {
  if (!q.maxrss || q.maxrss <= 0) return undefined;
  const cores = jobCores(job);
  const perCore = /percore/i.test(job.minramunit ?? '');
  const fromDiag = /maxPSS=(\d+) kB/.exec(primary.diag);
  const usedKb = fromDiag ? Number(fromDiag[1]) : job.maxpss;
  // What to ask for, as the job answer's first recommendation says: 20 % above what it used for a
  // memory kill, half as much again as it asked for when the payload itself ran out of memory.
  const asked = job.minramcount ? job.minramcount * (perCore ? cores : 1) : undefined;
  const jobMb =
    primary.code === 1305
      ? asked
        ? Math.ceil((asked * 1.5) / 500) * 500
        : undefined
      : usedKb
        ? Math.ceil(((usedKb / 1024) * 1.2) / 100) * 100
        : asked
          ? Math.ceil((asked * 1.5) / 500) * 500
          : undefined;
  if (!jobMb) return undefined;
  const needs: JobNeeds = perCore
    ? { cores, memoryMb: Math.ceil(jobMb / cores), perCore: true, activity: activity(job) }
    : { cores, memoryMb: jobMb, activity: activity(job) };
  const sentence = `In CRIC, the queue ${q.name} allows ${describeMemory(q)}.`;
  const line =
    `Queue ${q.name} in CRIC: **${q.status ?? 'unknown status'}**, memory ${describeMemory(q)}, ` +
    `walltime ${describeWalltime(q)}, ${q.corecount ?? '?'} cores.`;
  const wanted = perCore ? `${fmt(needs.memoryMb!)} MB per core` : `${fmt(jobMb)} MB`;
  const fitsHere = fitsMemory(q, needs);
  let recommendation: string;
  let alternatives: QueueRecord[] = [];
  if (fitsHere) {
    recommendation =
      `a request of about ${wanted} still fits ${q.name}, which allows up to ${slotMemory(q)}, ` +
      `so the job can run at this queue once it asks for enough`;
  } else {
    const better = queuesThatFit(index, q, needs, 'memory');
    alternatives = [...better.sameSite, ...better.sameCloud];
    const show = (x: QueueRecord) =>
      perCore ? `${fmt(memoryPerCoreMb(x) ?? 0)} MB per core` : `${fmt(x.maxrss ?? 0)} MB`;
    const places = [
      better.sameSite.length ? `at the same site ${q.atlas_site}: ${names(better.sameSite, show)}` : '',
      better.sameCloud.length ? `in cloud ${q.cloud}: ${names(better.sameCloud, show)}` : '',
    ].filter(Boolean);
    const allowed = perCore ? `${fmt(memoryPerCoreMb(q)!)} MB per core` : `${fmt(q.maxrss)} MB`;
    const tooLittle = `${q.name} allows at most ${allowed}, less than the ${wanted} this job needs`;
    recommendation = places.length
      ? `${tooLittle}; online queues with more ${places.join('; ')} (the brokerage picks one once the request is raised)`
      : `${tooLittle}, and no online queue of site ${q.atlas_site ?? '?'} or cloud ${q.cloud ?? '?'} allows more: ` +
        'make the job need less memory (fewer events or files per job)';
  }
  return {
    kind: 'memory',
    queue: q,
    sentence,
    line,
    recommendation,
    alternatives,
    facts: {
      queue: q.name,
      status: q.status,
      maxrssMb: q.maxrss,
      corecount: q.corecount,
      memoryPerCoreMb: memoryPerCoreMb(q),
      usedKb,
      neededMb: jobMb,
      perCore,
      fitsQueue: fitsHere,
      alternatives: alternatives.map((x) => x.name),
    },
  };
}

/** "48,000 MB per 8-core slot": the limit without the per-core figure, for use inside a sentence. */
function slotMemory(q: QueueRecord): string {
  const cores = Math.max(1, q.corecount ?? 1);
  return `${fmt(q.maxrss ?? 0)} MB per ${cores > 1 ? `${cores}-core` : 'single-core'} slot`;
}

function fitsMemory(q: QueueRecord, needs: JobNeeds): boolean {
  if (!q.maxrss || q.maxrss <= 0 || needs.memoryMb === undefined) return true;
  const required = needs.perCore ? needs.memoryMb * Math.max(1, q.corecount ?? 1) : needs.memoryMb;
  return required <= q.maxrss;
}

function compareTime(job: Job, primary: JobError, q: QueueRecord, index: QueueIndex): QueueComparison | undefined {
  if (!q.maxtime || q.maxtime <= 0) return undefined;
  const ran = job.durationsec;
  const own = job.maxwalltime && job.maxwalltime > 0 ? job.maxwalltime : undefined;
  const sentence =
    `In CRIC, the queue ${q.name} allows ${hours(q.maxtime)} of ` +
    `walltime${ran ? `; the job ran ${hours(ran)}` : ''}${own ? ` and asked for ${hours(own)}` : ''}.`;
  const line =
    `Queue ${q.name} in CRIC: **${q.status ?? 'unknown status'}**, walltime ${describeWalltime(q)}, ` +
    `memory ${describeMemory(q)}, ${q.corecount ?? '?'} cores.`;
  let recommendation: string;
  let alternatives: QueueRecord[] = [];
  const atQueueLimit = ran !== undefined && ran >= 0.95 * q.maxtime;
  if (primary.code === 1150) {
    recommendation =
      `a looping job is killed when its output files stop changing for a while, ` +
      `not at the walltime limit (${q.name} allows ${hours(q.maxtime)}): ` +
      `check what the payload was waiting for in its last log lines`;
  } else if (atQueueLimit) {
    const needs: JobNeeds = {
      cores: jobCores(job),
      walltimeSeconds: Math.ceil((ran! * 1.5) / 3600) * 3600,
      activity: activity(job),
    };
    const better = queuesThatFit(index, q, needs, 'walltime');
    alternatives = [...better.sameSite, ...better.sameCloud];
    const show = (x: QueueRecord) => hours(x.maxtime ?? 0);
    const places = [
      better.sameSite.length ? `at the same site ${q.atlas_site}: ${names(better.sameSite, show)}` : '',
      better.sameCloud.length ? `in cloud ${q.cloud}: ${names(better.sameCloud, show)}` : '',
    ].filter(Boolean);
    recommendation = places.length
      ? `the job used up ${q.name}'s whole walltime (${hours(q.maxtime)}); ` +
        `online queues that allow longer ${places.join('; ')}, ` +
        `or make the jobs shorter (fewer events or files per job)`
      : `the job used up ${q.name}'s whole walltime (${hours(q.maxtime)}) and no online queue of site ` +
        `${q.atlas_site ?? '?'} or cloud ${q.cloud ?? '?'} allows longer: ` +
        `make the jobs shorter (fewer events or files per job)`;
  } else if (own && ran !== undefined && ran >= 0.95 * own && q.maxtime > own) {
    recommendation =
      `the job hit its own walltime request (${hours(own)}), not the queue's limit: ` +
      `${q.name} allows ${hours(q.maxtime)}, ` +
      `so ask for more walltime per job or make the jobs shorter (fewer events per job)`;
  } else {
    recommendation =
      `the job ran ${ran !== undefined ? hours(ran) : 'for an unknown time'}, ` +
      `below ${q.name}'s limit of ${hours(q.maxtime)} in CRIC: ` +
      `the batch system's own limit may be shorter than CRIC says; ` +
      `if it repeats at this queue only, report it to the site`;
  }
  return {
    kind: 'time',
    queue: q,
    sentence,
    line,
    recommendation,
    alternatives,
    facts: {
      queue: q.name,
      status: q.status,
      maxtimeSeconds: q.maxtime,
      ranSeconds: ran,
      requestedSeconds: own,
      atQueueLimit,
      alternatives: alternatives.map((x) => x.name),
    },
  };
}
