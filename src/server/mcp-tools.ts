import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ServerDeps } from './server-deps.ts';
import { AnswerSchema, errorDraft, type Answer, type ErrorKind } from '../core/answer.ts';
import { toAnswer } from '../bot/render.ts';
import type { Incoming } from '../core/incoming.ts';
import { citationTitle } from '../rag/chunk.ts';
import { jobErrors } from '../panda/job-analysis.ts';
import { guidanceFor, pilotCode } from '../panda/knowledge.ts';
import { limitLines, queueLimits, STATUS_MEANING } from '../panda/queues.ts';
import { splitNoise } from '../panda/error-noise.ts';
import { AskPandaError } from '../core/errors.ts';
import { redactSecrets } from '../util/redact.ts';
import { COMPONENT_NAMES, type ComponentName } from '../panda/error-codes.ts';
import { BusyError, type QuestionGate } from './question-gate.ts';

/**
 * askpanda's PanDA tools for MCP clients, as plain functions of the app: each validates nothing
 * itself (the MCP server checks the zod input schemas below before calling), returns markdown for
 * people and a structured object for programs, and turns every failure a user would see into a
 * tool error with the same sentence. Outputs are bounded (evidence lines, not whole logs).
 */

/** Most characters of a tool's text; a longer answer is cut with a note (the structured part stays). */
export const MAX_TOOL_TEXT_CHARS = 24_000;
/** Evidence kept per log source and per line in tool results. */
const MAX_EVIDENCE_LINES = 60;
const MAX_LINE_CHARS = 500;
/** The widest /errors/ window a tool asks for: wider windows are deep, slow monitor queries. */
export const MAX_FAILURE_WINDOW_DAYS = 31;

export interface ToolCall {
  app: ServerDeps;
  /** stdio (a local client) or http (the /mcp endpoint). */
  transport: 'stdio' | 'http';
  /** Who is asking, for the limits: "stdio" or the client's address. */
  client: string;
  /** The process's limits on questions in flight (shared with /v1 and the web chat). */
  gate: QuestionGate;
  progress: (status: string) => void;
  signal?: AbortSignal;
}

export interface ToolOutput {
  text: string;
  structured: Record<string, unknown>;
  /** Set: the call failed for a reason the caller can act on (shown as a tool error). */
  error?: { kind: ErrorKind; message: string };
}

const pandaid = z
  .number({ error: 'expected a PanDA job id, a whole number such as 6802258254' })
  .int({ error: 'expected a PanDA job id, a whole number such as 6802258254' })
  .positive({ error: 'expected a PanDA job id, a whole number such as 6802258254' })
  .max(Number.MAX_SAFE_INTEGER, { error: 'expected a PanDA job id of at most 15 digits' })
  .describe('PanDA job id (pandaid), e.g. 6802258254');
const jeditaskid = z
  .number({ error: 'expected a JEDI task id, a whole number such as 46374283' })
  .int({ error: 'expected a JEDI task id, a whole number such as 46374283' })
  .positive({ error: 'expected a JEDI task id, a whole number such as 46374283' })
  .max(Number.MAX_SAFE_INTEGER, { error: 'expected a JEDI task id of at most 15 digits' })
  .describe('JEDI task id (jeditaskid), e.g. 46374283');
const instant = (what: string) =>
  z
    .string({ error: `expected ${what} as an ISO-8601 UTC time such as 2025-09-08T06:00:00Z` })
    .max(40, { error: `expected ${what} as an ISO-8601 UTC time such as 2025-09-08T06:00:00Z` })
    .refine((s) => parseInstant(s) !== undefined, {
      error: `expected ${what} as an ISO-8601 time such as 2025-09-08T06:00:00Z or a date such as 2025-09-08 (UTC)`,
    });

export const TOOL_INPUTS = {
  panda_job_status: { pandaid },
  panda_job_log_analysis: { pandaid },
  panda_task_status: { jeditaskid },
  panda_task_failures: {
    jeditaskid,
    since: instant('since')
      .optional()
      .describe('start of the window (UTC), default: `until` minus the monitor.errorsHours setting (72 h)'),
    until: instant('until').optional().describe('end of the window (UTC), default: now'),
  },
  panda_error_code: {
    component: z
      .string({ error: 'expected a component name such as pilot, exe, transform, ddm or taskbuffer' })
      .min(1, { error: 'expected a component name such as pilot, exe, transform, ddm or taskbuffer' })
      .max(40, { error: 'expected a component name such as pilot, exe, transform, ddm or taskbuffer' })
      .describe(
        'error component: pilot, exe (executor), transform, ddm (dataservice), taskbuffer, brokerage, jobdispatcher or supervisor',
      ),
    code: z
      .number({ error: 'expected the error code, a whole number such as 1213' })
      .int({ error: 'expected the error code, a whole number such as 1213' })
      .describe('the numeric error code, e.g. 1213'),
  },
  panda_docs_search: {
    query: z
      .string({ error: 'expected the search words as text' })
      .trim()
      .min(2, { error: 'expected at least 2 characters of search words' })
      .max(500, { error: 'expected at most 500 characters of search words' })
      .describe('what to look up, in words, e.g. "how are failed jobs retried"'),
    limit: z
      .number({ error: 'expected a whole number from 1 to 10' })
      .int({ error: 'expected a whole number from 1 to 10' })
      .min(1, { error: 'expected a whole number from 1 to 10' })
      .max(10, { error: 'expected a whole number from 1 to 10' })
      .optional()
      .describe('passages to return, 1-10, default 5'),
  },
  askpanda_ask: {
    question: z
      .string({ error: 'expected the question as text' })
      .trim()
      .min(1, { error: 'expected a question' })
      .max(8000, { error: 'expected a question of at most 8,000 characters' })
      .describe('the question, as a user would type it, e.g. "why did job 6802258254 fail?"'),
    thread: z
      .string({ error: 'expected a thread id of 1-100 letters, digits, dots, colons, dashes or underscores' })
      .regex(/^[\w.:-]{1,100}$/, {
        error: 'expected a thread id of 1-100 letters, digits, dots, colons, dashes or underscores',
      })
      .optional()
      .describe(
        'optional conversation id: questions with the same thread share history, so "how can I fix it?" knows the job',
      ),
  },
  panda_queue_info: {
    queue: z
      .string({ error: 'expected a PanDA queue or site name such as AGLT2' })
      .trim()
      .regex(/^[\w.+-]{1,80}$/, {
        error: 'expected a PanDA queue or site name such as AGLT2 (letters, digits, _ . + -)',
      })
      .describe('PanDA queue name (e.g. BNL_PROD_MCORE) or ATLAS site name (e.g. AGLT2)'),
  },
} as const;

export type ToolName = keyof typeof TOOL_INPUTS;
type Args<N extends ToolName> = {
  [K in keyof (typeof TOOL_INPUTS)[N]]: (typeof TOOL_INPUTS)[N][K] extends z.ZodType<infer O> ? O : never;
};

/** What each tool is for, written for a model choosing among them. */
export const TOOL_DESCRIPTIONS: Record<ToolName, { title: string; description: string }> = {
  panda_job_status: {
    title: 'PanDA job status',
    description:
      'Metadata summary of one PanDA job from the BigPanDA monitor: status, site, attempt, times, core count, memory, and its non-zero error codes with their official messages. Fast; reads no logs. Use panda_job_log_analysis to find out why a failed job failed.',
  },
  panda_job_log_analysis: {
    title: 'Why did a PanDA job fail',
    description:
      "Diagnosis of one PanDA job: finds the error component and code, reads the right log (pilotlog.txt, or payload.stdout/stderr for payload failures), and explains the cause for users and experts, with the log lines that show it as evidence, the queue's limits for memory and time failures, and monitor links. For running or finished jobs it gives a status summary. Slower: may read a large log.",
  },
  panda_task_status: {
    title: 'PanDA task status',
    description:
      'Status of one JEDI task: progress of its input files, job counts by state, the most frequent failures with an example job each, and what to do next, with monitor links.',
  },
  panda_task_failures: {
    title: 'Failures of a PanDA task in a time window',
    description:
      "A JEDI task's failed jobs in a UTC window, grouped by error code (component:code, count, official message, what it means) with an example job each, and the sites with the most failed jobs, from the monitor's /errors/ summary. Counts are of error codes, several per job possible. Default window: the last 72 hours; at most 31 days.",
  },
  panda_error_code: {
    title: 'What a PanDA error code means',
    description:
      'Explains a PanDA job error code from askpanda\'s knowledge base, offline: the official name and message, which component sets it, and for the common codes the usual causes, what to do and which log shows it. Example: component "pilot", code 1213.',
  },
  panda_docs_search: {
    title: 'Search the PanDA documentation',
    description:
      "Searches askpanda's indexed PanDA documentation (the handbook and anything ingested) and returns the best passages with their titles and sources. Use it to ground answers about PanDA concepts, job and task states, retries, logs and the monitor.",
  },
  askpanda_ask: {
    title: 'Ask askpanda',
    description:
      'Sends a whole question through askpanda (it picks the job, task, queue or documentation answer) and returns the finished answer as askpanda would post it in chat, with sections, evidence, links, sources and follow-up questions. Use it when you want the finished answer rather than the data.',
  },
  panda_queue_info: {
    title: 'PanDA queue or site from CRIC',
    description:
      "A PanDA queue's status (online, brokeroff, test, offline) and limits from CRIC: memory per slot and per core, walltime, core counts it takes, input size, work directory, copytools, resource type, last change, with its CRIC and BigPanDA pages. A site name lists that site's queues. Unknown names get the closest known names.",
  },
};

/** Runs one tool; every failure comes back as a ToolOutput with `error`, never as an exception. */
export async function runTool<N extends ToolName>(name: N, args: Args<N>, call: ToolCall): Promise<ToolOutput> {
  try {
    return bounded(await call.gate.run('mcp', `${call.transport}:${call.client}`, () => dispatch(name, args, call)));
  } catch (err) {
    if (err instanceof BusyError) return failure('busy', err.message);
    if (err instanceof AskPandaError) return failure(err.kind, err.message);
    if (call.signal?.aborted) return failure('bad_input', 'The request was cancelled.');
    call.app.logger.error({ tool: name, err: err instanceof Error ? err.message : String(err) }, 'MCP tool failed');
    return failure(
      'monitor_unavailable',
      'Something went wrong on my side while answering. Please try again in a minute; if it keeps happening, tell the askpanda maintainers.',
    );
  }
}

async function dispatch<N extends ToolName>(name: N, args: Args<N>, call: ToolCall): Promise<ToolOutput> {
  const a = args as Record<string, unknown>;
  switch (name) {
    case 'panda_job_status':
      return jobStatus(a.pandaid as number, call);
    case 'panda_job_log_analysis': {
      const id = a.pandaid as number;
      return fromAnswer(
        await call.app.bot.handleRoute(
          incoming(call, `why did job ${id} fail?`),
          { agent: 'job', pandaid: id, reason: 'MCP tool panda_job_log_analysis' },
          { progress: call.progress, signal: call.signal },
        ),
      );
    }
    case 'panda_task_status': {
      const id = a.jeditaskid as number;
      return fromAnswer(
        await call.app.bot.handleRoute(
          incoming(call, `what is happening with task ${id}?`),
          { agent: 'task', jeditaskid: id, reason: 'MCP tool panda_task_status' },
          { progress: call.progress, signal: call.signal },
        ),
      );
    }
    case 'panda_task_failures':
      return taskFailures(a.jeditaskid as number, a.since as string | undefined, a.until as string | undefined, call);
    case 'panda_error_code':
      return fromAnswer(await errorCodeAnswer(a.component as string, a.code as number, call));
    case 'panda_docs_search':
      return docsSearch(a.query as string, (a.limit as number | undefined) ?? 5, call);
    case 'askpanda_ask': {
      const thread = a.thread as string | undefined;
      const question = a.question as string;
      return fromAnswer(
        await call.app.bot.handle(
          { ...incoming(call, question), thread: thread ?? `once-${randomUUID()}` },
          { progress: call.progress, signal: call.signal, remember: thread !== undefined },
        ),
      );
    }
    case 'panda_queue_info':
      return queueInfo(a.queue as string, call);
  }
  throw new Error(`unknown tool ${String(name)}`);
}

function incoming(call: ToolCall, text: string): Incoming {
  return {
    platform: 'mcp',
    channel: call.transport,
    thread: `tool-${randomUUID()}`,
    user: call.client,
    text,
    isDirect: true,
  };
}

function failure(kind: ErrorKind, message: string): ToolOutput {
  return { text: message, structured: { error: { kind, message } }, error: { kind, message } };
}

/** An Answer as a tool result: its markdown, and the Answer itself (evidence cut to size). */
export function fromAnswer(answer: Answer): ToolOutput {
  if (answer.error)
    return { ...failure(answer.error.kind, answer.error.message), structured: { ...boundAnswer(answer) } };
  return { text: answer.text, structured: { ...boundAnswer(answer) } };
}

function boundAnswer(answer: Answer): Answer {
  return { ...answer, evidence: answer.evidence.map((e) => ({ source: e.source, lines: boundLines(e.lines) })) };
}

function boundLines(lines: readonly string[]): string[] {
  const kept = lines
    .slice(-MAX_EVIDENCE_LINES)
    .map((l) => (l.length > MAX_LINE_CHARS ? `${l.slice(0, MAX_LINE_CHARS)}…` : l));
  return lines.length > MAX_EVIDENCE_LINES
    ? [`… ${lines.length - MAX_EVIDENCE_LINES} earlier lines left out`, ...kept]
    : kept;
}

function bounded(output: ToolOutput): ToolOutput {
  if (output.text.length <= MAX_TOOL_TEXT_CHARS) return output;
  return {
    ...output,
    text: `${output.text.slice(0, MAX_TOOL_TEXT_CHARS)}\n\n… (cut at ${MAX_TOOL_TEXT_CHARS.toLocaleString('en-US')} characters; the structured result has the rest)`,
  };
}

// panda_job_status ---------------------------------------------------------------------------

async function jobStatus(id: number, call: ToolCall): Promise<ToolOutput> {
  const client = call.app.panda;
  call.progress(`is looking up job ${id}…`);
  const { job } = await client.job(id);
  const errors = jobErrors(job).map((e) => ({
    component: e.component,
    code: e.code,
    ...(e.component === 'pilot' && pilotCode(e.code)
      ? { name: pilotCode(e.code)!.name, message: pilotCode(e.code)!.message }
      : {}),
    diag: redactSecrets(e.diag).slice(0, 500),
  }));
  const links = [
    { title: `Job ${id}`, url: client.jobPage(id) },
    ...(job.jeditaskid ? [{ title: `Task ${job.jeditaskid}`, url: client.taskPage(job.jeditaskid) }] : []),
  ];
  const structured = {
    pandaid: id,
    jobstatus: job.jobstatus,
    jobsubstatus: job.jobsubstatus,
    jeditaskid: job.jeditaskid,
    jobname: job.jobname,
    computingsite: job.computingsite,
    cloud: job.cloud,
    prodsourcelabel: job.prodsourcelabel,
    produsername: job.produsername,
    transformation: job.transformation,
    attemptnr: job.attemptnr,
    maxattempt: job.maxattempt,
    creationtime: job.creationtime,
    starttime: job.starttime,
    endtime: job.endtime,
    modificationtime: job.modificationtime,
    durationsec: job.durationsec,
    corecount: job.actualcorecount ?? job.corecount,
    minramcount: job.minramcount,
    minramunit: job.minramunit,
    maxpss: job.maxpss,
    nevents: job.nevents,
    errors,
    links,
  };
  const lines = [
    `**Job ${id}** is **${job.jobstatus}**${job.jobsubstatus ? ` (${job.jobsubstatus})` : ''}${job.computingsite ? ` at ${job.computingsite}` : ''}${job.attemptnr !== undefined ? `, attempt ${job.attemptnr}${job.maxattempt ? ` of ${job.maxattempt}` : ''}` : ''}.`,
    ...(job.jeditaskid ? [`- task: ${job.jeditaskid}`] : []),
    ...(job.transformation ? [`- transformation: ${job.transformation}`] : []),
    `- created ${job.creationtime ?? '?'}${job.starttime ? `, started ${job.starttime}` : ''}${job.endtime ? `, ended ${job.endtime}` : ''} (UTC)`,
    ...(job.maxpss
      ? [
          `- memory used (maxPSS): ${(job.maxpss / 1024 / 1024).toFixed(1)} GiB${job.minramcount ? `; requested ${job.minramcount} ${job.minramunit ?? 'MB'}` : ''}`,
        ]
      : []),
    ...(errors.length
      ? [
          '',
          '**Errors**',
          ...errors.map(
            (e) =>
              `- ${e.component}:${e.code}${'name' in e ? ` ${e.name}` : ''}: ${e.diag || ('message' in e ? e.message : '') || 'no message'}`,
          ),
        ]
      : ['- no error codes set']),
    '',
    `**Monitor:** ${links.map((l) => `[${l.title}](${l.url})`).join(' · ')}`,
  ];
  return { text: lines.join('\n'), structured };
}

// panda_task_failures ------------------------------------------------------------------------

/** An ISO-8601 instant (a zone-less time or a bare date is UTC, as on the monitor). */
export function parseInstant(text: string): Date | undefined {
  const s = text.trim();
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.exec(
    s,
  );
  if (!m) return undefined;
  const zone = m[7] ?? 'Z';
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}${zone.toUpperCase() === 'Z' ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone}`;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return undefined;
  // "2025-02-30" rolls over in Date: refuse it rather than answer about another day.
  if (date.getUTCDate() !== Number(m[3]) && zone.toUpperCase() === 'Z') return undefined;
  return date;
}

async function taskFailures(
  id: number,
  sinceText: string | undefined,
  untilText: string | undefined,
  call: ToolCall,
): Promise<ToolOutput> {
  const app = call.app;
  const until = untilText ? parseInstant(untilText)! : new Date();
  const since = sinceText
    ? parseInstant(sinceText)!
    : new Date(until.getTime() - app.config.monitor.errorsHours * 3_600_000);
  if (since.getTime() >= until.getTime())
    throw new AskPandaError('bad_input', `since (${isoSeconds(since)}) must be before until (${isoSeconds(until)}).`);
  if (until.getTime() - since.getTime() > MAX_FAILURE_WINDOW_DAYS * 86_400_000) {
    throw new AskPandaError(
      'bad_input',
      `The window from since to until is longer than ${MAX_FAILURE_WINDOW_DAYS} days; ask for a shorter one (a wider window is a slow, deep monitor query).`,
    );
  }
  call.progress(`is reading the failures of task ${id}…`);
  const client = app.panda;
  // The monitor's window is inclusive from one second after `after`.
  const errors = await client.taskErrorsInWindow(id, { after: new Date(since.getTime() - 1000), until });
  const groups = errors.errsByCount
    .map((e) => {
      const [component = '', codeText = ''] = e.error.split(':');
      const code = Number(codeText);
      const guidance = guidanceFor(
        component === 'exe' ? 'executor' : component === 'ddm' ? 'dataservice' : component,
        code,
      );
      return {
        error: e.error,
        component,
        code,
        count: e.count,
        name: component === 'pilot' ? pilotCode(code)?.name : (e.codename ?? undefined),
        diag: redactSecrets(e.diag ?? e.desc ?? '').slice(0, 300),
        meaning: guidance?.problem,
        examplePandaid: e.example_pandaid,
        exampleJobUrl: e.example_pandaid ? client.jobPage(e.example_pandaid) : undefined,
      };
    })
    .sort((a, b) => b.count - a.count);
  const { kept, noise } = splitNoise(groups);
  const sites = errors.errsBySite
    .map((s) => ({ site: s.name, errors: s.toterrors ?? 0, failedJobs: s.toterrjobs ?? 0 }))
    .sort((a, b) => b.failedJobs - a.failedJobs || b.errors - a.errors);
  const failedJobs = sites.reduce((n, s) => n + s.failedJobs, 0);
  const links = [
    { title: `Task ${id}`, url: client.taskPage(id) },
    {
      title: 'Errors of the task',
      url: `${client.publicUrl}/errors/?jeditaskid=${id}&date_from=${monitorMinute(since)}&date_to=${monitorMinute(until)}`,
    },
  ];
  const window = { since: isoSeconds(since), until: isoSeconds(until) };
  const structured = {
    jeditaskid: id,
    window,
    failedJobs,
    byCode: groups.slice(0, 30),
    companionCodes: noise.map((g) => g.error),
    bySite: sites.slice(0, 20),
    links,
  };
  const lines: string[] = [];
  lines.push(
    groups.length === 0
      ? `No failed jobs of task ${id} between ${window.since} and ${window.until}.`
      : `**Task ${id}**: ${failedJobs.toLocaleString('en-US')} failed job${failedJobs === 1 ? '' : 's'} between ${window.since} and ${window.until}.`,
  );
  if (kept.length) {
    lines.push('', '**By error code** (counts are of error codes)');
    for (const g of kept.slice(0, 15))
      lines.push(
        `- **${g.error}**${g.name ? ` ${g.name}` : ''} ×${g.count}: ${g.diag || 'no message'}${g.meaning ? ` _${g.meaning}_` : ''}${g.examplePandaid ? ` [example job ${g.examplePandaid}](${g.exampleJobUrl})` : ''}`,
      );
    if (noise.length)
      lines.push(
        `_Left out as companions of the codes above: ${noise.map((g) => `${g.error} ×${g.count}`).join(', ')}._`,
      );
  }
  if (sites.length)
    lines.push(
      '',
      `**Sites with the most failed jobs:** ${sites
        .slice(0, 5)
        .map((s) => `${s.site} (${s.failedJobs})`)
        .join(', ')}`,
    );
  lines.push('', `**Monitor:** ${links.map((l) => `[${l.title}](${l.url})`).join(' · ')}`);
  return { text: lines.join('\n'), structured };
}

function monitorMinute(date: Date): string {
  return date.toISOString().slice(0, 16);
}

// panda_docs_search --------------------------------------------------------------------------

const PASSAGE_CHARS = 1_500;

async function docsSearch(query: string, limit: number, call: ToolCall): Promise<ToolOutput> {
  call.progress('is searching the documentation…');
  const retriever = await call.app.docs();
  // The query may reach a hosted embedder: secrets are cut out first.
  const cleaned = redactSecrets(query).replaceAll('[redacted]', ' ');
  const hits = await retriever.search(cleaned, limit, { signal: call.signal });
  const passages = hits.map((h, i) => ({
    rank: i + 1,
    title: citationTitle(h.chunk),
    section: h.chunk.section,
    source: h.chunk.source,
    ...(h.chunk.url ? { url: h.chunk.url } : {}),
    coverage: Math.round(h.coverage * 100) / 100,
    text: h.chunk.text.length > PASSAGE_CHARS ? `${h.chunk.text.slice(0, PASSAGE_CHARS)}…` : h.chunk.text,
  }));
  const structured = { query: cleaned, retrieval: retriever.mode, passages };
  if (passages.length === 0)
    return { text: `No passage of the indexed documentation matches "${cleaned}".`, structured };
  const text = passages
    .map(
      (p) =>
        `[${p.rank}] **${p.title}**${p.url ? ` <${p.url}>` : ''} (matches ${Math.round(p.coverage * 100)} % of the search words)\n${p.text}`,
    )
    .join('\n\n');
  return { text, structured };
}

// panda_queue_info ---------------------------------------------------------------------------

async function queueInfo(name: string, call: ToolCall): Promise<ToolOutput> {
  const { cric, panda } = call.app;
  call.progress('is looking up queues in CRIC…');
  const data = await cric.queues();
  const note = data.stale ? cric.describe(data) : undefined;
  const cricMeta = { source: cric.source, ageSeconds: Math.round(data.ageMs / 1000), stale: data.stale };
  const queue = data.index.queue(name);
  if (queue) {
    const links = [
      { title: `CRIC: ${queue.name}`, url: cric.queuePage(queue.name) },
      { title: `BigPanDA: ${queue.name}`, url: `${panda.publicUrl}/site/${encodeURIComponent(queue.name)}/` },
    ];
    const limits = queueLimits(queue);
    const text = [
      `**Queue ${queue.name}**${queue.atlas_site ? ` (site ${queue.atlas_site}${queue.cloud ? `, cloud ${queue.cloud}` : ''})` : ''}`,
      ...limitLines(queue).map((l) => `- ${l}`),
      ...(note ? ['', `_${note}_`] : []),
      '',
      `**Links:** ${links.map((l) => `[${l.title}](${l.url})`).join(' · ')}`,
    ].join('\n');
    return {
      text,
      structured: {
        kind: 'queue',
        ...limits,
        statusMeaning: queue.status ? STATUS_MEANING[queue.status] : undefined,
        links,
        cric: cricMeta,
      },
    };
  }
  const site = data.index.site(name);
  if (site) {
    const queues = site.queues.map((q) => ({
      queue: q.name,
      status: q.status,
      type: q.type,
      cores: q.corecount,
      memoryMb: q.maxrss,
      walltimeSeconds: q.maxtime,
    }));
    const text = [
      `**Site ${site.name}**: ${queues.length} queue${queues.length === 1 ? '' : 's'} in CRIC`,
      ...queues.map(
        (q) =>
          `- ${q.queue}: **${q.status ?? 'unknown'}**${q.type ? `, ${q.type}` : ''}${q.cores ? `, ${q.cores} cores` : ''}${q.memoryMb ? `, ${q.memoryMb.toLocaleString('en-US')} MB` : ''}`,
      ),
      ...(note ? ['', `_${note}_`] : []),
      '',
      'Ask panda_queue_info with one of these queue names for its limits.',
    ].join('\n');
    return { text, structured: { kind: 'site', site: site.name, queues, cric: cricMeta } };
  }
  const closest = data.index.closestNames(name);
  throw new AskPandaError(
    'not_found',
    `CRIC has no queue or site called ${name}.${closest.length ? ` Closest names: ${closest.join(', ')}.` : ''}`,
  );
}

/** The Answer schema as the output schema of the tools that return askpanda's answers. */
export const ANSWER_OUTPUT = AnswerSchema;

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.000Z$/, 'Z');
}

/**
 * The component names a caller may use, and the knowledge base's: BigPanDA's error summaries say
 * `exe:` and `ddm:`, the job record's fields executor and dataservice.
 */
const COMPONENT_ALIASES: Record<string, ComponentName> = {
  ...Object.fromEntries(COMPONENT_NAMES.map((name) => [name, name])),
  exe: 'executor',
  trans: 'transform',
  ddm: 'dataservice',
  dispatcher: 'jobdispatcher',
};

/** panda_error_code: the error-code agent's answer, the same one a chat user gets. */
async function errorCodeAnswer(componentName: string, code: number, call: ToolCall): Promise<Answer> {
  const component = COMPONENT_ALIASES[componentName.trim().toLowerCase()];
  if (!component) {
    return toAnswer(
      errorDraft(
        'general',
        'bad_input',
        `"${componentName.slice(0, 40)}" is not a PanDA job error component. Use one of: ${Object.keys(COMPONENT_ALIASES).join(', ')}.`,
      ),
    );
  }
  return call.app.bot.handleRoute(
    incoming(call, `what does ${component} error ${code} mean?`),
    { agent: 'error_code', errorCode: { component, code }, reason: 'MCP tool panda_error_code' },
    { progress: call.progress, signal: call.signal },
  );
}
