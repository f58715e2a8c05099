import { describe, expect, it } from 'vitest';
import { AnswerSchema, type Answer } from '../../src/core/answer.ts';
import { cliEnv, runCli } from '../support/cli.ts';

const ask = async (question: string, extra: string[] = [], env = cliEnv({ ASKPANDA_DEMO: '1' })): Promise<Answer> => {
  const result = await runCli(['ask', question, '--json', ...extra], { env });
  expect(result.code).toBe(0);
  return AnswerSchema.parse(JSON.parse(result.stdout));
};

describe('demo mode through the CLI (the same client path as the real monitor)', { timeout: 120_000 }, () => {
  it.each([
    ['Why did job 6800730400 fail?', 'job'],
    ['What is going on with job 6798544333?', 'job'],
    ['What is happening with task 46374283?', 'task'],
    ['What is a PanDA pilot?', 'documents'],
    ['What does pilot error 1213 mean?', 'error_code'],
    ['hello', 'general'],
    // Offline every question that is not small talk is searched in the documents; this one declines.
    ['Can you tell me a joke?', 'documents'],
    ['help', 'command'],
  ])('ask --json "%s" → a valid Answer from the %s agent', async (question, agent) => {
    const answer = await ask(question);
    expect(answer.agent).toBe(agent);
    expect(answer.error).toBeUndefined();
    expect(answer.text.length).toBeGreaterThan(40);
  });

  it('explains the 1235 memory failure of job 6800730400 with evidence and monitor links', async () => {
    const answer = await ask('Why did job 6800730400 fail?');
    expect(answer.facts).toMatchObject({ pandaid: 6800730400, piloterrorcode: 1235 });
    expect(answer.evidence.length).toBeGreaterThan(0);
    expect(answer.links.some((l) => l.url.includes('pandaid=6800730400'))).toBe(true);
    expect(answer.followUps.length).toBeGreaterThanOrEqual(2);
  });

  it('finds the cling JIT memory error in payload.stdout of the 1305 job 6802258254', async () => {
    const answer = await ask('why did job 6802258254 fail?');
    expect(answer.facts).toMatchObject({ pandaid: 6802258254, piloterrorcode: 1305 });
    const stdout = answer.evidence.find((e) => e.source === 'payload.stdout');
    expect(stdout?.lines.join('\n')).toContain('cling JIT session error: Cannot allocate memory');
  });

  it('routes a follow-up in the same --thread to the same job, across processes', async () => {
    const env = cliEnv({ ASKPANDA_DEMO: '1' });
    await ask('why did job 6802258254 fail?', ['--thread', 'follow-up-1'], env);
    const followUp = await ask('how can I fix it?', ['--thread', 'follow-up-1'], env);
    expect(followUp.agent).toBe('job');
    expect(followUp.facts.pandaid).toBe(6802258254);
  });

  it('npm start on a fresh setup prints the demo banner and answers in the terminal', async () => {
    const result = await runCli([], {
      command: ['npm', 'start', '--silent'],
      env: cliEnv({ ASKPANDA_PORT: '0' }),
      stdin: 'Why did job 6800730400 fail?\n',
      timeoutMs: 40_000,
      // The terminal chat ends with its input; the HTTP server keeps serving until SIGTERM.
      until: ({ stderr }) => stderr.includes('the terminal chat ended; still serving HTTP'),
    });
    // npm itself dies of the SIGTERM (it does not wait for its child); serve's own exit code is tested with serve.
    expect(result.stderr).toContain('the terminal chat ended; still serving HTTP on port');
    expect(result.stderr).toContain('DEMO MODE');
    expect(result.stderr).toContain('PANDA_MONITOR_URL=https://bigpanda.cern.ch');
    // The web chat runs next to the terminal chat, and start-up says where.
    expect(result.stderr).toMatch(/askpanda: web chat: http:\/\/localhost:\d+\//);
    expect(result.stderr).toMatch(/chatting in the terminal and in the browser at http:\/\/localhost:\d+\//);
    expect(result.stdout).toContain('1235');
    expect(result.stdout).toContain('https://bigpanda.cern.ch/job?pandaid=6800730400');
  });
});

describe('the persistent cache is per monitor', { timeout: 120_000 }, () => {
  it('never answers a real-monitor question from data cached by the demo', async () => {
    const env = cliEnv({ ASKPANDA_DEMO: '1' });
    expect((await ask('why did job 6802258254 fail?', [], env)).facts.piloterrorcode).toBe(1305);
    const elsewhere = await ask('why did job 6802258254 fail?', [], {
      ...env,
      ASKPANDA_DEMO: '0',
      PANDA_MONITOR_URL: 'http://127.0.0.1:9',
      ASKPANDA_MONITOR_RETRIES: '0',
    });
    expect(elsewhere.error?.kind).toBe('monitor_unavailable');
  });
});
