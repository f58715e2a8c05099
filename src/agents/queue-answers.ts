import { emptyDraft, errorDraft, type AnswerDraft, type FollowUp, type Link } from '../core/answer.ts';
import type { CricClient } from '../panda/cric-client.ts';
import type { QueueRecord } from '../panda/cric-schema.ts';
import {
  STATUS_MEANING,
  acceptsMulticore,
  coreCountsAccepted,
  coresTaken,
  countBy,
  describeMemory,
  describeWalltime,
  hours,
  limitLines,
  queueLimits,
  type QueueFilter,
  type QueueGroup,
  type QueueIndex,
} from '../panda/queues.ts';
import { redactSecrets } from '../util/redact.ts';
import type { Field } from './queue-question.ts';

/**
 * The queue agent's offline answers from a CRIC snapshot: one queue's status and limits, whether
 * queues take multi-core jobs, lists and counts, unknown names with the closest ones, and why
 * jobs are killed for memory or time.
 */

/** Where answers link to: CRIC's queue pages and list, and BigPanDA's site pages. */
export interface QueuePages {
  cric: Pick<CricClient, 'queuePage' | 'listPage'>;
  /** BigPanDA base URL for people. */
  monitorPublicUrl: string;
}

const fmt = (n: number) => n.toLocaleString('en-US');
/** Lists longer than this are summarised in the opening line and listed in full in a section. */
const INLINE_NAMES = 10;
/** Up to this many queues get a line each with their limits; longer lists are grouped by cloud. */
const DETAILED_LINES = 40;

export function detailAnswer(pages: QueuePages, q: QueueRecord, index: QueueIndex, field?: Field): AnswerDraft {
  const where = [q.atlas_site && `site ${q.atlas_site}`, q.cloud && `cloud ${q.cloud}`].filter(Boolean).join(', ');
  const general =
    `Queue ${q.name}${where ? ` (${where})` : ''} is **${q.status ?? 'of unknown status'}**: ` +
    `memory ${describeMemory(q)}, walltime ${describeWalltime(q)}, ${coresTaken(q)}.`;
  const first = field ? fieldSentence(q, field) : undefined;
  const draft = emptyDraft('queue', first ? `${first}\n\n${general}` : general);
  const site = q.atlas_site ? index.site(q.atlas_site) : undefined;
  const siblings = (site?.queues ?? []).filter((s) => s !== q);
  draft.sections.push({ title: 'Limits', body: bullets(limitLines(q)) });
  const about = [
    q.description && `Description: ${clean(q.description)}`,
    [
      q.atlas_site && `ATLAS site ${q.atlas_site}`,
      q.rc_site && q.rc_site !== q.atlas_site && `resource centre ${q.rc_site}`,
      q.panda_site && `PanDA site ${q.panda_site}`,
    ]
      .filter(Boolean)
      .join(', '),
    [q.cloud && `cloud ${q.cloud}`, q.country, q.tier && `tier ${q.tier}`].filter(Boolean).join(', '),
    q.state && q.state !== 'ACTIVE' && `CRIC object state: ${q.state}`,
    q.state_comment && `Comment: ${clean(q.state_comment)}`,
    q.pilot_manager && `Pilots: ${q.pilot_manager}${q.harvester ? ` (${q.harvester})` : ''}`,
    siblings.length
      ? `Other queues of ${site!.name}: ${siblings.map((s) => `${s.name} (${s.status ?? '?'})`).join(', ')}`
      : undefined,
  ].filter((line): line is string => Boolean(line));
  draft.sections.push({ title: 'Site', body: about.join('\n') });
  draft.facts = { queue: q.name, status: q.status, site: q.atlas_site, cloud: q.cloud, limits: queueLimits(q) };
  draft.links = links(pages, [q]);
  draft.followUps = [
    {
      question: `Does ${q.name} accept multi-core jobs?`,
      why: `its core count is ${q.corecount ?? 'not set'}; the answer also lists the other queues of its site that do`,
    },
    site
      ? {
          question: `Which queues at ${site.name} are online?`,
          why: `${site.name} has ${site.queues.length} queue${site.queues.length === 1 ? '' : 's'} in CRIC`,
        }
      : undefined,
    q.cloud
      ? {
          question: `Which queues in cloud ${q.cloud} are brokeroff?`,
          why: 'brokeroff queues take no new jobs from the brokerage',
        }
      : undefined,
  ].filter((f): f is FollowUp => Boolean(f));
  return draft;
}

export function multicoreAnswer(
  pages: QueuePages,
  index: QueueIndex,
  queue: QueueRecord | undefined,
  site: QueueGroup | undefined,
  singleCore: boolean,
): AnswerDraft {
  const group = site ?? (queue?.atlas_site ? index.site(queue.atlas_site) : undefined);
  const takes = (q: QueueRecord) => (singleCore ? coreCountsAccepted(q).includes(1) : acceptsMulticore(q));
  const kind = singleCore ? 'single-core' : 'multi-core';
  let summary: string;
  if (queue) {
    const cores = coresTaken(queue);
    if (!takes(queue))
      summary =
        `No: queue ${queue.name} takes ${cores} (capability ${queue.capability ?? 'not set'}, ` +
        `${queue.corecount ?? 1} core${queue.corecount === 1 ? '' : 's'} per slot).`;
    else if (queue.status === 'online')
      summary = `Yes: queue ${queue.name} is online and takes ${cores}${singleCore ? '' : `, with ${describeMemory(queue)}`}.`;
    else
      summary =
        `Queue ${queue.name} takes ${cores}, but it is **${queue.status ?? 'of unknown status'}**: ` +
        `it ${STATUS_MEANING[queue.status ?? ''] ?? 'may not run jobs'}.`;
  } else {
    const taking = group!.queues.filter(takes);
    const online = taking.filter((q) => q.status === 'online');
    summary = online.length
      ? `Yes: ${online.length} online queue${online.length === 1 ? '' : 's'} of ${group!.name} ` +
        `take${online.length === 1 ? 's' : ''} ${kind} jobs: ${online.map((q) => q.name).join(', ')}.`
      : taking.length
        ? `Not now: ${group!.name}'s queues that take ${kind} jobs ` +
          `(${taking.map((q) => `${q.name}, ${q.status}`).join('; ')}) are not online.`
        : `No: none of ${group!.name}'s ${group!.queues.length} queues takes ${kind} jobs.`;
  }
  const draft = emptyDraft('queue', summary);
  if (queue) draft.sections.push({ title: 'Limits', body: bullets(limitLines(queue)) });
  if (group) {
    const lines = group.queues
      .filter((q) => q !== queue)
      .map((q) => `**${q.name}** (${q.status ?? '?'}): ${describeCores(q)}, ${describeMemory(q)}`);
    if (lines.length)
      draft.sections.push({ title: `${queue ? 'Other queues' : 'Queues'} of ${group.name}`, body: bullets(lines) });
  }
  draft.facts = {
    queue: queue?.name,
    site: group?.name,
    multicore: queue ? acceptsMulticore(queue) : undefined,
    queuesTaking: (group?.queues ?? []).filter(takes).map((q) => q.name),
  };
  draft.links = links(pages, queue ? [queue] : group!.queues.filter(takes));
  draft.followUps = [
    queue
      ? {
          question: `What are the limits of queue ${queue.name}?`,
          why: 'memory per core and walltime decide which jobs it can run',
        }
      : undefined,
    group
      ? {
          question: `Which queues at ${group.name} are online?`,
          why: `${group.name} has ${group.queues.length} queues in CRIC`,
        }
      : undefined,
    {
      question: `Which queues in cloud ${queue?.cloud ?? group?.queues[0]?.cloud ?? 'US'} take multi-core jobs?`,
      why: 'other sites nearby that could run such jobs',
    },
  ].filter((f): f is FollowUp => Boolean(f));
  return draft;
}

export function listAnswer(
  pages: QueuePages,
  index: QueueIndex,
  filter: QueueFilter,
  scope: string[],
  countsAsked: boolean,
): AnswerDraft {
  const matched = index.filter(filter);
  const scopeText = scope.join(' ');
  const what = `${matched.length} queue${matched.length === 1 ? '' : 's'}${scopeText ? ` ${scopeText}` : ''}`;
  let summary: string;
  if (matched.length === 0) {
    const relaxed = filter.status ? index.filter({ ...filter, status: undefined }) : [];
    const withoutStatus = relaxed.length
      ? ` Without the status condition there are ${relaxed.length}: ${statusCounts(index, relaxed)}.`
      : '';
    summary = `No queue in CRIC matches: none ${scopeText}.${withoutStatus}`;
  } else if (matched.length <= INLINE_NAMES && !countsAsked) {
    summary = `${capitalise(what)}: ${matched.map((q) => (filter.status ? q.name : `${q.name} (${q.status ?? '?'})`)).join(', ')}.`;
  } else {
    const byCloud = [...countBy(matched, (q) => q.cloud ?? 'no cloud').entries()].sort((a, b) => b[1] - a[1]);
    const spread =
      filter.cloud || filter.site
        ? statusCounts(index, matched)
        : byCloud
            .slice(0, 6)
            .map(([c, n]) => `${n} in ${c}`)
            .join(', ') + (byCloud.length > 6 ? `, ${byCloud.slice(6).reduce((s, [, n]) => s + n, 0)} elsewhere` : '');
    summary = `${capitalise(what)} (of ${index.size} in CRIC): ${spread}. The full list is below.`;
  }
  const draft = emptyDraft('queue', summary);
  if (matched.length) draft.sections.push({ title: `Queues (${matched.length})`, body: queueList(matched) });
  if (!filter.status && matched.length > 1)
    draft.sections.push({
      title: 'By status',
      body: bullets(
        index.countByStatus(matched).map(([s, n]) => `${s}: ${n}${STATUS_MEANING[s] ? ` (${STATUS_MEANING[s]})` : ''}`),
      ),
    });
  if (filter.status?.length === 1 && STATUS_MEANING[filter.status[0]!])
    draft.sections.push({
      title: `What ${filter.status[0]} means`,
      body: `A ${filter.status[0]} queue ${STATUS_MEANING[filter.status[0]!]}.`,
    });
  draft.facts = { filter, matched: matched.length, queues: matched.slice(0, 200).map((q) => q.name) };
  draft.links = links(pages, matched.length === 1 ? matched : []);
  const example = matched[0];
  draft.followUps = [
    example
      ? {
          question: `What are the limits of queue ${example.name}?`,
          why: `${example.name} is the first queue of this list`,
        }
      : undefined,
    !filter.status
      ? {
          question: `Which queues${scopeText ? ` ${scopeText}` : ''} are brokeroff?`,
          why: 'brokeroff queues get no new jobs from the brokerage',
        }
      : {
          question: `How many queues${filter.cloud ? ` in cloud ${filter.cloud}` : ''} are online?`,
          why: 'the status counts put this list in proportion',
        },
    { question: 'Is PanDA up?', why: 'checks the PanDA server and the monitor right now' },
  ].filter((f): f is FollowUp => Boolean(f));
  return draft;
}

export function countsAnswer(
  pages: QueuePages,
  index: QueueIndex,
  filter: QueueFilter,
  scope: string[],
  vague = false,
): AnswerDraft {
  const matched = index.filter(filter);
  const scopeText = scope.join(' ');
  const head = vague
    ? `I could not tell which queue or site you mean, so here is the overview: ` +
      `CRIC lists ${index.size} PanDA queues: ${statusCounts(index, matched)}. ` +
      `Ask about one by name ("what are the limits of AGLT2?"), ` +
      `or for a list ("which queues are brokeroff?").`
    : `CRIC lists ${matched.length} PanDA ` +
      `queue${matched.length === 1 ? '' : 's'}${scopeText ? ` ${scopeText}` : ''}: ` +
      `${statusCounts(index, matched)}.`;
  const draft = emptyDraft('queue', head);
  draft.sections.push({
    title: 'By status',
    body: bullets(
      index.countByStatus(matched).map(([s, n]) => `${s}: ${n}${STATUS_MEANING[s] ? ` (${STATUS_MEANING[s]})` : ''}`),
    ),
  });
  if (!filter.cloud && !filter.site) {
    const clouds = [...countBy(matched, (q) => q.cloud ?? 'no cloud').entries()].sort((a, b) => b[1] - a[1]);
    const lines = clouds.map(
      ([cloud, n]) =>
        `${cloud}: ${n} (${statusCounts(
          index,
          matched.filter((q) => (q.cloud ?? 'no cloud') === cloud),
        )})`,
    );
    draft.sections.push({ title: 'By cloud', body: bullets(lines) });
  }
  draft.facts = { filter, matched: matched.length, byStatus: Object.fromEntries(index.countByStatus(matched)) };
  draft.links = [{ title: 'CRIC PanDA queues', url: pages.cric.listPage() }];
  draft.followUps = [
    {
      question: `Which queues${scopeText ? ` ${scopeText}` : ''} are brokeroff?`,
      why: 'the full list of the queues that get no new jobs',
    },
    {
      question: `Which queues${scopeText ? ` ${scopeText}` : ''} are offline?`,
      why: 'queues that take no jobs at all',
    },
    { question: 'Is PanDA up?', why: 'checks the PanDA server and the monitor right now' },
  ];
  return draft;
}

export function unknownAnswer(pages: QueuePages, index: QueueIndex, name: string): AnswerDraft {
  const closest = index.closestNames(name);
  const nearest = closest.length ? ` The closest names are ${closest.join(', ')}.` : ' No name is close to it.';
  const message =
    `CRIC has no queue or site called ${name}.${nearest} ` +
    "Check the spelling (names are as on the monitor's job pages, e.g. AGLT2 or ANALY_SiGNET_DIRECT).";
  return errorDraft('queue', 'not_found', message, {
    facts: { name, suggestions: closest },
    followUps: closest
      .slice(0, 2)
      .map((c) => ({ question: `What is the status of ${c}?`, why: `${c} is the closest name CRIC has to ${name}` })),
    links: [{ title: 'CRIC PanDA queues', url: pages.cric.listPage() }],
  });
}

export function explainLimitsAnswer(pages: QueuePages, queue?: QueueRecord): AnswerDraft {
  const summary = [
    'A job is killed for memory when its memory use (PSS, summed over its processes) goes above the memory it ' +
      "asked for: the task's memory request (per core requests times the job's cores), not the queue's limit. " +
      "The queue's limit in CRIC (maxrss) is the most a job may ask for there; " +
      'the brokerage sends a job only to queues whose limit covers its request. ' +
      "A time kill works the same way with the job's walltime and the queue's maxtime.",
    'Give me the job id ("why did job 6800730400 fail?") and I will compare what it used with what it ' +
      "asked for and with its queue's limits, and name queues that allow more.",
  ].join('\n\n');
  const draft = emptyDraft('queue', summary);
  draft.sections.push({
    title: 'What to check',
    body: bullets([
      'the job page: maxPSS (what it used) next to minramcount and minramunit (what it asked for); ' +
        'a per-core request (MBPerCore) is multiplied by the cores',
      'pilot error 1235 (exceeded the allowed memory) and 1212 (ran out of memory) are memory kills; ' +
        '1213 (batch system time limit) and 1150 (looping job) are time kills',
      'JEDI raises the memory of retried jobs after a memory failure; ' +
        "a request above every queue's limit leaves the jobs without a queue",
    ]),
  });
  if (queue) draft.sections.push({ title: `Limits of ${queue.name}`, body: bullets(limitLines(queue)) });
  draft.followUps = [
    {
      question: 'Why did job 6800730400 fail?',
      why: "a memory failure (pilot error 1235) compared with its queue's limits",
    },
    {
      question: 'How do I request more memory for my jobs?',
      why: 'the memory request is what the kill limit comes from',
    },
  ];
  if (queue) draft.links = links(pages, [queue]);
  return draft;
}

function links(pages: QueuePages, queues: readonly QueueRecord[]): Link[] {
  const links: Link[] = [];
  for (const q of queues.slice(0, 3)) {
    links.push({ title: `CRIC: ${q.name}`, url: pages.cric.queuePage(q.name) });
    links.push({
      title: `BigPanDA: ${q.name}`,
      url: `${pages.monitorPublicUrl.replace(/\/+$/, '')}/site/${encodeURIComponent(q.name)}/`,
    });
  }
  if (queues.length !== 1) links.push({ title: 'CRIC PanDA queues', url: pages.cric.listPage() });
  return links;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function bullets(items: readonly string[]): string {
  return items.map((i) => `- ${i}`).join('\n');
}

/** CRIC free text (descriptions, comments): one line, no markup tricks, secrets redacted. */
export function clean(text: string): string {
  return redactSecrets(text).replace(/\s+/g, ' ').replace(/[<>`]/g, '').slice(0, 300);
}

function describeCores(q: QueueRecord): string {
  const accepted = coreCountsAccepted(q);
  return accepted.length > 1
    ? `single-core and ${accepted[1]}-core jobs`
    : accepted[0] === 1
      ? 'single-core jobs'
      : `${accepted[0]}-core jobs`;
}

function statusCounts(index: QueueIndex, queues: readonly QueueRecord[]): string {
  return (
    index
      .countByStatus(queues)
      .map(([s, n]) => `${n} ${s}`)
      .join(', ') || 'none'
  );
}

function queueList(queues: readonly QueueRecord[]): string {
  if (queues.length <= DETAILED_LINES) {
    return bullets(
      queues.map(
        (q) =>
          `**${q.name}** (${q.status ?? '?'}): ${[q.atlas_site, q.cloud].filter(Boolean).join(', ')}; ` +
          `${q.corecount ?? '?'} core${q.corecount === 1 ? '' : 's'}, ` +
          `${q.maxrss ? `${fmt(q.maxrss)} MB` : 'no memory limit'}, ` +
          `${q.maxtime ? hours(q.maxtime) : 'no walltime limit'}`,
      ),
    );
  }
  const byCloud = new Map<string, QueueRecord[]>();
  for (const q of queues) {
    const cloud = q.cloud ?? 'no cloud';
    byCloud.set(cloud, [...(byCloud.get(cloud) ?? []), q]);
  }
  return [...byCloud.entries()]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([cloud, qs]) => `**${cloud}** (${qs.length}): ${qs.map((q) => q.name).join(', ')}`)
    .join('\n');
}

function fieldSentence(q: QueueRecord, field: Field): string {
  switch (field) {
    case 'memory':
      return `The memory limit (maxrss) of queue ${q.name} is ${describeMemory(q)}.`;
    case 'walltime':
      return `The walltime limit (maxtime) of queue ${q.name} is ${describeWalltime(q)}.`;
    case 'cores':
      return `Queue ${q.name} has ${q.corecount ?? 'no'} core${q.corecount === 1 ? '' : 's'} per slot and takes ${describeCores(q)}.`;
    case 'copytools':
      return (
        `Queue ${q.name} uses the copytool${Object.keys(q.copytools ?? {}).length === 1 ? '' : 's'} ` +
        `${Object.keys(q.copytools ?? {}).join(', ') || '(none listed)'}.`
      );
    case 'input':
      return (
        `The input size limit (maxinputsize) of queue ${q.name} is ` +
        `${q.maxinputsize && q.maxinputsize > 0 ? `${fmt(q.maxinputsize)} MB` : 'not set'}.`
      );
    case 'workdir':
      return `The work directory limit (maxwdir) of queue ${q.name} is ${q.maxwdir && q.maxwdir > 0 ? `${fmt(q.maxwdir)} MB` : 'not set'}.`;
    case 'status': {
      const meaning = q.status && STATUS_MEANING[q.status] ? `: it ${STATUS_MEANING[q.status]}` : '';
      return `Queue ${q.name} is **${q.status ?? 'of unknown status'}**${meaning}.`;
    }
  }
}
