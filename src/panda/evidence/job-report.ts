import { z } from 'zod';

/**
 * The transform's job report (jobReport.json): its exit code, acronym and message and each substep's
 * log-scan details are evidence in their own right. The pilot reads the same fields
 * (pilot/user/atlas/diagnose.py:605-650, 714-813). The report is turned into lines that are quoted
 * and scanned like log lines, so one ranking serves logs and report alike.
 */

const text = z.string().nullish().catch(undefined);
const num = z.number().nullish().catch(undefined);

const DetailSchema = z.looseObject({
  message: z.string().catch(''),
  firstLine: num,
  count: num,
  moreDetails: z
    .looseObject({
      abnormalLines: z
        .record(z.string(), z.union([z.string(), z.number()]))
        .nullish()
        .catch(undefined),
      lastNormalLine: z.looseObject({ message: text, firstLine: num }).nullish().catch(undefined),
    })
    .nullish()
    .catch(undefined),
});

const ExecutorSchema = z.looseObject({
  name: text,
  rc: num,
  statusOK: z.boolean().nullish().catch(undefined),
  errMsg: text,
  logfileReport: z
    .looseObject({ details: z.record(z.string(), z.array(DetailSchema).catch([])).nullish().catch(undefined) })
    .nullish()
    .catch(undefined),
});

export const JobReportSchema = z.looseObject({
  exitCode: num,
  exitAcronym: text,
  exitMsg: text,
  exitMsgExtra: text,
  name: text,
  reportVersion: text,
  executor: z.array(ExecutorSchema.catch({})).nullish().catch(undefined),
});
export type JobReport = z.infer<typeof JobReportSchema>;

/** What the answer states from the report, besides the quoted lines. */
export interface JobReportSummary {
  exitCode?: number;
  exitAcronym?: string;
  exitMsg?: string;
}

/** Levels worth quoting, worst first (CATASTROPHE is the transform's level for bad_alloc). */
const LEVELS = ['CATASTROPHE', 'FATAL', 'CRITICAL', 'ERROR'];
const MAX_LINES = 60;
const MESSAGES_PER_LEVEL = 5;
const LINES_PER_MESSAGE = 8;

/** Parses a job report's text; undefined when it is no JSON object of the report's shape. */
export function parseJobReport(raw: string): JobReport | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const parsed = JobReportSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

export function summarise(report: JobReport): JobReportSummary {
  return {
    ...(typeof report.exitCode === 'number' ? { exitCode: report.exitCode } : {}),
    ...(report.exitAcronym ? { exitAcronym: report.exitAcronym } : {}),
    ...(report.exitMsg ? { exitMsg: report.exitMsg } : {}),
  };
}

/**
 * The report as lines: exit code and acronym, exit message, each failed substep and its log-scan
 * messages (worst level first, with the abnormal and last normal lines the transform recorded before
 * a crash). Bounded: MAX_LINES lines, each cut to maxLineChars.
 */
export function jobReportLines(report: JobReport, maxLineChars: number): string[] {
  const out: string[] = [];
  const push = (line: string) => {
    if (out.length < MAX_LINES) out.push(line.length > maxLineChars ? `${line.slice(0, maxLineChars)}…` : line);
  };
  if (typeof report.exitCode === 'number')
    push(`exitCode: ${report.exitCode}${report.exitAcronym ? ` (${report.exitAcronym})` : ''}`);
  else if (report.exitAcronym) push(`exitAcronym: ${report.exitAcronym}`);
  if (report.exitMsg) push(`exitMsg: ${report.exitMsg}`);
  if (report.exitMsgExtra) push(`exitMsgExtra: ${report.exitMsgExtra}`);
  for (const exe of report.executor ?? []) {
    const name = exe.name ?? 'substep';
    const failed = exe.statusOK === false || (typeof exe.rc === 'number' && exe.rc !== 0) || Boolean(exe.errMsg);
    if (failed)
      push(
        `executor ${name}: rc=${exe.rc ?? '?'}, statusOK=${String(exe.statusOK ?? '?')}${exe.errMsg ? `, errMsg: ${exe.errMsg}` : ''}`,
      );
    const details = exe.logfileReport?.details ?? {};
    for (const level of LEVELS) {
      for (const d of (details[level] ?? []).slice(0, MESSAGES_PER_LEVEL)) {
        const where = `${typeof d.firstLine === 'number' ? `log line ${d.firstLine}` : ''}${d.count && d.count > 1 ? `, ${d.count}×` : ''}`;
        const [first = '', ...rest] = d.message.split(/\r?\n/);
        push(`executor ${name} ${level}${where ? ` (${where})` : ''}: ${first}`);
        for (const more of rest.slice(0, LINES_PER_MESSAGE - 1)) push(`    ${more}`);
        const abnormal = d.moreDetails?.abnormalLines ?? {};
        for (const key of Object.keys(abnormal).filter((k) => /^message\d+$/.test(k))) {
          const at = abnormal[`firstLine${key.slice('message'.length)}`];
          push(`    abnormal line before it${at !== undefined ? ` (log line ${at})` : ''}: ${String(abnormal[key])}`);
        }
        const normal = d.moreDetails?.lastNormalLine;
        if (normal?.message)
          push(
            `    last normal line before it${typeof normal.firstLine === 'number' ? ` (log line ${normal.firstLine})` : ''}: ${normal.message}`,
          );
      }
    }
  }
  return out;
}
