import type Keyv from 'keyv';
import type { Logger } from 'pino';
import { z } from 'zod';
import { recordMonitorCacheHit } from './monitor-health.ts';
import type { Config } from '../config/schema.ts';
import { AskPandaError } from '../core/errors.ts';
import { TtlCache } from './cache.ts';
import { MonitorHttp, type MonitorStats, type Subject } from './http.ts';
import { scanLog, type ScanOptions, type ScanResult } from './log-scan.ts';
import {
  ErrorsResponseSchema,
  JobResponseSchema,
  JobsResponseSchema,
  LogListingSchema,
  TaskResponseSchema,
  TasksResponseSchema,
  isFinalJobState,
  type ErrorsResponse,
  type JobResponse,
  type JobsResponse,
  type LogListing,
  type TaskResponse,
  type TaskWithCounts,
} from './schemas.ts';

export interface PandaClientOptions {
  /** Where requests go (the demo or a test fake); defaults to config.monitor.url. */
  baseUrl?: string;
  /** Where links for people point; defaults to config.monitor.url (the demo keeps bigpanda.cern.ch). */
  publicUrl?: string;
  logger?: Logger;
  backoffMs?: number;
  /**
   * Second-level cache shared across processes (store.ns('cache')): final jobs' metadata, log
   * listings and log scans, so `ask --thread` follow-ups in a new process cost no request.
   */
  persistent?: Keyv;
  /**
   * Which monitor the persistent cache entries belong to (default: the monitor URL), so data cached
   * from the demo or from one monitor is never served as another's.
   */
  cacheScope?: string;
}

const MatchSchema = z.object({ line: z.number(), text: z.string(), weight: z.number(), label: z.string() });
const ScanResultSchema = z.object({
  bytes: z.number(),
  lines: z.number(),
  truncated: z.boolean(),
  binary: z.boolean(),
  totalMatches: z.number(),
  matches: z.array(MatchSchema),
  best: z.object({ match: MatchSchema, firstLine: z.number(), context: z.array(z.string()) }).optional(),
  tail: z.array(z.string()),
  captures: z.array(z.object({ line: z.number(), label: z.string(), lines: z.array(z.string()) })).optional(),
});
const LogOutcomeSchema = z.union([
  z.object({
    file: z.string(),
    status: z.literal('scanned'),
    result: ScanResultSchema,
    cutAfterMs: z.number().optional(),
  }),
  z.object({ file: z.string(), status: z.enum(['missing', 'empty', 'binary']), note: z.string() }),
]);

/**
 * What scanning one log file gave. `cutAfterMs`: the transfer took longer than
 * monitor.logReadTimeoutMs and only the part that came by then was scanned (never cached).
 */
export type LogOutcome =
  | { file: string; status: 'scanned'; result: ScanResult; cutAfterMs?: number }
  | { file: string; status: 'missing' | 'empty' | 'binary'; note: string };

const LogTextSchema = z.union([
  z.object({
    file: z.string(),
    status: z.literal('read'),
    text: z.string(),
    bytes: z.number(),
    truncated: z.boolean(),
    cutAfterMs: z.number().optional(),
  }),
  z.object({ file: z.string(), status: z.enum(['missing', 'empty', 'binary']), note: z.string() }),
]);

/** A small log-tarball file read whole (up to a byte cap), e.g. jobReport.json. */
export type LogText = z.infer<typeof LogTextSchema>;

const TASK_JOB_FIELDS =
  'pandaid,jobstatus,computingsite,attemptnr,maxattempt,' +
  'piloterrorcode,piloterrordiag,exeerrorcode,exeerrordiag,taskbuffererrorcode,taskbuffererrordiag,' +
  'ddmerrorcode,ddmerrordiag,transexitcode,modificationtime,endtime';

/**
 * Typed, validated access to the BigPanDA JSON API with a per-process cache: job/task metadata
 * for metadataTtlSeconds (final jobs for logCacheTtlSeconds: they no longer change), log scans of
 * final jobs for logCacheTtlSeconds. A follow-up about the same job costs no monitor request.
 */
export class PandaClient {
  readonly publicUrl: string;
  private readonly http: MonitorHttp;
  private readonly cache = new TtlCache<Promise<unknown>>(1000);
  /** Log scans are larger (context, matches, tail: up to a few MB each with long lines): fewer of them. */
  private readonly scanCache = new TtlCache<Promise<unknown>>(100);
  private readonly metadataTtlMs: number;
  private readonly logTtlMs: number;
  private readonly persistent?: Keyv;
  private readonly cacheScope: string;
  /** Jobs seen in a final state: their logs no longer change and may be cached for long. */
  private readonly finalJobs = new Set<number>();

  constructor(
    private readonly config: Pick<Config, 'monitor'>,
    options: PandaClientOptions = {},
  ) {
    const monitor = config.monitor;
    this.publicUrl = (options.publicUrl ?? monitor.url).replace(/\/+$/, '');
    this.metadataTtlMs = monitor.metadataTtlSeconds * 1000;
    this.logTtlMs = monitor.logCacheTtlSeconds * 1000;
    this.persistent = options.persistent;
    this.cacheScope = options.cacheScope ?? (options.baseUrl ?? monitor.url).replace(/\/+$/, '');
    this.http = new MonitorHttp({
      baseUrl: options.baseUrl ?? monitor.url,
      token: monitor.token,
      timeoutMs: monitor.timeoutMs,
      retries: monitor.retries,
      maxRetryAfterSeconds: monitor.maxRetryAfterSeconds,
      concurrency: monitor.concurrency,
      maxJsonBytes: monitor.maxJsonBytes,
      logReadTimeoutMs: monitor.logReadTimeoutMs,
      backoffMs: options.backoffMs,
      logger: options.logger,
    });
  }

  /** Requests sent so far (tests and the benchmark read this). */
  get stats(): MonitorStats {
    return this.http.stats;
  }

  jobPage(pandaid: number): string {
    return `${this.publicUrl}/job?pandaid=${pandaid}`;
  }

  taskPage(jeditaskid: number): string {
    return `${this.publicUrl}/task/${jeditaskid}/`;
  }

  private jobSubject(pandaid: number): Subject {
    return { label: `job ${pandaid}`, page: this.jobPage(pandaid) };
  }

  private taskSubject(jeditaskid: number): Subject {
    return { label: `task ${jeditaskid}`, page: this.taskPage(jeditaskid) };
  }

  /** `/job?pandaid=N&json`; `job: null` in the JSON also means not found. */
  async job(pandaid: number): Promise<JobResponse & { job: NonNullable<JobResponse['job']> }> {
    const subject = this.jobSubject(pandaid);
    const isFinal = (value: JobResponse) => Boolean(value.job && isFinalJobState(value.job.jobstatus));
    const data = await this.cached(
      `job:${pandaid}`,
      (value: JobResponse) => (isFinal(value) ? Math.max(this.logTtlMs, this.metadataTtlMs) : this.metadataTtlMs),
      () => this.http.getJson(`/job?pandaid=${pandaid}&json`, subject, JobResponseSchema),
      { persistIf: isFinal, schema: JobResponseSchema },
    );
    if (!data.job)
      throw new AskPandaError(
        'not_found',
        `The monitor has no job ${pandaid}. Check the number, or open ${subject.page}`,
      );
    if (data.job.pandaid !== pandaid) {
      throw new AskPandaError(
        'monitor_unavailable',
        `The monitor answered about job ${data.job.pandaid} when I asked for job ${pandaid}. Open ${subject.page}`,
      );
    }
    if (isFinalJobState(data.job.jobstatus)) this.finalJobs.add(pandaid);
    return data as JobResponse & { job: NonNullable<JobResponse['job']> };
  }

  /** Logs of a final job are kept for logCacheTtlSeconds, others only as long as metadata. */
  private logTtl(pandaid: number): number {
    return this.finalJobs.has(pandaid) ? this.logTtlMs : this.metadataTtlMs;
  }

  /** `/jobs/?jeditaskid=N&json&mode=nodrop` with the fields the task answer needs. */
  async taskJobs(jeditaskid: number): Promise<JobsResponse> {
    return this.cached(
      `jobs:${jeditaskid}`,
      () => this.metadataTtlMs,
      () =>
        this.http.getJson(
          `/jobs/?jeditaskid=${jeditaskid}&json&mode=nodrop&fields=${TASK_JOB_FIELDS}`,
          this.taskSubject(jeditaskid),
          JobsResponseSchema,
        ),
    );
  }

  /** `/task/N/?json`: task, parameters and datasets (no jobs). */
  async task(jeditaskid: number): Promise<TaskResponse> {
    return this.cached(
      `task:${jeditaskid}`,
      () => this.metadataTtlMs,
      () => this.http.getJson(`/task/${jeditaskid}/?json`, this.taskSubject(jeditaskid), TaskResponseSchema),
    );
  }

  /** `/tasks/?jeditaskid=N&json&extra=jobstatecount`: the task with job_state_count. */
  async taskWithJobCounts(jeditaskid: number): Promise<TaskWithCounts> {
    const subject = this.taskSubject(jeditaskid);
    const list = await this.cached(
      `tasks:${jeditaskid}`,
      () => this.metadataTtlMs,
      () =>
        this.http.getJson(`/tasks/?jeditaskid=${jeditaskid}&json&extra=jobstatecount`, subject, TasksResponseSchema),
    );
    const task = list.find((t) => t.jeditaskid === jeditaskid);
    if (!task)
      throw new AskPandaError(
        'not_found',
        `The monitor has no task ${jeditaskid}. Check the number, or open ${subject.page}`,
      );
    return task;
  }

  /** `/errors/?json&jeditaskid=N&hours=H`: failures grouped by error code. */
  async taskErrors(jeditaskid: number, hours = this.config.monitor.errorsHours): Promise<ErrorsResponse> {
    return this.cached(
      `errors:${jeditaskid}:${hours}`,
      () => this.metadataTtlMs,
      () =>
        this.http.getJson(
          `/errors/?json&jeditaskid=${jeditaskid}&hours=${hours}`,
          this.taskSubject(jeditaskid),
          ErrorsResponseSchema,
        ),
    );
  }

  /**
   * `/tasks/?jeditaskid=A|B|C&json&extra=jobstatecount`: the rows of up to TASKS_PER_REQUEST tasks
   * in one request (status, dsinfo, job_state_count). Ids the monitor does not know are absent.
   */
  async tasksWithJobCounts(ids: readonly number[]): Promise<Map<number, TaskWithCounts>> {
    const unique = [...new Set(ids)].sort((a, b) => a - b);
    if (unique.length === 0) return new Map();
    if (unique.length > TASKS_PER_REQUEST)
      throw new RangeError(`at most ${TASKS_PER_REQUEST} tasks per /tasks/ request, got ${unique.length}`);
    const joined = unique.join('|');
    const subject: Subject =
      unique.length === 1
        ? this.taskSubject(unique[0]!)
        : {
            label: `tasks ${unique.slice(0, 3).join(', ')}${unique.length > 3 ? ` and ${unique.length - 3} more` : ''}`,
            page: `${this.publicUrl}/tasks/?jeditaskid=${joined}`,
          };
    const list = await this.cached(
      `tasks:${joined}`,
      () => this.metadataTtlMs,
      () => this.http.getJson(`/tasks/?jeditaskid=${joined}&json&extra=jobstatecount`, subject, TasksResponseSchema),
    );
    const wanted = new Set(unique);
    return new Map(list.filter((t) => wanted.has(t.jeditaskid)).map((t) => [t.jeditaskid, t]));
  }

  /**
   * `/errors/` for the failures of one task whose modificationtime lies in (after, until], given as
   * absolute UTC instants (never a relative `hours=`, so a late run still covers exactly its window).
   * The monitor's range is inclusive at both ends to the second, so it starts one second after
   * `after`: consecutive windows never count a job twice.
   */
  async taskErrorsInWindow(jeditaskid: number, window: { after: Date; until: Date }): Promise<ErrorsResponse> {
    const from = monitorTime(new Date(window.after.getTime() + 1000));
    const to = monitorTime(window.until);
    return this.cached(
      `errors:${jeditaskid}:${from}:${to}`,
      () => this.metadataTtlMs,
      () =>
        this.http.getJson(
          `/errors/?json&jeditaskid=${jeditaskid}&date_from=${from}&date_to=${to}&fields=errsByCount,errsBySite`,
          this.taskSubject(jeditaskid),
          ErrorsResponseSchema,
        ),
    );
  }

  /** `/filebrowser/?pandaid=N&json`: the files of the job's log tarball. */
  async logFiles(pandaid: number): Promise<LogListing> {
    return this.cached(
      `logs:${pandaid}`,
      () => this.logTtl(pandaid),
      () => this.http.getJson(`/filebrowser/?pandaid=${pandaid}&json`, this.jobSubject(pandaid), LogListingSchema),
      {
        persistIf: () => this.finalJobs.has(pandaid),
        schema: LogListingSchema,
      },
    );
  }

  /**
   * Streams one log file through the scanner (the file browser redirects to the plain file). The
   * result is cached for logCacheTtlSeconds: only ask for logs of jobs in a final state.
   */
  async scanLogFile(pandaid: number, filename: string, options: ScanOptions, cacheKey: string): Promise<LogOutcome> {
    // A scan of a transfer cut at the read deadline is incomplete: the next question tries again.
    const complete = (outcome: LogOutcome) => !(outcome.status === 'scanned' && outcome.cutAfterMs !== undefined);
    return this.cached(
      `scan:${pandaid}:${filename}:${cacheKey}`,
      (outcome) => (complete(outcome) ? this.logTtl(pandaid) : 0),
      async (): Promise<LogOutcome> => {
        const subject = this.jobSubject(pandaid);
        const opened = await this.http.openText(
          `/filebrowser/?pandaid=${pandaid}&json&filename=${encodeURIComponent(filename)}`,
          subject,
        );
        if (!opened) return { file: filename, status: 'missing', note: `${filename} is not in the job's log tarball` };
        try {
          const result = await scanLog(opened.body, options);
          if (result.binary)
            return {
              file: filename,
              status: 'binary',
              note: `${filename} is not a text file (binary content), so I did not read it`,
            };
          if (result.bytes === 0 && opened.cutAfterMs === undefined)
            return { file: filename, status: 'empty', note: `${filename} is empty (0 bytes)` };
          return {
            file: filename,
            status: 'scanned',
            result,
            ...(opened.cutAfterMs !== undefined ? { cutAfterMs: opened.cutAfterMs } : {}),
          };
        } finally {
          await opened.close();
        }
      },
      { persistIf: (outcome) => this.finalJobs.has(pandaid) && complete(outcome), schema: LogOutcomeSchema },
    );
  }

  /**
   * Reads one file of the job's log tarball as text, at most `maxBytes` of it (a job report is a few
   * hundred kB; a bigger one is cut and says so). Cached like a log scan.
   */
  async readLogText(pandaid: number, filename: string, maxBytes: number): Promise<LogText> {
    // Cut at the read deadline: incomplete, read again next time (a cut at the byte cap is final).
    const complete = (outcome: LogText) => outcome.status !== 'read' || outcome.cutAfterMs === undefined;
    return this.cached(
      `text:${pandaid}:${filename}:${maxBytes}`,
      (outcome) => (complete(outcome) ? this.logTtl(pandaid) : 0),
      async (): Promise<LogText> => {
        const opened = await this.http.openText(
          `/filebrowser/?pandaid=${pandaid}&json&filename=${encodeURIComponent(filename)}`,
          this.jobSubject(pandaid),
        );
        if (!opened) return { file: filename, status: 'missing', note: `${filename} is not in the job's log tarball` };
        const parts: Buffer[] = [];
        let bytes = 0;
        let truncated = false;
        try {
          for await (const chunk of opened.body) {
            const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
            if (bytes + buf.length > maxBytes) {
              parts.push(Buffer.from(buf.subarray(0, maxBytes - bytes)));
              bytes = maxBytes;
              truncated = true;
              break;
            }
            parts.push(Buffer.from(buf));
            bytes += buf.length;
          }
        } finally {
          await opened.close();
        }
        const cutAfterMs = opened.cutAfterMs;
        if (cutAfterMs !== undefined) truncated = true;
        const all = Buffer.concat(parts, bytes);
        if (bytes === 0) return { file: filename, status: 'empty', note: `${filename} is empty (0 bytes)` };
        if (all.subarray(0, 8192).includes(0))
          return { file: filename, status: 'binary', note: `${filename} is not a text file, so I did not read it` };
        return {
          file: filename,
          status: 'read',
          text: all.toString('utf8'),
          bytes,
          truncated,
          ...(cutAfterMs !== undefined ? { cutAfterMs } : {}),
        };
      },
      { persistIf: (outcome) => this.finalJobs.has(pandaid) && complete(outcome), schema: LogTextSchema },
    );
  }

  private async cached<T>(
    key: string,
    ttl: (value: T) => number,
    load: () => Promise<T>,
    persist?: { persistIf: (value: T) => boolean; schema: z.ZodType<T> },
  ): Promise<T> {
    const cache = key.startsWith('scan:') || key.startsWith('text:') ? this.scanCache : this.cache;
    let fetched = false;
    const loadThrough = async (): Promise<T> => {
      if (persist && this.persistent) {
        const stored: unknown = await this.persistent.get(`panda:${this.cacheScope}:${key}`).catch(() => undefined);
        const parsed = stored === undefined ? undefined : persist.schema.safeParse(stored);
        if (parsed?.success) return parsed.data;
      }
      fetched = true;
      const value = await load();
      if (persist && this.persistent && persist.persistIf(value)) {
        await this.persistent.set(`panda:${this.cacheScope}:${key}`, value, this.logTtlMs).catch(() => undefined);
      }
      return value;
    };
    const value = (await cache.getOrLoad(key, (value) => ttl(value as T), loadThrough)) as T;
    if (!fetched) recordMonitorCacheHit(key);
    return value;
  }
}

/** How many task ids one `/tasks/` request carries (the URL stays short, the answer small). */
export const TASKS_PER_REQUEST = 50;

/** `YYYY-MM-DDTHH:MM:SS` in UTC, the form the monitor parses for date_from/date_to. */
export function monitorTime(date: Date): string {
  return date.toISOString().slice(0, 19);
}

export function createPandaClient(config: Config, options: PandaClientOptions = {}): PandaClient {
  return new PandaClient(config, options);
}
