import type { Config } from '../config/schema.ts';
import { isAskPandaError } from '../core/errors.ts';
import { redactLines, redactSecrets } from '../util/redact.ts';
import type { LogOutcome, PandaClient } from './client.ts';
import { compilePatterns, errorComponent, guidanceFor, pilotCode, type Guidance, type PilotCode } from './knowledge.ts';
import type { LogMatch, ScanOptions, ScanPattern } from './log-scan.ts';
import type { Job, JobResponse } from './schemas.ts';

/** One non-zero error of a job, e.g. pilot:1235. */
export interface JobError {
  component: string;
  code: number;
  diag: string;
}

/** Everything the job agent and its prompt builder know about a job. */
export interface JobAnalysis {
  job: Job;
  files: JobResponse['files'];
  /** failed / holding / closed / cancelled: worth a log analysis. */
  problem: boolean;
  errors: JobError[];
  primary?: JobError;
  pilot?: PilotCode;
  guidance?: Guidance;
  logs: LogOutcome[];
  /** Log text that shows the cause, redacted, per file. */
  evidence: Array<{ source: string; lines: string[]; firstLine?: number }>;
  /** Short facts found in the payload output for 1305 (traceback, cling error, exit code …). */
  payloadSignals: string[];
  /** Hits of the cause patterns, redacted (at most a few per file), for the expert section. */
  topMatches: Array<{ source: string; match: LogMatch }>;
  notes: string[];
}

export const PROBLEM_STATES = ['failed', 'holding', 'closed', 'cancelled'];

const COMPONENT_ORDER: Array<{ component: string; code: keyof Job; diag?: keyof Job }> = [
  { component: 'pilot', code: 'piloterrorcode', diag: 'piloterrordiag' },
  { component: 'executor', code: 'exeerrorcode', diag: 'exeerrordiag' },
  { component: 'dataservice', code: 'ddmerrorcode', diag: 'ddmerrordiag' },
  { component: 'jobdispatcher', code: 'jobdispatchererrorcode', diag: 'jobdispatchererrordiag' },
  { component: 'supervisor', code: 'superrorcode', diag: 'superrordiag' },
  { component: 'taskbuffer', code: 'taskbuffererrorcode', diag: 'taskbuffererrordiag' },
  { component: 'brokerage', code: 'brokerageerrorcode', diag: 'brokerageerrordiag' },
];

/** Non-zero errors of a job, most telling first (the monitor's errorinfo rules). */
export function jobErrors(job: Job): JobError[] {
  const errors: JobError[] = [];
  for (const c of COMPONENT_ORDER) {
    const code = job[c.code];
    if (typeof code === 'number' && code !== 0)
      errors.push({ component: c.component, code, diag: String((c.diag && job[c.diag]) ?? '') });
  }
  const trans = Number(job.transexitcode ?? 0);
  if (Number.isInteger(trans) && trans !== 0) errors.push({ component: 'transform', code: trans, diag: '' });
  // Low-priority codes give way when anything else is set.
  const lowPriority = (e: JobError) =>
    (e.component === 'taskbuffer' && e.code === 300) ||
    (e.component === 'dataservice' && e.code === 200) ||
    (e.component === 'supervisor' && e.code === 8970);
  const ranked = errors.filter((e) => !lowPriority(e));
  const rest = errors.filter(lowPriority);
  // Payload failure and memory kill explain everything else.
  const decisive = ranked.find((e) => e.component === 'pilot' && (e.code === 1305 || e.code === 1235));
  const ordered = [...ranked, ...rest];
  return decisive ? [decisive, ...ordered.filter((e) => e !== decisive)] : ordered;
}

/** The detail part of a diag ("<standard message>:<detail>") as a literal pattern. */
function diagPatterns(errors: JobError[]): ScanPattern[] {
  const out: ScanPattern[] = [];
  for (const e of errors) {
    if (!e.diag) continue;
    const detail = (e.diag.includes(':') ? e.diag.slice(e.diag.indexOf(':') + 1) : e.diag).trim().slice(0, 80);
    if (detail.length >= 12)
      out.push({ regex: new RegExp(escapeRegex(detail), 'i'), weight: 6, label: `diag of ${e.component}:${e.code}` });
  }
  return out;
}

const GENERIC_PATTERNS: ScanPattern[] = [
  { regex: /pilot error \d+|pilotErrorCode=[1-9]/i, weight: 4, label: 'pilot error code' },
  { regex: /Traceback \(most recent call last\)/, weight: 4, label: 'traceback' },
  { regex: /\| (?:ERROR|CRITICAL) +\|/, weight: 2, label: 'error-level line' },
];

const PAYLOAD_SIGNALS: Array<{ regex: RegExp; say: (m: RegExpExecArray) => string }> = [
  { regex: /cling JIT session error: (.*)/, say: (m) => `ROOT's cling interpreter failed: "${m[1]!.trim()}"` },
  { regex: /std::bad_alloc/, say: () => 'a C++ std::bad_alloc (memory allocation failed)' },
  { regex: /^Traceback \(most recent call last\)/, say: () => 'a Python traceback' },
  { regex: /^(\w+(?:Error|Exception)): (.*)/, say: (m) => `a Python ${m[1]}: "${m[2]!.trim().slice(0, 120)}"` },
  { regex: /Error in <([A-Za-z_:]+)>: (.*)/, say: (m) => `a ROOT error in ${m[1]}: "${m[2]!.trim().slice(0, 120)}"` },
  { regex: /segmentation violation|Segmentation fault/i, say: () => 'a segmentation fault (crash)' },
  { regex: /exit(?:ed)? (?:with )?(?:code|status) (\d+)/i, say: (m) => `exit code ${m[1]}` },
  { regex: /\((core dumped)\)/, say: () => 'the process aborted and dumped core' },
];

/**
 * Looks at a job: for a problem state, finds the error component and code, picks the log
 * (payload.stdout/stderr tails for 1305, pilotlog.txt otherwise), streams it through the scanner
 * and keeps redacted evidence. Other states are summarised from metadata without a log download.
 */
export async function analyzeJob(
  client: PandaClient,
  config: Pick<Config, 'logs' | 'monitor'>,
  data: JobResponse & { job: Job },
  progress: (s: string) => void = () => undefined,
): Promise<JobAnalysis> {
  const job = data.job;
  const errors = jobErrors(job);
  const problem = PROBLEM_STATES.includes(job.jobstatus);
  const primary = errors[0];
  const analysis: JobAnalysis = {
    job,
    files: data.files,
    problem,
    errors,
    primary,
    pilot: primary?.component === 'pilot' ? pilotCode(primary.code) : undefined,
    guidance: primary ? guidanceFor(primary.component, primary.code) : undefined,
    logs: [],
    evidence: [],
    payloadSignals: [],
    topMatches: [],
    notes: [],
  };
  if (!problem) return analysis;
  if (analysis.guidance?.log === 'none') {
    analysis.notes.push('No log is needed: this code is set by the PanDA server, not by the job.');
    return analysis;
  }

  const payloadFailure = primary?.component === 'pilot' && primary.code === 1305;
  const wanted = payloadFailure ? ['payload.stdout', 'payload.stderr'] : ['pilotlog.txt'];
  progress(`is listing the log files of job ${job.pandaid}…`);
  let listing;
  try {
    listing = await client.logFiles(job.pandaid);
  } catch (err) {
    // No listing is not the end of the answer: the metadata still explains a lot.
    if (!isAskPandaError(err) || err.kind === 'rate_limited') throw err;
    analysis.notes.push(
      `The job's log files could not be listed (${err.message.split('. ')[0]}); the answer is based on the job's metadata only.`,
    );
    return analysis;
  }
  const listed = new Map(listing.files.map((f) => [f.name, f]));
  if (listing.files.length === 0) {
    analysis.notes.push(
      `The job has no log files in the monitor${listing.error ? ` (${redactSecrets(listing.error)})` : ''}; the answer is based on the job's metadata only.`,
    );
    return analysis;
  }
  let chosen = wanted.filter((name) => {
    const entry = listed.get(name);
    if (!entry) {
      analysis.notes.push(`${name} is not in the job's log tarball.`);
      return false;
    }
    if (entry.size === 0) {
      analysis.notes.push(`${name} is empty (0 bytes).`);
      return false;
    }
    return true;
  });
  if (chosen.length === 0 && payloadFailure && listed.has('pilotlog.txt') && listed.get('pilotlog.txt')!.size !== 0)
    chosen = ['pilotlog.txt'];

  const patterns = scanPatternsFor(analysis.guidance, errors);
  const options: ScanOptions = {
    patterns,
    contextBefore: config.logs.contextBefore,
    contextAfter: config.logs.contextAfter,
    maxLineChars: config.logs.maxLineChars,
    maxMatches: config.logs.maxMatches,
    tailLines: config.logs.tailLines,
    maxBytes: config.monitor.maxLogBytes,
  };
  const cacheKey = `${primary ? `${primary.component}:${primary.code}` : 'none'}:${config.logs.contextBefore}:${config.logs.contextAfter}:${config.logs.tailLines}:${config.monitor.maxLogBytes}`;
  for (const file of chosen) {
    // payload.stderr costs a request; skip it when payload.stdout's tail already names the cause.
    if (file === 'payload.stderr' && chosen.includes('payload.stdout') && strongPayloadCause(analysis.logs)) {
      analysis.notes.push('payload.stderr was not read: the tail of payload.stdout already shows the cause.');
      continue;
    }
    progress(`is reading ${file} of job ${job.pandaid}…`);
    let outcome;
    try {
      outcome = await client.scanLogFile(job.pandaid, file, options, cacheKey);
    } catch (err) {
      if (!isAskPandaError(err) || err.kind === 'rate_limited') throw err;
      analysis.notes.push(`${file} could not be read (${err.message.split('. ')[0]}).`);
      continue;
    }
    analysis.logs.push(outcome);
    if (outcome.status !== 'scanned') {
      analysis.notes.push(`${outcome.note}.`);
      continue;
    }
    const result = outcome.result;
    if (outcome.cutAfterMs !== undefined)
      analysis.notes.push(
        `${file} came in too slowly: I stopped reading it after ${Math.round(outcome.cutAfterMs / 1000)} s and scanned the ${formatBytes(result.bytes)} that had arrived.`,
      );
    if (result.truncated)
      analysis.notes.push(
        `${file} is larger than the ${formatBytes(config.monitor.maxLogBytes)} I read; only its beginning was scanned.`,
      );
    for (const m of [...result.matches].sort((a, b) => b.weight - a.weight || b.line - a.line).slice(0, 5)) {
      analysis.topMatches.push({ source: file, match: { ...m, text: redactSecrets(m.text) } });
    }
    if (payloadFailure && file !== 'pilotlog.txt') {
      const tail = result.tail.slice(-Math.min(30, config.logs.tailLines));
      // Strongest kinds of signal first (cling/bad_alloc before tracebacks before exit codes).
      for (const s of PAYLOAD_SIGNALS) {
        for (const line of result.tail) {
          const m = s.regex.exec(line);
          if (m) {
            const said = s.say(m);
            if (!analysis.payloadSignals.includes(said)) analysis.payloadSignals.push(said);
          }
        }
      }
      const bestInTail = result.best && result.lines - result.best.match.line < tail.length;
      if (result.best && !bestInTail && result.best.match.weight >= 8) {
        analysis.evidence.push({
          source: file,
          lines: redactLines(result.best.context),
          firstLine: result.best.firstLine,
        });
      }
      analysis.evidence.push({
        source: file,
        lines: redactLines(tail),
        firstLine: Math.max(1, result.lines - tail.length + 1),
      });
    } else if (result.best) {
      analysis.evidence.push({
        source: file,
        lines: redactLines(result.best.context),
        firstLine: result.best.firstLine,
      });
    } else {
      analysis.notes.push(
        `No line of ${file} matched the known signs of ${primary ? `${primary.component} error ${primary.code}` : 'the failure'}; its last lines are shown.`,
      );
      analysis.evidence.push({
        source: file,
        lines: redactLines(result.tail.slice(-20)),
        firstLine: Math.max(1, result.lines - 19),
      });
    }
  }
  return analysis;
}

/**
 * Signs in a payload tail that explain a 1305 by themselves: a traceback or Python exception, a
 * ROOT/cling error, a failed allocation, a crash, or a non-zero exit code.
 */
const STRONG_PAYLOAD_CAUSE = [
  /^Traceback \(most recent call last\)/,
  /^\w+(?:Error|Exception): /,
  /cling JIT session error|Error in <[A-Za-z_:]+>:/,
  /std::bad_alloc/,
  /segmentation violation|Segmentation fault/i,
  /\(core dumped\)/,
  /exit(?:ed)? (?:with )?(?:code|status) (?!0\b)\d+/i,
];

/** True for a payload output line that shows a failure by itself (see STRONG_PAYLOAD_CAUSE). */
export function isPayloadFailureLine(line: string): boolean {
  return STRONG_PAYLOAD_CAUSE.some((re) => re.test(line));
}

function strongPayloadCause(logs: readonly LogOutcome[]): boolean {
  const stdout = logs.find((l) => l.file === 'payload.stdout');
  if (stdout?.status !== 'scanned') return false;
  return stdout.result.tail.some(isPayloadFailureLine);
}

/** What the scanner looks for: the code's curated patterns, the diag details, generic error signs. */
export function scanPatternsFor(guidance: Guidance | undefined, errors: JobError[]): ScanPattern[] {
  return [...compilePatterns(guidance), ...diagPatterns(errors), ...GENERIC_PATTERNS];
}

export function componentTitle(name: string): string {
  return errorComponent(name)?.title ?? name;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(n % 1024 ** 3 === 0 ? 0 : 1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(0)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${n} B`;
}
