import { describe, expect, it } from 'vitest';
import { excerptEvidence, formatExcerpt } from '../../src/agents/prompt-excerpt.ts';

const window = Array.from(
  { length: 30 },
  (_, i) => `2025-09-08 02:39:${String(i).padStart(2, '0')},000 | INFO | monitor loop #${i}`,
);

describe('excerptEvidence', () => {
  it('keeps each anchor with ±2 lines, merges overlapping ranges and marks the gaps', () => {
    const lines = [...window];
    lines[10] = '2025-09-08 02:39:10,000 | ERROR | cause A';
    lines[12] = '2025-09-08 02:39:12,000 | ERROR | cause B';
    lines[25] = '2025-09-08 02:39:25,000 | ERROR | cause C';
    const [excerpt] = excerptEvidence([{ source: 'pilotlog.txt', lines, firstLine: 101 }], {
      isAnchor: (l) => l.includes('cause'),
    });
    expect(excerpt!.lines.map((l) => l.at)).toEqual([109, 110, 111, 112, 113, 114, 115, 124, 125, 126, 127, 128]);
    expect(excerpt!.omitted).toBe(18);
    const text = formatExcerpt(excerpt!);
    expect(text.split('\n')[0]).toBe('[line 109]');
    expect(text).toContain('[…] [line 124]');
  });

  it('drops repeated messages (also across blocks) and cuts long lines', () => {
    const repeated = [
      '2025-09-08 02:39:01,000 | WARNING | disk almost full',
      '2025-09-08 02:39:02,000 | WARNING | disk almost full',
      `2025-09-08 02:39:03,000 | ERROR | ${'x'.repeat(500)}`,
    ];
    const excerpts = excerptEvidence(
      [
        { source: 'a', lines: repeated },
        { source: 'b', lines: ['2025-09-08 05:00:00,000 | WARNING | disk almost full', 'other'] },
      ],
      { isAnchor: () => true, maxLineChars: 100 },
    );
    expect(excerpts[0]!.lines.map((l) => l.text.length)).toEqual([repeated[0]!.length, 107]);
    expect(excerpts[1]!.lines.map((l) => l.text)).toEqual(['other']);
  });

  it('quotes the last lines of a block without any anchor', () => {
    const [excerpt] = excerptEvidence([{ source: 'payload.stdout', lines: window }], {
      isAnchor: () => false,
      fallbackTail: 3,
    });
    expect(excerpt!.lines.map((l) => l.text)).toEqual(window.slice(-3));
  });
});
