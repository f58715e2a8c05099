import { wordRegex, withPlurals } from '../util/word-pattern.ts';

/** The systems and services of PanDA and ATLAS distributed computing. */
const PANDA_SYSTEMS = [
  'panda',
  'bigpanda',
  'jedi',
  'harvester',
  'rucio',
  'cric',
  'atlas',
  'wlcg',
  'grid',
  'wms',
  'idds',
  'hpo',
  'monitor',
  'cvmfs',
  'singularity',
  'apptainer',
  'athena',
  'brokerage',
  'reaper',
  'judge',
  'storage',
  'proxy',
  'voms',
  'x509',
  'oidc',
  'iam',
];
/** The things users handle, named in the singular. */
const PANDA_THINGS = [
  'pilot',
  'job',
  'task',
  'site',
  'queue',
  'dataset',
  'container',
  'file',
  'replica',
  'error',
  'payload',
  'log',
  'transform',
  'scout',
  'attempt',
  'worker node',
  'workflow',
  'rse',
  'did',
  'scope',
  'heartbeat',
  'core',
  'event',
  'share',
  'rule',
  'daemon',
  'token',
  'secret',
  'checkpoint',
  'copytool',
  'lfn',
  'output',
  'input',
  'jobset',
];
/** What happens to jobs and what they are given: "stage-in", "retried", "walltime", "quota". */
const PANDA_PROCESS_WORDS = [
  'stagein',
  'stage-in',
  'stage in',
  'stageout',
  'stage-out',
  'stage out',
  'retry',
  'retried',
  'retries',
  'production',
  'analysis',
  'build job',
  'run job',
  'walltime',
  'memory',
  'cpu',
  'priority',
  'priorities',
  'lifetime',
  'quota',
  'tarball',
  'sandbox',
  'exhausted',
  'looping',
  'merge',
];
/** The user's command-line tools. */
const PANDA_CLIENT_TOOLS = ['prun', 'pathena', 'pbook', 'phpo', 'pchain', 'panda-client'];
/** Fields of the monitor's job and task records, as users paste them. */
const MONITOR_FIELDS = [
  'jeditaskid',
  'pandaid',
  'computingsite',
  'piloterrorcode',
  'exeerrorcode',
  'transexitcode',
  'superstatus',
  'jobstatus',
];

/**
 * Words that make a message a PanDA one: the systems, the things users handle, the tools. Used to
 * tell a documentation question the router may answer without a model from one a model (or the
 * documents agent's "not covered") should judge, and to keep suggested follow-ups on topic.
 */
export const PANDA_WORDS = wordRegex(
  [...PANDA_SYSTEMS, ...withPlurals(PANDA_THINGS), ...PANDA_PROCESS_WORDS, ...PANDA_CLIENT_TOOLS, ...MONITOR_FIELDS],
  { gap: 'one space' },
);
