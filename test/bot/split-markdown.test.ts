import { describe, expect, it } from 'vitest';
import { codePointLength, measure, splitMarkdown } from '../../src/bot/split-markdown.ts';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Every non-space character of the text, in order (what a reader must still get after splitting). */
function visible(text: string): string {
  return text.replace(/\s+/g, '');
}

/** The pieces' visible text, minus the fence lines the splitter adds when it cuts a code block. */
function visibleWithoutAddedFences(pieces: string[]): string {
  return pieces
    .map((piece, index) => {
      let lines = piece.split('\n');
      if (index > 0 && /^\s*(```|~~~)/.test(lines[0] ?? '') && pieces[index - 1]!.trimEnd().match(/(```|~~~)\s*$/))
        lines = lines.slice(1);
      if (
        index < pieces.length - 1 &&
        /^\s*(```|~~~)\s*$/.test(lines[lines.length - 1] ?? '') &&
        /^\s*(```|~~~)/.test(pieces[index + 1]!)
      )
        lines = lines.slice(0, -1);
      return visible(lines.join('\n'));
    })
    .join('');
}

function isSubsequence(needle: string, haystack: string): boolean {
  const wanted = [...needle];
  let at = 0;
  for (const char of haystack) if (char === wanted[at]) at++;
  return at === wanted.length;
}

function fenceLines(piece: string): string[] {
  return piece.split('\n').filter((l) => /^\s*(```|~~~)/.test(l));
}

/** An answer shaped like the bot's renderer makes them: summary, bold-titled sections, a log excerpt. */
function answerMarkdown(sections: number, logLines: number): string {
  const parts = ['Job 6802258254 failed with pilot error 1305 (the payload exited with code 65).'];
  for (let s = 1; s <= sections; s++) {
    parts.push(
      `**Section ${s}**\n${Array.from({ length: 6 }, (_, i) => `- point ${s}.${i}: the transformation step athena.py stopped while reading EVNT.${s}${i}.pool.root`).join('\n')}`,
    );
  }
  parts.push(
    `**Evidence from payload.stdout**\n\`\`\`text\n${Array.from({ length: logLines }, (_, i) => `2024-11-28 10:${String(i % 60).padStart(2, '0')}:00 ERROR  AthenaEventLoopMgr  event ${i} failed: Algorithm EVNTtoHITS returned StatusCode FAILURE`).join('\n')}\n\`\`\``,
  );
  parts.push('**Monitor:** [job 6802258254](https://bigpanda.cern.ch/job?pandaid=6802258254)');
  return parts.join('\n\n');
}

describe('splitMarkdown', () => {
  it('returns a text under the limit as one piece, unchanged', () => {
    const text = '**Summary**\nAll good.\n\n```\ncode\n```';
    expect(splitMarkdown(text, 1000)).toEqual([text]);
  });

  it('gives no pieces for empty or blank input', () => {
    expect(splitMarkdown('', 10)).toEqual([]);
    expect(splitMarkdown(' \n\n \n', 2)).toEqual([]);
  });

  it('rejects a limit that is not a positive integer', () => {
    expect(() => splitMarkdown('x', 0)).toThrow(RangeError);
    expect(() => splitMarkdown('x', 2.5)).toThrow(RangeError);
  });

  it('keeps every piece under the limit and loses no text of a long answer', () => {
    const text = answerMarkdown(12, 120);
    for (const limit of [300, 1000, 4000]) {
      const pieces = splitMarkdown(text, limit);
      expect(pieces.length).toBeGreaterThan(1);
      for (const piece of pieces) expect(codePointLength(piece)).toBeLessThanOrEqual(limit);
      expect(visibleWithoutAddedFences(pieces)).toBe(visible(text));
    }
  });

  it('cuts between paragraphs, not inside one, when the paragraphs fit', () => {
    const paragraphs = Array.from({ length: 10 }, (_, i) => `Paragraph ${i} ${'word '.repeat(15).trim()}.`);
    const pieces = splitMarkdown(paragraphs.join('\n\n'), 200);
    for (const piece of pieces) {
      for (const part of piece.split('\n\n')) expect(paragraphs).toContain(part);
    }
  });

  it('moves a section that would be cut to the next piece when the piece left behind stays half full', () => {
    const intro = `Intro ${'a'.repeat(120)}`;
    const text = [intro, '**Cause**', `${'b'.repeat(60)}`, `${'c'.repeat(60)}`].join('\n\n');
    // intro + "Cause" title + first body fits 220; the second body does not: the whole section moves.
    const pieces = splitMarkdown(text, 220);
    expect(pieces).toEqual([intro, ['**Cause**', 'b'.repeat(60), 'c'.repeat(60)].join('\n\n')]);
  });

  it('keeps a code block that fits whole in one piece', () => {
    const code = '```python\n' + Array.from({ length: 8 }, (_, i) => `print(${i})`).join('\n') + '\n```';
    const text = `${'x'.repeat(150)}\n\n${code}\n\n${'y'.repeat(150)}`;
    const pieces = splitMarkdown(text, 200);
    expect(pieces.filter((p) => p.includes('print(0)'))).toEqual([code]);
  });

  it('closes a code block at a forced cut and reopens it with its info string', () => {
    const lines = Array.from({ length: 60 }, (_, i) => `line ${String(i).padStart(2, '0')} of the pilot log`);
    const text = `Intro.\n\n~~~text\n${lines.join('\n')}\n~~~\n\nAfter.`;
    const pieces = splitMarkdown(text, 300);
    const codePieces = pieces.filter((p) => p.includes('of the pilot log'));
    expect(codePieces.length).toBeGreaterThan(2);
    for (const piece of codePieces) {
      const fences = fenceLines(piece);
      expect(fences.length).toBe(2);
      expect(fences[0]).toBe('~~~text');
      expect(fences[1]).toBe('~~~');
      expect(codePointLength(piece)).toBeLessThanOrEqual(300);
    }
    // Every log line arrives whole and once.
    const seen = codePieces.flatMap((p) => p.split('\n')).filter((l) => l.includes('of the pilot log'));
    expect(seen).toEqual(lines);
  });

  it('closes an unclosed code block in every piece', () => {
    const text = '```\n' + Array.from({ length: 40 }, (_, i) => `row ${i} ${'z'.repeat(20)}`).join('\n');
    const pieces = splitMarkdown(text, 120);
    for (const piece of pieces) expect(fenceLines(piece)).toEqual(['```', '```']);
  });

  it('does not take a fence inside a code block of the other kind for its end', () => {
    const text = '~~~\n```\nnot a fence here\n```\n' + 'q\n'.repeat(40) + '~~~';
    const pieces = splitMarkdown(text, 40);
    for (const piece of pieces) {
      const lines = piece.split('\n');
      expect(lines[0]).toBe('~~~');
      expect(lines[lines.length - 1]).toBe('~~~');
    }
  });

  it('counts code points by default and UTF-16 units when asked', () => {
    const text = '😀'.repeat(25); // 25 code points, 50 UTF-16 units, no spaces
    const byCodePoints = splitMarkdown(text, 10);
    expect(byCodePoints.map((p) => codePointLength(p))).toEqual([10, 10, 5]);
    const byUnits = splitMarkdown(text, 10, { unit: 'utf16' });
    expect(byUnits.map((p) => p.length)).toEqual([10, 10, 10, 10, 10]);
    for (const piece of [...byCodePoints, ...byUnits]) expect(LONE_SURROGATE.test(piece)).toBe(false);
    // A limit of 16383 code points holds 16383 emoji, which is 32766 UTF-16 units.
    expect(splitMarkdown('😀'.repeat(16383), 16383)).toHaveLength(1);
    // Counted in UTF-16 units the same text needs three: an odd limit holds 8191 emoji per piece.
    expect(splitMarkdown('😀'.repeat(16383), 16383, { unit: 'utf16' })).toHaveLength(3);
  });

  it('never splits a surrogate pair with an odd UTF-16 limit', () => {
    const pieces = splitMarkdown('a😀😀😀😀😀😀😀😀', 4, { unit: 'utf16' });
    for (const piece of pieces) {
      expect(LONE_SURROGATE.test(piece)).toBe(false);
      expect(piece.length).toBeLessThanOrEqual(4);
    }
    expect(pieces.join('')).toBe('a😀😀😀😀😀😀😀😀');
  });

  it('keeps a ZWJ emoji sequence whole when a hard cut would land inside it', () => {
    const family = '👩‍👩‍👧'; // 5 code points
    const text = `${'x'.repeat(8)}${family}${'y'.repeat(8)}`;
    const pieces = splitMarkdown(text, 10);
    expect(pieces.some((p) => p.includes(family))).toBe(true);
    expect(pieces.join('')).toBe(text);
  });

  it('cuts a very long line at spaces, and one without spaces anywhere, quickly', () => {
    const words = 'pilot '.repeat(20_000).trim();
    const started = performance.now();
    const pieces = splitMarkdown(words, 1000);
    for (const piece of pieces) {
      expect(codePointLength(piece)).toBeLessThanOrEqual(1000);
      expect(piece.startsWith(' ') || piece.endsWith(' ')).toBe(false);
    }
    expect(pieces.join(' ')).toBe(words);

    const blob = 'A'.repeat(1_000_000);
    const blobPieces = splitMarkdown(blob, 16383);
    expect(blobPieces.join('')).toBe(blob);
    expect(Math.max(...blobPieces.map((p) => p.length))).toBe(16383);
    // Linear in the input: a megabyte splits in well under a few seconds even on a busy machine.
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('keeps spaces inside a long code line it has to cut', () => {
    const line = Array.from({ length: 40 }, (_, i) => `arg${i}`).join(' ');
    const pieces = splitMarkdown('```\n' + line + '\n```', 60);
    const body = pieces.map((p) => p.split('\n').slice(1, -1).join('')).join('');
    expect(body).toBe(line);
  });

  it('still delivers everything under tiny limits', () => {
    const text = '# Title\n\n```js\nconst a = 1; // 😀\n```\n\n- item one\n- item two 👍';
    for (const limit of [1, 2, 3, 5, 8, 13]) {
      const pieces = splitMarkdown(text, limit);
      for (const piece of pieces) expect(codePointLength(piece)).toBeLessThanOrEqual(limit);
      // Re-opened fences may sit between the characters; the text itself arrives in order.
      expect(
        isSubsequence(visible('# Title const a = 1; // 😀 - item one - item two 👍'), visible(pieces.join(''))),
      ).toBe(true);
    }
  });

  it('treats CRLF like LF', () => {
    const pieces = splitMarkdown('one\r\n\r\ntwo\r\n\r\nthree', 7);
    expect(pieces).toEqual(['one', 'two', 'three']);
  });

  it('measures text in either unit', () => {
    expect(measure('a😀', 'codepoints')).toBe(2);
    expect(measure('a😀', 'utf16')).toBe(3);
  });
});
