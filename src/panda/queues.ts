import type { QueueRecord } from './cric-schema.ts';

/**
 * PanDA queues as CRIC describes them, indexed for questions: by name, site and cloud, with the
 * brokerage's rules for core counts and memory. Plain data and functions, so the queue agent, the
 * job agent and (later) an MCP tool share one reading of CRIC's fields.
 */

export const QUEUE_STATUSES = ['online', 'brokeroff', 'test', 'offline'] as const;

/** What each CRIC queue status means for a user's jobs. */
export const STATUS_MEANING: Record<string, string> = {
  online: 'takes jobs: the brokerage assigns new jobs to it',
  brokeroff:
    'keeps running jobs, but the brokerage assigns it no new ones: only jobs sent to it by name still go there',
  test: 'runs test jobs only (HammerCloud functional tests, jobs sent to it by name)',
  offline: 'takes no jobs',
};

/** Where a snapshot came from and when; kept with it in the store. */
export interface QueueSnapshotMeta {
  /** When it was read from CRIC or the file (ms since the epoch). */
  fetchedAt: number;
  /** The URL or file it was read from. */
  source: string;
  skipped: number;
  problems: string[];
}

export interface QueueGroup {
  name: string;
  queues: QueueRecord[];
}

export interface QueueFilter {
  status?: readonly string[];
  site?: string;
  cloud?: string;
  country?: string;
  /** CRIC resource_type family: GRID, hpc (hpc, hpc_special), cloud (cloud, cloud_special), gpu … */
  resourceType?: string;
  copytool?: string;
  type?: string;
  tier?: string;
  /** Queues that accept jobs of more than one core (true) or single-core jobs (false). */
  multicore?: boolean;
}

const lower = (s: string) => s.toLowerCase();
const fmt = (n: number) => n.toLocaleString('en-US');

export class QueueIndex {
  readonly queues: readonly QueueRecord[];
  private readonly byName = new Map<string, QueueRecord>();
  private readonly sites = new Map<string, QueueGroup>();
  private readonly clouds = new Map<string, QueueGroup>();
  private readonly countries = new Map<string, QueueGroup>();
  /** Lists derived once per snapshot (each question reads them). */
  private readonly memo: { clouds?: string[]; countries?: string[]; copytools?: string[]; names?: string[] } = {};

  constructor(
    queues: readonly QueueRecord[],
    readonly meta: QueueSnapshotMeta,
  ) {
    this.queues = queues;
    for (const q of queues) {
      this.byName.set(lower(q.name), q);
      // A site is known by its ATLAS name, its resource-centre name and its PanDA site name.
      const siteNames = new Set([q.atlas_site, q.rc_site, q.panda_site].filter((s): s is string => Boolean(s)));
      for (const s of siteNames) addTo(this.sites, s, q, q.atlas_site ?? s);
      if (q.cloud) addTo(this.clouds, q.cloud, q, q.cloud);
      if (q.country) addTo(this.countries, q.country, q, q.country);
    }
  }

  get size(): number {
    return this.queues.length;
  }

  queue(name: string): QueueRecord | undefined {
    return this.byName.get(lower(name));
  }

  site(name: string): QueueGroup | undefined {
    return this.sites.get(lower(name));
  }

  cloud(name: string): QueueGroup | undefined {
    return this.clouds.get(lower(name));
  }

  country(name: string): QueueGroup | undefined {
    return this.countries.get(lower(name));
  }

  cloudNames(): readonly string[] {
    return (this.memo.clouds ??= [...new Set([...this.clouds.values()].map((g) => g.name))].sort());
  }

  countryNames(): readonly string[] {
    return (this.memo.countries ??= [...new Set([...this.countries.values()].map((g) => g.name))].sort());
  }

  /** Every copytool some queue lists (rucio, xrdcp, gfalcopy, mv, objectstore …). */
  copytoolNames(): readonly string[] {
    if (!this.memo.copytools) {
      const names = new Set<string>();
      for (const q of this.queues) for (const tool of copytoolsOf(q)) names.add(tool);
      this.memo.copytools = [...names].sort();
    }
    return this.memo.copytools;
  }

  /** Queue and site names, for recognising them in questions. */
  routingNames(): readonly string[] {
    if (!this.memo.names) {
      const names = new Set<string>();
      for (const q of this.queues)
        for (const name of [q.name, q.atlas_site, q.rc_site, q.panda_site]) if (name) names.add(name);
      this.memo.names = [...names];
    }
    return this.memo.names;
  }

  filter(filter: QueueFilter, from: readonly QueueRecord[] = this.queues): QueueRecord[] {
    const site = filter.site ? new Set(this.site(filter.site)?.queues ?? []) : undefined;
    return from.filter((q) => {
      if (filter.status && !filter.status.includes(q.status ?? '')) return false;
      if (site && !site.has(q)) return false;
      if (filter.cloud && lower(q.cloud ?? '') !== lower(filter.cloud)) return false;
      if (filter.country && lower(q.country ?? '') !== lower(filter.country)) return false;
      if (filter.resourceType && !lower(q.resource_type ?? '').startsWith(lower(filter.resourceType))) return false;
      if (filter.copytool && !copytoolsOf(q).includes(lower(filter.copytool))) return false;
      if (filter.type && lower(q.type ?? '') !== lower(filter.type)) return false;
      if (
        filter.tier &&
        lower(q.tier ?? '') !== lower(filter.tier) &&
        !(filter.tier.length === 2 && lower(q.tier ?? '').startsWith(lower(filter.tier)))
      )
        return false;
      if (filter.multicore === true && !acceptsMulticore(q)) return false;
      if (filter.multicore === false && !acceptsSingleCore(q)) return false;
      return true;
    });
  }

  /** Queues per status, in the order online, brokeroff, test, offline, then any other status. */
  countByStatus(from: readonly QueueRecord[] = this.queues): Array<[string, number]> {
    const counts = countBy(from, (q) => q.status ?? 'unknown');
    const order = (s: string) => (QUEUE_STATUSES as readonly string[]).indexOf(s) >>> 0;
    return [...counts.entries()].sort((a, b) => order(a[0]) - order(b[0]) || b[1] - a[1]);
  }

  /**
   * Names closest to something that is not a queue or site: names containing it first, then by
   * edit distance (typos, missing prefixes such as ANALY_).
   */
  closestNames(text: string, limit = 5): string[] {
    const wanted = lower(text);
    const candidates = this.routingNames();
    const scored = candidates.map((name) => {
      const l = lower(name);
      const contains = l.includes(wanted) || (wanted.length >= 3 && wanted.includes(l) && l.length >= 3);
      return { name, score: contains ? -1000 + Math.abs(l.length - wanted.length) : editDistance(wanted, l) };
    });
    const maxDistance = Math.max(2, Math.ceil(wanted.length / 2));
    return scored
      .filter((s) => s.score < 0 || s.score <= maxDistance)
      .sort((a, b) => a.score - b.score || a.name.localeCompare(b.name))
      .slice(0, limit)
      .map((s) => s.name);
  }
}

function addTo(map: Map<string, QueueGroup>, key: string, q: QueueRecord, display: string): void {
  const k = lower(key);
  let group = map.get(k);
  if (!group) map.set(k, (group = { name: display, queues: [] }));
  if (!group.queues.includes(q)) group.queues.push(q);
}

export function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/** Levenshtein distance, two rows (names are short). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  let cur = new Array<number>(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/** The copytools a queue lists (CRIC's `copytools` keys), lowercase. */
export function copytoolsOf(q: QueueRecord): string[] {
  return Object.keys(q.copytools ?? {}).map(lower);
}

/**
 * Core counts the brokerage sends to a queue: unified ("ucore") queues take single-core jobs and
 * jobs of the queue's core count, "mcore" queues only the latter, the rest single-core jobs.
 */
export function coreCountsAccepted(q: QueueRecord): number[] {
  const cores = Math.max(1, q.corecount ?? 1);
  if (q.capability === 'ucore' || q.type === 'unified') return cores > 1 ? [1, cores] : [1];
  if (q.capability === 'mcore') return [cores];
  return [1];
}

/** "single-core and 8-core jobs", "single-core jobs only", "8-core jobs only". */
export function coresTaken(q: QueueRecord): string {
  const accepted = coreCountsAccepted(q);
  return accepted.length > 1
    ? `single-core and ${accepted[1]}-core jobs`
    : accepted[0] === 1
      ? 'single-core jobs only'
      : `${accepted[0]}-core jobs only`;
}

export function acceptsMulticore(q: QueueRecord): boolean {
  return coreCountsAccepted(q).some((n) => n > 1);
}

export function acceptsSingleCore(q: QueueRecord): boolean {
  return coreCountsAccepted(q).includes(1);
}

/** Memory per core in MB (maxrss over the slot's cores), undefined when CRIC sets no limit. */
export function memoryPerCoreMb(q: QueueRecord): number | undefined {
  if (!q.maxrss || q.maxrss <= 0) return undefined;
  return Math.floor(q.maxrss / Math.max(1, q.corecount ?? 1));
}

/** "48,000 MB per 8-core slot (6,000 MB per core)". */
export function describeMemory(q: QueueRecord): string {
  if (!q.maxrss || q.maxrss <= 0) return 'no memory limit set in CRIC';
  const cores = Math.max(1, q.corecount ?? 1);
  return cores > 1
    ? `${fmt(q.maxrss)} MB per ${cores}-core slot (${fmt(memoryPerCoreMb(q)!)} MB per core)`
    : `${fmt(q.maxrss)} MB per single-core slot`;
}

export function hours(seconds: number): string {
  const h = seconds / 3600;
  return `${Number.isInteger(h) ? h : h.toFixed(1)} h`;
}

/** "96 h (345,600 s)". */
export function describeWalltime(q: QueueRecord): string {
  if (!q.maxtime || q.maxtime <= 0) return 'no walltime limit set in CRIC';
  return `${hours(q.maxtime)} (${fmt(q.maxtime)} s)`;
}

function describeMb(mb: number | undefined, what: string): string {
  if (mb === undefined || mb <= 0) return `no ${what} limit set`;
  return mb >= 1024 ? `${fmt(mb)} MB (${(mb / 1024).toFixed(mb % 1024 === 0 ? 0 : 1)} GiB)` : `${fmt(mb)} MB`;
}

/** Everything a user asks about one queue's limits, as plain values (for answers, facts and tools). */
export interface QueueLimits {
  queue: string;
  status?: string;
  site?: string;
  cloud?: string;
  memoryMb?: number;
  memoryPerCoreMb?: number;
  cores?: number;
  coreCountsAccepted: number[];
  walltimeSeconds?: number;
  maxInputMb?: number;
  maxWorkdirMb?: number;
  copytools: string[];
  resourceType?: string;
  type?: string;
  capability?: string;
  lastModified?: string;
}

export function queueLimits(q: QueueRecord): QueueLimits {
  const positive = (n: number | undefined) => (n !== undefined && n > 0 ? n : undefined);
  return {
    queue: q.name,
    status: q.status,
    site: q.atlas_site,
    cloud: q.cloud,
    memoryMb: positive(q.maxrss),
    memoryPerCoreMb: memoryPerCoreMb(q),
    cores: positive(q.corecount),
    coreCountsAccepted: coreCountsAccepted(q),
    walltimeSeconds: positive(q.maxtime),
    maxInputMb: positive(q.maxinputsize),
    maxWorkdirMb: positive(q.maxwdir),
    copytools: copytoolsOf(q),
    resourceType: q.resource_type,
    type: q.type,
    capability: q.capability,
    lastModified: q.last_modified,
  };
}

/** The limits as lines for an answer ("- memory: 48,000 MB per 8-core slot …"). */
export function limitLines(q: QueueRecord): string[] {
  const lines = [
    `status: **${q.status ?? 'unknown'}**${q.status && STATUS_MEANING[q.status] ? ` (${STATUS_MEANING[q.status]})` : ''}`,
    `memory: ${describeMemory(q)}`,
    `walltime: ${describeWalltime(q)}`,
    `cores: ${q.corecount ?? 'not set'}; takes ${coresTaken(q)}${q.capability ? ` (capability ${q.capability})` : ''}`,
    `input size per job: ${describeMb(q.maxinputsize, 'input size')}`,
    `work directory: ${describeMb(q.maxwdir, 'work directory')}`,
    `copytools: ${copytoolsOf(q).join(', ') || 'none listed'}`,
    `resource type: ${q.resource_type ?? 'not set'}${q.type ? `, queue type ${q.type}` : ''}`,
  ];
  if (q.minrss && q.minrss > 0) lines.splice(2, 0, `minimum memory request: ${fmt(q.minrss)} MB`);
  if (q.last_modified) lines.push(`last change in CRIC: ${q.last_modified.replace('T', ' ')} UTC`);
  return lines;
}

/** What a job needs from a queue, in the brokerage's terms. */
export interface JobNeeds {
  cores: number;
  /** Memory to request in MB: per core when perCore, else per job. */
  memoryMb?: number;
  perCore?: boolean;
  walltimeSeconds?: number;
  /** User analysis or production: analysis queues take only the first, production queues the second. */
  activity?: 'analysis' | 'production';
}

/**
 * Whether the brokerage would send such a job to the queue: its core count is accepted, its
 * memory fits maxrss (a per-core request is multiplied by the queue's core count, as JEDI does),
 * its walltime fits maxtime.
 */
export function fitsJob(q: QueueRecord, needs: JobNeeds): boolean {
  if (needs.activity && q.type && q.type !== 'unified' && q.type !== needs.activity) return false;
  const accepted = coreCountsAccepted(q);
  if (!accepted.includes(needs.cores) && !(needs.cores > 1 && accepted.some((n) => n >= needs.cores))) return false;
  if (needs.memoryMb !== undefined && q.maxrss && q.maxrss > 0) {
    const required = needs.perCore ? needs.memoryMb * Math.max(1, q.corecount ?? 1) : needs.memoryMb;
    if (required > q.maxrss) return false;
  }
  if (needs.walltimeSeconds !== undefined && q.maxtime && q.maxtime > 0 && needs.walltimeSeconds > q.maxtime)
    return false;
  return true;
}

/**
 * Online queues of the same site, then of the same cloud, where a job with these needs fits,
 * best limit first. The queue itself is left out.
 */
export function queuesThatFit(
  index: QueueIndex,
  current: QueueRecord,
  needs: JobNeeds,
  rank: 'memory' | 'walltime',
  limit = 5,
): { sameSite: QueueRecord[]; sameCloud: QueueRecord[] } {
  // Only queues that state the limit in question: "no limit set" is not a promise of more.
  const key = (q: QueueRecord) =>
    rank === 'memory' ? (needs.perCore ? (memoryPerCoreMb(q) ?? 0) : (q.maxrss ?? 0)) : (q.maxtime ?? 0);
  const pick = (from: readonly QueueRecord[]) =>
    from
      .filter((q) => q !== current && q.status === 'online' && key(q) > 0 && fitsJob(q, needs))
      .sort((a, b) => key(b) - key(a) || a.name.localeCompare(b.name))
      .slice(0, limit);
  const site = current.atlas_site ? (index.site(current.atlas_site)?.queues ?? []) : [];
  const sameSite = pick(site);
  const cloud = current.cloud ? (index.cloud(current.cloud)?.queues ?? []) : [];
  const sameCloud = pick(cloud.filter((q) => !site.includes(q)));
  return { sameSite, sameCloud };
}
