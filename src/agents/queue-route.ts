import type { Turn } from '../core/turn.ts';
import type { Route } from './agent.ts';

/**
 * The selection agent's rules for the queue agent: questions about PanDA queues and sites (their
 * status and limits, lists and counts from CRIC) and "is PanDA up?". selectFast asks this after
 * the job and task id rules. Queue and site names are learned from every CRIC snapshot this
 * process (or, through the store, another process) has read; before any snapshot, name-shaped
 * words next to queue words still route.
 */

const knownNames = new Map<string, string>();

/** Registers the queue and site names of a snapshot, so routing recognises them. */
export function rememberQueueNames(names: Iterable<string>): void {
  for (const name of names) if (name && name.length >= 2) knownNames.set(name.toLowerCase(), name);
}

/** Forgets every learned name (tests). */
export function forgetQueueNames(): void {
  knownNames.clear();
}

/** Plain words that are also queue names ("ALL"): a name only right after "queue"/"site". */
const COMMON_WORDS = new Set([
  'all',
  'any',
  'none',
  'test',
  'site',
  'sites',
  'cloud',
  'grid',
  'queue',
  'queues',
  'panda',
  'online',
  'offline',
]);
/** Upper-case words in PanDA questions that are not queue names. */
const NOT_NAMES = new Set([
  'PANDA',
  'CRIC',
  'JEDI',
  'ATLAS',
  'MCORE',
  'SCORE',
  'UCORE',
  'GRID',
  'HPC',
  'GPU',
  'CPU',
  'RSS',
  'PSS',
  'RAM',
  'MB',
  'GB',
  'GIB',
  'MIB',
  'HS06',
  'WAN',
  'LAN',
  'DDM',
  'RSE',
  'ARC',
  'PFT',
  'AFT',
  'DAOD',
  'AOD',
  'EVNT',
  'HITS',
  'ROOT',
  'JSON',
  'API',
  'URL',
  'HTTP',
  'HTTPS',
  'SSL',
  'VOMS',
  'IAM',
  'SSO',
  'UTC',
  'FAQ',
  'HOWTO',
  'THE',
  'AND',
  'WHY',
  'WHAT',
  'HOW',
  'IS',
  'ARE',
  'HIMEM',
  'VHIMEM',
  'LOMEM',
  'BNLX',
]);

const TOKEN = /[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9]|[A-Za-z]/g;

/** Queue or site names of the snapshot that the text mentions, as CRIC spells them. */
export function knownNamesIn(text: string): string[] {
  return namesIn(text, (lower) => knownNames.get(lower));
}

/**
 * Names the text mentions, by a lookup from a lowercase word to the name as CRIC spells it. Plain
 * names (BNL, TOKYO, pic) count only as written (or in capitals), never as a common word.
 */
export function namesIn(text: string, lookup: (lower: string) => string | undefined): string[] {
  const found: string[] = [];
  const tokens = text.match(TOKEN) ?? [];
  tokens.forEach((token, i) => {
    const name = lookup(token.toLowerCase());
    if (!name || found.includes(name)) return;
    const distinctive = /[-_0-9]/.test(name);
    const afterQueueWord = i > 0 && /^(?:queues?|sites?)$/i.test(tokens[i - 1]!);
    if (!distinctive) {
      const writtenAsName = token === name || token === name.toUpperCase();
      if (!writtenAsName || token.length < 3) return;
      if (COMMON_WORDS.has(token.toLowerCase()) && !afterQueueWord) return;
    }
    found.push(name);
  });
  return found;
}

/** Words shaped like queue or site names (AGLT2, CERN-PROD, ANALY_FOO) that are not known names. */
export function nameShapedWords(
  text: string,
  isKnown: (lower: string) => boolean = (l) => knownNames.has(l),
): string[] {
  return (text.match(TOKEN) ?? []).filter((t) => {
    if (isKnown(t.toLowerCase())) return false;
    if (/^[A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)+$/.test(t) && /[A-Z]/.test(t)) return true;
    return /^[A-Z][A-Z0-9]{2,}$/.test(t) && !NOT_NAMES.has(t) && !/^T[0-3]D?$/.test(t);
  });
}

export const HEALTH_QUESTION = [
  /\b(?:is|are)\s+(?:the\s+)?(?:panda|pandaserver|bigpanda|panda\s?mon(?:itor)?|(?:the\s+)?monitor)(?:\s+(?:server|service|services|system))?\s+(?:up|down|alive|ok|okay|fine|working|running|available|reachable|responding|online|offline|dead|broken)\b/i,
  /\b(?:panda|pandaserver|panda\s+server|bigpanda)\s+(?:status|health|down|outage|alive)\b/i,
  /\b(?:status|health)\s+of\s+(?:the\s+)?(?:panda|pandaserver|bigpanda)(?:\s+(?:server|monitor|services?))?\s*\??$/i,
  /\bisalive\b/i,
  /\bcan you reach (?:the\s+)?(?:panda|pandaserver|bigpanda|monitor)/i,
];

export function isHealthQuestion(question: string): boolean {
  return HEALTH_QUESTION.some((re) => re.test(question));
}

/** A question about a memory or time kill without a job id ("why was my job killed for memory?"). */
export function isLimitKillQuestion(question: string): boolean {
  return LIMIT_KILL.some((re) => re.test(question));
}

const QUEUE_WORDS =
  /\b(?:queues?|pandaqueues?|sites?|brokeroff|broker\s*off|copy\s*tools?|copytools?|mcore|score|ucore|multi[- ]?core|single[- ]?core|corecount|cores?|maxtime|max\s*time|walltime|wall\s*time|maxrss|max\s*rss|memory|ram|limits?|cric|online|offline|status|state|accept(?:s|ing)?|input\s*size|maxinputsize|work\s*dir(?:ectory)?|maxwdir|resource\s*type|cloud)\b/i;
const LIST_WORDS = /\b(?:which|what|list|show|give me|all|any|how many|count|number of|are there|per|by)\b/i;
/** The queue noun is what the question asks for: "which queues …", "list the sites …", "how many queues …", "queues in US". */
const LIST_SHAPE =
  /\b(?:which|what|list|show|give me|all|any|how many|count|number of|are there)\s+(?:(?:the|of|all|my|panda|atlas|\w+)\s+){0,2}(?:queues|sites|pandaqueues|queue)\b|^(?:queues|sites)\b|\b(?:queues|sites)\s+(?:are|in|at|of|with|that|which|per|by)\b/i;
const QUEUE_NOUNS = /\b(?:queues|sites|pandaqueues|panda\s+queues|queue)\b/i;
const LIST_FILTERS =
  /\b(?:online|offline|brokeroff|broker\s*off|test|in\s+test|hpc|gpu|grid|cloud|clouds|rucio|xrdcp|gfalcopy|gfal|objectstore|object\s*store|copy\s*tools?|copytools?|mcore|score|ucore|multi[- ]?core|single[- ]?core|analysis|production|unified|tier\s*[0-3]|T[0-3]D?|status(?:es)?|country|countries)\b/i;
/** "what is a queue?", "what does brokeroff mean?": concepts, for the documents agent. */
const CONCEPT =
  /^(?:what(?:'s| is| are| does| do)|whats|define|explain|meaning of)\s+(?:a|an|the)?\s*(?:panda\s+)?(?:queues?|sites?|cric|copytools?|brokeroff|mcore|score|ucore|multi-?core(?:\s+jobs?)?|corecount|maxrss|maxtime)\b(?:\s+(?:mean|means|in\s+panda|in\s+cric|status))?\s*\??$/i;
const LIMIT_KILL = [
  /\b(?:killed|kill(?:s|ing)?|failed|fail(?:s|ing)?|exceed(?:ed|s|ing)?|ran out|runs? out|out of|over)\b[^.?!]*\b(?:memory|ram|rss|pss|walltime|wall\s*time|time\s*limit)\b/i,
  /\b(?:memory|walltime|wall\s*time)\b[^.?!]*\b(?:asked|requested|enough|limit was|limits? (?:is|are))\b/i,
];

function lastAnswerAgent(history: readonly Turn[]): string | undefined {
  for (let i = history.length - 1; i >= 0; i--) if (history[i]!.role === 'assistant') return history[i]!.agent;
  return undefined;
}

const route = (reason: string, confident = true) => ({ route: { agent: 'queue', reason } as Route, confident });

/**
 * The queue route for a question, or undefined when it is not about queues, sites or PanDA's
 * health. `focused`: the thread is about a job or task, where a plain "why did it fail at MWT2?"
 * stays with that job.
 */
export function queueRoute(
  question: string,
  history: readonly Turn[],
  focused = false,
): { route: Route; confident: boolean } | undefined {
  const q = question.trim();
  if (isHealthQuestion(q)) return route('PanDA server health question');
  if (CONCEPT.test(q)) return undefined;
  const names = knownNamesIn(q);
  const queueWords = QUEUE_WORDS.test(q);
  const words = q.split(/\s+/).filter(Boolean).length;
  if (names.length && queueWords) return route('known queue or site name with queue words');
  // "AGLT2?", "status of BNL", "tell me about MWT2": the name is the whole question.
  if (names.length && !focused && words - names.length <= 3) return route('known queue or site name');
  const shaped = nameShapedWords(q);
  if (
    shaped.length &&
    queueWords &&
    /\b(?:queues?|sites?|brokeroff|copytools?|mcore|score|multi[- ]?core|maxtime|walltime|maxrss|memory limit|cores|accept(?:s|ing)?)\b/i.test(
      q,
    )
  ) {
    return route('queue words with a queue-shaped name', false);
  }
  // "what formula weighs sites for analysis jobs?" is a documentation question: a list names the
  // queues it wants ("which queues", "sites in cloud US"), not just a noun somewhere in it.
  if (
    QUEUE_NOUNS.test(q) &&
    (LIST_WORDS.test(q) || /^(?:queues|sites)\b/i.test(q)) &&
    LIST_FILTERS.test(q) &&
    LIST_SHAPE.test(q)
  )
    return route('queue list or count question');
  // "which are brokeroff?", "list the copytools": not "what is the default of X for a copytool?".
  if (/\b(?:brokeroff|copytools?)\b/i.test(q) && /\b(?:which|list|show|how many|count|all|any)\b/i.test(q))
    return route('queue list question');
  if (!focused && isLimitKillQuestion(q) && !/\b(?:how (?:do|can|should) (?:i|we)|how to)\b/i.test(q))
    return route('memory or time limit question without a job id', false);
  if (
    lastAnswerAgent(history) === 'queue' &&
    words <= 8 &&
    (names.length || shaped.length || queueWords || /^(?:and|what about|how about)\b/i.test(q))
  ) {
    return route('follow-up to a queue answer');
  }
  return undefined;
}
