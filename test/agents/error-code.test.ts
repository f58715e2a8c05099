import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import type { Answer } from '../../src/core/answer.ts';
import { loadConfig } from '../../src/load-config.ts';
import { ALL_PILOT_CODES } from '../../src/panda/knowledge.ts';
import { knownCodes, lookupCode } from '../../src/panda/error-codes.ts';
import { cliEnv, runCli } from '../support/cli.ts';

let app: App;
beforeAll(async () => {
  const config = loadConfig({
    env: { ASKPANDA_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'askpanda-codes-')), ASKPANDA_LOG_LEVEL: 'silent' },
  });
  app = await createApp(config, { demo: true });
});
afterAll(() => app.close());

let threadNo = 0;
function ask(text: string, thread = `codes-${++threadNo}`): Promise<Answer> {
  return app.bot.handle({ platform: 'cli', channel: 'cli', thread, user: 'u', text, isDirect: true });
}
const titles = (answer: Answer) => answer.sections.map((s) => s.title);

describe('error-code answers through the bot (offline)', () => {
  it('pilot error with curated guidance: name, official message, causes, fixes, who acts, where to look, monitor links', async () => {
    const answer = await ask('What does pilot error 1213 mean?');
    expect(answer.agent).toBe('error_code');
    expect(answer.model).toBe('offline');
    expect(answer.error).toBeUndefined();
    expect(answer.text).toMatch(/^\*\*Pilot error 1213 \(REACHEDMAXTIME\)\*\*/);
    expect(answer.text).toContain('"Reached batch system time limit"');
    expect(titles(answer)).toEqual(
      expect.arrayContaining(['Usual causes', 'What to do', 'Whose problem is it?', 'Where to look', 'For experts']),
    );
    expect(answer.text).toMatch(/user-side/);
    expect(answer.facts).toMatchObject({
      component: 'pilot',
      code: 1213,
      name: 'REACHEDMAXTIME',
      known: true,
      owner: 'user',
      curated: true,
    });
    expect(answer.links.map((l) => l.url)).toContain(
      'https://bigpanda.cern.ch/jobs/?jobstatus=failed&piloterrorcode=1213&hours=12',
    );
    expect(answer.links.map((l) => l.url)).toContain('https://bigpanda.cern.ch/errors/?hours=24');
    const next = answer.followUps.map((f) => f.question);
    expect(next).toEqual(
      expect.arrayContaining(['What does pilot error 1212 mean?', 'What does pilot error 1220 mean?']),
    );
  });

  it('pilot error without curated guidance: its family, category and owner from our own table', async () => {
    const answer = await ask('what is piloterrorcode 1098');
    expect(answer.text).toMatch(/^\*\*Pilot error 1098 \(NOLOCALSPACE\)\*\*/);
    expect(answer.facts).toMatchObject({
      code: 1098,
      family: 'local disk and file sizes',
      category: 'Runtime Failures and Resource Violations',
      owner: 'mixed',
      curated: false,
    });
    expect(answer.text).toMatch(/either side/);
  });

  it('every one of the 147 pilot codes has a family, an owner and advice', () => {
    expect(ALL_PILOT_CODES).toHaveLength(147);
    for (const { code } of ALL_PILOT_CODES) {
      const info = lookupCode('pilot', code)!;
      expect(info.owner, String(code)).toBeDefined();
      expect(info.category ?? info.guidance, String(code)).toBeDefined();
      expect(info.advice.length, String(code)).toBeGreaterThan(0);
    }
  });

  it('transform exit code from our own table, with the payload logs to read', async () => {
    const answer = await ask('What is exit code 65 of a transform?');
    expect(answer.text).toMatch(/^\*\*Transform exit code 65 \(TRF_EXEC_FAIL\)\*\*/);
    expect(answer.text).toContain('payload.stderr');
    expect(answer.facts).toMatchObject({ component: 'transform', code: 65, codeField: 'transexitcode', owner: 'user' });
    expect(answer.links[0]!.url).toContain('transexitcode=65');
  });

  it('a signal exit code names the Linux signal (128 + N)', async () => {
    const answer = await ask('my jobs end with exit code 137');
    expect(answer.text).toMatch(/TRF_SIG_SIGKILL/);
    expect(answer.text).toMatch(/128 plus the signal number/);
    expect(lookupCode('transform', 138)!.signal).toBe('SIGUSR1');
    expect(lookupCode('transform', 135)!.signal).toBe('SIGBUS');
    expect(knownCodes('transform')).toEqual(expect.arrayContaining([1, 3, 65, 73, 75, 129, 159, 250, 253]));
  });

  it('executor codes use the transform table under the executor field', async () => {
    const answer = await ask('exeerrorcode 65');
    expect(answer.text).toMatch(/^\*\*Executor error 65 \(TRF_EXEC_FAIL\)\*\*/);
    expect(answer.links[0]!.url).toContain('exeerrorcode=65');
  });

  it('a server component code with guidance: taskbuffer 100', async () => {
    const answer = await ask('taskbuffer error 100');
    expect(answer.agent).toBe('error_code');
    expect(answer.error).toBeUndefined();
    expect(answer.text).toMatch(/^\*\*Taskbuffer error 100\*\*/);
    expect(answer.text).toMatch(/JEDI/);
  });

  it.each([
    ['pilot error 777', 'pilot', 777, /run from 1008 to 1386 \(147 codes\)/],
    ['what does ddm error 200 mean?', 'dataservice', 200, /secondary code/],
    ['task buffer error 300', 'taskbuffer', 300, /secondary code/],
    ['supervisor error 8970', 'supervisor', 8970, /secondary code/],
    ['brokerage error code 5', 'brokerage', 5, /No site could be found/],
    ['transform exit code 99', 'transform', 99, /run from 1 to 253/],
  ])(
    'unknown: %s → "I don\'t know code N of component C", never a guess',
    async (question, component, code, detail) => {
      const answer = await ask(question);
      expect(answer.agent).toBe('error_code');
      expect(answer.text.startsWith(`I don't know code ${code} of component ${component}.`)).toBe(true);
      expect(answer.text).toMatch(/I will not guess/);
      expect(answer.text).toMatch(detail);
      expect(answer.error).toMatchObject({ kind: 'not_found' });
      expect(answer.facts).toMatchObject({ component, code, known: false });
      expect(answer.text).not.toMatch(/\*\*Usual causes\*\*|\*\*What to do\*\*/);
    },
  );

  it('a code without a component is looked up in the pilot table, then the transform table', async () => {
    expect((await ask('what does error code 1213 mean')).facts).toMatchObject({ component: 'pilot', code: 1213 });
    expect((await ask('error code 251?')).facts).toMatchObject({ component: 'transform', code: 251 });
  });

  it('code 0 is no error', async () => {
    const answer = await ask('pilot error 0');
    expect(answer.text).toMatch(/means \*\*no error\*\*/);
  });

  it('names copied from the monitor: STAGEINFAILED, TRF_EXEC_FAIL', async () => {
    expect((await ask('What does STAGEINFAILED mean?')).facts).toMatchObject({ component: 'pilot', code: 1099 });
    expect((await ask('TRF_EXEC_FAIL?')).facts).toMatchObject({ component: 'transform', code: 65 });
  });

  it('follow-ups in the thread: a neighbouring code, then the jobs with this error', async () => {
    await ask('what does pilot error 1213 mean?', 'code-thread');
    const next = await ask('and 1212?', 'code-thread');
    expect(next.agent).toBe('error_code');
    expect(next.facts).toMatchObject({ component: 'pilot', code: 1212 });
    const jobs = await ask('show failed jobs with this error in my task', 'code-thread');
    expect(jobs.facts).toMatchObject({ component: 'pilot', code: 1212 });
    expect(jobs.sections[0]!.title).toBe('Jobs that failed with pilot error 1212');
    expect(jobs.sections[0]!.body).toMatch(/which jobs of task 46374283 failed with pilot error 1212/);
  });

  it('in a task thread, the links and the follow-up are about that task', async () => {
    await ask('what is happening with task 46374283?', 'task-code-thread');
    const answer = await ask('what does pilot error 1305 mean?', 'task-code-thread');
    expect(answer.links[0]).toEqual({
      title: 'Failed jobs of task 46374283 with this code',
      url: 'https://bigpanda.cern.ch/jobs/?jeditaskid=46374283&jobstatus=failed&piloterrorcode=1305',
    });
    expect(answer.followUps.map((f) => f.question)).toContain(
      'Which jobs of task 46374283 failed with pilot error 1305?',
    );
  });
});

describe('the task agent, asked about one code of a task', () => {
  it('leads with that code: count, example job and the filtered job list', async () => {
    const answer = await ask('which jobs of task 46374283 failed with pilot error 1305?');
    expect(answer.agent).toBe('task');
    expect(answer.sections[0]!.title).toBe('Jobs that failed with pilot 1305');
    expect(answer.sections[0]!.body).toMatch(/pilot:1305 \(PAYLOADEXECUTIONFAILURE\): \d+ failures, e\.g\. job \d{10}/);
    expect(answer.sections[0]!.body).toContain(
      'https://bigpanda.cern.ch/jobs/?jeditaskid=46374283&jobstatus=failed&piloterrorcode=1305',
    );
  });
});

describe('askpanda ask --json (CLI)', () => {
  it('answers an error-code question and a follow-up with --thread', async () => {
    const env = cliEnv();
    const first = await runCli(['ask', 'What does pilot error 1213 mean?', '--json', '--thread', 'cli-codes'], { env });
    expect(first.code).toBe(0);
    const answer = JSON.parse(first.stdout) as Answer;
    expect(answer).toMatchObject({
      agent: 'error_code',
      model: 'offline',
      facts: { component: 'pilot', code: 1213, known: true },
    });
    const second = await runCli(['ask', 'what about 1236', '--json', '--thread', 'cli-codes'], { env });
    expect(JSON.parse(second.stdout)).toMatchObject({ agent: 'error_code', facts: { component: 'pilot', code: 1236 } });
    const unknown = await runCli(['ask', 'ddm error 12345', '--json'], { env });
    expect(unknown.code).toBe(0);
    expect(JSON.parse(unknown.stdout)).toMatchObject({
      agent: 'error_code',
      error: { kind: 'not_found', message: "I don't know code 12345 of component dataservice." },
    });
  });
});
