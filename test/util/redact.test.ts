import { describe, expect, it } from 'vitest';
import { redactLines, redactSecrets } from '../../src/util/redact.ts';

describe('redactSecrets', () => {
  const cases: Array<[string, string]> = [
    ['Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345', 'abcdefghijklmnopqrstuvwxyz012345'],
    [
      'token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
      'eyJhbGciOiJIUzI1NiJ9',
    ],
    ['OPENAI_API_KEY=sk-proj-abc123def456ghi789jkl', 'sk-proj-abc123def456ghi789jkl'],
    ['key sk-ant-api03-AAAABBBBCCCCDDDDEEEE', 'sk-ant-api03-AAAABBBBCCCCDDDDEEEE'],
    ['slack xoxb-123456789012-abcdefghijkl and xapp-1-A0123-456789-abcdef', 'xoxb-123456789012-abcdefghijkl'],
    ['slack app xapp-1-A0123-456789-abcdef', 'xapp-1-A0123-456789-abcdef'],
    ['https://bigpanda.cern.ch/job?pandaid=1&token=s3cr3tvalue&json', 's3cr3tvalue'],
    ['mysql://panda:pa55word@db.cern.ch/panda', 'pa55word'],
    ['password=hunter2 user=bob', 'hunter2'],
    ['Cookie: sessionid=abcdef123456; csrftoken=zzz', 'abcdef123456'],
    [
      '-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n-----END CERTIFICATE-----',
      'MIIDdzCCAl',
    ],
    ['"api_key": "AIzaSyA-1234567890abcdefghijklmnopqrstu"', 'AIzaSyA-1234567890abcdefghijklmnopqrstu'],
  ];
  for (const [input, secret] of cases) {
    it(`hides ${secret.slice(0, 16)}…`, () => {
      const out = redactSecrets(input);
      expect(out).not.toContain(secret);
      expect(out).toContain('[redacted');
    });
  }

  it('leaves ordinary pilot log text alone', () => {
    const line =
      '2025-09-08 05:50:33,123 | INFO     | MainThread      | pilot.control.job              | retrieve         | received job 6800730400 (jeditaskid=46374283)';
    expect(redactSecrets(line)).toBe(line);
  });

  it('hides a PEM block spread over several lines', () => {
    const lines = [
      'proxy follows',
      '-----BEGIN RSA PRIVATE KEY-----',
      'MIIEpAIBAAKCAQEAsecretline1',
      'secretline2==',
      '-----END RSA PRIVATE KEY-----',
      'after',
    ];
    const out = redactLines(lines);
    expect(out.join('\n')).not.toMatch(/secretline|MIIEp/);
    expect(out[0]).toBe('proxy follows');
    expect(out.at(-1)).toBe('after');
  });
});
