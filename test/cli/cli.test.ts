import { describe, expect, it } from 'vitest';
import { AnswerSchema, type Answer } from '../../src/core/answer.ts';
import { cliEnv, runCli } from '../support/cli.ts';

function parseAnswer(stdout: string): Answer {
  const lines = stdout.trim().split('\n');
  expect(lines).toHaveLength(1); // exactly one JSON object
  return AnswerSchema.parse(JSON.parse(lines[0]!));
}

describe('askpanda --help', { timeout: 120_000 }, () => {
  it('lists the commands and never prints a secret', async () => {
    const env = cliEnv({ SLACK_BOT_TOKEN: 'xoxb-help-secret-123', OPENAI_API_KEY: 'sk-help-secret-456' });
    for (const args of [['--help'], ['ask', '--help'], ['chat', '--help'], ['serve', '--help']]) {
      const result = await runCli(args, { env });
      expect(result.code).toBe(0);
      expect(result.stdout + result.stderr).not.toMatch(/help-secret/);
      expect(result.stdout).toMatch(/Usage: askpanda/);
    }
    const top = await runCli(['--help'], { env });
    for (const command of ['serve', 'chat', 'ask']) expect(top.stdout).toContain(command);
  });

  it('exits 2 on a usage error', async () => {
    const result = await runCli(['ask', '--no-such-flag', 'hi']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown option/);
  });
});

describe('configuration errors at start-up', { timeout: 120_000 }, () => {
  it('stop with one line naming the setting and value, exit 2, no secret and no stack', async () => {
    const result = await runCli(['ask', 'help'], {
      env: cliEnv({ ASKPANDA_LLM: 'openai,chatgpt', OPENAI_API_KEY: 'sk-not-to-be-seen' }),
    });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/llm\.chain \(from ASKPANDA_LLM\) = \["openai","chatgpt"\]/);
    expect(result.stderr).not.toContain('sk-not-to-be-seen');
    expect(result.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });
});

describe('askpanda ask --json', { timeout: 120_000 }, () => {
  it('answers bad input from stdin (non-UTF-8 bytes) with bad_input and exit 0', async () => {
    const result = await runCli(['ask', '--json'], {
      stdin: Buffer.from([0x77, 0x68, 0x79, 0x20, 0xff, 0xfe, 0xc3, 0x28]),
    });
    expect(result.code).toBe(0);
    expect(parseAnswer(result.stdout).error?.kind).toBe('bad_input');
  });

  it.each([
    ['empty question', ['ask', '--json', ''], 'bad_input'],
    ['30-digit id', ['ask', '--json', 'why did job 123456789012345678901234567890 fail?'], 'bad_input'],
    ['unknown command', ['ask', '--json', '/frobnicate'], 'bad_input'],
  ])('%s → error.kind %s', async (_name, args, kind) => {
    const result = await runCli(args);
    expect(result.code).toBe(0);
    expect(parseAnswer(result.stdout).error?.kind).toBe(kind);
  });

  it('rejects a malformed --thread id as a usage error', async () => {
    const result = await runCli(['ask', 'help', '--thread', 'a b/c']);
    expect(result.code).toBe(2);
  });

  it('answers help as a command', async () => {
    const answer = parseAnswer((await runCli(['ask', '--json', 'help'])).stdout);
    expect(answer.agent).toBe('command');
    expect(answer.model).toBe('offline');
  });
});
