import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCases } from '../../bench/eval/real-logs.ts';
import { JobAgent } from '../../src/agents/job.ts';
import { AnswerSchema, type Answer } from '../../src/core/answer.ts';
import { toAnswer } from '../../src/bot/render.ts';
import { pilotLogText, textLog } from '../../src/panda/demo/data.ts';
import type { LogFileSource, MonitorJob } from '../../src/panda/demo/monitor-server.ts';
import { causeName } from '../../src/panda/evidence/cause.ts';
import { jobReportLines, parseJobReport } from '../../src/panda/evidence/job-report.ts';
import {
  FAMILIES,
  PAYLOAD_PATTERNS,
  evidencePatternsFor,
  familyOf,
  fileMatches,
  filesToRead,
} from '../../src/panda/evidence/map.ts';
import { ALL_PILOT_CODES, pilotCode } from '../../src/panda/knowledge.ts';
import { failedJob, startFakeBigPanda, type FakeBigPanda } from '../fakes/bigpanda.ts';
import { context, testClient, monitorConfig } from './helpers.ts';

/** Athena-style event-loop lines: what a payload.stdout is mostly made of. */
function eventLoop(n: number, from = 0): string {
  return Array.from(
    { length: n },
    (_, i) =>
      `AthenaEventLoopMgr   INFO   ===>>>  done processing event #${4567000 + from + i}, run #456714 ${from + i + 1} events processed so far  <<<===`,
  ).join('\n');
}

function pilotLog(pandaid: number, message: string, level: 'WARNING' | 'ERROR' = 'WARNING'): string {
  return pilotLogText({
    pandaid,
    site: 'REAL-LOG-EVAL',
    taskid: 1,
    start: '2025-09-08 05:50:33',
    noise: 800,
    seed: pandaid % 1000,
    cause: [{ level, thread: 'job_monitor', logger: 'pilot.control.job', fn: 'job_monitor_tasks', message }],
  });
}

function report(exitMsg: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    reportVersion: '2.0.7',
    name: 'Sim_tf',
    exitCode: 65,
    exitAcronym: 'TRF_EXEC_FAIL',
    exitMsg,
    executor: [{ name: 'EVNTtoHITS', rc: 139, statusOK: false, errMsg: exitMsg }],
    ...extra,
  });
}

/** A generated file of `bytes` bytes of event-loop lines (never held whole). */
function hugeText(bytes: number): LogFileSource {
  const block = Buffer.from(eventLoop(5000) + '\n');
  return {
    size: bytes,
    *content() {
      let sent = 0;
      while (sent + block.length <= bytes) {
        yield block;
        sent += block.length;
      }
      if (sent < bytes) yield Buffer.alloc(bytes - sent, 0x2e);
    },
  };
}

const ID = {
  pilotOnly: 6830000001,
  payloadOnly: 6830000002,
  reportOnly: 6830000003,
  allThree: 6830000004,
  missingExpected: 6830000005,
  cascade: 6830000006,
  huge: 6830000007,
  setup1305: 6830000008,
} as const;
const familyJob = (index: number) => 6831000000 + index;

const jobs: Array<[number, MonitorJob]> = [];
const std = (code: number) => pilotCode(code)!.message;
jobs.push([
  ID.pilotOnly,
  failedJob(
    ID.pilotOnly,
    { piloterrorcode: 1213, piloterrordiag: std(1213) },
    { 'pilotlog.txt': textLog(pilotLog(ID.pilotOnly, 'the max batch system time limit has been reached')) },
  ),
]);
jobs.push([
  ID.payloadOnly,
  failedJob(
    ID.payloadOnly,
    { piloterrorcode: 1212, piloterrordiag: std(1212) },
    {
      'payload.stdout': textLog(
        `${eventLoop(400)}\nterminate called after throwing an instance of 'std::bad_alloc'\n  what():  std::bad_alloc\n`,
      ),
    },
  ),
]);
jobs.push([
  ID.reportOnly,
  failedJob(
    ID.reportOnly,
    { piloterrorcode: 1328, piloterrordiag: std(1328), transexitcode: '139' },
    { 'jobReport.json': textLog(report('EVNTtoHITS got a SIGSEGV signal (exit code 139)')) },
  ),
]);
jobs.push([
  ID.allThree,
  failedJob(
    ID.allThree,
    { piloterrorcode: 1212, piloterrordiag: std(1212) },
    {
      'pilotlog.txt': textLog(pilotLog(ID.allThree, 'identified an out of memory error in Sim_tf.py')),
      'payload.stdout': textLog(
        `${eventLoop(300)}\n22:41:25 src/central_freelist.cc:333] tcmalloc: allocation failed 16384\n`,
      ),
      'jobReport.json': textLog(report('EVNTtoHITS got a SIGABRT signal (exit code 134)')),
    },
  ),
]);
jobs.push([
  ID.missingExpected,
  failedJob(
    ID.missingExpected,
    { piloterrorcode: 1305, piloterrordiag: std(1305), transexitcode: '66', exeerrorcode: 66 },
    {
      'pilotlog.txt': textLog(pilotLog(ID.missingExpected, 'main payload execution returned non-zero exit code: 66')),
      'jobReport.json': textLog(report('File EVNT.13276676._000045.pool.root.1 did not pass corruption test')),
    },
  ),
]);
// The athena transform's own bad_alloc test log (real grid output): tcmalloc fails first, then the cascade.
const badAlloc = loadCases().find((c) => c.id === 'athena-testBadAlloc')!;
jobs.push([
  ID.cascade,
  failedJob(
    ID.cascade,
    { piloterrorcode: 1212, piloterrordiag: std(1212) },
    { 'payload.stdout': textLog(badAlloc.files['payload.stdout']!) },
  ),
]);
jobs.push([
  ID.huge,
  failedJob(
    ID.huge,
    { piloterrorcode: 1212, piloterrordiag: std(1212) },
    {
      'payload.stdout': hugeText(48 * 1024 * 1024),
      'payload.stderr': hugeText(48 * 1024 * 1024),
      'jobReport.json': hugeText(48 * 1024 * 1024),
      'pilotlog.txt': hugeText(48 * 1024 * 1024),
    },
  ),
]);
jobs.push([
  ID.setup1305,
  failedJob(
    ID.setup1305,
    {
      piloterrorcode: 1305,
      piloterrordiag: `${std(1305)}:General payload setup verification error (check setup logs)`,
    },
    {
      'setup.stdout': textLog('Setting up the release\nAtlasSetup(FATAL): Fatal exception: no release 25.2.66 found\n'),
      'payload.stdout': textLog(eventLoop(50)),
    },
  ),
]);
for (const [i, family] of FAMILIES.entries()) {
  const p = family.patterns[0]!;
  const file = family.files[0]!;
  const code = family.codes[0]!;
  const id = familyJob(i);
  const content =
    file === 'pilotlog.txt'
      ? pilotLog(id, p.example!)
      : file === 'jobReport.json'
        ? report(p.example!)
        : `${eventLoop(200)}\n${p.example!}\n${eventLoop(5, 200)}\n`;
  jobs.push([id, failedJob(id, { piloterrorcode: code, piloterrordiag: std(code) }, { [file]: textLog(content) })]);
}

let fake: FakeBigPanda;
beforeAll(async () => {
  fake = await startFakeBigPanda({ jobs });
});
afterAll(async () => {
  await fake.close();
});

async function ask(
  pandaid: number,
  configure: Parameters<typeof monitorConfig>[1] = () => undefined,
): Promise<{ answer: Answer; requests: number; client: ReturnType<typeof testClient>; agent: JobAgent }> {
  const config = monitorConfig(fake.url, configure);
  const client = testClient(config);
  const agent = new JobAgent({ client, config });
  const draft = await agent.handle(context({ agent: 'job', pandaid, reason: 'test' }, `Why did job ${pandaid} fail?`));
  return { answer: AnswerSchema.parse(toAnswer(draft)), requests: client.stats.requests, client, agent };
}

interface CauseFact {
  kind?: string;
  source: string;
  line: number;
  text: string;
  pattern: string;
  patternSource?: string;
}
const causeOf = (a: Answer) => a.facts.cause as CauseFact | undefined;

describe('the evidence map', () => {
  it('puts every pilot error code in exactly one family', () => {
    const seen = new Map<number, string>();
    for (const f of FAMILIES)
      for (const c of f.codes) {
        expect(seen.has(c), `${c} in ${f.name} and ${seen.get(c)}`).toBe(false);
        seen.set(c, f.name);
      }
    for (const c of ALL_PILOT_CODES) expect(familyOf(c.code), `${c.code} ${c.name}`).toBeDefined();
  });

  it('names the source of every pattern (pilot3 or transform file and line, or the upstream file)', () => {
    const all = [...FAMILIES.flatMap((f) => f.patterns), ...PAYLOAD_PATTERNS];
    for (const p of all) {
      // a file path with its extension, e.g. "P pilot/user/atlas/diagnose.py:182" (P: pilot3, T: the transform)
      expect(p.source, p.id).toMatch(/[\w-]+\/[\w./-]+\.(?:py|cxx|cc|cpp|c|db|md|cfg|ref)\b/);
      expect(causeName(p.kind), `${p.id}: kind ${p.kind} has a name`).toBeDefined();
    }
    // An id used by two families is one pattern.
    const byId = new Map<string, string>();
    for (const p of all) {
      const key = JSON.stringify({ ...p, regex: p.regex.source });
      if (byId.has(p.id)) expect(key, p.id).toBe(byId.get(p.id));
      byId.set(p.id, key);
    }
  });

  it('reads payload output first for 1212, the job report first for 1328, the setup output first for a setup 1305', () => {
    expect(filesToRead({ component: 'pilot', code: 1212, diag: '' }).files[0]).toBe('payload.stdout');
    expect(filesToRead({ component: 'pilot', code: 1328, diag: '' }).files[0]).toBe('jobReport.json');
    expect(
      filesToRead({ component: 'pilot', code: 1305, diag: 'General payload setup verification error' }).files[0],
    ).toBe('setup.stdout');
    expect(filesToRead({ component: 'pilot', code: 1099, diag: '' }).files).toEqual(['pilotlog.txt']);
    expect(fileMatches('log.*', 'log.EVNTtoHITS')).toBe(true);
    // Athena patterns are for payload output and the report, not for the pilot's own log.
    expect(evidencePatternsFor('pilotlog.txt', familyOf(1212)).some((p) => p.id === 'athena-error')).toBe(false);
    expect(evidencePatternsFor('log.RAWtoALL', familyOf(1305)).some((p) => p.id === 'athena-error')).toBe(true);
  });

  for (const [i, family] of FAMILIES.entries()) {
    it(`explains a ${family.codes[0]} (${family.name}) from ${family.files[0]} with the pilot's own text`, async () => {
      const { answer } = await ask(familyJob(i));
      const cause = causeOf(answer)!;
      const p = family.patterns[0]!;
      expect(cause, 'a cause line').toBeDefined();
      expect(cause.source).toBe(family.files[0]);
      expect(cause.text).toContain(family.files[0] === 'jobReport.json' ? p.example! : p.example!.slice(0, 40));
      expect(cause.kind).toBe(p.kind);
      expect(answer.text).toContain(causeName(p.kind)!);
      expect(answer.evidence.some((e) => e.source === cause.source && e.lines.includes(cause.text))).toBe(true);
    });
  }
});

describe('reading what the job has', () => {
  it('pilot log only: explains 1213 from pilotlog.txt (3 requests)', async () => {
    const { answer, requests } = await ask(ID.pilotOnly);
    expect(causeOf(answer)).toMatchObject({ kind: 'time-limit', source: 'pilotlog.txt', pattern: 'time-maxtime' });
    expect(causeOf(answer)!.patternSource).toContain('pilot/control/job.py:433');
    expect(requests).toBe(3);
  });

  it('payload only: explains 1212 from payload.stdout without a pilotlog.txt', async () => {
    const { answer, requests } = await ask(ID.payloadOnly);
    expect(causeOf(answer)).toMatchObject({ kind: 'out-of-memory', source: 'payload.stdout' });
    expect(causeOf(answer)!.text).toBe("terminate called after throwing an instance of 'std::bad_alloc'");
    expect(answer.text).toContain('ran out of memory');
    expect(answer.evidence.map((e) => e.source)).toContain('payload.stdout');
    expect(requests).toBe(3);
  });

  it('job report only: quotes the exit message of a 1328 and says which files were missing', async () => {
    const { answer, requests } = await ask(ID.reportOnly);
    const cause = causeOf(answer)!;
    expect(cause).toMatchObject({ source: 'jobReport.json', kind: 'segfault', pattern: 'crash-report-sigsegv' });
    expect(cause.text).toBe('exitMsg: EVNTtoHITS got a SIGSEGV signal (exit code 139)');
    const report = answer.evidence.find((e) => e.source === 'jobReport.json')!;
    expect(report.lines[0]).toBe('exitCode: 65 (TRF_EXEC_FAIL)');
    expect(answer.facts.jobReport).toEqual({
      exitCode: 65,
      exitAcronym: 'TRF_EXEC_FAIL',
      exitMsg: 'EVNTtoHITS got a SIGSEGV signal (exit code 139)',
    });
    expect(answer.facts.logsMissing).toEqual(expect.arrayContaining(['payload.stdout', 'pilotlog.txt']));
    expect(answer.sections[0]!.body).toMatch(/Read from the log tarball: jobReport\.json; not in it: payload\.stdout/);
    expect(requests).toBe(3);
  });

  it('all three files: the payload output explains 1212, the other files are not read (3 requests)', async () => {
    const { answer, requests } = await ask(ID.allThree);
    expect(causeOf(answer)).toMatchObject({ kind: 'out-of-memory', source: 'payload.stdout' });
    expect((answer.facts.logsRead as Array<{ file: string }>).map((l) => l.file)).toEqual(['payload.stdout']);
    expect(requests).toBe(3);
  });

  it('a tarball without the expected payload.stdout: reads the job report, names the corrupt input, says what was missing', async () => {
    const { answer, requests } = await ask(ID.missingExpected);
    expect(causeOf(answer)).toMatchObject({ kind: 'input-corrupt', source: 'jobReport.json' });
    expect(answer.facts.logsMissing).toEqual(['payload.stdout', 'payload.stderr']);
    expect(answer.text).toContain('did not pass corruption test');
    expect(requests).toBe(3);
  });

  it('a setup failure of 1305 is read from setup.stdout first', async () => {
    const { answer } = await ask(ID.setup1305);
    expect(causeOf(answer)).toMatchObject({ source: 'setup.stdout', kind: 'setup' });
  });

  it('quotes the first cause of a cascade: the failed allocation, not the crash it set off', async () => {
    const { answer } = await ask(ID.cascade);
    const cause = causeOf(answer)!;
    expect(cause.text).toBe('22:41:25 src/central_freelist.cc:333] tcmalloc: allocation failed 16384');
    expect(cause.line).toBe(4);
    const lines = answer.evidence.filter((e) => e.source === 'payload.stdout').flatMap((e) => e.lines);
    // the lines after it (the bad_alloc it caused) are kept with it
    const next = badAlloc.files['payload.stdout']!.split('\n').find((l) =>
      /TrigDecisionCnvAlg\s+ERROR std::bad_alloc/.test(l),
    )!;
    expect(lines).toContain(next);
  });

  it('reads at most 2 files and monitor.maxLogBytes in all when every file is huge, and says what it left', async () => {
    const cap = 8 * 1024 * 1024;
    const { answer, requests } = await ask(ID.huge, (c) => (c.monitor.maxLogBytes = cap));
    const read = answer.facts.logsRead as Array<{ file: string; bytes?: number }>;
    expect(read).toHaveLength(2);
    expect(read.reduce((n, l) => n + (l.bytes ?? 0), 0)).toBeLessThanOrEqual(cap);
    expect(requests).toBe(4);
    expect(answer.sections[0]!.body).toMatch(/Not read \(at most 2 log files and 8 MiB per answer\): .*pilotlog\.txt/);
  });

  it('answers a follow-up about a job whose report and log were read with 0 monitor requests', async () => {
    const config = monitorConfig(fake.url);
    const client = testClient(config);
    const agent = new JobAgent({ client, config });
    const ctx = (q: string) => context({ agent: 'job', pandaid: ID.reportOnly, reason: 'test' }, q);
    await agent.handle(ctx(`Why did job ${ID.reportOnly} fail?`));
    const cold = client.stats.requests;
    await agent.handle(ctx('how can I fix it?'));
    expect(cold).toBeLessThanOrEqual(4);
    expect(client.stats.requests - cold).toBe(0);
  });
});

describe('the job report', () => {
  it('turns a report into quoted lines: exit code and message, failed substeps, their worst log messages', () => {
    const raw = JSON.stringify({
      exitCode: 65,
      exitAcronym: 'TRF_EXEC_FAIL',
      exitMsg: 'Non-zero return code from EVNTtoHITS (65)',
      executor: [
        {
          name: 'EVNTtoHITS',
          rc: 65,
          statusOK: false,
          logfileReport: {
            details: {
              FATAL: [
                {
                  message: 'Segmentation fault: Event counter: 12; Current algorithm: BeamEffectsAlg',
                  firstLine: 4031,
                  count: 1,
                  moreDetails: {
                    abnormalLines: {
                      message0: 'warn [frontier.c:1014]: Request 76 on chan 7 failed',
                      firstLine0: 4010,
                    },
                    lastNormalLine: { message: 'IOVDbSvc INFO Opening COOL connection', firstLine: 4009 },
                  },
                },
              ],
            },
          },
        },
      ],
    });
    const lines = jobReportLines(parseJobReport(raw)!, 2000);
    expect(lines).toEqual([
      'exitCode: 65 (TRF_EXEC_FAIL)',
      'exitMsg: Non-zero return code from EVNTtoHITS (65)',
      'executor EVNTtoHITS: rc=65, statusOK=false',
      'executor EVNTtoHITS FATAL (log line 4031): Segmentation fault: Event counter: 12; Current algorithm: BeamEffectsAlg',
      '    abnormal line before it (log line 4010): warn [frontier.c:1014]: Request 76 on chan 7 failed',
      '    last normal line before it (log line 4009): IOVDbSvc INFO Opening COOL connection',
    ]);
  });

  it('is no report when the text is no JSON object', () => {
    expect(parseJobReport('not json')).toBeUndefined();
    expect(parseJobReport('[1, 2]')).toBeUndefined();
    expect(parseJobReport('{"exitCode": "sixty-five"}')).toEqual({});
  });
});
