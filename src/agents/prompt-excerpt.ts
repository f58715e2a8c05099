/**
 * Compact log excerpts for a model prompt. The Answer keeps the whole context window for people;
 * a model needs only the lines that carry the cause: every line the scanner ranked among its top
 * matches (and, in payload tails, every line with a strong sign of failure) with a little context,
 * overlapping ranges merged, repeated messages dropped and long lines cut.
 */

export interface EvidenceBlock {
  source: string;
  lines: readonly string[];
  /** Line number of lines[0] in the log, when known. */
  firstLine?: number;
}

export interface ExcerptOptions {
  /** Anchor lines: quoted in full with `context` lines either side. */
  isAnchor: (line: string, source: string) => boolean;
  /** Lines either side of an anchor (default 2). */
  context?: number;
  /** Lines longer than this are cut (default 300 characters). */
  maxLineChars?: number;
  /** Lines quoted from a block without any anchor: its last few (default 5). */
  fallbackTail?: number;
}

export interface Excerpt {
  source: string;
  /** Lines with their log line numbers (undefined when the block had none). */
  lines: Array<{ at?: number; text: string }>;
  /** Lines of the block left out. */
  omitted: number;
}

/** Strips a pilot-log timestamp so the same message at another time counts as a repeat. */
function messageOf(line: string): string {
  return line.replace(/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[,.]\d+)?\s*/, '').trim();
}

function cut(line: string, max: number): string {
  return line.length > max ? `${line.slice(0, max)}… [cut]` : line;
}

export function excerptEvidence(blocks: readonly EvidenceBlock[], options: ExcerptOptions): Excerpt[] {
  const context = options.context ?? 2;
  const maxChars = options.maxLineChars ?? 300;
  const fallback = options.fallbackTail ?? 5;
  const seen = new Set<string>();
  const out: Excerpt[] = [];
  for (const block of blocks) {
    const keep = new Set<number>();
    block.lines.forEach((line, i) => {
      if (!options.isAnchor(line, block.source)) return;
      for (let k = Math.max(0, i - context); k <= Math.min(block.lines.length - 1, i + context); k++) keep.add(k);
    });
    if (keep.size === 0)
      for (let k = Math.max(0, block.lines.length - fallback); k < block.lines.length; k++) keep.add(k);
    const lines: Excerpt['lines'] = [];
    for (const i of [...keep].sort((a, b) => a - b)) {
      const text = block.lines[i]!;
      const message = messageOf(text);
      // Blank lines and messages already quoted (here or in an earlier block) add no evidence.
      if (!message || seen.has(message)) continue;
      seen.add(message);
      lines.push({ at: block.firstLine === undefined ? undefined : block.firstLine + i, text: cut(text, maxChars) });
    }
    if (lines.length) out.push({ source: block.source, lines, omitted: block.lines.length - lines.length });
  }
  return out;
}

/** One excerpt as text: quoted lines, with a marker where lines of the window were left out. */
export function formatExcerpt(excerpt: Excerpt): string {
  const rows: string[] = [];
  let previous: number | undefined;
  for (const line of excerpt.lines) {
    // Each run of consecutive lines is headed by its first line number.
    if (line.at !== undefined && (previous === undefined || line.at > previous + 1))
      rows.push(previous === undefined ? `[line ${line.at}]` : `[…] [line ${line.at}]`);
    rows.push(line.text);
    previous = line.at;
  }
  return rows.join('\n');
}
