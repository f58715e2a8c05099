import { describe, expect, it } from 'vitest';
import { cutMiddle, fitToBudget } from '../../src/llm/budget.ts';
import { countMessageTokens, countTokens } from '../../src/llm/tokens.ts';
import { redactLines, redactSecrets } from '../../src/util/redact.ts';

describe('redactSecrets', () => {
  it.each([
    ['Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345', 'abcdefghijklmnop'],
    ['export OPENAI_API_KEY=sk-proj-AAAAAAAAAAAAAAAAAAAAAAAA', 'sk-proj-AAAA'],
    ['anthropic key sk-ant-api03-BBBBBBBBBBBBBBBBBBBBBBBB', 'sk-ant-api03'],
    ['slack xoxb-1234-5678-abcdefgh and xapp-1-A111-222-abc', 'xoxb-1234'],
    ['token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVlLWhlcmU', 'eyJhbGciOiJSUzI1NiJ9'],
    ['rucio --password=hunter2 --user atlasprd', 'hunter2'],
    ['Cookie: sessionid=abc123; csrftoken=def456', 'abc123'],
    ['https://atlas:s3cr3tpass@rucio.cern.ch/replicas', 's3cr3tpass'],
    [
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecret\n-----END RSA PRIVATE KEY-----',
      'MIIEowIBAAKCAQEAsecret',
    ],
    ['gemini key AIzaSyA1234567890abcdefghijklmnopqrstu', 'AIzaSyA123'],
  ])('removes the secret from %s', (input, secret) => {
    const out = redactSecrets(input);
    expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
  });

  it('leaves ordinary log lines alone', () => {
    const line =
      '2026-11-27 10:15:02 | pilot | ERROR | Payload execution failed: exit code 65 at BNL_PROD (token expired? no)';
    expect(redactSecrets(line)).toBe(line);
  });

  it('keeps the number of lines of a log excerpt with a proxy in it', () => {
    const lines = [
      'start',
      '-----BEGIN CERTIFICATE-----',
      'MIIDxTCCAq2gAwIBAgIJAKw',
      '-----END CERTIFICATE-----',
      'password=abc end',
    ];
    const out = redactLines(lines);
    expect(out).toHaveLength(lines.length);
    expect(out.join('\n')).not.toMatch(/MIIDxTCCAq2gAwIBAgIJAKw|abc end/);
    expect(out[0]).toBe('start');
  });
});

describe('token budget', () => {
  it('keeps a prompt that fits unchanged', () => {
    const messages = [{ role: 'user' as const, content: 'why did job 6802258254 fail?' }];
    expect(fitToBudget(messages, 1000)).toEqual({ messages, trimmed: false });
  });

  it('drops the oldest history first, then trims the middle of long evidence, keeping head and tail', () => {
    const log = Array.from({ length: 2000 }, (_, i) => `line ${i} of the pilot log with some words in it`).join('\n');
    const messages = [
      { role: 'system' as const, content: 'system prompt' },
      { role: 'user' as const, content: 'old question '.repeat(50) },
      { role: 'assistant' as const, content: 'old answer '.repeat(50) },
      { role: 'user' as const, content: `evidence:\n${log}\nFATAL: the cause` },
    ];
    const { messages: out, trimmed } = fitToBudget(messages, 800);
    expect(trimmed).toBe(true);
    expect(countMessageTokens(out)).toBeLessThanOrEqual(800);
    expect(out.map((m) => m.role)).toEqual(['system', 'user']);
    expect(out[1]!.content).toMatch(/^evidence:\nline 0/);
    expect(out[1]!.content).toMatch(/FATAL: the cause$/);
    expect(out[1]!.content).toMatch(/lines trimmed to fit the token budget/);
  });

  it('cuts a single enormous line too, quickly (BPE on one 200k-character word would take a minute)', () => {
    const started = Date.now();
    const out = cutMiddle('x'.repeat(200_000), 300);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(countTokens(out)).toBeLessThan(600);
    expect(out).toContain('trimmed to fit the token budget');
  });
});
