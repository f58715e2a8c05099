/**
 * Full-size monitor records for the demo: a job row with every PandaJob column and the fields the
 * monitor computes (bigpanda-job-fields.json), file rows with every Filestable4 column and the
 * computed ones, a JEDI task row with its computed fields, task parameters as prun sends them and
 * dataset rows as the task page returns them. Values are realistic and deterministic, so the demo,
 * the tests and the prompt-size benchmark see records of the size the real monitor serves.
 */

type Row = Record<string, unknown>;

/** Small deterministic hash → hex, for GUIDs and checksums. */
function hex(seed: string, length: number): string {
  let h = 2166136261;
  let out = '';
  for (let round = 0; out.length < length; round++) {
    for (const c of `${seed}:${round}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, length);
}

function guid(seed: string): string {
  const h = hex(seed, 32).toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function seconds(a: string, b: string): number {
  return Math.round((Date.parse(b.replace(' ', 'T') + 'Z') - Date.parse(a.replace(' ', 'T') + 'Z')) / 1000);
}

function hms(total: number): string {
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}

/** The fields a caller must give; every other column gets a realistic value derived from them. */
export interface JobBasics {
  pandaid: number;
  jeditaskid: number;
  jobstatus: string;
  jobname: string;
  computingsite: string;
  computingelement: string;
  modificationhost: string;
  creationtime: string;
  starttime: string | null;
  endtime: string | null;
  modificationtime: string;
  prodsourcelabel: 'user' | 'managed';
  produsername: string;
  transformation: string;
  atlasrelease: string;
  cmtconfig: string;
  processingtype: string;
}

/**
 * A `/job?pandaid=N&json` job dict: all PandaJob columns plus the computed fields (category,
 * errorinfo, duration, cpuefficiency …). `extra` overrides any of them.
 */
export function jobRow(basics: JobBasics, extra: Row = {}): Row {
  const user = basics.prodsourcelabel === 'user';
  const end = basics.endtime ?? basics.modificationtime;
  const durationsec = basics.starttime ? seconds(basics.starttime, end) : 0;
  const waittimesec = basics.starttime
    ? seconds(basics.creationtime, basics.starttime)
    : seconds(basics.creationtime, basics.modificationtime);
  const cores = Number(extra.actualcorecount ?? extra.corecount ?? 1);
  const cpu = Number(extra.cpuconsumptiontime ?? Math.round(durationsec * cores * 0.86));
  const maxpss = Number(extra.maxpss ?? 2_104_332);
  const site = basics.computingsite;
  const jobsetid = user ? 40_118 + (basics.jeditaskid % 97) : null;
  const wn = basics.modificationhost.includes('@') ? basics.modificationhost.split('@')[1] : basics.modificationhost;
  const row: Row = {
    pandaid: basics.pandaid,
    jobdefinitionid: user ? 2_198_765 + (basics.jeditaskid % 1000) : 0,
    schedulerid: 'harvester-CERN_central_A',
    pilotid:
      `https://aipanda${160 + (basics.pandaid % 30)}.cern.ch/condor_logs/pilotlogs/${site}/` +
      `grid.${basics.pandaid % 100000}.out|PR|PICARD|3.11.5.1|`,
    creationtime: basics.creationtime,
    creationhost: `aipanda0${40 + (basics.jeditaskid % 9)}.cern.ch`,
    modificationtime: basics.modificationtime,
    modificationhost: basics.modificationhost,
    atlasrelease: basics.atlasrelease,
    transformation: basics.transformation,
    homepackage: user
      ? basics.atlasrelease.replace('-', '/')
      : `AthGeneration/${basics.atlasrelease.replace(/^Atlas-/, '')}`,
    prodserieslabel: 'pandatest',
    prodsourcelabel: basics.prodsourcelabel,
    produserid: user
      ? `/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=mkowalsk/CN=812345/CN=${basics.produsername}`
      : '/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=atlpilo1/CN=614260/CN=Robot: ATLAS Pilot1',
    gshare: user ? 'User Analysis' : 'Evgen',
    assignedpriority: user ? 1000 : 880,
    currentpriority: user ? 1000 : 880,
    attemptnr: 1,
    maxattempt: user ? 3 : 4,
    jobstatus: basics.jobstatus,
    jobname: basics.jobname,
    maxcpucount: user ? 0 : 172_800,
    maxcpuunit: 'HS06sPerEvent',
    maxdiskcount: user ? 14_336 : 5_000,
    maxdiskunit: 'MB',
    ipconnectivity: 'yes',
    minramcount: 2000,
    minramunit: 'MB',
    starttime: basics.starttime,
    endtime: basics.endtime,
    cpuconsumptiontime: cpu,
    cpuconsumptionunit: 's+HS06',
    commandtopilot: '',
    transexitcode: basics.jobstatus === 'running' ? '' : '0',
    piloterrorcode: 0,
    piloterrordiag: '',
    exeerrorcode: 0,
    exeerrordiag: '',
    superrorcode: 0,
    superrordiag: '',
    ddmerrorcode: 0,
    ddmerrordiag: '',
    brokerageerrorcode: 0,
    brokerageerrordiag: '',
    jobdispatchererrorcode: 0,
    jobdispatchererrordiag: '',
    taskbuffererrorcode: 0,
    taskbuffererrordiag: '',
    computingsite: site,
    computingelement: basics.computingelement,
    proddblock: '',
    dispatchdblock: user
      ? `panda.${basics.jeditaskid}.09.08.GEN.${hex(`${basics.pandaid}dis`, 8)}_dis${basics.pandaid % 1_000_000_000}`
      : '',
    destinationdblock: '',
    destinationse: user ? 'nucleus:BNL-OSG2_SCRATCHDISK' : 'nucleus:MWT2_DATADISK',
    nevents: 0,
    grid: 'OSG',
    cloud: 'US',
    cpuconversion: null,
    sourcesite: '',
    destinationsite: '',
    transfertype: '',
    taskid: basics.jeditaskid,
    cmtconfig: basics.cmtconfig,
    statechangetime: basics.endtime ?? basics.starttime ?? basics.modificationtime,
    proddbupdatetime: basics.modificationtime,
    lockedby: 'jedi',
    relocationflag: 1,
    jobexecutionid: 0,
    vo: 'atlas',
    pilottiming: basics.starttime
      ? [
          14 + (basics.pandaid % 40),
          41 + (basics.pandaid % 17),
          Math.max(1, durationsec - 120),
          3 + (basics.pandaid % 9),
          18 + (basics.pandaid % 31),
        ].join('|')
      : '',
    workinggroup: user ? '' : 'AP_MCGN',
    processingtype: basics.processingtype,
    produsername: basics.produsername,
    ninputfiles: null,
    countrygroup: user ? 'pl' : '',
    batchid: `${8_100_000 + (basics.pandaid % 900_000)}.0`,
    parentid: null,
    specialhandling: user ? 'ddm:rucio,hc:DE,sj' : 'ddm:rucio',
    jobsetid,
    corecount: 1,
    ninputdatafiles: 0,
    inputfiletype: '',
    inputfileproject: '',
    inputfilebytes: 0,
    noutputdatafiles: 1,
    outputfilebytes: 0,
    outputfiletype: user ? 'tree' : 'EVNT',
    jobmetrics: basics.starttime
      ? `coreCount=${cores} nEvents=${Number(extra.nevents ?? 0)} dbTime=0.91 dbData=1102843 ` +
        `workDirSize=${210_000_000 + (basics.pandaid % 90_000_000)} ` +
        `totalSize=${1_800_000_000 + (basics.pandaid % 700_000_000)} cpuArch=x86-64-v3 ` +
        `pilotPid=${30_000 + (basics.pandaid % 20_000)}`
      : '',
    workqueue_id: user ? 17 : 1,
    jeditaskid: basics.jeditaskid,
    actualcorecount: basics.starttime ? cores : null,
    reqid: user ? null : 58_231,
    nucleus: user ? 'BNL-OSG2' : 'MWT2',
    jobsubstatus: '',
    hs06: 10 * cores,
    maxrss: Math.round(maxpss * 1.035),
    maxvmem: Math.round(maxpss * 1.13),
    maxswap: 0,
    maxpss,
    avgrss: Math.round(maxpss * 0.74),
    avgvmem: Math.round(maxpss * 0.83),
    avgswap: 0,
    avgpss: Math.round(maxpss * 0.71),
    maxwalltime: user ? 86_400 : 172_800,
    resourcetype: cores > 1 ? 'MCORE' : 'SCORE',
    failedattempt: 0,
    totrchar: 3_412_004_118 + (basics.pandaid % 1_000_000),
    totwchar: 402_118_557 + (basics.pandaid % 1_000_000),
    totrbytes: 2_981_441_536 + (basics.pandaid % 1_000_000),
    totwbytes: 388_870_144 + (basics.pandaid % 1_000_000),
    raterchar: 2_537_115,
    ratewchar: 299_008,
    raterbytes: 2_216_871,
    ratewbytes: 289_152,
    diskio: 2505,
    memoryleak: 1207,
    memoryleakx2: 88,
    container_name: user ? '' : 'atlas/athena:23.6.34',
    hs06sec: durationsec * 10 * cores,
    eventservice: 'ordinary',
    job_label: user ? 'user' : 'managed',
    meancorecount: null,
    gco2_regional: Math.round(durationsec * cores * 0.0031),
    gco2_global: Math.round(durationsec * cores * 0.0052),
    cpu_architecture_level: 'x86-64-v3',
    // Computed by the monitor.
    category: 'run',
    error_desc: '',
    transformerrordiag: '',
    jobinfo: '',
    homecloud: 'US',
    processor_type: 'CPU',
    wn,
    durationsec,
    durationmin: Math.round(durationsec / 60),
    duration: hms(durationsec),
    waittimesec,
    waittime: hms(waittimesec),
    priorityrange: user ? '1000:1099' : '800:899',
    jobsetrange:
      jobsetid === null ? '' : `${Math.floor(jobsetid / 100) * 100}:${Math.floor(jobsetid / 100) * 100 + 99}`,
    maxpssgbpercore: Math.round((maxpss / 1024 / 1024 / cores) * 100) / 100,
    cpuefficiency: durationsec > 0 ? Math.round((100 * cpu) / durationsec / cores) : 0,
  };
  return { ...row, ...extra };
}

/** The job parameters of a prun job (the command the pilot runs), as the job page shows them. */
export function prunJobParameters(pandaid: number, taskid: number, inputs: readonly string[], output: string): string {
  return [
    '-j "" --sourceURL https://aipanda048.cern.ch:25443',
    `-r ./ -p "runAnalysis.sh%20%25IN" -l ${`user.mkowalsk.${taskid}.${hex(`${pandaid}lib`, 6)}.lib.tgz`}`,
    `-o "{'tree.root': '${output}'}"`,
    `-i "[${inputs.map((f) => `'${f}'`).join(', ')}]"`,
    '--useAthenaPackages --useCMake --cmtConfig x86_64-el9-gcc13-opt --writeInputToTxt IN:input.txt --inputGUIDs',
    `"[${inputs.map((f) => `'${guid(f)}'`).join(', ')}]"`,
  ].join(' ');
}

/** A `/job` files entry: all Filestable4 columns plus the fields the monitor adds. */
export function fileRow(
  job: Row,
  file: {
    lfn: string;
    type: 'input' | 'output' | 'log';
    dataset: string;
    scope: string;
    fsize: number;
    status: string;
    datasetid: number;
    fileid: number;
  },
): Row {
  const ddm = String(job.destinationse ?? '').replace(/^nucleus:/, '');
  return {
    row_id: 94_000_000_000 + (file.fileid % 1_000_000_000),
    pandaid: job.pandaid,
    modificationtime: job.modificationtime,
    guid: guid(file.lfn),
    lfn: file.lfn,
    type: file.type,
    dataset: file.dataset,
    status: file.status,
    proddblock: file.type === 'input' ? file.dataset : '',
    proddblocktoken: '',
    dispatchdblock: file.type === 'input' ? String(job.dispatchdblock ?? '') : '',
    dispatchdblocktoken: file.type === 'input' ? 'ATLASDATADISK' : '',
    destinationdblock:
      file.type === 'input' ? '' : `${file.dataset}.${job.jeditaskid}_sub${Number(job.pandaid) % 10_000_000_000}`,
    destinationdblocktoken: file.type === 'input' ? '' : 'ddd:BNL-OSG2_SCRATCHDISK',
    destinationse: file.type === 'input' ? '' : ddm,
    fsize: file.fsize,
    md5sum: '',
    checksum: `ad:${hex(`${file.lfn}ad`, 8)}`,
    scope: file.scope,
    jeditaskid: job.jeditaskid,
    datasetid: file.datasetid,
    fileid: file.fileid,
    attemptnr: file.type === 'input' ? Number(job.attemptnr ?? 1) - 1 : 0,
    fsizemb: Math.round((file.fsize / 1_000_000) * 100) / 100,
    creationdate: job.creationtime,
    datasetname: file.dataset,
    ruciodatasetname: file.dataset,
    oldfiletable: 0,
    destinationdblock_vis: file.type === 'input' ? '' : `${file.dataset}.${job.jeditaskid}_sub…`,
    ddmsite: file.type === 'input' ? 'BNL-OSG2_DATADISK' : ddm,
    dsttoken: file.type === 'input' ? '' : 'SCRATCHDISK',
    maxattempt: job.maxattempt,
  };
}

/** Input file names of a DAOD dataset: `DAOD_PHYS.<tid>._<6 digits>.pool.root.1`. */
export function inputFiles(tid: number, first: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `DAOD_PHYS.${tid}._${String(first + i).padStart(6, '0')}.pool.root.1`);
}

/** Size in bytes of a DAOD_PHYS file (1.1–2.6 GB), deterministic per name. */
export function daodSize(lfn: string): number {
  return 1_100_000_000 + (parseInt(hex(lfn, 7), 16) % 1_500_000_000);
}

/** A JEDI task row with the computed fields of `/task/N/?json`. */
export function taskRow(
  basics: Row & {
    jeditaskid: number;
    taskname: string;
    status: string;
    username: string;
    creationdate: string;
    modificationtime: string;
  },
  dsinfo: Row,
): Row {
  const user = basics.prodsourcelabel !== 'managed';
  const row: Row = {
    jeditaskid: basics.jeditaskid,
    taskname: basics.taskname,
    status: basics.status,
    username: basics.username,
    creationdate: basics.creationdate,
    reqid: user ? null : 58_231,
    oldstatus: '',
    cloud: 'WORLD',
    site: '',
    starttime: null,
    endtime: null,
    frozentime: null,
    prodsourcelabel: user ? 'user' : 'managed',
    workinggroup: '',
    vo: 'atlas',
    corecount: 1,
    tasktype: user ? 'anal' : 'prod',
    processingtype: '',
    taskpriority: user ? 1000 : 880,
    currentpriority: user ? 1000 : 880,
    architecture: '@el9#x86_64',
    transuses: '',
    transhome: '',
    transpath: user ? 'http://pandaserver.cern.ch:25080/trf/user/runGen-00-00-02' : 'Gen_tf.py',
    lockedby: 'aipanda048.cern.ch_jedi_5120',
    lockedtime: basics.modificationtime,
    termcondition: '',
    splitrule: user ? 'NG=1,NI=1,NF=25,EC=1,FL=1,RE=1,LS=1,XA=1,HO=1,SM=1,UC=1,AT=4' : 'NE=10000,AF=1,RE=1,ZM=1',
    walltime: 0,
    walltimeunit: '',
    outdiskcount: 0,
    outdiskunit: 'kB',
    workdiskcount: 0,
    workdiskunit: 'MB',
    ramcount: 2000,
    ramunit: 'MBPerCore',
    iointensity: null,
    iointensityunit: '',
    workqueue_id: user ? 17 : 1,
    progress: 0,
    failurerate: 0,
    errordialog: '',
    countrygroup: user ? 'pl' : '',
    parent_tid: basics.jeditaskid,
    eventservice: 'ordinary',
    ticketid: '',
    ticketsystemtype: '',
    statechangetime: basics.modificationtime,
    superstatus: basics.status,
    campaign: user ? '' : 'MC23:MC23e',
    gshare: user ? 'User Analysis' : 'Evgen',
    cputime: user ? null : 612,
    cputimeunit: 'HS06sPerEvent',
    basewalltime: null,
    cpuefficiency: 0.9,
    nucleus: user ? '' : 'MWT2',
    ttcrequested: null,
    ttcpredicted: null,
    ttcpredictiondate: null,
    resquetime: null,
    requesttype: user ? '' : 'MC',
    resourcetype: user ? 'SCORE' : 'MCORE',
    usejumbo: 'D',
    diskio: null,
    diskiounit: 'kBPerS',
    container_name: '',
    attemptnr: 0,
    memoryleakcore: 412,
    memoryleakx2: 61,
    framework: '',
    // Computed by the monitor.
    dsinfo,
    ...dsinfo,
    totev: dsinfo.neventsTot,
    totevproc: dsinfo.neventsUsedTot,
    totevhs06: null,
    totevoutput: dsinfo.neventsOutput,
    age: 1,
    duration_days: 0.5,
    campaign_cut: user ? '' : 'MC23',
    owner: basics.workinggroup || basics.username,
    category: user ? 'user analysis' : 'production',
    deftreqid: user ? null : 58_231,
    dc_info: null,
    rating: -1,
    rating_feedback: '',
    idds_info: null,
    kibanatimefrom: basics.creationdate.replace(' ', 'T'),
    kibanatimeto: 'now',
    destination: '',
    totevprochs06: null,
    failedevprochs06: null,
    currenttotevhs06: null,
    brokerage: 'JEDI',
  };
  return { ...row, ...basics };
}

/** A dataset as the task page returns it (its field list, plus scope and the input's percentage). */
export function datasetRow(
  task: number,
  d: Row & { datasetid: number; datasetname: string; type: string; nfiles: number; nfilesfinished: number },
): Row {
  return {
    jeditaskid: task,
    datasetid: d.datasetid,
    datasetname: d.datasetname,
    containername: d.containername ?? `${d.datasetname}/`,
    type: d.type,
    masterid: null,
    streamname: d.streamname,
    status: d.status ?? 'running',
    storagetoken: d.type === 'input' || d.type === 'pseudo_input' ? '' : 'dst:BNL-OSG2_SCRATCHDISK',
    nevents: d.nevents ?? 0,
    neventsused: d.neventsused ?? 0,
    neventstobeused: d.neventstobeused ?? d.nevents ?? 0,
    nfiles: d.nfiles,
    nfilesfinished: d.nfilesfinished,
    nfilesfailed: d.nfilesfailed ?? 0,
    nfilesmissing: d.nfilesmissing ?? 0,
    nfileswaiting: d.nfileswaiting ?? 0,
    scope: String(d.datasetname).split(/[.:]/)[0] === 'user' ? 'user.mkowalsk' : String(d.datasetname).split(/[.:]/)[0],
    ...(d.type === 'input' ? { percentfinished: Math.floor((100 * d.nfilesfinished) / Math.max(1, d.nfiles)) } : {}),
    ...(d.type === 'input' || d.type === 'pseudo_input' ? {} : { rse: 'BNL-OSG2_SCRATCHDISK' }),
  };
}
