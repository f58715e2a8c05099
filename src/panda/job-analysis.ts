import type { Config } from '../config/schema.ts';
import { isAskPandaError } from '../core/errors.ts';
import { redactLines, redactSecrets } from '../util/redact.ts';
import type { LogOutcome, LogText, PandaClient } from './client.ts';
import { explains, firstCause, strongestCause, type CauseLine } from './evidence/cause.ts';
import { jobReportLines, parseJobReport, summarise, type JobReportSummary } from './evidence/job-report.ts';
import {
  evidencePatternsFor,
  fileMatches,
  filesToRead,
  isPayloadFile,
  toScanPatterns,
  type EvidenceFamily,
} from './evidence/map.ts';
import { compilePatterns, errorComponent, guidanceFor, pilotCode, type Guidance, type PilotCode } from './knowledge.ts';
import { LogScanner, type LogMatch, type ScanOptions, type ScanPattern } from './log-scan.ts';
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
  /** The evidence family of the primary code (evidence map), e.g. "payload out of memory". */
  family?: string;
  /** The line that shows the cause (first cause of its incident), from the files read. */
  cause?: CauseLine;
  /** Log-tarball files read, in reading order. */
  filesRead: string[];
  /** Files the evidence map expects for this code that the tarball does not have. */
  filesMissing: string[];
  /** What the transform's job report says, when it was read. */
  report?: JobReportSummary;
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
  // A line restating the code the monitor already shows weighs no more than this, whatever else it matches.
  { regex: /pilot error \d+|pilotErrorCode=[1-9]/i, weight: 4, label: 'pilot error code', cap: true },
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
    filesRead: [],
    filesMissing: [],
  };
  if (!problem) return analysis;
  if (analysis.guidance?.log === 'none') {
    analysis.notes.push('No log is needed: this code is set by the PanDA server, not by the job.');
    return analysis;
  }

  const payloadFailure = primary?.component === 'pilot' && primary.code === 1305;
  const plan = filesToRead(primary);
  analysis.family = plan.family?.name;
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
  // The plan's entries as the tarball names them (log.* matches every substep log), in plan order.
  const order: string[] = [];
  const absent: string[] = [];
  for (const entry of plan.files) {
    const names = entry.includes('*')
      ? listing.files.map((f) => f.name).filter((name) => fileMatches(entry, name))
      : listed.has(entry)
        ? [entry]
        : [];
    if (names.length === 0 && !entry.includes('*')) absent.push(entry);
    for (const name of names) if (!order.includes(name)) order.push(name);
  }

  const cacheKey = `${primary ? `${primary.component}:${primary.code}` : 'none'}:${config.logs.contextBefore}:${config.logs.contextAfter}:${config.logs.tailLines}`;
  const causes: CauseLine[] = [];
  let budget = config.monitor.maxLogBytes;
  let reads = 0;
  let explained = false;
  const skipped: string[] = [];
  for (const file of order) {
    if (explained) {
      skipped.push(file);
      continue;
    }
    if (Number(listed.get(file)?.size) === 0) {
      analysis.notes.push(`${file} is empty (0 bytes).`);
      continue;
    }
    // Monitor requests per answer: the job, the listing and MAX_FILE_READS files.
    if (reads >= MAX_FILE_READS || budget <= 0) {
      skipped.push(file);
      continue;
    }
    reads++;
    // While another file may follow, this one gets half of what is left: a huge first file must not
    // leave nothing for the one that may hold the cause.
    const more = reads < MAX_FILE_READS && order.indexOf(file) < order.length - 1;
    const share = more ? Math.ceil(budget / 2) : budget;
    progress(`is reading ${file} of job ${job.pandaid}…`);
    const read =
      file === 'jobReport.json'
        ? await readReport(client, config, job.pandaid, file, Math.min(share, MAX_REPORT_BYTES), plan.family, errors)
        : await scanFile(client, config, job.pandaid, file, share, plan.family, analysis.guidance, errors, cacheKey);
    if (read.error) {
      analysis.notes.push(`${file} could not be read (${read.error}).`);
      continue;
    }
    const outcome = read.outcome!;
    analysis.logs.push(outcome);
    if (outcome.status !== 'scanned') {
      analysis.notes.push(`${outcome.note}.`);
      continue;
    }
    analysis.filesRead.push(file);
    const result = outcome.result;
    budget -= result.bytes;
    if (read.report)
      analysis.report = {
        ...read.report,
        ...(read.report.exitMsg ? { exitMsg: redactSecrets(read.report.exitMsg) } : {}),
      };
    if (outcome.cutAfterMs !== undefined)
      analysis.notes.push(
        `${file} came in too slowly: I stopped reading it after ${Math.round(outcome.cutAfterMs / 1000)} s and scanned the ${formatBytes(result.bytes)} that had arrived.`,
      );
    if (result.truncated)
      analysis.notes.push(
        `${file} is larger than the ${formatBytes(result.bytes)} I read of it (the byte budget of one answer is ${formatBytes(config.monitor.maxLogBytes)}); only its beginning was scanned.`,
      );
    for (const m of [...result.matches].sort((a, b) => b.weight - a.weight || b.line - a.line).slice(0, 5)) {
      analysis.topMatches.push({ source: file, match: { ...m, text: redactSecrets(m.text) } });
    }
    const cause = firstCause(file, result, evidencePatternsFor(file, plan.family));
    if (cause) causes.push({ ...cause, text: redactSecrets(cause.text) });
    const before = analysis.evidence.length;
    if (read.reportLines) {
      analysis.evidence.push({ source: file, lines: redactLines(read.reportLines), firstLine: 1 });
    } else if (payloadFailure && isPayloadFile(file)) {
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
    const added = analysis.evidence.slice(before);
    if (cause && !added.some((e) => e.lines.includes(redactSecrets(cause.text)))) {
      analysis.evidence.push({ source: file, lines: [redactSecrets(cause.text)], firstLine: cause.line });
    }
    // The top of a stack trace, a G4Exception block: quoted once, not the whole dump.
    for (const c of (result.captures ?? []).slice(0, 2)) {
      const lines = redactLines(c.lines);
      if (!analysis.evidence.some((e) => e.source === file && lines.every((l) => e.lines.includes(l))))
        analysis.evidence.push({ source: file, lines, firstLine: c.line });
    }
    explained = explains(cause) || (payloadFailure && isPayloadFile(file) && result.tail.some(isPayloadFailureLine));
  }
  analysis.cause = strongestCause(causes);
  // The planned files the job did not have, up to the last file read: what a reader looked for.
  const lastRead = Math.max(
    -1,
    ...analysis.filesRead.map((f) => plan.files.findIndex((entry) => fileMatches(entry, f))),
  );
  // Unexplained: every planned file was wanted. Explained: only those before the one that explained it.
  analysis.filesMissing = absent.filter((f) => !explained || lastRead < 0 || plan.files.indexOf(f) < lastRead);
  if (analysis.filesRead.length || analysis.filesMissing.length) {
    const read = analysis.filesRead.length ? `Read from the log tarball: ${analysis.filesRead.join(', ')}` : '';
    const missing = analysis.filesMissing.length ? `not in it: ${analysis.filesMissing.join(', ')}` : '';
    analysis.notes.push(`${[read, missing].filter(Boolean).join('; ')}.`.replace(/^n/, 'N'));
  }
  if (explained && skipped.includes('payload.stderr') && analysis.filesRead.includes('payload.stdout'))
    analysis.notes.push('payload.stderr was not read: payload.stdout already shows the cause.');
  if (!explained && skipped.length)
    analysis.notes.push(
      `Not read (at most ${MAX_FILE_READS} log files and ${formatBytes(config.monitor.maxLogBytes)} per answer): ${skipped.join(', ')}.`,
    );
  return analysis;
}

/** Log files read per answer: with the job and the listing, at most 4 monitor requests. */
export const MAX_FILE_READS = 2;
/** A job report is a few hundred kB; more than this is not a report worth parsing. */
const MAX_REPORT_BYTES = 16 * 1024 * 1024;
/** A crash and its cascade (the dump, the stack, the exit) span about this many lines. */
const INCIDENT_LINES = 200;
/**
 * In a pilot log one record can span a few physical lines (an exception's "details:" under its
 * "error code: N" line): within that, the first line is quoted; farther apart, the later retry wins.
 */
const RECORD_LINES = 5;

interface FileRead {
  outcome?: LogOutcome;
  error?: string;
  /** jobReport.json: the report as lines, and what it says. */
  reportLines?: string[];
  report?: JobReportSummary;
}

function scanOptions(
  config: Pick<Config, 'logs' | 'monitor'>,
  patterns: ScanPattern[],
  maxBytes: number,
  payload: boolean,
): ScanOptions {
  return {
    patterns,
    contextBefore: config.logs.contextBefore,
    contextAfter: config.logs.contextAfter,
    maxLineChars: config.logs.maxLineChars,
    maxMatches: config.logs.maxMatches,
    tailLines: config.logs.tailLines,
    maxBytes,
    incidentLines: payload ? INCIDENT_LINES : RECORD_LINES,
  };
}

/** The patterns for one file: the evidence map's, the curated entry's, the diag's, generic signs. */
export function patternsForFile(
  file: string,
  family: EvidenceFamily | undefined,
  guidance: Guidance | undefined,
  errors: JobError[],
): ScanPattern[] {
  const payload = isPayloadFile(file) || file === 'jobReport.json';
  const curated = (guidance?.log === 'payload') === payload ? compilePatterns(guidance) : [];
  return [
    ...toScanPatterns(evidencePatternsFor(file, family)),
    ...curated,
    ...diagPatterns(errors),
    ...(payload ? [] : GENERIC_PATTERNS),
  ];
}

async function scanFile(
  client: PandaClient,
  config: Pick<Config, 'logs' | 'monitor'>,
  pandaid: number,
  file: string,
  budget: number,
  family: EvidenceFamily | undefined,
  guidance: Guidance | undefined,
  errors: JobError[],
  cacheKey: string,
): Promise<FileRead> {
  const payload = isPayloadFile(file);
  const options = scanOptions(config, patternsForFile(file, family, guidance, errors), budget, payload);
  try {
    return { outcome: await client.scanLogFile(pandaid, file, options, `${cacheKey}:${budget}`) };
  } catch (err) {
    if (!isAskPandaError(err) || err.kind === 'rate_limited') throw err;
    return { error: err.message.split('. ')[0] };
  }
}

/**
 * jobReport.json: parsed (zod) into lines that are scanned like a log; a file that is no report is
 * scanned as plain text instead.
 */
async function readReport(
  client: PandaClient,
  config: Pick<Config, 'logs' | 'monitor'>,
  pandaid: number,
  file: string,
  maxBytes: number,
  family: EvidenceFamily | undefined,
  errors: JobError[],
): Promise<FileRead> {
  let text: LogText;
  try {
    text = await client.readLogText(pandaid, file, maxBytes);
  } catch (err) {
    if (!isAskPandaError(err) || err.kind === 'rate_limited') throw err;
    return { error: err.message.split('. ')[0] };
  }
  if (text.status !== 'read') return { outcome: text };
  const report = text.truncated ? undefined : parseJobReport(text.text);
  const lines = report ? jobReportLines(report, config.logs.maxLineChars) : undefined;
  const scanner = new LogScanner(scanOptions(config, patternsForFile(file, family, undefined, errors), maxBytes, true));
  scanner.push(Buffer.from(lines ? lines.join('\n') + '\n' : text.text, 'utf8'));
  const result = { ...scanner.finish(), bytes: text.bytes, truncated: text.truncated };
  return {
    outcome: {
      file,
      status: 'scanned',
      result,
      ...(text.cutAfterMs !== undefined ? { cutAfterMs: text.cutAfterMs } : {}),
    },
    ...(lines ? { reportLines: lines, report: summarise(report!) } : {}),
  };
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

/** What the scanner looks for in `file` (pilotlog.txt by default) for a job with these errors. */
export function scanPatternsFor(
  guidance: Guidance | undefined,
  errors: JobError[],
  file = 'pilotlog.txt',
): ScanPattern[] {
  return patternsForFile(file, filesToRead(errors[0]).family, guidance, errors);
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
