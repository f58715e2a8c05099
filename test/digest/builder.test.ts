import { describe, expect, it } from 'vitest';
import { buildDigest, type DigestBuildInput, type TaskWindowData } from '../../src/digest/builder.ts';
import { DIGEST_LIMITS } from '../../src/digest/poster.ts';
import { demoMonitorData, DEMO_TASK_ID } from '../../src/panda/demo/data.ts';
import { summariseErrors } from '../../src/panda/demo/monitor-server.ts';
import { ErrorsResponseSchema, TaskWithCountsSchema } from '../../src/panda/schemas.ts';

const links = {
  taskPage: (id: number) => `https://bigpanda.cern.ch/task/${id}/`,
  jobPage: (id: number) => `https://bigpanda.cern.ch/job?pandaid=${id}`,
};
const demo = demoMonitorData().tasks.get(DEMO_TASK_ID)!;
const task = (status = 'running', id = DEMO_TASK_ID) =>
  TaskWithCountsSchema.parse({ ...demo.task, jeditaskid: id, status, job_state_count: demo.jobStateCount });
const window = { after: Date.parse('2025-09-08T00:00:00Z'), until: Date.parse('2025-09-08T10:00:00Z') };
/** The monitor's /errors/ answer for the demo task's failures in the window. */
const demoErrors = () =>
  ErrorsResponseSchema.parse(summariseErrors(DEMO_TASK_ID, demo.failures!, window.after + 1000, window.until));

/** A real-shaped /errors/ answer with the given codes (count, site). */
function errorsFixture(rows: Array<{ error: string; count: number; diag?: string; example?: number; site?: string }>) {
  const [component] = rows[0]?.error.split(':') ?? ['pilot'];
  const sites = new Map<string, number>();
  for (const r of rows) sites.set(r.site ?? 'CERN-PROD', (sites.get(r.site ?? 'CERN-PROD') ?? 0) + r.count);
  return ErrorsResponseSchema.parse({
    jobSummary: [],
    errsByCount: rows.map((r) => ({
      error: r.error,
      codename: `${component}errorcode`,
      codeval: Number(r.error.split(':')[1]),
      diag: r.diag ?? '',
      desc: '',
      cat: { name: 'Uncategorized', id: 0 },
      example_pandaid: r.example ?? 6_900_000_001,
      count: r.count,
    })),
    errsBySite: [...sites].map(([name, n]) => ({ name, errors: {}, toterrors: n, toterrjobs: n, errorlist: [] })),
  });
}

const input = (tasks: TaskWindowData[], extra: Partial<DigestBuildInput> = {}): DigestBuildInput => ({
  tasks,
  timezone: 'UTC',
  quiet: 'post',
  links,
  ...extra,
});
const codePoints = (s: string) => [...s].length;

describe('the digest of one task', () => {
  it('groups failures by component:code with counts, official message, meaning, example job and sites; leaves companion codes out', () => {
    const built = buildDigest(input([{ jeditaskid: DEMO_TASK_ID, window, task: task(), errors: demoErrors() }]));
    const text = built.message!.markdown;
    expect(built.message!.details).toEqual([]);
    expect(text).toContain(
      `**[Task ${DEMO_TASK_ID}](https://bigpanda.cern.ch/task/${DEMO_TASK_ID}/)** · \`user.mkowalsk.DAOD_PHYS.ttbar_lep.mc23e.v3/\` · running`,
    );
    expect(text).toContain('47 failed jobs · progress: 1,112 of 4,875 input files finished (22 %), 12 failed');
    const lines = text.split('\n').filter((l) => l.startsWith('- '));
    expect(lines.map((l) => l.match(/\*\*(\S+)\*\* ×(\d+)/)!.slice(1))).toEqual([
      ['pilot:1305', '29'],
      ['pilot:1235', '14'],
      ['pilot:1099', '4'],
    ]);
    expect(lines[0]).toBe(
      '- **pilot:1305** ×29, **new**: Failed to execute payload (cling JIT session error: Cannot allocate memory). _Your program (the payload) itself failed: it exited with an error._ [Example job 6802258254](https://bigpanda.cern.ch/job?pandaid=6802258254)',
    );
    expect(text).toContain(
      'Sites most affected: ANALY_MWT2_UCORE (21 jobs), BNL_PROD_MCORE (16), UKI-NORTHGRID-MAN-HEP (10)',
    );
    expect(text).toContain('_Left out as companions of the codes above: transform:134 ×29, transform:137 ×14._');
    expect(built.tasks[0]).toMatchObject({
      failedJobs: 47,
      quiet: false,
      ended: false,
      codes: ['pilot:1099', 'pilot:1235', 'pilot:1305', 'transform:134', 'transform:137'],
    });
  });

  it('marks codes of earlier digests as recurring and new ones as new', () => {
    const built = buildDigest(
      input([
        {
          jeditaskid: DEMO_TASK_ID,
          window,
          task: task(),
          errors: demoErrors(),
          previous: { status: 'running', seenCodes: ['pilot:1235', 'pilot:1099'] },
        },
      ]),
    );
    expect(built.message!.markdown).toContain('**pilot:1305** ×29, **new**');
    expect(built.message!.markdown).toContain('**pilot:1235** ×14, recurring');
    expect(built.message!.markdown).toContain('**pilot:1099** ×4, recurring');
  });

  it('reports a state change and, for a final state, the last digest and the end of the subscription', () => {
    const failed = buildDigest(
      input([
        {
          jeditaskid: DEMO_TASK_ID,
          window,
          task: task('exhausted'),
          errors: demoErrors(),
          previous: { status: 'running', seenCodes: [] },
        },
      ]),
    );
    expect(failed.message!.markdown).toContain('· **running → exhausted**');
    expect(failed.tasks[0]!.ended).toBe(false);
    const done = buildDigest(
      input([
        {
          jeditaskid: DEMO_TASK_ID,
          window,
          task: task('done'),
          errors: errorsFixture([]),
          previous: { status: 'running', seenCodes: [] },
        },
      ]),
    );
    expect(done.tasks[0]).toMatchObject({ ended: true, quiet: false, statusChange: { from: 'running', to: 'done' } });
    expect(done.message!.markdown).toContain(
      `Task ${DEMO_TASK_ID} is done: this is its last digest, and this channel's subscription to it has ended.`,
    );
    expect(done.message!.markdown).toContain('no new failures');
  });

  it('says "no new failures" in one line, or nothing with digest.quiet = silent', () => {
    const quietTask = {
      jeditaskid: DEMO_TASK_ID,
      window,
      task: task(),
      errors: errorsFixture([]),
      previous: { status: 'running', seenCodes: ['pilot:1305'] },
    };
    const posted = buildDigest(input([quietTask]));
    expect(posted.message).toEqual({
      markdown: `No new failures in [task ${DEMO_TASK_ID}](https://bigpanda.cern.ch/task/${DEMO_TASK_ID}/) since Mon 8 Sep 2025, 00:00 UTC · running, 1,112 of 4,875 input files finished (22 %), 12 failed.`,
      details: [],
    });
    expect(buildDigest(input([quietTask], { quiet: 'silent' })).message).toBeUndefined();
    const mixed = buildDigest(
      input(
        [
          quietTask,
          {
            jeditaskid: 46500100,
            window,
            task: task('running', 46500100),
            errors: errorsFixture([{ error: 'pilot:1099', count: 3 }]),
          },
        ],
        { quiet: 'silent' },
      ),
    );
    expect(mixed.message!.markdown).not.toContain(`task ${DEMO_TASK_ID}`);
    expect(mixed.message!.markdown).toContain('**pilot:1099** ×3');
  });

  it('notes missing data in one sentence instead of guessing', () => {
    const built = buildDigest(
      input([
        {
          jeditaskid: DEMO_TASK_ID,
          window,
          taskProblem: 'status not available from the monitor',
          errorsProblem: 'Failures could not be read (the monitor did not answer); they will be in the next digest',
        },
      ]),
    );
    expect(built.message!.markdown).toContain('status unknown');
    expect(built.message!.markdown).toContain(
      'Failures could not be read (the monitor did not answer); they will be in the next digest · status not available from the monitor',
    );
    expect(built.tasks[0]).toMatchObject({ dataMissing: true, quiet: false });
  });

  it('says when a digest is a catch-up of missed ones', () => {
    const built = buildDigest(
      input([{ jeditaskid: DEMO_TASK_ID, window, task: task(), errors: demoErrors(), missedRuns: 2 }]),
    );
    expect(built.message!.markdown.split('\n')[0]).toBe(
      '**PanDA digest** since Mon 8 Sep 2025, 00:00 UTC · catch-up: also covers 2 missed digests',
    );
  });

  it('is deterministic: the same data, in any order the monitor sends it, gives the same text', () => {
    const errors = demoErrors();
    const shuffled = {
      ...errors,
      errsByCount: [...errors.errsByCount].reverse(),
      errsBySite: [...errors.errsBySite].reverse(),
    };
    const a = buildDigest(input([{ jeditaskid: DEMO_TASK_ID, window, task: task(), errors }]));
    const b = buildDigest(input([{ jeditaskid: DEMO_TASK_ID, window, task: task(), errors: shuffled }]));
    expect(b.message).toEqual(a.message);
  });

  it('keeps a task with dozens of codes within one message', () => {
    const rows = Array.from({ length: 40 }, (_, i) => ({
      error: `pilot:${1100 + i}`,
      count: 100 - i,
      diag: `${'very long diagnostic text '.repeat(12)}${i}`,
      site: `SITE_${i % 9}`,
    }));
    const built = buildDigest(input([{ jeditaskid: DEMO_TASK_ID, window, task: task(), errors: errorsFixture(rows) }]));
    expect(codePoints(built.message!.markdown)).toBeLessThanOrEqual(DIGEST_LIMITS.messageChars);
    expect(built.message!.markdown).toMatch(/…and \d+ more codes/);
  });
});

describe('a channel with many tasks', () => {
  const many = Array.from({ length: 60 }, (_, i): TaskWindowData => ({
    jeditaskid: 46500200 + i,
    window,
    task: task(i === 17 ? 'broken' : 'running', 46500200 + i),
    errors:
      i % 4 === 0
        ? errorsFixture([])
        : errorsFixture([
            { error: 'pilot:1305', count: 10 + i, diag: 'Failed to execute payload:segfault' },
            { error: 'pilot:1099', count: 3, site: 'BNL_PROD_MCORE' },
          ]),
    previous: { status: 'running', seenCodes: i % 3 ? ['pilot:1305'] : [] },
  }));

  it('puts one line per task in the channel and the breakdown in thread replies, each within the limit', () => {
    const built = buildDigest(input(many));
    const message = built.message!;
    expect(codePoints(message.markdown)).toBeLessThanOrEqual(DIGEST_LIMITS.messageChars);
    expect(message.markdown.split('\n')[0]).toBe(
      '**PanDA digest** since Mon 8 Sep 2025, 00:00 UTC · 60 tasks, 45 with news',
    );
    expect(message.markdown).toContain('_The breakdown per task is in the thread._');
    // The broken task comes first: it changed state and ended.
    expect(message.markdown.split('\n')[2]).toContain('[Task 46500217]');
    expect(message.markdown.split('\n')[2]).toContain('**running → broken**');
    expect(message.details.length).toBeGreaterThan(1);
    for (const part of message.details) expect(codePoints(part)).toBeLessThanOrEqual(DIGEST_LIMITS.messageChars);
    const thread = message.details.join('\n');
    for (const t of many) expect(thread).toContain(`task/${t.jeditaskid}/`);
  });
});
