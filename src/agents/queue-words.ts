import { anyOf, wordRegex, withPlurals } from '../util/word-pattern.ts';

/**
 * The vocabulary of questions about PanDA queues and sites (CRIC) and PanDA's health: what the
 * router (queue-route.ts) and the queue agent's reading of a question (queue-question.ts) look for.
 */

/** "mcore", "multi-core", "single core" (one space, as the rules were written: "multi\tcore" is not one). */
const CORE_KINDS = [
  'mcore',
  'score',
  'ucore',
  'multicore',
  'multi-core',
  'multi core',
  'singlecore',
  'single-core',
  'single core',
];
const COPYTOOL_WORDS = withPlurals(['copytool', 'copy tool']);
const QUEUE_STATES = [
  'brokeroff',
  'broker off',
  'online',
  'offline',
  'status',
  'state',
  'accept',
  'accepts',
  'accepting',
];
/** CRIC's limit fields and their names in prose; "max time" is "maxtime". */
const QUEUE_LIMITS = [
  'corecount',
  'core',
  'cores',
  'maxtime',
  'max time',
  'walltime',
  'wall time',
  'maxrss',
  'max rss',
  'memory',
  'ram',
  'limit',
  'limits',
  'inputsize',
  'input size',
  'maxinputsize',
  'workdir',
  'work dir',
  'workdirectory',
  'work directory',
  'maxwdir',
  'resourcetype',
  'resource type',
];

/** Words of a queue question: the nouns, statuses and limits. */
export const QUEUE_WORDS = new RegExp(
  String.raw`\b(?:${anyOf([
    ...withPlurals(['queue', 'pandaqueue', 'site']),
    'cric',
    'cloud',
    ...QUEUE_STATES,
    ...QUEUE_LIMITS,
    ...COPYTOOL_WORDS,
  ])}|${anyOf(CORE_KINDS, 'one space')})\b`,
  'i',
);

/** Words that make a word shaped like a name (AGLT2, UKI-LT2-QMUL) a queue or site, not a job field. */
export const QUEUE_SUBJECT_WORDS = wordRegex(
  [
    ...withPlurals(['queue', 'site', 'copytool']),
    'brokeroff',
    'mcore',
    'score',
    'multicore',
    'multi-core',
    'multi core',
    'maxtime',
    'walltime',
    'maxrss',
    'memory limit',
    'cores',
    'accept',
    'accepts',
    'accepting',
  ],
  { gap: 'one space' },
);

/** How a question asks for a list or a count: "which", "how many", "give me". */
const LIST_REQUESTS = [
  'which',
  'what',
  'list',
  'show',
  'give me',
  'all',
  'any',
  'how many',
  'count',
  'number of',
  'are there',
];
export const LIST_WORDS = wordRegex([...LIST_REQUESTS, 'per', 'by'], { gap: 'one space' });

/** The queue noun is what the question asks for: "which queues …", "list the sites …", "how many queues …", "queues in US". */
export const LIST_SHAPE = new RegExp(
  // Up to two words between the request and the noun: "which of the queues", "list all panda queues".
  String.raw`\b${anyOf(LIST_REQUESTS, 'one space')}\s+(?:\w+\s+){0,2}${anyOf(['queues', 'sites', 'pandaqueues', 'queue'])}\b` +
    String.raw`|^(?:queues|sites)\b` +
    String.raw`|\b(?:queues|sites)\s+${anyOf(['are', 'in', 'at', 'of', 'with', 'that', 'which', 'per', 'by'])}\b`,
  'i',
);
export const QUEUE_NOUNS = wordRegex(['queues', 'sites', 'pandaqueues', 'panda queues', 'queue']);

const STATUS_FILTERS = ['online', 'offline', 'brokeroff', 'broker off', 'test', 'in test', 'status', 'statuses'];
const RESOURCE_TYPE_FILTERS = ['hpc', 'gpu', 'grid', 'cloud', 'clouds'];
const COPYTOOL_FILTERS = ['rucio', 'xrdcp', 'gfalcopy', 'gfal', 'objectstore', 'object store', ...COPYTOOL_WORDS];
const QUEUE_TYPES = ['analysis', 'production', 'unified'];
/** "tier 2", "tier2", "T2", "T2D". */
const TIERS = [0, 1, 2, 3].flatMap((n) => [`tier${n}`, `tier ${n}`, `T${n}`, `T${n}D`]);
/** What a list of queues can be filtered by: status, resource type, copytool, cores, type, tier, country. */
export const LIST_FILTERS = new RegExp(
  String.raw`\b(?:${anyOf([
    ...STATUS_FILTERS,
    ...RESOURCE_TYPE_FILTERS,
    ...COPYTOOL_FILTERS,
    ...QUEUE_TYPES,
    ...TIERS,
    'country',
    'countries',
  ])}|${anyOf(CORE_KINDS, 'one space')})\b`,
  'i',
);

const CONCEPT_OPENINGS = [
  "what's",
  'what is',
  'what are',
  'what does',
  'what do',
  'whats',
  'define',
  'explain',
  'meaning of',
];
const QUEUE_CONCEPTS = [
  ...withPlurals(['queue', 'site', 'copytool']),
  'cric',
  'brokeroff',
  'mcore',
  'score',
  'ucore',
  'multicore',
  'multi-core',
  ...withPlurals(['multicore job', 'multi-core job']),
  'corecount',
  'maxrss',
  'maxtime',
];
/** "what is a queue?", "what does brokeroff mean?": concepts, for the documents agent. */
export const CONCEPT = new RegExp(
  String.raw`^${anyOf(CONCEPT_OPENINGS, 'one space')}\s+(?:a|an|the)?\s*(?:panda\s+)?${anyOf(QUEUE_CONCEPTS)}\b` +
    String.raw`(?:\s+${anyOf(['mean', 'means', 'in panda', 'in cric', 'status'])})?\s*\??$`,
  'i',
);

const PANDA_SERVICES = ['panda', 'pandaserver', 'bigpanda'];
/** "pandamon", "panda mon", "pandamonitor", "the monitor": at most one whitespace character inside. */
const PANDA_MONITOR = String.raw`panda\s?mon(?:itor)?|(?:the\s+)?monitor`;
const HEALTH_STATES = [
  'up',
  'down',
  'alive',
  'ok',
  'okay',
  'fine',
  'working',
  'running',
  'available',
  'reachable',
  'responding',
  'online',
  'offline',
  'dead',
  'broken',
];

export const HEALTH_QUESTION = [
  // "is PanDA up?", "is the panda monitor responding?"
  new RegExp(
    String.raw`\b(?:is|are)\s+(?:the\s+)?(?:${anyOf(PANDA_SERVICES)}|${PANDA_MONITOR})` +
      String.raw`(?:\s+${anyOf(['server', 'service', 'services', 'system'])})?\s+${anyOf(HEALTH_STATES)}\b`,
    'i',
  ),
  // "panda server status", "bigpanda outage"
  new RegExp(
    String.raw`\b${anyOf([...PANDA_SERVICES, 'panda server'])}\s+${anyOf(['status', 'health', 'down', 'outage', 'alive'])}\b`,
    'i',
  ),
  // "status of the PanDA server?": the whole question.
  new RegExp(
    String.raw`\b(?:status|health)\s+of\s+(?:the\s+)?${anyOf(PANDA_SERVICES)}` +
      String.raw`(?:\s+${anyOf(['server', 'monitor', 'service', 'services'])})?\s*\??$`,
    'i',
  ),
  /\bisalive\b/i,
  /\bcan you reach (?:the\s+)?(?:panda|pandaserver|bigpanda|monitor)/i,
];

export function isHealthQuestion(question: string): boolean {
  return HEALTH_QUESTION.some((re) => re.test(question));
}

/** "killed", "ran out of": what happened to the job. */
const KILL_WORDS = [
  'kill',
  'killed',
  'kills',
  'killing',
  'fail',
  'failed',
  'fails',
  'failing',
  'exceed',
  'exceeded',
  'exceeds',
  'exceeding',
  'ran out',
  'run out',
  'runs out',
  'out of',
  'over',
];
const LIMITED_RESOURCES = ['memory', 'ram', 'rss', 'pss', 'walltime', 'wall time', 'timelimit', 'time limit'];
/** "the memory I asked for", "my walltime limit was": what the job was given. */
const REQUEST_WORDS = ['asked', 'requested', 'enough', 'limit was', 'limit is', 'limit are', 'limits is', 'limits are'];

const LIMIT_KILL = [
  // Within one sentence: "why was my job killed for memory?", "my job ran out of walltime".
  new RegExp(String.raw`\b${anyOf(KILL_WORDS, 'one space')}\b[^.?!]*\b${anyOf(LIMITED_RESOURCES)}\b`, 'i'),
  new RegExp(
    String.raw`\b${anyOf(['memory', 'walltime', 'wall time'])}\b[^.?!]*\b${anyOf(REQUEST_WORDS, 'one space')}\b`,
    'i',
  ),
];

/** A question about a memory or time kill without a job id ("why was my job killed for memory?"). */
export function isLimitKillQuestion(question: string): boolean {
  return LIMIT_KILL.some((re) => re.test(question));
}
