/**
 * Splits markdown into pieces that each fit a platform's message limit, cutting where a reader
 * expects a break: before a section, then between paragraphs, then between lines, then at a space;
 * only a line with no usable space is cut mid-word. A code block is never cut open: a block that
 * cannot fit whole is closed at the cut and re-opened, with its info string, in the next piece.
 *
 * Limits are counted the way the platform counts: Mattermost's MaxPostSize in code points (an emoji
 * outside the BMP is one), Slack's in UTF-16 units. A cut never falls inside a surrogate pair and,
 * where it can, not inside an emoji sequence or before a combining mark.
 */

export type LengthUnit = 'codepoints' | 'utf16';

export interface SplitOptions {
  /** How the limit is counted; default `codepoints`. */
  unit?: LengthUnit;
}

/** Number of code points in `text` (a surrogate pair counts once). */
export function codePointLength(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

/** The length of `text` in `unit`. */
export function measure(text: string, unit: LengthUnit = 'codepoints'): number {
  return unit === 'utf16' ? text.length : codePointLength(text);
}

interface Block {
  /** The block's lines, fences included. */
  lines: string[];
  /** Opening fence line and its closing fence, for a code block. */
  fence?: { open: string; close: string };
  /** Starts a section: a heading or a line that is only bold text (the bot's section titles). */
  section: boolean;
}

const FENCE = /^(\s*)(`{3,}|~{3,})(.*)$/;
const HEADING = /^\s{0,3}#{1,6}(\s|$)/;
const BOLD_TITLE = /^\s{0,3}(\*\*|__)(?=\S).*\S\1:?\s*$/;

/** Paragraphs and code blocks, in order; blank lines separate paragraphs and are dropped. */
function parseBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let paragraph: string[] = [];
  const flushParagraph = () => {
    if (paragraph.length)
      blocks.push({ lines: paragraph, section: HEADING.test(paragraph[0]!) || BOLD_TITLE.test(paragraph[0]!) });
    paragraph = [];
  };
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const open = FENCE.exec(line);
    // A backtick fence's info string may not contain backticks (CommonMark); such a line is prose.
    if (open && !(open[2]!.startsWith('`') && open[3]!.includes('`'))) {
      flushParagraph();
      const [, indent, marks] = open;
      const closing = new RegExp(`^\\s*${marks![0] === '`' ? '`' : '~'}{${marks!.length},}\\s*$`);
      const body: string[] = [line];
      let closed = false;
      for (i++; i < lines.length; i++) {
        body.push(lines[i]!);
        if (closing.test(lines[i]!)) {
          closed = true;
          break;
        }
      }
      // An unclosed block runs to the end of the text; every piece of it gets a closing fence.
      const close = closed ? body[body.length - 1]! : `${indent}${marks}`;
      if (!closed) body.push(close);
      blocks.push({ lines: body, fence: { open: line, close }, section: false });
      continue;
    }
    if (line.trim() === '') flushParagraph();
    else paragraph.push(line);
  }
  flushParagraph();
  return blocks;
}

/** Index in `text` after `count` units from `from` (never between the halves of a surrogate pair). */
function advance(text: string, from: number, count: number, unit: LengthUnit): number {
  if (unit === 'utf16') {
    let at = Math.min(text.length, from + count);
    if (at < text.length && isLowSurrogate(text.charCodeAt(at)) && at > from + 1) at--;
    return at;
  }
  let at = from;
  for (let n = 0; n < count && at < text.length; n++)
    at += isHighSurrogate(text.charCodeAt(at)) && isLowSurrogate(text.charCodeAt(at + 1)) ? 2 : 1;
  return at;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** Characters a cut should not precede: joiners, variation selectors, combining marks, skin tones. */
const JOINS_PREVIOUS = /^(?:\u200d|[\ufe00-\ufe0f]|\p{M}|\ud83c[\udffb-\udfff]|\udb40[\udc20-\udc7f])/u;

/**
 * Cuts one line into pieces of at most `max` units: at the last space of each window when that
 * keeps at least half of it, otherwise at the window's end, moved back off an emoji sequence.
 * Prose loses the space it is cut at; code keeps it (at the end of the piece), so no character of
 * a log line or command disappears.
 */
function cutLine(line: string, max: number, unit: LengthUnit, code: boolean): string[] {
  const pieces: string[] = [];
  let start = 0;
  for (;;) {
    const end = advance(line, start, max, unit);
    if (end >= line.length) break;
    let at = line.lastIndexOf(' ', code ? end - 1 : end);
    if (at > start && measure(line.slice(start, at), unit) >= max / 2) {
      pieces.push(line.slice(start, code ? at + 1 : at));
      start = at + 1;
      continue;
    }
    at = end;
    // Back off a few positions so a flag, a ZWJ emoji or an accent stays whole.
    for (
      let tries = 0;
      tries < 8 &&
      at - start > 1 &&
      (JOINS_PREVIOUS.test(line.slice(at, at + 2)) || line.charCodeAt(at - 1) === 0x200d);
      tries++
    ) {
      at -= isLowSurrogate(line.charCodeAt(at - 1)) && at - 2 > start ? 2 : 1;
    }
    pieces.push(line.slice(start, at));
    start = at;
  }
  if (start < line.length) pieces.push(line.slice(start));
  return pieces;
}

/** Lines packed into pieces of at most `max` units, cut at line ends and then inside long lines. */
function splitLines(lines: string[], max: number, unit: LengthUnit, code = false): string[] {
  const pieces: string[] = [];
  let current: string[] = [];
  let length = 0;
  for (const line of lines) {
    const size = measure(line, unit);
    for (const part of size > max ? cutLine(line, max, unit, code) : [line]) {
      const partSize = part === line ? size : measure(part, unit);
      if (current.length > 0 && length + 1 + partSize > max) {
        pieces.push(current.join('\n'));
        current = [];
        length = 0;
      }
      length += (current.length > 0 ? 1 : 0) + partSize;
      current.push(part);
    }
  }
  if (current.length > 0) pieces.push(current.join('\n'));
  return pieces;
}

/** A code block too long for one piece: each piece is fenced on its own. */
function splitFence(block: Block, max: number, unit: LengthUnit): string[] {
  const { open, close } = block.fence!;
  const room = max - measure(open, unit) - measure(close, unit) - 2;
  // Too small a limit to fence anything: the content is still delivered, unfenced.
  if (room < 1) return splitLines(block.lines, max, unit, true);
  const content = block.lines.slice(1, -1);
  return splitLines(content.length ? content : [''], room, unit, true).map((body) => `${open}\n${body}\n${close}`);
}

/**
 * Markdown in pieces of at most `limit` units (see the file comment for where it cuts). Blank-line
 * runs between blocks become one blank line; text inside blocks is kept as it is. An empty or
 * whitespace-only input gives no pieces.
 */
export function splitMarkdown(markdown: string, limit: number, options: SplitOptions = {}): string[] {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`splitMarkdown: limit must be a positive integer, got ${limit}`);
  const unit = options.unit ?? 'codepoints';
  const text = markdown.includes('\r') ? markdown.replace(/\r\n?/g, '\n') : markdown;
  if (measure(text, unit) <= limit && text.trim() !== '') {
    // The common case, one piece: only trailing blank lines are dropped.
    return [text.replace(/\s+$/, '')];
  }

  const pieces: string[] = [];
  /** The piece being filled, as rendered blocks, and its length. */
  let current: Array<{ text: string; section: boolean }> = [];
  let length = 0;
  const flush = (count = current.length) => {
    if (count === 0) return;
    pieces.push(
      current
        .slice(0, count)
        .map((b) => b.text)
        .join('\n\n'),
    );
    current = current.slice(count);
    length = current.reduce((sum, b, i) => sum + (i ? 2 : 0) + measure(b.text, unit), 0);
  };
  const append = (rendered: string, section: boolean) => {
    current.push({ text: rendered, section });
    length += (current.length > 1 ? 2 : 0) + measure(rendered, unit);
  };

  for (const block of parseBlocks(text)) {
    const rendered = block.lines.join('\n');
    const size = measure(rendered, unit);
    if (size > limit) {
      flush();
      const parts = block.fence ? splitFence(block, limit, unit) : splitLines(block.lines, limit, unit);
      for (const part of parts.slice(0, -1)) pieces.push(part);
      append(parts[parts.length - 1]!, block.section);
      continue;
    }
    if (current.length > 0 && length + 2 + size > limit) {
      // Prefer to start the new piece at the section the overflow belongs to, when the piece
      // left behind stays at least half full and the moved section still fits with this block.
      const sectionAt = lastSectionStart(current);
      if (sectionAt > 0) {
        const kept = current.slice(0, sectionAt).reduce((sum, b, i) => sum + (i ? 2 : 0) + measure(b.text, unit), 0);
        if (kept >= limit / 2 && length - kept - 2 + 2 + size <= limit) {
          flush(sectionAt);
          append(rendered, block.section);
          continue;
        }
      }
      flush();
    }
    append(rendered, block.section);
  }
  flush();
  return pieces;
}

function lastSectionStart(blocks: Array<{ section: boolean }>): number {
  for (let i = blocks.length - 1; i > 0; i--) if (blocks[i]!.section) return i;
  return -1;
}
