import { errorComponent, guidanceFor, pilotCode } from '../panda/knowledge.ts';
import type { ErrorsResponse, TaskWithCounts } from '../panda/schemas.ts';
import { splitNoise } from '../panda/error-noise.ts';
import { DIGEST_LIMITS, type DigestMessage } from './poster.ts';
import { formatLocal } from '../util/zone.ts';

/**
 * The digest message, built from the monitor's data alone: the same data gives the same text, so
 * nothing here decides to post because a sentence came out differently. One block per task — link,
 * status (and its change), progress, failed jobs in the window grouped by component:code with the
 * official message, one line of meaning from the knowledge base, an example job, new or recurring,
 * the sites most affected. Blocks that do not fit one message go to the thread as replies.
 */

/** Final JEDI task states (panda-bigmon-core TASK_STATES_FINAL): the subscription ends after them. */
export const FINAL_TASK_STATES = ['done', 'finished', 'failed', 'broken', 'aborted'] as const;

export function isFinalTaskState(status: string | undefined): boolean {
  return status !== undefined && (FINAL_TASK_STATES as readonly string[]).includes(status);
}

export interface TaskWindowData {
  jeditaskid: number;
  /** Failures modified in (after, until], epoch ms. */
  window: { after: number; until: number };
  /** The task's row from /tasks/ (status, dsinfo); undefined when it could not be read. */
  task?: TaskWithCounts;
  /** One sentence: why the status is missing. */
  taskProblem?: string;
  errors?: ErrorsResponse;
  /** One sentence: why the failures are missing (they are carried into the next digest). */
  errorsProblem?: string;
  /** What the previous digest of this subscription reported; undefined for the first one. */
  previous?: { status?: string; seenCodes: readonly string[] };
  /** Scheduled digests folded into this one beyond the latest (a catch-up after downtime). */
  missedRuns?: number;
}

export interface DigestBuildInput {
  tasks: readonly TaskWindowData[];
  /** Zone the times are shown in (the subscription's). */
  timezone: string;
  quiet: 'post' | 'silent';
  links: { taskPage(jeditaskid: number): string; jobPage(pandaid: number): string };
  /** Optional one line on top (a model's summary); never decides whether anything is posted. */
  summaryLine?: string;
  /** Default: DIGEST_LIMITS.messageChars. */
  limit?: number;
}

export interface FailureGroup {
  error: string;
  count: number;
  official: string;
  detail?: string;
  meaning?: string;
  examplePandaid?: number;
  isNew: boolean;
}

export interface TaskDigest {
  jeditaskid: number;
  status?: string;
  statusChange?: { from: string; to: string };
  failedJobs: number;
  groups: FailureGroup[];
  /** Codes left out as companions of others (see panda/error-noise.ts). */
  companions: Array<{ error: string; count: number }>;
  sites: Array<{ name: string; jobs: number }>;
  /** Every code seen in this window, companions included: what the next digest compares with. */
  codes: string[];
  quiet: boolean;
  ended: boolean;
  dataMissing: boolean;
}

export interface BuiltDigest {
  /** undefined: nothing to post (every task quiet and digest.quiet = silent). */
  message?: DigestMessage;
  tasks: TaskDigest[];
}

const MAX_GROUPS = 8;
const MAX_SITES = 5;
const fmt = (n: number) => n.toLocaleString('en-US');
const codePoints = (s: string) => [...s].length;
const plural = (n: number, one: string, many = `${one}s`) => `${fmt(n)} ${n === 1 ? one : many}`;

function clip(text: string, max: number): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  return codePoints(clean) <= max
    ? clean
    : `${[...clean]
        .slice(0, max - 1)
        .join('')
        .trimEnd()}…`;
}

function firstSentence(text: string): string {
  const m = text.match(/^(.+?[.!?])(\s|$)/);
  return m ? m[1]! : text;
}

/** The official message and one line of meaning for a code, from the knowledge base. */
function describe(error: string, diag: string): { official: string; detail?: string; meaning?: string } {
  const [component = '', codeText = ''] = error.split(':');
  const code = Number(codeText);
  const guidance = guidanceFor(component === 'exe' ? 'executor' : component, code);
  const meaning = guidance ? firstSentence(guidance.problem) : errorComponent(component)?.meaning;
  const official = component === 'pilot' ? pilotCode(code)?.message : undefined;
  if (official) {
    // The pilot writes "<standard message>:<detail>"; the detail is what differs between failures.
    const detail = diag.startsWith(official) ? diag.slice(official.length).replace(/^\s*:\s*/, '') : diag;
    return { official, detail: detail.trim() ? clip(detail, 110) : undefined, meaning };
  }
  if (diag.trim()) return { official: clip(diag, 140), meaning };
  if (component === 'transform') return { official: `transformation exit code ${codeText}`, meaning };
  return { official: error, meaning };
}

export function analyseTaskWindow(data: TaskWindowData): TaskDigest {
  const status = data.task?.status;
  const previousStatus = data.previous?.status;
  const statusChange =
    status && previousStatus && previousStatus !== status ? { from: previousStatus, to: status } : undefined;
  const seen = new Set(data.previous?.seenCodes ?? []);
  const counts = (data.errors?.errsByCount ?? []).filter((e) => e.count > 0);
  const { kept, noise } = splitNoise(counts);
  const groups = kept
    .map((e): FailureGroup => ({
      error: e.error,
      count: e.count,
      ...describe(e.error, e.diag ?? ''),
      examplePandaid: e.example_pandaid,
      isNew: !seen.has(e.error),
    }))
    .sort((a, b) => b.count - a.count || a.error.localeCompare(b.error));
  const sites = (data.errors?.errsBySite ?? [])
    .map((s) => ({ name: s.name, jobs: s.toterrjobs ?? 0 }))
    .filter((s) => s.jobs > 0)
    .sort((a, b) => b.jobs - a.jobs || a.name.localeCompare(b.name));
  const failedJobs = sites.reduce((n, s) => n + s.jobs, 0);
  const ended = isFinalTaskState(status);
  const dataMissing = Boolean(data.errorsProblem);
  return {
    jeditaskid: data.jeditaskid,
    status,
    statusChange,
    failedJobs,
    groups,
    companions: noise
      .map((n) => ({ error: n.error, count: n.count }))
      .sort((a, b) => b.count - a.count || a.error.localeCompare(b.error)),
    sites,
    codes: counts.map((c) => c.error).sort(),
    quiet: groups.length === 0 && failedJobs === 0 && !statusChange && !ended && !dataMissing,
    ended,
    dataMissing,
  };
}

function progressText(task: TaskWithCounts | undefined): string | undefined {
  const ds = task?.dsinfo;
  if (!ds || !ds.nfiles) return undefined;
  const finished = ds.nfilesfinished ?? 0;
  const failed = ds.nfilesfailed ?? 0;
  const pct = Math.floor((100 * finished) / ds.nfiles);
  return `${fmt(finished)} of ${fmt(ds.nfiles)} input files finished (${pct} %)${failed ? `, ${fmt(failed)} failed` : ''}`;
}

function statusText(digest: TaskDigest): string {
  if (digest.statusChange) return `**${digest.statusChange.from} → ${digest.statusChange.to}**`;
  if (digest.status) return digest.status;
  return 'status unknown';
}

function since(data: TaskWindowData, zone: string): string {
  return formatLocal(data.window.after, zone);
}

function taskLink(data: TaskWindowData, input: DigestBuildInput): string {
  return `[Task ${data.jeditaskid}](${input.links.taskPage(data.jeditaskid)})`;
}

function groupLine(g: FailureGroup, input: DigestBuildInput): string {
  const official = g.detail ? `${g.official} (${g.detail})` : g.official;
  let line = `- **${g.error}** ×${fmt(g.count)}, ${g.isNew ? '**new**' : 'recurring'}: ${official.replace(/[.:;,]\s*$/, '')}.`;
  if (g.meaning) line += ` _${clip(g.meaning, 170)}_`;
  if (g.examplePandaid) line += ` [Example job ${g.examplePandaid}](${input.links.jobPage(g.examplePandaid)})`;
  return line;
}

/** The full block of one task; `maxGroups` shrinks until it fits one message. */
function taskBlock(
  digest: TaskDigest,
  data: TaskWindowData,
  input: DigestBuildInput,
  showWindow: boolean,
  maxGroups = MAX_GROUPS,
): string {
  const zone = input.timezone;
  const progress = progressText(data.task);
  if (digest.quiet) {
    return (
      `No new failures in [task ${data.jeditaskid}](${input.links.taskPage(data.jeditaskid)}) since ` +
      `${since(data, zone)}${digest.status ? ` · ${digest.status}${progress ? `, ${progress}` : ''}` : ''}.`
    );
  }
  const name = data.task?.taskname ? ` · \`${clip(data.task.taskname, 90)}\`` : '';
  const lines = [`**${taskLink(data, input)}**${name} · ${statusText(digest)}`];
  const windowText = showWindow ? ` since ${since(data, zone)}` : '';
  const facts: string[] = [];
  if (data.errorsProblem) facts.push(data.errorsProblem);
  else if (digest.failedJobs || digest.groups.length)
    facts.push(`${plural(digest.failedJobs, 'failed job')}${windowText}`);
  else facts.push(`no new failures${windowText}`);
  if (progress) facts.push(`progress: ${progress}`);
  if (data.taskProblem) facts.push(data.taskProblem);
  lines.push(facts.join(' · '));
  for (const g of digest.groups.slice(0, maxGroups)) lines.push(groupLine(g, input));
  const hidden = digest.groups.length - Math.min(maxGroups, digest.groups.length);
  if (hidden > 0)
    lines.push(
      `- …and ${plural(hidden, 'more code')} ` +
        `(${fmt(digest.groups.slice(maxGroups).reduce((n, g) => n + g.count, 0))} errors): ` +
        `see the [task's errors](${input.links.taskPage(data.jeditaskid)})`,
    );
  if (digest.sites.length) {
    const [first, ...rest] = digest.sites.slice(0, MAX_SITES);
    lines.push(
      `Sites most affected: ${first!.name} (${plural(first!.jobs, 'job')})${rest.map((s) => `, ${s.name} (${fmt(s.jobs)})`).join('')}`,
    );
  }
  if (digest.companions.length) {
    lines.push(
      `_Left out as companions of the codes above: ${digest.companions.map((c) => `${c.error} ×${fmt(c.count)}`).join(', ')}._`,
    );
  }
  if (digest.ended)
    lines.push(
      `Task ${data.jeditaskid} is ${digest.status}: this is its last digest, and this channel's subscription to it has ended.`,
    );
  const block = lines.join('\n');
  const limit = input.limit ?? DIGEST_LIMITS.messageChars;
  if (codePoints(block) > limit - 200 && maxGroups > 1)
    return taskBlock(digest, data, input, showWindow, maxGroups - 1);
  return codePoints(block) > limit - 200 ? clip(block, limit - 200) : block;
}

/** One line per task, for the channel message when the blocks go to the thread. */
function taskLine(digest: TaskDigest, data: TaskWindowData, input: DigestBuildInput): string {
  const head = `${taskLink(data, input)} ${statusText(digest)}`;
  if (digest.quiet) return `- ${head} · no new failures`;
  const parts = [head];
  if (data.errorsProblem) parts.push('failures not available (next digest)');
  else parts.push(plural(digest.failedJobs, 'failed job'));
  if (digest.groups.length) {
    parts.push(
      `${digest.groups
        .slice(0, 2)
        .map((g) => `${g.error} ×${fmt(g.count)}${g.isNew ? ' new' : ''}`)
        .join(', ')}${digest.groups.length > 2 ? ` +${digest.groups.length - 2} more` : ''}`,
    );
  }
  if (digest.ended) parts.push('last digest, subscription ended');
  return `- ${parts.join(' · ')}`;
}

/** Tasks that need attention first: ended or changed, then new codes, then most failures. */
function attentionOrder(a: TaskDigest, b: TaskDigest): number {
  const rank = (d: TaskDigest) => (d.ended || d.statusChange ? 0 : d.groups.some((g) => g.isNew) ? 1 : d.quiet ? 3 : 2);
  return rank(a) - rank(b) || b.failedJobs - a.failedJobs || a.jeditaskid - b.jeditaskid;
}

function header(
  input: DigestBuildInput,
  digests: readonly TaskDigest[],
  sharedWindow: TaskWindowData['window'] | undefined,
): string {
  const withFailures = digests.filter((d) => !d.quiet).length;
  const missed = Math.max(0, ...input.tasks.map((t) => t.missedRuns ?? 0));
  const window = sharedWindow ? ` since ${formatLocal(sharedWindow.after, input.timezone)}` : '';
  const catchUp = missed > 0 ? ` · catch-up: also covers ${plural(missed, 'missed digest')}` : '';
  const count = digests.length === 1 ? '' : ` · ${plural(digests.length, 'task')}, ${fmt(withFailures)} with news`;
  return `**PanDA digest**${window}${count}${catchUp}`;
}

/** Splits blocks into thread replies of at most `limit` code points each. */
function pack(blocks: readonly string[], limit: number): string[] {
  const parts: string[] = [];
  let current = '';
  for (const block of blocks) {
    const next = current ? `${current}\n\n${block}` : block;
    if (current && codePoints(next) > limit) {
      parts.push(current);
      current = block;
    } else {
      current = next;
    }
  }
  if (current) parts.push(current);
  return parts;
}

export function buildDigest(input: DigestBuildInput): BuiltDigest {
  const limit = input.limit ?? DIGEST_LIMITS.messageChars;
  const entries = input.tasks.map((data) => ({ data, digest: analyseTaskWindow(data) }));
  const digests = entries.map((e) => e.digest);
  const shown = input.quiet === 'silent' ? entries.filter((e) => !e.digest.quiet) : entries;
  if (shown.length === 0) return { tasks: digests };

  // Nothing new in a single task: one line, nothing around it.
  if (shown.length === 1 && shown[0]!.digest.quiet && !shown[0]!.data.missedRuns) {
    return {
      message: { markdown: taskBlock(shown[0]!.digest, shown[0]!.data, input, true), details: [] },
      tasks: digests,
    };
  }
  const first = shown[0]!.data.window;
  const shared = shown.every((e) => e.data.window.after === first.after && e.data.window.until === first.until)
    ? first
    : undefined;
  const top = input.summaryLine ? `_${clip(input.summaryLine, 300)}_\n` : '';
  const head =
    top +
    header(
      input,
      shown.map((e) => e.digest),
      shared,
    );
  const ordered = [...shown].sort((a, b) => attentionOrder(a.digest, b.digest));
  const blocks = ordered.map((e) => taskBlock(e.digest, e.data, input, !shared));

  const whole = [head, ...blocks].join('\n\n');
  if (codePoints(whole) <= limit) return { message: { markdown: whole, details: [] }, tasks: digests };

  // Too long for one message: one line per task here, the blocks in the thread.
  const footer = '_The breakdown per task is in the thread._';
  const lines: string[] = [];
  let size = codePoints(head) + codePoints(footer) + 4;
  for (const [i, e] of ordered.entries()) {
    const line = taskLine(e.digest, e.data, input);
    const rest = ordered.length - i;
    const moreNote = `- …and ${plural(rest, 'more task')}`;
    if (size + codePoints(line) + 1 + codePoints(moreNote) + 1 > limit) {
      lines.push(
        `- …and ${plural(rest, 'more task')} (${fmt(ordered.slice(i).filter((x) => !x.digest.quiet).length)} with news)`,
      );
      break;
    }
    lines.push(line);
    size += codePoints(line) + 1;
  }
  const markdown = [head, lines.join('\n'), footer].join('\n\n');
  return { message: { markdown, details: pack(blocks, limit) }, tasks: digests };
}
