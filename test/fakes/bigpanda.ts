import type { ServerResponse } from 'node:http';
import { demoMonitorData, pilotLogText, textLog, DEMO_TASK_ID } from '../../src/panda/demo/data.ts';
import {
  startMonitorServer,
  type FailedJobRecord,
  type LogFileSource,
  type MonitorData,
  type MonitorJob,
  type MonitorTask,
  type RunningMonitor,
} from '../../src/panda/demo/monitor-server.ts';
import { formatPilotLine, noiseLines, type PilotLogLine } from '../../src/panda/demo/pilot-log.ts';
import { CURATED_GUIDANCE } from '../../src/panda/knowledge.ts';

/**
 * Loopback fake BigPanDA for tests: the demo monitor's data plus one job (or task) per fault case,
 * served with the real URLs and shapes (HTML for unknown ids, file browser listing + 301 redirect
 * to the plain log file). Fault ids are exported so tests name the case they exercise.
 */

export const FAULT = {
  server500: 6800000500,
  hang: 6800000501,
  malformed: 6800000502,
  noLogs: 6800000503,
  logNotYet: 6800000504,
  emptyLog: 6800000505,
  binaryLog: 6800000506,
  hugeLog: 6800000507,
  longLine: 6800000508,
  secrets: 6800000509,
  listing400: 6800000510,
  stalledLog: 6800000511,
  /** The connection is closed as soon as the /job request arrives (a reset). */
  resetJob: 6800000512,
  /** /job answers 200 application/json with bytes that are no JSON at all. */
  garbageJob: 6800000513,
  /** /job answers valid JSON of the wrong shape. */
  wrongShapeJob: 6800000514,
  /** /job answers a chunked JSON body of `hugeJsonBytes` (no Content-Length). */
  hugeJson: 6800000515,
  /** /job redirects to itself, forever. */
  redirectLoopJob: 6800000516,
  /** /job redirects to `foreignUrl` (another host). */
  foreignRedirectJob: 6800000517,
  /** pilotlog.txt sends a few lines, then one line every `trickleEveryMs`, never ending. */
  trickleLog: 6800000518,
  /** The file browser's redirect for pilotlog.txt leads back to itself. */
  redirectLoopLog: 6800000519,
  retryAfterShort: 6800000429,
  retryAfterLong: 6800004290,
  traceback1305: 6800001305,
  /** 1305 whose payload.stdout tail is quiet: the cause is only in payload.stderr. */
  stderrOnly1305: 6800011305,
  reassigned: 6837798305,
  finished: 6800000600,
  holding: 6800000700,
  unknown: 6899999999,
} as const;

export const TASK_FAULT = {
  server500: 46000500,
  unknown: 46000404,
  /** The task exists, but its /errors/ summary answers 500. */
  errorsDown: 46000503,
} as const;

/** Status → task id of a copy of the demo task in that status. */
export const TASK_STATES: Record<string, number> = {
  finished: 46000001,
  broken: 46000002,
  exhausted: 46000003,
  failed: 46000004,
  done: 46000005,
};

/** A pandaid per curated pilot code whose pilotlog.txt holds every example line of that code. */
export const curatedJobId = (code: number) => 6810000000 + code;

/** Seeded secrets: none of them may appear in an answer, a prompt or a log line. */
export const SEEDED_SECRETS = [
  'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJta293YWxzayIsImlzcyI6Imh0dHBzOi8vYXRsYXMtYXV0aC5jZXJuLmNoLyJ9.c2lnbmF0dXJlLXNlZWRlZC1mb3ItdGVzdHM',
  'sk-proj-SEEDEDsecretKEY0123456789abcdef',
  'hunter2-seeded-password',
  'MIIEpAIBAAKCAQEAseededPROXYkeyMATERIALxyz',
  'sessionid=seededcookie0123456789',
  'xoxb-1234567890-seededslacktoken',
];

export interface FakeBigPanda extends RunningMonitor {
  /** Requests whose path starts with the prefix (e.g. "/job?pandaid=6800730400"). */
  count(prefix: string): number;
  /** The served data: tests change a task's status or add failures between runs. */
  data: MonitorData;
  /** While down, every request gets 503 from the monitor's proxy (as during a BigPanDA outage). */
  setDown(down: boolean): void;
  /** Most requests the fake was answering at the same moment, since start or resetInFlight(). */
  readonly inFlightMax: number;
  resetInFlight(): void;
}

export interface FakeOptions {
  /** Size of the huge log of FAULT.hugeLog (default 200 MiB). */
  hugeLogBytes?: number;
  /** Added before every answer (the real monitor's query time). */
  latencyMs?: number;
  /** More tasks to serve (e.g. watchedTask(...) for digests). */
  tasks?: Iterable<MonitorTask>;
  /** More jobs to serve (e.g. failedJob(...) with real log excerpts as their tarball). */
  jobs?: Iterable<[number, MonitorJob]>;
  /** Size of the JSON body of FAULT.hugeJson (default 8 MiB). */
  hugeJsonBytes?: number;
  /** Pause between the lines of FAULT.trickleLog (default 100 ms). */
  trickleEveryMs?: number;
  /** Base URL of "another host" the redirect faults send the client to (a trap server in tests). */
  foreignUrl?: string;
}

/** Error codes of generated failures, with the companions the monitor records next to them. */
export const FAILURE_MIX: ReadonlyArray<{ weight: number; errors: FailedJobRecord['errors'] }> = [
  {
    weight: 40,
    errors: [
      { component: 'pilot', code: 1305, diag: 'Failed to execute payload:Athena crashed: std::bad_alloc' },
      { component: 'transform', code: 65, diag: '' },
    ],
  },
  {
    weight: 25,
    errors: [
      {
        component: 'pilot',
        code: 1235,
        diag: 'Payload exceeded maximum allowed memory:maxPSS=5981234 kB > 4194304 kB',
      },
      { component: 'transform', code: 137, diag: '' },
    ],
  },
  {
    weight: 15,
    errors: [{ component: 'pilot', code: 1099, diag: 'Failed to stage-in file:rucio download failed: SourceNotFound' }],
  },
  { weight: 10, errors: [{ component: 'pilot', code: 1213, diag: 'Reached batch system time limit' }] },
  {
    weight: 6,
    errors: [{ component: 'pilot', code: 1151, diag: 'File transfer timed out during stage-in: timeout=6842 seconds' }],
  },
  {
    weight: 4,
    errors: [
      { component: 'executor', code: 68, diag: 'Input file not found by transform' },
      { component: 'taskbuffer', code: 300, diag: 'The worker was finished while the job was starting' },
    ],
  },
];

const FAKE_SITES = [
  'ANALY_MWT2_UCORE',
  'BNL_PROD_MCORE',
  'UKI-NORTHGRID-MAN-HEP',
  'CERN-PROD',
  'DESY-HH',
  'IN2P3-CC',
  'TOKYO',
  'TRIUMF',
];

/**
 * `count` failed jobs of a task, modified evenly through [from, to), deterministic for a seed:
 * the error mix of FAILURE_MIX (or `errors` for every job), spread over a few sites.
 */
export function generatedFailures(options: {
  jeditaskid: number;
  from: number;
  to: number;
  count: number;
  seed?: number;
  errors?: FailedJobRecord['errors'];
  sites?: readonly string[];
}): FailedJobRecord[] {
  const { count, from, to } = options;
  const seed = options.seed ?? options.jeditaskid;
  const sites = options.sites ?? FAKE_SITES;
  const total = FAILURE_MIX.reduce((n, m) => n + m.weight, 0);
  const records: FailedJobRecord[] = [];
  for (let i = 0; i < count; i++) {
    const r = ((i + 1) * 2654435761 + seed * 40503) % total;
    let acc = 0;
    const mix = FAILURE_MIX.find((m) => (acc += m.weight) > r) ?? FAILURE_MIX[0]!;
    const t = from + Math.floor(((to - from) * i) / Math.max(1, count));
    records.push({
      pandaid: 6_900_000_000 + (options.jeditaskid % 100_000) * 10_000 + i,
      jobstatus: 'failed',
      computingsite: sites[(i * 7 + seed) % Math.min(sites.length, 3 + (seed % 4))]!,
      modificationtime: new Date(t).toISOString().slice(0, 19).replace('T', ' '),
      errors: options.errors ?? mix.errors,
    });
  }
  return records;
}

/** A copy of the demo task under another id and status, with the given failure records. */
export function watchedTask(
  jeditaskid: number,
  options: { status?: string; failures?: FailedJobRecord[]; taskname?: string } = {},
): MonitorTask {
  const demo = demoMonitorData().tasks.get(DEMO_TASK_ID)!;
  const status = options.status ?? 'running';
  return {
    ...demo,
    task: {
      ...demo.task,
      jeditaskid,
      status,
      superstatus: status,
      taskname: options.taskname ?? `user.tester.digest.${jeditaskid}/`,
    },
    failures: options.failures ?? [],
  };
}

const line = (
  level: PilotLogLine['level'],
  logger: string,
  fn: string,
  message: string,
  thread = 'job_monitor',
): PilotLogLine => ({ level, thread, logger, fn, message });

/** A failed job record as the monitor serves it, with these fields changed and this log tarball. */
export function failedJob(
  pandaid: number,
  extra: Record<string, unknown>,
  logs?: Record<string, LogFileSource>,
  logError?: string,
): MonitorJob {
  return {
    job: {
      pandaid,
      jeditaskid: 46249501,
      jobname: `user.tester.${pandaid}`,
      jobstatus: 'failed',
      jobsubstatus: '',
      computingsite: 'UKI-SCOTGRID-GLASGOW_CEPH',
      cloud: 'UK',
      atlasrelease: 'Atlas-25.2.66',
      transformation: 'Athena',
      attemptnr: 1,
      maxattempt: 3,
      piloterrorcode: 0,
      piloterrordiag: '',
      exeerrorcode: 0,
      exeerrordiag: '',
      taskbuffererrorcode: 0,
      taskbuffererrordiag: '',
      ddmerrorcode: 0,
      ddmerrordiag: '',
      transexitcode: '0',
      starttime: '2025-09-08 05:50:33',
      endtime: '2025-09-08 10:32:20',
      duration: '4:41:47',
      commandtopilot: '',
      ...extra,
    },
    files: [],
    logs,
    logError,
  };
}

function pilotLog(pandaid: number, cause: PilotLogLine[], noise = 3000, seed = 5): LogFileSource {
  return textLog(
    pilotLogText({
      pandaid,
      site: 'UKI-SCOTGRID-GLASGOW_CEPH',
      taskid: 46249501,
      start: '2025-09-08 05:50:33',
      noise,
      seed,
      cause,
    }),
  );
}

/** A pilot log of about `bytes` bytes, generated while it is sent, with the cause near the end. */
function hugeLog(bytes: number): LogFileSource {
  const cause =
    formatPilotLine(
      new Date('2025-09-08T10:32:18.402Z'),
      line(
        'WARNING',
        'pilot.control.data',
        '_stage_in',
        'File transfer timed out during stage-in: mc23_13p6TeV:AOD.41234567._000777.pool.root.1',
        'copytool_in',
      ),
    ) + '\n';
  const tailNoise = [...noiseLines(30, new Date('2025-09-08T10:32:19Z'), 99)].join('');
  const fixed = cause.length + tailNoise.length;
  return {
    size: bytes,
    async *content() {
      let sent = 0;
      const target = bytes - fixed;
      let block: string[] = [];
      let blockBytes = 0;
      let seed = 1;
      while (sent < target) {
        for (const l of noiseLines(4000, new Date('2025-09-08T05:50:33Z'), seed++)) {
          if (sent + blockBytes + l.length > target) break;
          block.push(l);
          blockBytes += l.length;
        }
        if (blockBytes === 0) break;
        yield block.join('');
        sent += blockBytes;
        block = [];
        blockBytes = 0;
      }
      // Pad to the exact size promised in Content-Length.
      if (sent < target) yield '#'.repeat(target - sent - 1) + '\n';
      yield cause;
      yield tailNoise;
    },
  };
}

/** Sends a few lines, then nothing more (a transfer that stalls mid-way). */
async function* stalled(): AsyncGenerator<string> {
  yield [...noiseLines(3000, new Date('2025-09-08T05:50:33Z'), 8)].join(''); // > 256 KiB: flushed at once
  await new Promise((resolve) => setTimeout(resolve, 60_000).unref());
}

function longLineLog(): LogFileSource {
  const head = [...noiseLines(500, new Date('2025-09-08T05:50:33Z'), 3)].join('');
  const long =
    formatPilotLine(
      new Date('2025-09-08T06:00:00Z'),
      line('DEBUG', 'pilot.util.auxiliary', 'dump_env', 'environment: '),
    ).replace(/\n$/, '') +
    'X'.repeat(10 * 1024 * 1024) +
    '\n';
  const cause =
    formatPilotLine(
      new Date('2025-09-08T10:32:18.402Z'),
      line(
        'WARNING',
        'pilot.copytool.rucio',
        'handle_rucio_error',
        'TimeoutException: Timeout reached, timeout=6842 seconds',
        'copytool_in',
      ),
    ) + '\n';
  const tail = [...noiseLines(50, new Date('2025-09-08T10:32:19Z'), 4)].join('');
  const parts = [head, long, cause, tail];
  return { size: parts.reduce((n, p) => n + Buffer.byteLength(p), 0), content: () => parts };
}

function secretsLog(pandaid: number): LogFileSource {
  return pilotLog(pandaid, [
    line(
      'DEBUG',
      'pilot.util.https',
      'request',
      `sending request with header Authorization: Bearer ${SEEDED_SECRETS[0]}`,
      'copytool_in',
    ),
    line(
      'DEBUG',
      'pilot.util.auxiliary',
      'show_env',
      `OPENAI_API_KEY=${SEEDED_SECRETS[1]} RUCIO_PASSWORD=${SEEDED_SECRETS[2]}`,
      'copytool_in',
    ),
    line(
      'DEBUG',
      'pilot.util.proxy',
      'dump_proxy',
      `proxy: -----BEGIN RSA PRIVATE KEY----- ${SEEDED_SECRETS[3]} -----END RSA PRIVATE KEY-----`,
      'copytool_in',
    ),
    line('DEBUG', 'pilot.util.https', 'request', `Cookie: ${SEEDED_SECRETS[4]}; csrftoken=abc`, 'copytool_in'),
    line('DEBUG', 'pilot.util.auxiliary', 'show_env', `SLACK_BOT_TOKEN=${SEEDED_SECRETS[5]}`, 'copytool_in'),
    line(
      'INFO',
      'pilot.copytool.rucio',
      'handle_rucio_error',
      'TimeoutException: Timeout reached, timeout=6842 seconds',
      'copytool_in',
    ),
    line(
      'WARNING',
      'pilot.control.data',
      '_stage_in',
      'File transfer timed out during stage-in: data24_13p6TeV:data24_13p6TeV.00483532.physics_Main.daq.RAW._lb0450._SFO-16._0001.data',
      'copytool_in',
    ),
    line(
      'ERROR',
      'pilot.control.job',
      'job_monitor_tasks',
      'pilot error 1151 set: File transfer timed out during stage-in',
    ),
  ]);
}

function tracebackStdout(): string {
  return (
    [
      'Py:Athena            INFO using release [Athena-25.0.30]',
      ...Array.from(
        { length: 300 },
        (_, i) =>
          `AthenaEventLoopMgr   INFO   ===>>>  done processing event #${4567000 + i}, run #456714 ${i + 1} events processed so far  <<<===`,
      ),
      'Traceback (most recent call last):',
      '  File "/srv/workDir/myJobOptions.py", line 88, in <module>',
      '    calib = loadCalibration(flags.Input.RunNumber[0])',
      '  File "/srv/workDir/calib.py", line 12, in loadCalibration',
      '    return json.load(open(f"calib_{run}.json"))',
      "FileNotFoundError: [Errno 2] No such file or directory: 'calib_456714.json'",
      'runAthena: payload exited with code 65',
    ].join('\n') + '\n'
  );
}

function curatedJobs(): Array<[number, MonitorJob]> {
  const out: Array<[number, MonitorJob]> = [];
  for (const g of CURATED_GUIDANCE) {
    if (g.component !== 'pilot' || g.log !== 'pilotlog.txt') continue;
    const pandaid = curatedJobId(g.code);
    const cause = g.patterns.map((p) => p.example);
    const head = pilotLogText({
      pandaid,
      site: 'MWT2',
      taskid: 46249501,
      start: '2025-09-08 05:50:33',
      noise: 2000,
      seed: g.code,
      cause: [],
    });
    const tail = [...noiseLines(200, new Date('2025-09-08T12:00:00Z'), g.code + 7)].join('');
    out.push([
      pandaid,
      failedJob(
        pandaid,
        { piloterrorcode: g.code, piloterrordiag: '', computingsite: 'MWT2' },
        { 'pilotlog.txt': textLog(head + cause.join('\n') + '\n' + tail) },
      ),
    ]);
  }
  return out;
}

export function fakeMonitorData(options: FakeOptions = {}): MonitorData {
  const data = demoMonitorData();
  const add = (id: number, job: MonitorJob) => data.jobs.set(id, job);
  const stageIn = {
    piloterrorcode: 1151,
    piloterrordiag:
      'File transfer timed out during stage-in: data24_13p6TeV:data24_13p6TeV.00483532.physics_Main.daq.RAW._lb0450._SFO-16._0001.data timeout=6842 seconds',
  };
  add(
    FAULT.noLogs,
    failedJob(FAULT.noLogs, {
      piloterrorcode: 1099,
      piloterrordiag: 'Failed to stage-in file:rucio download failed: SourceNotFound',
    }),
  );
  add(
    FAULT.logNotYet,
    failedJob(FAULT.logNotYet, stageIn, {
      'pilotlog.txt': textLog('listed, but the file browser answers 404 for it\n'),
    }),
  );
  add(FAULT.emptyLog, failedJob(FAULT.emptyLog, stageIn, { 'pilotlog.txt': textLog('') }));
  add(
    FAULT.binaryLog,
    failedJob(FAULT.binaryLog, stageIn, {
      'pilotlog.txt': {
        size: 4096,
        content: () => [Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))],
      },
    }),
  );
  add(
    FAULT.hugeLog,
    failedJob(
      FAULT.hugeLog,
      {
        piloterrorcode: 1151,
        piloterrordiag: 'File transfer timed out during stage-in: mc23_13p6TeV:AOD.41234567._000777.pool.root.1',
      },
      { 'pilotlog.txt': hugeLog(options.hugeLogBytes ?? 200 * 1024 * 1024) },
    ),
  );
  add(FAULT.longLine, failedJob(FAULT.longLine, stageIn, { 'pilotlog.txt': longLineLog() }));
  add(FAULT.secrets, failedJob(FAULT.secrets, stageIn, { 'pilotlog.txt': secretsLog(FAULT.secrets) }));
  add(FAULT.listing400, failedJob(FAULT.listing400, stageIn, {}));
  add(
    FAULT.stalledLog,
    failedJob(FAULT.stalledLog, stageIn, { 'pilotlog.txt': { size: 10_000_000, content: stalled } }),
  );
  for (const id of [FAULT.trickleLog, FAULT.redirectLoopLog])
    add(
      id,
      failedJob(id, stageIn, {
        'pilotlog.txt': { size: 10_000_000, content: () => ['served by the fault handler\n'] },
      }),
    );
  add(
    FAULT.retryAfterShort,
    failedJob(FAULT.retryAfterShort, stageIn, { 'pilotlog.txt': secretsLog(FAULT.retryAfterShort) }),
  );
  add(FAULT.retryAfterLong, failedJob(FAULT.retryAfterLong, stageIn));
  add(
    FAULT.traceback1305,
    failedJob(
      FAULT.traceback1305,
      {
        piloterrorcode: 1305,
        piloterrordiag: 'Failed to execute payload:',
        exeerrorcode: 65,
        exeerrordiag: 'Non-zero return code from Athena (65)',
        transexitcode: '65',
      },
      {
        'pilotlog.txt': pilotLog(FAULT.traceback1305, [
          line('ERROR', 'pilot.control.payload', 'run_realtimelog', 'pilot error 1305 set: Failed to execute payload'),
        ]),
        'payload.stdout': textLog(tracebackStdout()),
        'payload.stderr': textLog(''),
      },
    ),
  );
  add(
    FAULT.stderrOnly1305,
    failedJob(
      FAULT.stderrOnly1305,
      { piloterrorcode: 1305, piloterrordiag: 'Failed to execute payload:', transexitcode: '139' },
      {
        'pilotlog.txt': pilotLog(FAULT.stderrOnly1305, [
          line('ERROR', 'pilot.control.payload', 'run_realtimelog', 'pilot error 1305 set: Failed to execute payload'),
        ]),
        'payload.stdout': textLog(
          Array.from({ length: 120 }, (_, i) => `TopLepAnalysis       INFO processed ${(i + 1) * 500} events`).join(
            '\n',
          ) + '\n',
        ),
        'payload.stderr': textLog(
          [
            '',
            ' *** Break *** segmentation violation',
            '#5  0x00007f2b1c3e4a10 in TopLepAnalysis::execute() at TopLepAnalysis.cxx:214',
            'runAnalysis.sh: line 42: 61822 Segmentation fault      (core dumped) root -l -b -q run.C',
          ].join('\n') + '\n',
        ),
      },
    ),
  );
  add(
    FAULT.reassigned,
    failedJob(
      FAULT.reassigned,
      {
        jobstatus: 'closed',
        jobsubstatus: 'toreassign',
        taskbuffererrorcode: 100,
        taskbuffererrordiag: 'reassigned by JEDI',
        commandtopilot: 'tobekilled',
      },
      { 'pilotlog.txt': pilotLog(FAULT.reassigned, []) },
    ),
  );
  add(
    FAULT.finished,
    failedJob(
      FAULT.finished,
      {
        jobstatus: 'finished',
        endtime: '2025-09-08 08:01:10',
        durationsec: 7837,
        duration: '2:10:37',
        cpuconsumptiontime: 7402,
        actualcorecount: 1,
        maxpss: 2_104_332,
        minramcount: 2000,
        minramunit: 'MB',
      },
      { 'pilotlog.txt': pilotLog(FAULT.finished, []) },
    ),
  );
  for (const [id, job] of curatedJobs()) add(id, job);

  const demoTask = data.tasks.get(DEMO_TASK_ID)!;
  for (const [status, id] of Object.entries(TASK_STATES)) {
    const finishedAll = status === 'done';
    data.tasks.set(id, {
      ...demoTask,
      task: {
        ...demoTask.task,
        jeditaskid: id,
        status,
        superstatus: status,
        errordialog:
          status === 'broken' ? 'Input dataset mc23_13p6TeV:missing.DAOD_PHYS.e0000 is empty or not found' : '',
        nfilesfinished: finishedAll ? 39_000 : 38_300,
        nfilesfailed: finishedAll ? 0 : 700,
        dsinfo: {
          ...(demoTask.task.dsinfo as object),
          nfilesfinished: finishedAll ? 39_000 : 38_300,
          nfilesfailed: finishedAll ? 0 : 700,
        },
      },
      jobStateCount: finishedAll ? { finished: 1560 } : { finished: 1532, failed: 212, running: 0 },
      errsByCount: finishedAll ? [] : demoTask.errsByCount,
    });
  }
  data.tasks.set(TASK_FAULT.errorsDown, { ...demoTask, task: { ...demoTask.task, jeditaskid: TASK_FAULT.errorsDown } });
  data.jobs.set(
    FAULT.holding,
    failedJob(
      FAULT.holding,
      {
        jobstatus: 'holding',
        piloterrorcode: 1137,
        piloterrordiag: 'Failed to stage-out file:rucio upload to MWT2_UC_SCRATCHDISK failed',
      },
      {
        'pilotlog.txt': pilotLog(FAULT.holding, [
          line(
            'WARNING',
            'pilot.copytool.rucio',
            'copy_out',
            'gfal-copy error: No space left on device (MWT2_UC_SCRATCHDISK)',
            'copytool_out',
          ),
          line(
            'ERROR',
            'pilot.control.data',
            '_stage_out',
            'failed to stage-out: StageOutFailure: rucio upload to MWT2_UC_SCRATCHDISK failed',
            'copytool_out',
          ),
        ]),
      },
    ),
  );
  return data;
}

export async function startFakeBigPanda(options: FakeOptions = {}): Promise<FakeBigPanda> {
  const retryAfterSeen = new Set<number>();
  const hold: ServerResponse[] = [];
  const data = fakeMonitorData(options);
  for (const task of options.tasks ?? []) data.tasks.set(Number(task.task.jeditaskid), task);
  for (const [pandaid, job] of options.jobs ?? []) data.jobs.set(pandaid, job);
  let down = false;
  let inFlight = 0;
  let inFlightMax = 0;
  const foreignUrl = (options.foreignUrl ?? 'http://127.0.0.1:9').replace(/\/+$/, '');
  const running = await startMonitorServer(data, async (req, res, url) => {
    inFlight++;
    inFlightMax = Math.max(inFlightMax, inFlight);
    res.once('close', () => inFlight--);
    if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
    if (down) {
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end('<h1>503 Service Unavailable</h1>');
      return true;
    }
    const pandaid = Number(url.searchParams.get('pandaid'));
    const taskFromPath = /^\/task\/(\d+)/.exec(url.pathname);
    if (pandaid === FAULT.server500 || (taskFromPath && Number(taskFromPath[1]) === TASK_FAULT.server500)) {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end('<h1>Server Error (500)</h1>');
      return true;
    }
    if (url.pathname.startsWith('/errors') && Number(url.searchParams.get('jeditaskid')) === TASK_FAULT.errorsDown) {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end('<h1>Server Error (500)</h1>');
      return true;
    }
    if (pandaid === FAULT.hang) {
      hold.push(res); // never answered: the client's timeout has to end it
      return true;
    }
    if (url.pathname === '/job') {
      switch (pandaid) {
        case FAULT.resetJob:
          req.socket.destroy();
          return true;
        case FAULT.garbageJob:
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 7919 + 13) % 256)));
          return true;
        case FAULT.wrongShapeJob:
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ job: 'not an object', files: 3, dsfiles: { nested: [null] } }));
          return true;
        case FAULT.hugeJson: {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write(`{"job": {"pandaid": ${FAULT.hugeJson}, "jobstatus": "failed", "piloterrordiag": "`);
          const block = 'x'.repeat(64 * 1024);
          for (let sent = 0; sent < (options.hugeJsonBytes ?? 8 * 1024 * 1024) && !res.destroyed; sent += block.length)
            res.write(block);
          res.end('"}, "files": []}');
          return true;
        }
        case FAULT.redirectLoopJob:
          res.writeHead(302, { location: `/job?pandaid=${pandaid}&json` });
          res.end();
          return true;
        case FAULT.foreignRedirectJob:
          res.writeHead(302, { location: `${foreignUrl}/job?pandaid=${pandaid}&json` });
          res.end();
          return true;
      }
    }
    if (
      url.pathname.startsWith('/filebrowser') &&
      url.searchParams.has('filename') &&
      pandaid === FAULT.redirectLoopLog
    ) {
      res.writeHead(302, {
        location: `/filebrowser/?pandaid=${pandaid}&json&filename=${encodeURIComponent(url.searchParams.get('filename') ?? '')}`,
      });
      res.end();
      return true;
    }
    if (url.pathname.startsWith(`/media/filebrowser/${FAULT.trickleLog}/`)) {
      // Written line by line (the shared log writer batches 256 KiB): a transfer that never finishes.
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': 10_000_000 });
      res.write([...noiseLines(200, new Date('2025-09-08T05:50:33Z'), 11)].join(''));
      let n = 0;
      const timer = setInterval(
        () =>
          res.write(
            `2025-09-08 06:00:00,000 | INFO     | job_monitor         | pilot.util.monitoring    | still_alive          | trickle line ${++n}\n`,
          ),
        options.trickleEveryMs ?? 100,
      );
      res.once('close', () => clearInterval(timer));
      return true;
    }
    if (url.pathname === '/job' && pandaid === FAULT.malformed) {
      const body = `{"job": {"pandaid": ${FAULT.malformed}, "jobstatus": "failed", "computingsite": "MWT2", "piloterrorc`;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
      return true;
    }
    if (url.pathname === '/job' && pandaid === FAULT.retryAfterShort && !retryAfterSeen.has(pandaid)) {
      retryAfterSeen.add(pandaid);
      res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': '1' });
      res.end('Too many requests');
      return true;
    }
    if (pandaid === FAULT.retryAfterLong) {
      res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': '3600' });
      res.end('Too many requests');
      return true;
    }
    if (url.pathname.startsWith('/filebrowser') && pandaid === FAULT.logNotYet && url.searchParams.has('filename')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'No such log file found in tarball' }));
      return true;
    }
    if (url.pathname.startsWith('/filebrowser') && pandaid === FAULT.listing400) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'rucio: Failed to download log tarball: DID not found' }));
      return true;
    }
    return false;
  });
  return {
    ...running,
    data,
    setDown: (value: boolean) => {
      down = value;
    },
    get inFlightMax() {
      return inFlightMax;
    },
    resetInFlight: () => {
      inFlightMax = inFlight;
    },
    count: (prefix: string) => running.requests.filter((r) => r.startsWith(prefix)).length,
    close: async () => {
      for (const res of hold) res.destroy();
      await running.close();
    },
  };
}

/** Run as a script: `npx tsx test/fakes/bigpanda.ts` prints the URL for manual CLI checks. */
if (process.argv[1]?.endsWith('bigpanda.ts')) {
  const fake = await startFakeBigPanda();
  process.stdout.write(`${fake.url}\n`);
}
