import type { FailedJobRecord, LogFileSource, MonitorData, MonitorJob, MonitorTask } from './monitor-server.ts';
import { formatPilotLine, noiseLines, pilotPreamble, type PilotLogLine } from './pilot-log.ts';
import { daodSize, datasetRow, fileRow, inputFiles, jobRow, prunJobParameters, taskRow } from './records.ts';

/**
 * The demo monitor's data: one running user-analysis task and three jobs, full-size records with
 * field names and values as BigPanDA serves them (every job column, every file of the job, the whole
 * task row, its parameters and datasets; timestamps `YYYY-MM-DD HH:MM:SS`, UTC).
 */

export const DEMO_TASK_ID = 46374283;
export const DEMO_RUNNING_JOB = 6798544333;
export const DEMO_MEMORY_JOB = 6800730400;
export const DEMO_PAYLOAD_JOB = 6802258254;

const USER = 'Maria Kowalska';
const TASK_NAME = 'user.mkowalsk.DAOD_PHYS.ttbar_lep.mc23e.v3/';

/** A log file held as text (demo logs are small: a few hundred kB). */
export function textLog(text: string): LogFileSource {
  const bytes = Buffer.from(text, 'utf8');
  return { size: bytes.length, content: () => [bytes] };
}

/** Pilot log lines with `count` noise lines, then `cause` lines, then `after` lines, as text. */
export function pilotLogText(opts: {
  pandaid: number;
  site: string;
  taskid: number;
  start: string;
  noise: number;
  seed: number;
  cause: PilotLogLine[];
  after?: PilotLogLine[];
}): string {
  const start = new Date(opts.start.replace(' ', 'T') + 'Z');
  const parts: string[] = pilotPreamble(start, opts);
  let last = start.getTime() + 2000;
  for (const line of noiseLines(opts.noise, new Date(last), opts.seed)) {
    parts.push(line);
  }
  last += opts.noise * 400;
  for (const [i, line] of opts.cause.entries()) parts.push(formatPilotLine(new Date(last + i * 137), line) + '\n');
  last += opts.cause.length * 137;
  for (const line of noiseLines(40, new Date(last), opts.seed + 1)) parts.push(line);
  last += 40 * 400;
  for (const [i, line] of (opts.after ?? []).entries())
    parts.push(formatPilotLine(new Date(last + i * 211), line) + '\n');
  return parts.join('');
}

const pilotEnd = (code: number, diag: string): PilotLogLine[] => [
  {
    level: 'INFO',
    thread: 'job_monitor',
    logger: 'pilot.control.job',
    fn: 'job_monitor_tasks',
    message: `setting job state to failed (piloterrorcode=${code})`,
  },
  {
    level: 'INFO',
    thread: 'data_out',
    logger: 'pilot.control.data',
    fn: '_stage_out',
    message: 'log file log.46374283._001234.job.log.tgz.1 transferred to MWT2_UC_SCRATCHDISK',
  },
  {
    level: 'INFO',
    thread: 'MainThread',
    logger: 'pilot.control.job',
    fn: 'send_state',
    message: `sent final job state: failed, pilotErrorCode=${code}, pilotErrorDiag="${diag.slice(0, 80)}"`,
  },
  {
    level: 'INFO',
    thread: 'MainThread',
    logger: 'pilot.util.harvester',
    fn: 'publish_job_report',
    message: 'job report written to jobReport.json',
  },
  { level: 'INFO', thread: 'MainThread', logger: 'pilot', fn: 'main', message: 'pilot has finished (exit code 0)' },
];

function memoryJobLog(): string {
  const memoryRise: PilotLogLine[] = [3_912_004, 4_050_318, 4_187_220, 4_630_772, 5_402_931, 6_291_456].map((pss) => ({
    level: 'INFO',
    thread: 'job_monitor',
    logger: 'pilot.user.atlas.memory',
    fn: 'get_memory_values',
    message: `current maxPSS=${pss} kB (limit 4194304 kB)`,
  }));
  return pilotLogText({
    pandaid: DEMO_MEMORY_JOB,
    site: 'BNL_PROD_MCORE',
    taskid: DEMO_TASK_ID,
    start: '2025-09-08 02:11:04',
    noise: 4200,
    seed: 11,
    cause: [
      ...memoryRise,
      {
        level: 'WARNING',
        thread: 'job_monitor',
        logger: 'pilot.user.atlas.memory',
        fn: 'memory_usage',
        message: 'job has exceeded the memory limit 6291456 kB > 4194304 kB (subresource=SCORE, corecount=1)',
      },
      {
        level: 'WARNING',
        thread: 'job_monitor',
        logger: 'pilot.control.payload',
        fn: 'kill_processes',
        message: 'payload was killed by the memory monitor (SIGKILL sent to pid 41237)',
      },
      {
        level: 'ERROR',
        thread: 'job_monitor',
        logger: 'pilot.control.job',
        fn: 'job_monitor_tasks',
        message: 'pilot error 1235 set: Payload exceeded maximum allowed memory',
      },
    ],
    after: pilotEnd(1235, 'Payload exceeded maximum allowed memory:maxPSS=6291456 kB > 4194304 kB'),
  });
}

function payloadStdout1305(): string {
  const lines: string[] = [
    'Py:Athena            INFO using release [AnalysisBase-25.2.41] [x86_64-el9-gcc13-opt] [2025-08-21T2101/e1f3c2a]',
    'ApplicationMgr       INFO Application Manager Configured successfully',
    'EventSelector        INFO reading input files: 1 DAOD_PHYS file from mc23_13p6TeV:mc23_13p6TeV.601229.PhPy8EG_A14_ttbar_hdamp258p75_SingleLep.deriv.DAOD_PHYS.e8514_s4162_r15540_p6266',
  ];
  for (let i = 1; i <= 40; i++)
    lines.push(
      `TopLepAnalysis       INFO processed ${i * 2500} events (${(i * 2.7).toFixed(1)} s/1000 evts, RSS ${2100 + i * 37} MB)`,
    );
  lines.push(
    'TopLepAnalysis       INFO booking histograms for 212 systematic variations',
    'Info in <TROOT::ProcessLine>: compiling TopLepAnalysis/scripts/reweight.C+ with ACLiC',
    "IncrementalExecutor::executeFunction: symbol '_ZN8Reweight4evalEPKdi' unresolved while linking [cling interface function]!",
    'Error in <TRint::HandleTermInput()>: std::bad_alloc caught: std::bad_alloc',
    'cling JIT session error: Cannot allocate memory',
  );
  return lines.join('\n') + '\n';
}

function payloadStderr1305(): string {
  return (
    [
      'Warning in <TClass::Init>: no dictionary for class xAOD::TrigDecision_v1 is available',
      'Warning in <TInterpreter::ReadRootmapFile>: class  xAOD::TruthParticle_v1 found in libxAODTruth.so  is already in libxAODTruthDict.so',
      "terminate called after throwing an instance of 'std::bad_alloc'",
      '  what():  std::bad_alloc',
      'runAnalysis.sh: line 42: 52117 Aborted                 (core dumped) root -l -b -q run.C',
    ].join('\n') + '\n'
  );
}

function payloadJobLog(): string {
  return pilotLogText({
    pandaid: DEMO_PAYLOAD_JOB,
    site: 'ANALY_MWT2_UCORE',
    taskid: DEMO_TASK_ID,
    start: '2025-09-08 04:40:12',
    noise: 2600,
    seed: 21,
    cause: [
      {
        level: 'INFO',
        thread: 'payload',
        logger: 'pilot.control.payloads.generic',
        fn: 'wait_graceful',
        message: 'payload process 52080 has finished with exit code 134',
      },
      {
        level: 'WARNING',
        thread: 'payload',
        logger: 'pilot.control.payload',
        fn: 'perform_initial_payload_error_analysis',
        message: 'payload failed: exit code 134 (see payload.stdout and payload.stderr)',
      },
      {
        level: 'ERROR',
        thread: 'payload',
        logger: 'pilot.control.payload',
        fn: 'run_realtimelog',
        message: 'pilot error 1305 set: Failed to execute payload:cling JIT session error: Cannot allocate memory',
      },
    ],
    after: pilotEnd(1305, 'Failed to execute payload:cling JIT session error: Cannot allocate memory'),
  });
}

const EVGEN_OUTPUT = 'mc23_13p6TeV.801169.Py8EG_A14NNPDF23LO_jj_JZ4.evgen.EVNT.e8557_tid46371905_00';
const EVGEN_LOG = 'mc23_13p6TeV.801169.Py8EG_A14NNPDF23LO_jj_JZ4.evgen.log.e8557_tid46371905_00';

function runningJob(): MonitorJob {
  const job = jobRow(
    {
      pandaid: DEMO_RUNNING_JOB,
      jeditaskid: 46371905,
      jobstatus: 'running',
      jobname: 'mc23_13p6TeV.801169.Py8EG_A14NNPDF23LO_jj_JZ4.evgen.e8557_tid46371905_00_004521',
      computingsite: 'MWT2',
      computingelement: 'MWT2-CE-03',
      modificationhost: 'aipanda182@uct2-c412.mwt2.org',
      creationtime: '2025-09-08 01:02:44',
      starttime: '2025-09-08 06:14:51',
      endtime: null,
      modificationtime: '2025-09-08 09:37:10',
      prodsourcelabel: 'managed',
      produsername: 'atlas-dpd-production',
      transformation: 'Gen_tf.py',
      atlasrelease: 'Atlas-23.6.34',
      cmtconfig: 'x86_64-centos7-gcc11-opt',
      processingtype: 'evgen',
    },
    {
      statechangetime: '2025-09-08 06:14:51',
      attemptnr: 4,
      maxattempt: 4,
      failedattempt: 3,
      corecount: 8,
      actualcorecount: 8,
      cpuconsumptiontime: 79210,
      durationsec: 12139,
      duration: '3:22:19',
      minramcount: 16000,
      minramunit: 'MB',
      maxpss: 9781230,
      maxrss: 10412880,
      maxwalltime: 86400,
      nevents: 10000,
      ninputdatafiles: 0,
      transexitcode: '',
      currentpriority: 880,
      resourcetype: 'MCORE',
      destinationdblock: `${EVGEN_OUTPUT}_sub0412299871`,
      jobparameters:
        '--randomSeed=4521 --ecmEnergy=13600.0 --firstEvent=45200001 --jobConfig=801169 --outputEVNTFile=EVNT.46371905._004521.pool.root.1 --maxEvents=10000 --AMIConfig=e8557 --runNumber=801169 --postInclude="default:PyJobTransforms/UseFrontier.py" --preExec="from AthenaConfiguration.AllConfigFlags import initConfigFlags; flags=initConfigFlags(); flags.Exec.FPE=-2" --multithreaded=True --athenaopts="--threads=8" --imf=True --athenaMPMergeTargetSize="ALL:0"',
    },
  );
  return {
    job,
    files: [
      fileRow(job, {
        lfn: 'EVNT.46371905._004521.pool.root.1',
        type: 'output',
        status: 'unknown',
        fsize: 0,
        dataset: EVGEN_OUTPUT,
        scope: 'mc23_13p6TeV',
        datasetid: 901_100_002,
        fileid: 40_112_004_521,
      }),
      fileRow(job, {
        lfn: 'log.46371905._004521.job.log.tgz.4',
        type: 'log',
        status: 'unknown',
        fsize: 0,
        dataset: EVGEN_LOG,
        scope: 'mc23_13p6TeV',
        datasetid: 901_100_003,
        fileid: 40_112_104_521,
      }),
    ],
    logError: 'The job is still running: its log tarball does not exist yet',
  };
}

const INPUT_TID = 37621455;
const INPUT_DATASET = `mc23_13p6TeV:mc23_13p6TeV.601229.PhPy8EG_A14_ttbar_hdamp258p75_SingleLep.deriv.DAOD_PHYS.e8514_s4162_r15540_p6266_tid${INPUT_TID}_00`;
const OUTPUT_DATASET = 'user.mkowalsk.DAOD_PHYS.ttbar_lep.mc23e.v3_tree.root';
const LOG_DATASET = 'user.mkowalsk.DAOD_PHYS.ttbar_lep.mc23e.v3.log';
/** Input files per job of the demo task (prun --nFilesPerJob 1: 4875 files, 1112 finished with 1112 finished jobs). */
const FILES_PER_JOB = 1;

function userJob(pandaid: number, extra: Record<string, unknown>, logs: Record<string, LogFileSource>): MonitorJob {
  const endtime = String(extra.endtime);
  const job = jobRow(
    {
      pandaid,
      jeditaskid: DEMO_TASK_ID,
      jobstatus: String(extra.jobstatus),
      jobname: TASK_NAME.replace(/\/$/, '') + `.${pandaid}`,
      computingsite: String(extra.computingsite),
      computingelement: String(extra.computingelement),
      modificationhost: String(extra.modificationhost),
      creationtime: '2025-09-07 21:40:02',
      starttime: String(extra.starttime),
      endtime,
      modificationtime: endtime,
      prodsourcelabel: 'user',
      produsername: USER,
      transformation: 'runGen-00-00-02',
      atlasrelease: 'AnalysisBase-25.2.41',
      cmtconfig: 'x86_64-el9-gcc13-opt',
      processingtype: 'panda-client-1.5.84-jedi-run',
    },
    { maxattempt: 3, minramcount: 4000, minramunit: 'MB', currentpriority: 1000, ...extra },
  );
  // Each job of the task reads FILES_PER_JOB consecutive input files.
  const first = 1 + (pandaid % 1500) * FILES_PER_JOB;
  const inputs = inputFiles(INPUT_TID, first, FILES_PER_JOB);
  const serial = String(pandaid).slice(-6);
  const output = `user.mkowalsk.${DEMO_TASK_ID}._${serial}.tree.root`;
  const inputBytes = inputs.reduce((sum, lfn) => sum + daodSize(lfn), 0);
  Object.assign(job, {
    proddblock: INPUT_DATASET,
    destinationdblock: `${OUTPUT_DATASET}.${DEMO_TASK_ID}_sub0${serial}`,
    ninputfiles: FILES_PER_JOB,
    ninputdatafiles: FILES_PER_JOB,
    inputfiletype: 'DAOD_PHYS',
    inputfileproject: 'mc23_13p6TeV',
    inputfilebytes: inputBytes,
    jobparameters: prunJobParameters(pandaid, DEMO_TASK_ID, inputs, output),
  });
  const files = [
    ...inputs.map((lfn, i) =>
      fileRow(job, {
        lfn,
        type: 'input',
        status: 'ready',
        fsize: daodSize(lfn),
        dataset: INPUT_DATASET.split(':')[1]!,
        scope: 'mc23_13p6TeV',
        datasetid: 901_224_101,
        fileid: 39_112_000_000 + first + i,
      }),
    ),
    fileRow(job, {
      lfn: output,
      type: 'output',
      status: 'failed',
      fsize: 0,
      dataset: OUTPUT_DATASET,
      scope: 'user.mkowalsk',
      datasetid: 901_224_102,
      fileid: 39_200_000_000 + Number(serial),
    }),
    fileRow(job, {
      lfn: `user.mkowalsk.${DEMO_TASK_ID}._${serial}.log.tgz`,
      type: 'log',
      status: 'finished',
      fsize: 1_204_611,
      dataset: LOG_DATASET,
      scope: 'user.mkowalsk',
      datasetid: 901_224_103,
      fileid: 39_300_000_000 + Number(serial),
    }),
  ];
  return { job, files, logs };
}

function memoryJob(): MonitorJob {
  const log = memoryJobLog();
  return userJob(
    DEMO_MEMORY_JOB,
    {
      jobstatus: 'failed',
      computingsite: 'BNL_PROD_MCORE',
      computingelement: 'gridgk05.racf.bnl.gov',
      modificationhost: 'aipanda181@spar1221.usatlas.bnl.gov',
      starttime: '2025-09-08 02:11:04',
      endtime: '2025-09-08 02:42:51',
      attemptnr: 2,
      durationsec: 1907,
      duration: '0:31:47',
      cpuconsumptiontime: 1822,
      maxpss: 6291456,
      maxrss: 6512004,
      nevents: 0,
      piloterrorcode: 1235,
      piloterrordiag: 'Payload exceeded maximum allowed memory:maxPSS=6291456 kB > 4194304 kB',
      exeerrorcode: 0,
      exeerrordiag: '',
      transexitcode: '137',
      errorinfo: 'pilot:1235 Payload exceeded maximum allowed memory:maxPSS=6291456 kB > 4194304 kB',
      error_category: 'Runtime Failures and Resource Violations',
    },
    {
      'pilotlog.txt': textLog(log),
      'payload.stdout': textLog(
        [
          'TopLepAnalysis       INFO processed 2500 events',
          'TopLepAnalysis       INFO processed 5000 events',
          'TopLepAnalysis       INFO booking histograms for 212 systematic variations',
        ].join('\n') + '\n',
      ),
      'payload.stderr': textLog(''),
      'memory_monitor_summary.json': textLog(
        '{"Max": {"pss": 6291456, "rss": 6512004, "vmem": 7100112, "swap": 0}, "Avg": {"pss": 4420018}}\n',
      ),
    },
  );
}

function payloadJob(): MonitorJob {
  return userJob(
    DEMO_PAYLOAD_JOB,
    {
      jobstatus: 'failed',
      computingsite: 'ANALY_MWT2_UCORE',
      computingelement: 'MWT2-CE-01',
      modificationhost: 'aipanda183@uct2-c207.mwt2.org',
      starttime: '2025-09-08 04:40:12',
      endtime: '2025-09-08 05:02:37',
      attemptnr: 1,
      durationsec: 1345,
      duration: '0:22:25',
      cpuconsumptiontime: 1290,
      maxpss: 3902118,
      maxrss: 4011776,
      nevents: 100000,
      piloterrorcode: 1305,
      piloterrordiag: 'Failed to execute payload:cling JIT session error: Cannot allocate memory',
      exeerrorcode: 0,
      exeerrordiag: '',
      transexitcode: '134',
      errorinfo: 'pilot:1305 Failed to execute payload:cling JIT session error: Cannot allocate memory',
      error_category: 'Runtime Failures and Resource Violations',
    },
    {
      'pilotlog.txt': textLog(payloadJobLog()),
      'payload.stdout': textLog(payloadStdout1305()),
      'payload.stderr': textLog(payloadStderr1305()),
    },
  );
}

function demoTask(): MonitorTask {
  const inputName =
    'mc23_13p6TeV:mc23_13p6TeV.601229.PhPy8EG_A14_ttbar_hdamp258p75_SingleLep.deriv.DAOD_PHYS.e8514_s4162_r15540_p6266';
  // 4875 input files of about 12500 events, one per job; 1112 jobs (and files) finished so far.
  const dsinfo = {
    nfiles: 4875,
    nfilesfinished: 1112,
    nfilesfailed: 12,
    nfilesmissing: 0,
    pctfinished: 22,
    pctfailed: 0,
    neventsTot: 60_937_500,
    neventsUsedTot: 13_900_000,
    neventsRemaining: 47_037_500,
    neventsOutput: 0,
  };
  const task = taskRow(
    {
      jeditaskid: DEMO_TASK_ID,
      taskname: TASK_NAME,
      status: 'running',
      superstatus: 'running',
      username: USER,
      workinggroup: '',
      processingtype: 'panda-client-1.5.84-jedi-run',
      prodsourcelabel: 'user',
      creationdate: '2025-09-07 21:38:55',
      starttime: '2025-09-07 21:52:10',
      modificationtime: '2025-09-08 09:40:02',
      statechangetime: '2025-09-07 22:30:41',
      ramcount: 4000,
      ramunit: 'MBPerCore',
      progress: 71,
      failurerate: 3,
      transhome: 'AnalysisBase-25.2.41',
      transuses: '',
      currentpriority: 1000,
    },
    dsinfo,
  );
  const outDs = `${OUTPUT_DATASET}/`;
  return {
    task,
    taskparams: {
      architecture: '@el9#x86_64',
      buildSpec: {
        archiveName: 'sources.8f1e2c4a-3b7d-4e61-9a0c-5d2f7b9e1a34.tar.gz',
        jobParameters: '-i ${IN} -o ${OUT} --sourceURL ${SURL} -r . --useCMake',
        prodSourceLabel: 'panda',
      },
      cliParams:
        'prun --exec "runAnalysis.sh %IN" --inDS mc23_13p6TeV.601229.PhPy8EG_A14_ttbar_hdamp258p75_SingleLep.deriv.DAOD_PHYS.e8514_s4162_r15540_p6266 --outDS user.mkowalsk.DAOD_PHYS.ttbar_lep.mc23e.v3 --outputs tree.root --nFilesPerJob 1 --memory 4000 --useAthenaPackages --writeInputToTxt IN:input.txt',
      coreCount: 1,
      cpuTimeUnit: 'HS06sPerEvent',
      dsForIN: inputName,
      excludedSite: ['ANALY_GOEGRID'],
      includedSite: null,
      jobParameters: [
        { type: 'constant', value: '-j "" --sourceURL ${SURL}' },
        { type: 'constant', value: '-r ./' },
        { type: 'constant', value: '-p "runAnalysis.sh%20%25IN"' },
        { type: 'constant', value: '-l ${LIB}' },
        {
          type: 'template',
          param_type: 'output',
          value: `-o "{'tree.root': '${OUTPUT_DATASET.replace(/\.root$/, '')}.\${SN}.tree.root'}"`,
          dataset: outDs,
          container: outDs,
          hidden: true,
        },
        {
          type: 'template',
          param_type: 'input',
          value: '-i "${IN/T}"',
          dataset: `${inputName}/`,
          exclude: '\\.log\\.tgz(\\.\\d+)*$',
          expand: true,
        },
        {
          type: 'constant',
          value: '--useAthenaPackages --useCMake --cmtConfig x86_64-el9-gcc13-opt --writeInputToTxt IN:input.txt',
        },
        { type: 'constant', value: '--inputGUIDs "${IN/G}"' },
      ],
      log: {
        type: 'template',
        param_type: 'log',
        value: `${LOG_DATASET}.$JEDITASKID._\${SN}.log.tgz`,
        dataset: `${LOG_DATASET}/`,
        container: `${LOG_DATASET}/`,
      },
      nFilesPerJob: FILES_PER_JOB,
      nMaxFilesPerJob: 200,
      noInput: false,
      osInfo: 'Linux-5.14.0-427.24.1.el9_4.x86_64-x86_64-with-glibc2.34',
      processingType: 'panda-client-1.5.84-jedi-run',
      prodSourceLabel: 'user',
      ramCount: 4000,
      ramUnit: 'MBPerCore',
      respectSplitRule: true,
      sourceURL: 'https://aipanda048.cern.ch:25443',
      taskName: TASK_NAME,
      taskPriority: 1000,
      taskType: 'anal',
      transHome: 'AnalysisBase-25.2.41',
      transPath: 'http://pandaserver.cern.ch:25080/trf/user/runGen-00-00-02',
      transUses: '',
      uniqueTaskName: true,
      userName: USER,
      vo: 'atlas',
      workingGroup: null,
      writeInputToFile: 'IN:input.txt',
    },
    datasets: [
      datasetRow(DEMO_TASK_ID, {
        datasetid: 901_224_101,
        datasetname: inputName.split(':')[1]! + `_tid${INPUT_TID}_00`,
        containername: inputName,
        type: 'input',
        streamname: 'IN',
        status: 'ready',
        nfiles: 4875,
        nfilesfinished: 1112,
        nfilesfailed: 12,
        nfilesmissing: 0,
        nfileswaiting: 3346,
        nevents: 60_937_500,
        neventsused: 13_900_000,
      }),
      datasetRow(DEMO_TASK_ID, {
        datasetid: 901_224_102,
        datasetname: OUTPUT_DATASET,
        containername: outDs,
        type: 'output',
        streamname: 'OUTPUT0',
        status: 'running',
        nfiles: 1113,
        nfilesfinished: 1112,
        nfilesfailed: 1,
      }),
      datasetRow(DEMO_TASK_ID, {
        datasetid: 901_224_103,
        datasetname: LOG_DATASET,
        containername: `${LOG_DATASET}/`,
        type: 'log',
        streamname: 'LOG0',
        status: 'running',
        nfiles: 1113,
        nfilesfinished: 1112,
        nfilesfailed: 1,
      }),
    ],
    jobStateCount: {
      defined: 0,
      assigned: 12,
      activated: 161,
      sent: 4,
      starting: 9,
      running: 212,
      holding: 3,
      transferring: 6,
      merging: 0,
      finished: 1112,
      failed: 47,
      cancelled: 0,
      closed: 2,
    },
    jobs: [
      {
        pandaid: DEMO_PAYLOAD_JOB,
        jobstatus: 'failed',
        computingsite: 'ANALY_MWT2_UCORE',
        attemptnr: 1,
        maxattempt: 3,
        piloterrorcode: 1305,
        piloterrordiag: 'Failed to execute payload:cling JIT session error: Cannot allocate memory',
        exeerrorcode: 0,
        exeerrordiag: '',
        taskbuffererrorcode: 0,
        taskbuffererrordiag: '',
        ddmerrorcode: 0,
        ddmerrordiag: '',
        transexitcode: '134',
        modificationtime: '2025-09-08 05:02:37',
        endtime: '2025-09-08 05:02:37',
      },
      {
        pandaid: DEMO_MEMORY_JOB,
        jobstatus: 'failed',
        computingsite: 'BNL_PROD_MCORE',
        attemptnr: 2,
        maxattempt: 3,
        piloterrorcode: 1235,
        piloterrordiag: 'Payload exceeded maximum allowed memory:maxPSS=6291456 kB > 4194304 kB',
        exeerrorcode: 0,
        exeerrordiag: '',
        taskbuffererrorcode: 0,
        taskbuffererrordiag: '',
        ddmerrorcode: 0,
        ddmerrordiag: '',
        transexitcode: '137',
        modificationtime: '2025-09-08 02:42:51',
        endtime: '2025-09-08 02:42:51',
      },
      {
        pandaid: 6801954117,
        jobstatus: 'closed',
        computingsite: 'UKI-NORTHGRID-MAN-HEP',
        attemptnr: 1,
        maxattempt: 3,
        piloterrorcode: 0,
        piloterrordiag: '',
        exeerrorcode: 0,
        exeerrordiag: '',
        taskbuffererrorcode: 100,
        taskbuffererrordiag: 'reassigned by JEDI',
        ddmerrorcode: 0,
        ddmerrordiag: '',
        transexitcode: '',
        modificationtime: '2025-09-08 03:15:20',
        endtime: '2025-09-08 03:15:20',
      },
    ],
    errsByCount: [
      {
        error: 'pilot:1305',
        codename: 'piloterrorcode',
        codeval: 1305,
        diag: 'Failed to execute payload:cling JIT session error: Cannot allocate memory',
        desc: '',
        cat: { name: 'Runtime Failures and Resource Violations', id: 2 },
        example_pandaid: DEMO_PAYLOAD_JOB,
        count: 29,
      },
      {
        error: 'pilot:1235',
        codename: 'piloterrorcode',
        codeval: 1235,
        diag: 'Payload exceeded maximum allowed memory',
        desc: '',
        cat: { name: 'Runtime Failures and Resource Violations', id: 2 },
        example_pandaid: DEMO_MEMORY_JOB,
        count: 14,
      },
      {
        error: 'pilot:1099',
        codename: 'piloterrorcode',
        codeval: 1099,
        diag: 'Failed to stage-in file:rucio download failed: SourceNotFound',
        desc: '',
        cat: { name: 'File and Storage Issues', id: 1 },
        example_pandaid: 6801120987,
        count: 4,
      },
      {
        error: 'taskbuffer:100',
        codename: 'taskbuffererrorcode',
        codeval: 100,
        diag: 'reassigned by JEDI',
        desc: '',
        cat: { name: 'Internal and Unknown Errors', id: 6 },
        example_pandaid: 6801954117,
        count: 2,
      },
    ],
    errsBySite: [
      { name: 'ANALY_MWT2_UCORE', toterrors: 21, toterrjobs: 21 },
      { name: 'BNL_PROD_MCORE', toterrors: 16, toterrjobs: 16 },
      { name: 'UKI-NORTHGRID-MAN-HEP', toterrors: 12, toterrjobs: 12 },
    ],
    failures: demoTaskFailures(),
  };
}

const stamp = (t: number) => new Date(t).toISOString().slice(0, 19).replace('T', ' ');

/**
 * The demo task's failed jobs behind its summary (47 failed: 29 pilot:1305, 14 pilot:1235, 4
 * pilot:1099; 2 closed by JEDI reassignment), at fixed times in the night and morning of 8 Sep 2025, with
 * the payload's exit code next to the pilot code as the monitor records it (transform:134 with the
 * cling crash, transform:137 with the memory kill).
 */
function demoTaskFailures(): FailedJobRecord[] {
  const records: FailedJobRecord[] = [];
  const at = (iso: string) => Date.parse(iso);
  const add = (
    pandaid: number,
    t: number,
    site: string,
    errors: FailedJobRecord['errors'],
    jobstatus: FailedJobRecord['jobstatus'] = 'failed',
  ) => records.push({ pandaid, jobstatus, computingsite: site, modificationtime: stamp(t), errors });
  const cling = 'Failed to execute payload:cling JIT session error: Cannot allocate memory';
  const memory = 'Payload exceeded maximum allowed memory:maxPSS=6291456 kB > 4194304 kB';
  // 1305 from 05:02 on (the documented example job first): 21 at MWT2, 8 at Manchester.
  const manchester = new Set([3, 5, 10, 17, 19, 24, 27, 28]);
  for (let i = 0; i < 29; i++) {
    const pandaid = i === 0 ? DEMO_PAYLOAD_JOB : 6801100100 + i * 37;
    const t = at('2025-09-08T05:02:37Z') + i * 9 * 60_000 + (i % 5) * 47_000;
    add(pandaid, t, manchester.has(i) ? 'UKI-NORTHGRID-MAN-HEP' : 'ANALY_MWT2_UCORE', [
      { component: 'pilot', code: 1305, diag: cling },
      { component: 'transform', code: 134, diag: '' },
    ]);
  }
  // 1235 in the small hours at BNL, where the jobs got too little memory (the example job first).
  for (let i = 0; i < 14; i++) {
    const pandaid = i === 0 ? DEMO_MEMORY_JOB : 6801200200 + i * 53;
    const t = at('2025-09-08T02:42:51Z') + i * 7 * 60_000 + (i % 3) * 13_000;
    add(pandaid, t, 'BNL_PROD_MCORE', [
      { component: 'pilot', code: 1235, diag: memory },
      { component: 'transform', code: 137, diag: '' },
    ]);
  }
  // 1099 in the morning: a replica that went missing.
  for (let i = 0; i < 4; i++) {
    add(
      i === 0 ? 6801120987 : 6801120987 + i * 11,
      at('2025-09-08T06:31:40Z') + i * 19 * 60_000,
      i < 2 ? 'BNL_PROD_MCORE' : 'UKI-NORTHGRID-MAN-HEP',
      [{ component: 'pilot', code: 1099, diag: 'Failed to stage-in file:rucio download failed: SourceNotFound' }],
    );
  }
  for (const [pandaid, iso] of [
    [6801954117, '2025-09-08T03:15:20Z'],
    [6801954301, '2025-09-08T03:16:02Z'],
  ] as const) {
    add(
      pandaid,
      at(iso),
      'UKI-NORTHGRID-MAN-HEP',
      [{ component: 'taskbuffer', code: 100, diag: 'reassigned by JEDI' }],
      'closed',
    );
  }
  return records.sort((a, b) => a.modificationtime.localeCompare(b.modificationtime));
}

/** The production evgen task of the running demo job, so follow-ups about it have an answer. */
function evgenTask(): MonitorTask {
  const id = 46371905;
  const name = 'mc23_13p6TeV.801169.Py8EG_A14NNPDF23LO_jj_JZ4.evgen.e8557';
  const dsinfo = {
    nfiles: 5000,
    nfilesfinished: 4512,
    nfilesfailed: 6,
    nfilesmissing: 0,
    pctfinished: 90,
    pctfailed: 0,
    neventsTot: 50_000_000,
    neventsUsedTot: 45_120_000,
    neventsRemaining: 4_880_000,
    neventsOutput: 45_120_000,
  };
  return {
    task: taskRow(
      {
        jeditaskid: id,
        taskname: name,
        status: 'running',
        superstatus: 'running',
        username: 'atlas-dpd-production',
        workinggroup: 'AP_MCGN',
        prodsourcelabel: 'managed',
        processingtype: 'evgen',
        creationdate: '2025-09-05 10:12:33',
        starttime: '2025-09-05 10:40:02',
        modificationtime: '2025-09-08 09:35:40',
        corecount: 8,
        ramcount: 2000,
        walltime: 2400,
        walltimeunit: 's',
        progress: 90,
        failurerate: 1,
        transhome: 'AthGeneration/23.6.34',
        transuses: 'Atlas-23.6.34',
        currentpriority: 880,
      },
      dsinfo,
    ),
    taskparams: {
      architecture: 'x86_64-centos7-gcc11-opt',
      campaign: 'MC23:MC23e',
      coreCount: 8,
      cpuTime: 612,
      cpuTimeUnit: 'HS06sPerEvent',
      ramCount: 2000,
      ramUnit: 'MBPerCore',
      nEventsPerJob: 10000,
      nFilesPerJob: 1,
      nEvents: 50_000_000,
      processingType: 'evgen',
      prodSourceLabel: 'managed',
      taskName: name,
      taskPriority: 880,
      taskType: 'prod',
      transHome: 'AthGeneration/23.6.34',
      transPath: 'Gen_tf.py',
      transUses: 'Atlas-23.6.34',
      userName: 'atlas-dpd-production',
      vo: 'atlas',
      workingGroup: 'AP_MCGN',
      jobParameters: [
        { type: 'constant', value: '--randomSeed=${RNDMSEED} --ecmEnergy=13600.0 --firstEvent=${FIRSTEVENT}' },
        { type: 'constant', value: '--jobConfig=801169 --AMIConfig=e8557 --runNumber=801169 --maxEvents=10000' },
        {
          type: 'template',
          param_type: 'output',
          value: '--outputEVNTFile=${OUTPUT0}',
          dataset: `mc23_13p6TeV.801169.Py8EG_A14NNPDF23LO_jj_JZ4.evgen.EVNT.e8557_tid${id}_00`,
        },
      ],
      log: {
        type: 'template',
        param_type: 'log',
        value: `log.${id}._\${SN}.job.log.tgz`,
        dataset: `mc23_13p6TeV.801169.Py8EG_A14NNPDF23LO_jj_JZ4.evgen.log.e8557_tid${id}_00`,
      },
    },
    datasets: [
      datasetRow(id, {
        datasetid: 901_100_001,
        datasetname: `${name}_tid${id}_00`,
        containername: `${name}/`,
        type: 'pseudo_input',
        streamname: 'IN',
        status: 'ready',
        nfiles: 5000,
        nfilesfinished: 4512,
        nfilesfailed: 6,
        nfilesmissing: 0,
        nfileswaiting: 482,
        nevents: 50_000_000,
        neventsused: 45_120_000,
      }),
      datasetRow(id, {
        datasetid: 901_100_002,
        datasetname: `mc23_13p6TeV.801169.Py8EG_A14NNPDF23LO_jj_JZ4.evgen.EVNT.e8557_tid${id}_00`,
        containername: 'mc23_13p6TeV.801169.Py8EG_A14NNPDF23LO_jj_JZ4.evgen.EVNT.e8557/',
        type: 'output',
        streamname: 'OUTPUT0',
        status: 'running',
        nfiles: 4512,
        nfilesfinished: 4512,
        nevents: 45_120_000,
      }),
    ],
    jobStateCount: { activated: 120, starting: 14, running: 356, holding: 2, finished: 4512, failed: 41, closed: 3 },
    jobs: [],
    errsByCount: [
      {
        error: 'pilot:1213',
        codename: 'piloterrorcode',
        codeval: 1213,
        diag: 'Reached batch system time limit',
        desc: '',
        cat: { name: 'Job Termination and Kill Signals', id: 4 },
        example_pandaid: 6797110034,
        count: 23,
      },
      {
        error: 'pilot:1201',
        codename: 'piloterrorcode',
        codeval: 1201,
        diag: 'Job killed by signal: SIGTERM',
        desc: '',
        cat: { name: 'Job Termination and Kill Signals', id: 4 },
        example_pandaid: 6797623381,
        count: 18,
      },
    ],
    errsBySite: [
      { name: 'MWT2', toterrors: 29, toterrjobs: 29 },
      { name: 'AGLT2', toterrors: 12, toterrjobs: 12 },
    ],
  };
}

/** Example failures of the evgen task (time limit, SIGTERM) so the task answer's follow-ups work. */
function evgenFailure(
  pandaid: number,
  code: number,
  diag: string,
  cause: PilotLogLine[],
  endtime: string,
  duration: string,
  durationsec: number,
): MonitorJob {
  const running = runningJob();
  return {
    job: {
      ...running.job,
      pandaid,
      jobname: `mc23_13p6TeV.801169.Py8EG_A14NNPDF23LO_jj_JZ4.evgen.e8557_tid46371905_00_00${pandaid % 10000}`,
      jobstatus: 'failed',
      computingsite: 'MWT2',
      attemptnr: 1,
      maxattempt: 4,
      starttime: '2025-09-06 03:10:11',
      endtime,
      modificationtime: endtime,
      duration,
      durationsec,
      cpuconsumptiontime: Math.round(durationsec * 7.1),
      piloterrorcode: code,
      piloterrordiag: diag,
      transexitcode: '143',
      errorinfo: `pilot:${code} ${diag}`,
    },
    files: running.files,
    logs: {
      'pilotlog.txt': textLog(
        pilotLogText({
          pandaid,
          site: 'MWT2',
          taskid: 46371905,
          start: '2025-09-06 03:10:11',
          noise: 2400,
          seed: pandaid % 97,
          cause,
          after: pilotEnd(code, diag),
        }),
      ),
      'payload.stdout': textLog(
        'Py:Gen_tf            INFO Generating 10000 events with Pythia8\nPy:Gen_tf            INFO 7300 events generated so far\n',
      ),
    },
  };
}

/** The demo's monitor contents; logs are built once per process, on first use. */
export function demoMonitorData(): MonitorData {
  return {
    jobs: new Map<number, MonitorJob>([
      [DEMO_RUNNING_JOB, runningJob()],
      [DEMO_MEMORY_JOB, memoryJob()],
      [DEMO_PAYLOAD_JOB, payloadJob()],
      [
        6797110034,
        evgenFailure(
          6797110034,
          1213,
          'Reached batch system time limit',
          [
            {
              level: 'WARNING',
              thread: 'job_monitor',
              logger: 'pilot.control.monitor',
              fn: 'check_max_time',
              message: 'job has exceeded the maximum time limit (86400 s) of the batch system, will abort',
            },
            {
              level: 'ERROR',
              thread: 'job_monitor',
              logger: 'pilot.control.job',
              fn: 'job_monitor_tasks',
              message: 'pilot error 1213 set: Reached batch system time limit',
            },
          ],
          '2025-09-07 03:10:40',
          '24:00:29',
          86429,
        ),
      ],
      [
        6797623381,
        evgenFailure(
          6797623381,
          1201,
          'Job killed by signal: SIGTERM',
          [
            {
              level: 'WARNING',
              thread: 'MainThread',
              logger: 'pilot.util.signal',
              fn: 'interrupt',
              message:
                "caught signal: SIGTERM in FRAME=<frame at 0x7f3a2c0, file '/srv/pilot3/pilot/control/monitor.py', line 88>",
            },
            {
              level: 'ERROR',
              thread: 'MainThread',
              logger: 'pilot.control.job',
              fn: 'job_monitor_tasks',
              message: 'pilot error 1201 set: Job killed by signal: SIGTERM',
            },
          ],
          '2025-09-06 09:55:02',
          '6:44:51',
          24291,
        ),
      ],
    ]),
    tasks: new Map<number, MonitorTask>([
      [DEMO_TASK_ID, demoTask()],
      [46371905, evgenTask()],
    ]),
  };
}
