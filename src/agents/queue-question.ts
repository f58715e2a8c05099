import type { Turn } from '../core/turn.ts';
import type { QueueRecord } from '../panda/cric-schema.ts';
import type { QueueFilter, QueueGroup, QueueIndex } from '../panda/queues.ts';
import { namesIn, nameShapedWords } from './queue-names.ts';
import { isLimitKillQuestion } from './queue-words.ts';

/**
 * The queue agent's reading of a question against a CRIC snapshot: which queue, site, cloud or
 * country it names, which filters a list asks for, and which answer it wants.
 */

/** What a queue question asks, read against the snapshot. */
export type QueueQuestion =
  | { kind: 'detail'; queue: QueueRecord; field?: Field }
  | { kind: 'multicore'; queue?: QueueRecord; site?: QueueGroup }
  | { kind: 'list'; filter: QueueFilter; scope: string[]; site?: QueueGroup; counts: boolean }
  | { kind: 'counts'; filter: QueueFilter; scope: string[] }
  | { kind: 'site'; site: QueueGroup }
  | { kind: 'unknown'; name: string }
  | { kind: 'explain-limits'; queue?: QueueRecord }
  | { kind: 'vague' };

export type Field = 'memory' | 'walltime' | 'cores' | 'copytools' | 'input' | 'workdir' | 'status';

const FIELDS: Array<{ field: Field; re: RegExp }> = [
  { field: 'memory', re: /\b(?:memory|ram|maxrss|max\s*rss|rss|pss|maxmemory)\b/i },
  { field: 'walltime', re: /\b(?:maxtime|max\s*time|walltime|wall\s*time|time\s*limit|maxwalltime|how long)\b/i },
  { field: 'copytools', re: /\b(?:copy\s*tools?|copytools?|xrdcp|gfalcopy|rucio\s+copytool)\b/i },
  { field: 'input', re: /\b(?:input\s*size|maxinputsize|max\s*input)\b/i },
  { field: 'workdir', re: /\b(?:work\s*dir(?:ectory)?|maxwdir|disk|scratch)\b/i },
  { field: 'cores', re: /\b(?:cores?|corecount|slots?)\b/i },
  { field: 'status', re: /\b(?:status|state|online|offline|brokeroff|up|down|working|active)\b/i },
];

const MULTICORE = /\b(?:mcore|multi[- ]?core|multicore|ucore|multi[- ]?threaded|\d+[- ]?core)\b/i;
const SINGLE_CORE = /\b(?:score|single[- ]?core)\b/i;
const COUNTS = /\b(?:how many|count|counts|number of|per status|by status|summary|breakdown|statistics|stats)\b/i;
const STATUS_WORDS: Array<{ status: string; re: RegExp }> = [
  { status: 'brokeroff', re: /\bbroker\s*off\b|\bbrokeroff\b/i },
  { status: 'offline', re: /\boffline\b|\b(?:down|disabled)\b/i },
  { status: 'online', re: /\bonline\b|\b(?:active|enabled)\b/i },
  {
    status: 'test',
    re: /\b(?:in|status)\s+test\b|\btest\s+(?:queues|status|mode)\b|\bare\s+(?:in\s+)?test\b|\btesting\b/i,
  },
];
const RESOURCE_TYPES: Array<{ type: string; re: RegExp }> = [
  { type: 'hpc', re: /\bhpcs?\b/i },
  { type: 'gpu', re: /\bgpus?\b/i },
  { type: 'GRID', re: /\bgrid\s+queues\b|\bresource\s+type\s+grid\b/i },
  { type: 'cloud', re: /\bcloud\s+(?:queues|resources)\b|\bresource\s+type\s+cloud\b|\bcommercial\s+cloud\b/i },
];

/** "does BNL take single-core jobs?": single-core is asked for and multi-core is not. */
export function asksForSingleCore(question: string): boolean {
  return SINGLE_CORE.test(question) && !MULTICORE.test(question);
}

/**
 * What a question asks, read against the snapshot: names first (a queue, a site, or a name
 * shape CRIC does not have), then list filters and question shapes. A question without a name
 * in a queue thread is about the name the thread last asked about.
 */
export function readQuestion(question: string, history: readonly Turn[], index: QueueIndex): QueueQuestion {
  const lookup = (l: string) => index.queue(l)?.name ?? index.site(l)?.name;
  let names = namesIn(question, lookup);
  const filter: QueueFilter = {};
  const scope: string[] = [];

  // "cloud DE", "the DE cloud", "in DE": the first that names a cloud CRIC has (CERN is also a queue).
  const cloudWords = [
    ...[
      ...question.matchAll(/\bcloud\s+([A-Za-z]{2,5})\b/gi),
      ...question.matchAll(/\b([A-Za-z]{2,5})\s+cloud\b/gi),
    ].map((m) => ({ word: m[1]!, bare: false })),
    ...[...question.matchAll(/\b(?:in|at|of|for)\s+(?:the\s+)?([A-Z]{2,4})\b/g)].map((m) => ({
      word: m[1]!,
      bare: true,
    })),
  ];
  for (const { word, bare } of cloudWords) {
    const cloud = index.cloud(word);
    if (!cloud || (bare && index.queue(word))) continue;
    filter.cloud = cloud.name;
    scope.push(`in cloud ${cloud.name}`);
    names = names.filter((n) => n.toLowerCase() !== cloud.name.toLowerCase());
    break;
  }
  const country = index
    .countryNames()
    .find((c) => new RegExp(`\\b${c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`, 'i').test(question));
  if (country) {
    filter.country = country;
    scope.push(`in ${country}`);
  }

  const listShape =
    /\b(?:which|list|show|all|any|what)\b[^?]*\bqueues\b|\bqueues\s+(?:are|that|with|in|at|of|using|which)\b|^queues\b/i.test(
      question,
    );
  let queue = names.map((n) => index.queue(n)).find((q): q is QueueRecord => Boolean(q));
  // A name that is a queue and a site (AGLT2, GoeGrid) is the site in "queues at AGLT2".
  const siteName =
    names.find((n) => index.site(n) && (!index.queue(n) || listShape)) ??
    (queue ? undefined : names.find((n) => index.site(n)));
  let site = siteName ? index.site(siteName) : undefined;
  if (site && listShape && queue && site.queues.includes(queue)) queue = undefined;

  // A follow-up in a queue thread ("and the walltime?") is about the name asked before.
  if (!queue && !site && !filter.cloud && !filter.country) {
    for (let i = history.length - 1; i >= 0 && !queue && !site; i--) {
      const turn = history[i]!;
      if (turn.role !== 'user') continue;
      const earlier = namesIn(turn.text, lookup);
      queue = earlier.map((n) => index.queue(n)).find((q): q is QueueRecord => Boolean(q));
      if (!queue && earlier[0]) site = index.site(earlier[0]);
    }
  }

  const statuses = STATUS_WORDS.filter((s) => s.re.test(question)).map((s) => s.status);
  if (statuses.length) filter.status = statuses;
  for (const r of RESOURCE_TYPES)
    if (r.re.test(question) && !(r.type === 'cloud' && filter.cloud)) filter.resourceType = r.type;
  const tool = index
    .copytoolNames()
    .find(
      (t) =>
        t.length > 2 &&
        new RegExp(`\\b${t}\\b`, 'i').test(question) &&
        (t !== 'rucio' || /copy\s*tool|using rucio|use rucio/i.test(question)),
    );
  if (tool) filter.copytool = tool;
  const type = /\b(analysis|production|unified)\s+queues?\b/i.exec(question)?.[1]?.toLowerCase();
  if (type) filter.type = type;
  const tier = /\b(?:tier[- ]?([0-3])|(T[0-3]D?))\b/i.exec(question);
  if (tier) filter.tier = tier[2] ? tier[2].toUpperCase() : `T${tier[1]}`;
  const multicoreAsked = MULTICORE.test(question) || SINGLE_CORE.test(question);

  if (isLimitKillQuestion(question) && !listShape) return { kind: 'explain-limits', queue };
  if (multicoreAsked && (queue || site) && !listShape)
    return { kind: 'multicore', queue, site: queue ? undefined : site };
  if (multicoreAsked && listShape) filter.multicore = !(SINGLE_CORE.test(question) && !MULTICORE.test(question));
  if (site && (listShape || filter.status || !queue)) {
    filter.site = site.name;
    scope.unshift(`at ${site.name}`);
  }
  const describe = () => {
    if (filter.status)
      scope.push(
        filter.status.length === 1 ? `that are ${filter.status[0]}` : `that are ${filter.status.join(' or ')}`,
      );
    if (filter.resourceType) scope.push(`of resource type ${filter.resourceType}`);
    if (filter.copytool) scope.push(`using ${filter.copytool}`);
    if (filter.type) scope.push(`of type ${filter.type}`);
    if (filter.tier) scope.push(`at tier ${filter.tier}`);
    if (filter.multicore !== undefined)
      scope.push(filter.multicore ? 'taking multi-core jobs' : 'taking single-core jobs');
  };
  const hasFilter = Boolean(
    filter.status ||
    filter.cloud ||
    filter.country ||
    filter.resourceType ||
    filter.copytool ||
    filter.type ||
    filter.tier ||
    filter.multicore !== undefined ||
    filter.site,
  );
  if (COUNTS.test(question) && !filter.status && (!queue || listShape)) {
    describe();
    return { kind: 'counts', filter, scope };
  }
  if (queue && !(listShape && hasFilter && filter.site)) {
    const field = FIELDS.find((f) => f.re.test(question))?.field;
    return { kind: 'detail', queue, field };
  }
  if (hasFilter) {
    describe();
    return { kind: 'list', filter, scope, site, counts: COUNTS.test(question) };
  }
  if (site) return { kind: 'site', site };
  const unknown = nameShapedWords(question, (l) => Boolean(lookup(l)))[0];
  if (unknown) return { kind: 'unknown', name: unknown };
  if (isLimitKillQuestion(question)) return { kind: 'explain-limits' };
  return { kind: 'vague' };
}
