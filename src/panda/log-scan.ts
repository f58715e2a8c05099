/**
 * Streaming context extraction from job logs. A log is read once, in batches of about 1 MiB, as a
 * one-byte (latin1) string so regex indexes equal byte offsets and no UTF-8 decoding is paid for
 * lines nobody reads. Memory stays bounded by two batches plus the kept matches, whatever the
 * log's size; a single overlong line is scanned in pieces and cut when kept.
 */

export interface ScanPattern {
  regex: RegExp;
  weight: number;
  label: string;
  /** Lines after a hit kept with it (the top frames under `<signal handler called>`, a G4Exception block). */
  capture?: number;
  /** A line this pattern matches weighs at most its weight (a line restating the error code is no cause). */
  cap?: boolean;
}

export interface ScanOptions {
  patterns: ScanPattern[];
  contextBefore: number;
  contextAfter: number;
  maxLineChars: number;
  maxMatches: number;
  tailLines: number;
  /** Reading stops after this many bytes (the result says `truncated`). */
  maxBytes: number;
  /**
   * A later hit of the same weight replaces the best one only when it is more than this many lines
   * after it: within one incident (a crash and the cascade it sets off) the first sign is the cause.
   * 0 (default): the later hit always wins, as in a pilot log where the last retry is the failure.
   */
  incidentLines?: number;
}

export interface LogMatch {
  /** 1-based line number in the log. */
  line: number;
  text: string;
  weight: number;
  label: string;
}

export interface ScanResult {
  bytes: number;
  lines: number;
  truncated: boolean;
  binary: boolean;
  /** Every pattern hit, also those not kept in `matches`. */
  totalMatches: number;
  /** The highest-ranked hits (at most maxMatches), in log order. */
  matches: LogMatch[];
  /** The best hit with its context window, repeated lines collapsed. */
  best?: { match: LogMatch; firstLine: number; context: string[] };
  /** The last `tailLines` lines of the log. */
  tail: string[];
  /** The first hit of each capturing pattern with the lines after it (at most MAX_CAPTURES). */
  captures?: Array<{ line: number; label: string; lines: string[] }>;
}

/** Chunks are gathered to at least 64 KiB before a scan; larger chunks are scanned as they come. */
const BATCH_BYTES = 64 * 1024;
const MAX_BATCH_BYTES = 120 * 1024;
/** A line longer than this is scanned in pieces instead of being held whole. */
const LONG_LINE_BYTES = 1 << 20;
const TAIL_WINDOW = 96 * 1024;
/** Below this, a batch is simply joined to the carried line (the copy is cheap). */
const SEPARATE_CARRY_BYTES = 16 * 1024;
const NL = 10;
const ERROR_LEVEL = /\| (?:ERROR|CRITICAL|FATAL) /;
/** Captured blocks per log: a stack's top, a G4Exception, a traceback; more is the dump we leave out. */
const MAX_CAPTURES = 4;

interface Candidate {
  line: number;
  raw: string;
  continuation: boolean;
  ranked: { weight: number; label: string };
  start: number;
  stop: number;
}

export class LogScanner {
  private readonly prefilter: RegExp;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Incomplete last line of the previous batch (latin1). */
  private carry = '';
  /** The last complete lines seen (bounded), for context before a match near a batch start and the tail. */
  private previous = '';
  private lineNo = 0;
  private inLongLine = false;
  private longLineMatched = false;
  private bytes = 0;
  private truncated = false;
  private binary = false;
  private checkedBinary = false;
  private totalMatches = 0;
  private readonly kept: LogMatch[] = [];
  /** Each pattern on its own (no g flag), to rank a hit line by the heaviest pattern it matches. */
  private readonly single: RegExp[];
  private readonly captures: Array<{ line: number; label: string; lines: string[]; wanted: number }> = [];
  private best?: { match: LogMatch; firstLine: number; before: string[]; after: string[]; afterWanted: number };

  constructor(private readonly options: ScanOptions) {
    // Negative lookarounds only narrow a match: without them the prefilter stays a superset, which
    // keeps case folding safe for case-sensitive patterns too.
    const sources = options.patterns.map((p) => `(?:${withoutNegativeLookarounds(p.regex.source)})`);
    // A pattern-less scan (tail only) uses a regex that never matches.
    const combined = sources.length ? sources.join('|') : '(?!)';
    // The prefilter only has to find every line some pattern may match (each hit is checked per
    // pattern). Letters spelled as [xX] classes instead of the i flag: the same lines, measured
    // 15-20 % faster in V8 on pilot logs.
    const folded = foldCase(combined);
    this.prefilter = folded === undefined ? new RegExp(combined, 'gim') : new RegExp(folded, 'gm');
    this.single = options.patterns.map((p) => new RegExp(p.regex.source, p.regex.flags.replace(/[gym]/g, '')));
  }

  /** False once the byte cap is reached or the log is binary: the caller should stop reading. */
  get wantsMore(): boolean {
    return !this.truncated && !this.binary;
  }

  push(chunk: Uint8Array): void {
    if (!this.wantsMore || chunk.byteLength === 0) return;
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.bytes + buf.length > this.options.maxBytes) {
      buf = buf.subarray(0, this.options.maxBytes - this.bytes);
      this.truncated = true;
    }
    this.bytes += buf.length;
    if (!this.checkedBinary) {
      this.checkedBinary = true;
      if (looksBinary(buf.subarray(0, 8192))) {
        this.binary = true;
        return;
      }
    }
    // A big chunk is scanned in pieces of at most MAX_BATCH_BYTES: smaller strings stay in V8's young
    // generation (cheap to collect) instead of its large-object space.
    for (let at = 0; at < buf.length; at += MAX_BATCH_BYTES) {
      const piece = at === 0 && buf.length <= MAX_BATCH_BYTES ? buf : buf.subarray(at, at + MAX_BATCH_BYTES);
      this.pending.push(piece);
      this.pendingBytes += piece.length;
      if (this.pendingBytes >= BATCH_BYTES) this.flush(false);
    }
    if (this.truncated && this.pendingBytes > 0) this.flush(false);
  }

  finish(): ScanResult {
    if (!this.binary) this.flush(true);
    const tail = this.binary ? [] : lastLines(this.previous, this.options.tailLines).map((l) => this.cut(l));
    const best = this.best;
    return {
      bytes: this.bytes,
      lines: this.lineNo,
      truncated: this.truncated,
      binary: this.binary,
      totalMatches: this.totalMatches,
      matches: [...this.kept].sort((a, b) => a.line - b.line),
      best: best
        ? {
            match: best.match,
            firstLine: best.firstLine,
            context: collapseRepeats([...best.before, best.match.text, ...best.after]),
          }
        : undefined,
      tail,
      ...(this.captures.length
        ? { captures: this.captures.map((c) => ({ line: c.line, label: c.label, lines: c.lines })) }
        : {}),
    };
  }

  private flush(final: boolean): void {
    if (this.pendingBytes === 0 && !(final && this.carry)) return;
    const batch = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    const fresh = batch.toString('latin1');
    let text = fresh;
    const nl = this.carry ? fresh.indexOf('\n') : -1;
    if (nl >= 0 && fresh.length - nl > SEPARATE_CARRY_BYTES) {
      // The line carried over from the last batch is finished and scanned on its own: prepended to a
      // 1 MiB batch it makes V8 copy the whole batch into one flat string before the regex runs
      // (measured: 14 % of the scan's time).
      this.scanAndKeep(this.carry + fresh.slice(0, nl + 1), false);
      text = fresh.slice(nl + 1);
    } else if (this.carry) {
      text = this.carry + fresh;
    }
    this.carry = '';
    if (!final) {
      const end = text.lastIndexOf('\n') + 1;
      if (end === 0) {
        if (text.length < LONG_LINE_BYTES) {
          this.carry = text;
          return;
        }
        // One overlong line so far: scan this piece of it and keep nothing of it.
        this.scanLongPiece(text);
        return;
      }
      if (end < text.length) {
        this.carry = text.slice(end);
        text = text.slice(0, end);
      }
    }
    this.scanAndKeep(text, final);
  }

  private scanAndKeep(text: string, final: boolean): void {
    this.scan(text, final);
    // A batch of 48 KiB or more holds the 200-line tail by itself; smaller ones are appended to a bounded window.
    this.previous =
      text.length >= 48 * 1024
        ? text
        : (this.previous.length > TAIL_WINDOW ? this.previous.slice(-TAIL_WINDOW) : this.previous) + text;
  }

  private scanLongPiece(piece: string): void {
    if (!this.longLineMatched) {
      const hit = this.firstHit(piece);
      if (hit) {
        this.longLineMatched = true;
        const match: LogMatch = {
          line: this.lineNo + 1,
          text: this.cut((this.inLongLine ? '…' : '') + decode(piece.slice(0, this.options.maxLineChars * 4))),
          weight: hit.weight,
          label: hit.label,
        };
        this.totalMatches++;
        this.keep(match);
        if (!this.best || this.replacesBest(match.weight, match.line, this.best.match)) {
          this.best = { match, firstLine: match.line, before: [], after: [], afterWanted: this.options.contextAfter };
        }
      }
    }
    this.inLongLine = true;
  }

  private firstHit(text: string): { weight: number; label: string; index: number } | undefined {
    this.prefilter.lastIndex = 0;
    return this.prefilter.test(text) ? this.rankHit(text) : undefined;
  }

  /**
   * The heaviest pattern the line matches under its own flags (the combined regex is a
   * case-insensitive superset: a hit it finds is checked here), plus one for a pilot ERROR/CRITICAL
   * level; undefined when no pattern really matches. Not the pattern that matched first: an
   * error-level line that also names std::bad_alloc is a bad_alloc line.
   */
  private rankHit(line: string): { weight: number; label: string; index: number } | undefined {
    const patterns = this.options.patterns;
    let index = -1;
    for (let k = 0; k < patterns.length; k++) {
      if ((index < 0 || patterns[k]!.weight > patterns[index]!.weight) && this.single[k]!.test(line)) index = k;
    }
    if (index < 0) return undefined;
    const pattern = patterns[index]!;
    const weight = pattern.weight + (ERROR_LEVEL.test(line) ? 1 : 0);
    for (let k = 0; k < patterns.length; k++) {
      const p = patterns[k]!;
      if (p.cap && weight > p.weight && this.single[k]!.test(line))
        return { weight: p.weight, label: p.label, index: k };
    }
    return { weight, label: pattern.label, index };
  }

  /**
   * Ties go to the later line (the last sign of a cause is usually closest to the failure), except
   * within `incidentLines` of the current best: there the first sign of the incident stays.
   */
  private replacesBest(weight: number, line: number, current: { weight: number; line: number }): boolean {
    if (weight !== current.weight) return weight > current.weight;
    const incident = this.options.incidentLines ?? 0;
    return incident === 0 || line - current.line > incident;
  }

  /** Keeps the first hit of a capturing pattern with the lines after it (the top of a stack trace). */
  private startCapture(line: number, label: string, raw: string, wanted: number, text: string, from: number): void {
    if (this.captures.length >= MAX_CAPTURES || this.captures.some((c) => c.label === label)) return;
    const capture = { line, label, lines: [this.cut(decode(raw))], wanted };
    this.captures.push(capture);
    this.fillCapture(capture, text, from);
  }

  private fillCapture(capture: { lines: string[]; wanted: number }, text: string, from: number): void {
    let pos = from;
    while (capture.wanted > 0 && pos < text.length) {
      let stop = text.indexOf('\n', pos);
      if (stop < 0) stop = text.length;
      capture.lines.push(this.cut(decode(text.slice(pos, Math.min(stop, pos + this.options.maxLineChars * 4)))));
      capture.wanted--;
      pos = stop + 1;
    }
  }

  private scan(text: string, final: boolean): void {
    // Lines still owed to the previous best match's after-context and to open captures.
    if (this.best && this.best.afterWanted > 0) this.fillAfter(text, 0);
    for (const c of this.captures) if (c.wanted > 0) this.fillCapture(c, text, 0);
    let counted = 0;
    let lineAt = this.lineNo;
    let candidate: Candidate | undefined;
    const re = this.prefilter;
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const start = text.lastIndexOf('\n', m.index) + 1;
      let stop = text.indexOf('\n', m.index);
      if (stop < 0) stop = text.length;
      let i = text.indexOf('\n', counted);
      while (i !== -1 && i < start) {
        lineAt++;
        i = text.indexOf('\n', i + 1);
      }
      counted = start;
      const continuation = start === 0 && this.inLongLine;
      if (!(continuation && this.longLineMatched)) {
        const raw = text.slice(start, Math.min(stop, start + this.options.maxLineChars * 4));
        // Checked on the whole line: the kept text is cut, a match may lie past the cut.
        const hit = this.rankHit(stop - start > raw.length ? text.slice(start, stop) : raw);
        re.lastIndex = stop + 1;
        if (!hit) {
          if (stop + 1 >= text.length) break;
          continue;
        }
        const ranked = { weight: hit.weight, label: hit.label };
        this.totalMatches++;
        if (this.kept.length < this.options.maxMatches || ranked.weight > this.lowestKept()) {
          this.keep({ line: lineAt + 1, text: this.cut((continuation ? '…' : '') + decode(raw)), ...ranked });
        }
        const current = candidate ? { weight: candidate.ranked.weight, line: candidate.line } : this.best?.match;
        if (!current || this.replacesBest(ranked.weight, lineAt + 1, current))
          candidate = { line: lineAt + 1, raw, continuation, ranked, start, stop };
        const wanted = this.options.patterns[hit.index]!.capture ?? 0;
        if (wanted > 0) this.startCapture(lineAt + 1, ranked.label, raw, wanted, text, stop + 1);
      }
      re.lastIndex = stop + 1;
      if (stop + 1 >= text.length) break;
    }
    // The best hit of this batch gets its context once, not once per hit.
    if (candidate) {
      const before = this.linesBefore(text, candidate.start);
      const match: LogMatch = {
        line: candidate.line,
        text: this.cut((candidate.continuation ? '…' : '') + decode(candidate.raw)),
        ...candidate.ranked,
      };
      this.best = {
        match,
        firstLine: match.line - before.length,
        before,
        after: [],
        afterWanted: this.options.contextAfter,
      };
      this.fillAfter(text, candidate.stop + 1);
    }
    let i = text.indexOf('\n', counted);
    while (i !== -1) {
      lineAt++;
      i = text.indexOf('\n', i + 1);
    }
    if (final && text.length > 0 && text.charCodeAt(text.length - 1) !== NL) lineAt++;
    this.lineNo = lineAt;
    if (text.length > 0) {
      this.inLongLine = false;
      this.longLineMatched = false;
    }
  }

  private lowestKept(): number {
    let low = Infinity;
    for (const k of this.kept) if (k.weight < low) low = k.weight;
    return low;
  }

  private keep(match: LogMatch): void {
    if (this.kept.length < this.options.maxMatches) {
      this.kept.push(match);
      return;
    }
    let low = 0;
    for (let k = 1; k < this.kept.length; k++) if (this.kept[k]!.weight < this.kept[low]!.weight) low = k;
    if (this.kept[low]!.weight < match.weight) this.kept.splice(low, 1, match);
  }

  /** Appends lines from `from` to the best match's after-context. */
  private fillAfter(text: string, from: number): void {
    const best = this.best!;
    let pos = from;
    while (best.afterWanted > 0 && pos < text.length) {
      let stop = text.indexOf('\n', pos);
      if (stop < 0) stop = text.length;
      best.after.push(this.cut(decode(text.slice(pos, Math.min(stop, pos + this.options.maxLineChars * 4)))));
      best.afterWanted--;
      pos = stop + 1;
    }
  }

  private linesBefore(text: string, start: number): string[] {
    const want = this.options.contextBefore;
    const out: string[] = [];
    let end = start - 1; // the newline ending the previous line
    while (out.length < want && end >= 0) {
      const s = text.lastIndexOf('\n', end - 1) + 1;
      out.push(this.cut(decode(text.slice(s, Math.min(end, s + this.options.maxLineChars * 4)))));
      end = s - 1;
    }
    if (out.length < want && end < 0 && this.previous) {
      const more = lastLines(this.previous, want - out.length).reverse();
      out.push(...more.map((l) => this.cut(l)));
    }
    return out.reverse();
  }

  private cut(line: string): string {
    const max = this.options.maxLineChars;
    return line.length > max ? `${line.slice(0, max)}… [line cut at ${max} characters]` : line;
  }
}

/**
 * `source` with every ASCII letter made case-insensitive by hand ([eE], ranges doubled in classes),
 * so it needs no i flag; undefined for syntax this does not handle (escapes of code points, named
 * groups, back-references), where the caller keeps the i flag.
 */
export function foldCase(source: string): string | undefined {
  if (/\\(?:[xuckpP]|[1-9])|\(\?<[A-Za-z]/.test(source)) return undefined;
  const other = (c: string) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase());
  const letter = /[A-Za-z]/;
  let out = '';
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      out += c + (source[i + 1] ?? '');
      i++;
    } else if (c === '[') {
      // Copy the class, adding the other case of each letter and letter range in it.
      let j = i + 1;
      let body = '';
      let extra = '';
      if (source[j] === '^') body += source[j++];
      if (source[j] === ']') body += source[j++];
      while (j < source.length && source[j] !== ']') {
        if (source[j] === '\\') {
          body += source[j]! + (source[j + 1] ?? '');
          j += 2;
          continue;
        }
        const a = source[j]!;
        if (source[j + 1] === '-' && source[j + 2] !== undefined && source[j + 2] !== ']') {
          const b = source[j + 2]!;
          body += `${a}-${b}`;
          if (letter.test(a) && letter.test(b) && (a === a.toLowerCase()) === (b === b.toLowerCase()))
            extra += `${other(a)}-${other(b)}`;
          j += 3;
          continue;
        }
        body += a;
        if (letter.test(a)) extra += other(a);
        j++;
      }
      if (j >= source.length) return undefined;
      out += `[${body}${extra}]`;
      i = j;
    } else if (c === '(' && source[i + 1] === '?') {
      // (?: (?= (?! (?<= (?<! : group syntax, not letters to fold
      const m = /^\(\?(?:<[=!]|[:=!])/.exec(source.slice(i));
      if (!m) return undefined;
      out += m[0];
      i += m[0].length - 1;
    } else if (letter.test(c)) {
      out += `[${c}${other(c)}]`;
    } else {
      out += c;
    }
  }
  return out;
}

/** `source` without its (?!…) and (?<!…) groups (escapes and classes respected). */
export function withoutNegativeLookarounds(source: string): string {
  let out = '';
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      out += c + (source[i + 1] ?? '');
      i++;
    } else if (c === '[') {
      let j = i + 1;
      while (j < source.length && source[j] !== ']') j += source[j] === '\\' ? 2 : 1;
      out += source.slice(i, j + 1);
      i = j;
    } else if (source.startsWith('(?!', i) || source.startsWith('(?<!', i)) {
      let depth = 0;
      let j = i;
      for (; j < source.length; j++) {
        if (source[j] === '\\') j++;
        else if (source[j] === '(') depth++;
        else if (source[j] === ')' && --depth === 0) break;
      }
      i = j;
    } else {
      out += c;
    }
  }
  return out;
}

/** Reads `source` to the end (or the byte cap) through a LogScanner. */
export async function scanLog(source: AsyncIterable<Uint8Array>, options: ScanOptions): Promise<ScanResult> {
  const scanner = new LogScanner(options);
  for await (const chunk of source) {
    scanner.push(chunk);
    if (!scanner.wantsMore) break;
  }
  return scanner.finish();
}

function decode(latin1: string): string {
  // Lines are held as one-byte strings; turn the kept ones back into real UTF-8 text.
  return Buffer.from(latin1, 'latin1')
    .toString('utf8')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '')
    .replace(/\r$/, '');
}

function lastLines(text: string, n: number): string[] {
  if (n <= 0 || text.length === 0) return [];
  let end = text.endsWith('\n') ? text.length - 1 : text.length;
  const out: string[] = [];
  while (out.length < n && end >= 0) {
    const s = text.lastIndexOf('\n', end - 1) + 1;
    out.push(decode(text.slice(s, Math.min(end, s + 100_000))));
    if (s === 0) break;
    end = s - 1;
  }
  return out.reverse();
}

/** NUL bytes or mostly control characters in the first block: not a text log. */
function looksBinary(head: Buffer): boolean {
  if (head.includes(0)) return true;
  let control = 0;
  for (const b of head) if (b < 9 || (b > 13 && b < 32)) control++;
  return head.length > 0 && control / head.length > 0.1;
}

/** Strips a pilot-log timestamp so repeated messages compare equal. */
function messageOf(line: string): string {
  return line.replace(/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[,.]\d+)?\s*/, '');
}

/** Collapses runs of the same message into one line plus a count. */
export function collapseRepeats(lines: string[]): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    let j = i + 1;
    while (j < lines.length && messageOf(lines[j]!) === messageOf(lines[i]!)) j++;
    out.push(lines[i]!);
    if (j - i > 1) out.push(`[the same message repeated ${j - i - 1} more time${j - i - 1 === 1 ? '' : 's'}]`);
    i = j;
  }
  return out;
}
