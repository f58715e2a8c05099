import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  LogScanner,
  collapseRepeats,
  foldCase,
  scanLog,
  withoutNegativeLookarounds,
  type ScanOptions,
} from '../../src/panda/log-scan.ts';
import { noiseLines } from '../../src/panda/demo/pilot-log.ts';
import { CURATED_GUIDANCE, compilePatterns } from '../../src/panda/knowledge.ts';

const base: Omit<ScanOptions, 'patterns'> = {
  contextBefore: 40,
  contextAfter: 10,
  maxLineChars: 2000,
  maxMatches: 200,
  tailLines: 200,
  maxBytes: 8 * 1024 ** 3,
};
const noise = (n: number, seed: number) => [...noiseLines(n, new Date('2025-09-08T05:00:00Z'), seed)];

/** Feeds text in chunks of `chunk` bytes, like a network stream would. */
async function* chunks(text: string | Buffer, chunk = 16 * 1024): AsyncGenerator<Uint8Array> {
  const buf = typeof text === 'string' ? Buffer.from(text) : text;
  for (let i = 0; i < buf.length; i += chunk) yield buf.subarray(i, i + chunk);
}

describe('LogScanner', () => {
  it('finds the cause among thousands of noise lines with 40 lines before and 10 after, line numbers exact', async () => {
    const before = noise(5000, 1);
    const cause =
      '2025-09-08 10:00:00,000 | WARNING  | job_monitor     | pilot.user.atlas.memory        | memory_usage     | job 1 has exceeded the memory limit: maxPSS=6291456 kB > 4194304 kB (limit) - will be killed\n';
    const after = noise(300, 2);
    const text = before.join('') + cause + after.join('');
    for (const chunk of [777, 16 * 1024, 1 << 20]) {
      const r = await scanLog(chunks(text, chunk), {
        ...base,
        patterns: compilePatterns(CURATED_GUIDANCE.find((g) => g.code === 1235)),
      });
      expect(r.lines).toBe(5301);
      expect(r.best?.match.line).toBe(5001);
      expect(r.best?.match.text).toContain('has exceeded the memory limit');
      expect(r.best?.firstLine).toBe(4961);
      const ctx = r.best!.context;
      expect(ctx.filter((l) => l.includes('exceeded the memory limit'))).toHaveLength(1);
      expect(ctx.at(-1)).toBe(after[9]!.trimEnd());
      expect(r.tail).toHaveLength(200);
      expect(r.tail.at(-1)).toBe(after.at(-1)!.trimEnd());
    }
  });

  it('finds every example line of every curated pattern and ranks it first', async () => {
    for (const g of CURATED_GUIDANCE) {
      for (const p of g.patterns) {
        const text = noise(1500, g.code).join('') + p.example + '\n' + noise(100, g.code + 1).join('');
        const r = await scanLog(chunks(text), { ...base, patterns: compilePatterns(g) });
        const found = r.matches.find((m) => m.line === 1501);
        expect(found?.text, `${g.code} ${p.regex}`).toBe(p.example);
        expect(r.best?.match.weight).toBeGreaterThanOrEqual(found!.weight);
      }
    }
  });

  it('finds exactly the lines grep -n -i -E finds, with the same line numbers', async () => {
    const g = CURATED_GUIDANCE.find((x) => x.code === 1137)!;
    const lines = noise(20_000, 11);
    for (const [i, p] of g.patterns.entries()) {
      for (let k = 0; k < 5; k++) lines.splice(1000 + k * 3777 + i * 17, 0, p.example + '\n');
    }
    const text = lines.join('');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'askpanda-scan-'));
    try {
      const file = path.join(dir, 'pilotlog.txt');
      writeFileSync(file, text);
      const ere = g.patterns.map((p) => p.regex.replace(/\(\?:/g, '(').replace(/\\d/g, '[0-9]')).join('|');
      const grep = spawnSync('grep', ['-n', '-i', '-E', ere, file], { encoding: 'utf8' });
      const expected = grep.stdout
        .trim()
        .split('\n')
        .map((l) => Number(l.split(':')[0]));
      expect(expected.length).toBeGreaterThanOrEqual(10);
      const r = await scanLog(chunks(text, 5000), { ...base, patterns: compilePatterns(g) });
      expect(r.matches.map((m) => m.line)).toEqual(expected);
      expect(r.totalMatches).toBe(expected.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps every match up to maxMatches and counts all of them', async () => {
    const hits = Array.from(
      { length: 500 },
      (_, i) =>
        `2025-09-08 10:00:00,000 | WARNING  | copytool_in     | pilot.copytool.rucio           | copy_in          | TimeoutException: Timeout reached, timeout=${i} seconds\n`,
    );
    const text = hits.map((h, i) => h + noise(3, i).join('')).join('');
    const r = await scanLog(chunks(text), {
      ...base,
      maxMatches: 50,
      patterns: compilePatterns(CURATED_GUIDANCE.find((g) => g.code === 1151)),
    });
    expect(r.totalMatches).toBe(500);
    expect(r.matches).toHaveLength(50);
    // ties go to the latest line, closest to the failure
    expect(r.best?.match.text).toContain('timeout=499 seconds');
  });

  it('cuts a 10 MB line to maxLineChars and still finds the cause after it', async () => {
    const long =
      '2025-09-08 06:00:00,000 | DEBUG    | MainThread      | pilot.util.auxiliary           | dump_env         | environment: ' +
      'X'.repeat(10 * 1024 * 1024) +
      '\n';
    const cause =
      '2025-09-08 10:32:18,402 | INFO     | copytool_in     | pilot.copytool.rucio           | handle_rucio_error | TimeoutException: Timeout reached, timeout=6842 seconds\n';
    const text = noise(100, 3).join('') + long + cause + noise(20, 4).join('');
    const before = process.memoryUsage().heapUsed;
    const r = await scanLog(chunks(text, 64 * 1024), {
      ...base,
      patterns: compilePatterns(CURATED_GUIDANCE.find((g) => g.code === 1151)),
    });
    expect(r.best?.match.line).toBe(102);
    expect(r.lines).toBe(122);
    const at = r.best!.context.findIndex((l) => l.includes('TimeoutException'));
    const longInContext = r.best!.context[at - 1]!;
    expect(longInContext.length).toBeLessThan(2100);
    expect(longInContext).toContain('line cut at 2000 characters');
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('stops at maxBytes and says so', async () => {
    const text = noise(20000, 5).join('');
    const r = await scanLog(chunks(text), { ...base, maxBytes: 100_000, patterns: [] });
    expect(r.truncated).toBe(true);
    expect(r.bytes).toBe(100_000);
  });

  it('recognises binary content and empty logs', async () => {
    const binary = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
    const r = await scanLog(chunks(binary), { ...base, patterns: [] });
    expect(r.binary).toBe(true);
    const empty = await scanLog(chunks(''), { ...base, patterns: [] });
    expect(empty.bytes).toBe(0);
    expect(empty.lines).toBe(0);
  });

  it('decodes UTF-8 in kept lines and handles a last line without newline', () => {
    const s = new LogScanner({ ...base, patterns: [{ regex: /Fehler/, weight: 5, label: 'x' }] });
    s.push(Buffer.from('erste Zeile\nzweite Zeile mit Fehler: Größe überschritten'));
    const r = s.finish();
    expect(r.lines).toBe(2);
    expect(r.best?.match.text).toBe('zweite Zeile mit Fehler: Größe überschritten');
  });

  it('prefilters with letters folded by hand: the same lines as the i flag, case-sensitive patterns kept exact', async () => {
    const sources = [
      'exceeded (?:the )?(?:maximum allowed )?memory|memory limit (?:exceeded|of \\d+)',
      'Error in <[A-Za-z_:]+>: ',
      '[^a-f]x\\bY',
      'Current algorithm: (?!<NONE>)\\S',
    ];
    const samples = [
      'job HAS EXCEEDED THE MEMORY limit',
      'Memory Limit of 4000',
      'error IN <TFile::ReadBuffer>: short read',
      'ZX y',
      'gx Y',
      'current ALGORITHM: MuonCreatorAlg',
      'Current algorithm: <NONE>',
      'nothing here',
    ];
    for (const src of sources) {
      const folded = new RegExp(foldCase(src)!);
      const reference = new RegExp(src, 'i');
      for (const line of samples) expect(folded.test(line), `${src} on ${line}`).toBe(reference.test(line));
    }
    expect(foldCase('\\x41')).toBeUndefined();
    expect(withoutNegativeLookarounds('a(?!b(c))d(?<!e)[(?!]f')).toBe('ad[(?!]f');
    // A case-sensitive pattern: the prefilter finds "error" in any case, the check keeps only ERROR.
    const r = await scanLog(chunks('x ERROR y\nx error y\nX Error y\n'), {
      ...base,
      patterns: [{ regex: /^\S.*\sERROR\s+\S/, weight: 5, label: 'athena-error' }],
    });
    expect(r.matches.map((m) => m.line)).toEqual([1]);
    expect(r.totalMatches).toBe(1);
  });

  it('collapses repeated messages that differ only in their timestamp', () => {
    const lines = [
      '2025-09-08 10:00:00,001 | INFO | a | b | c | same',
      '2025-09-08 10:00:01,001 | INFO | a | b | c | same',
      '2025-09-08 10:00:02,001 | INFO | a | b | c | same',
      'other',
    ];
    expect(collapseRepeats(lines)).toEqual([lines[0], '[the same message repeated 2 more times]', 'other']);
  });
});
