import { chunkId, type Chunk, type ChunkDraft } from './chunk.ts';
import { htmlToMarkdown } from './html.ts';
import { pipeMarkdown, rowPassage, splitTables, tableOutline } from './tables.ts';

export { htmlToMarkdown } from './html.ts';

/** Bumped when the chunker makes different passages from the same text (2: table rows). */
export const CHUNKER_VERSION = 2;

export interface ChunkOptions {
  /** Target characters per chunk. */
  chunkChars: number;
  /** Characters the next chunk repeats from the end of the previous one, when a section is split. */
  chunkOverlap: number;
}

export type DocumentFormat = 'markdown' | 'text' | 'html';

export interface SourceDocument {
  source: string;
  format: DocumentFormat;
  text: string;
  /** Used when the document names no title itself. */
  fallbackTitle: string;
}

/** A section is the text under one heading; it is never split below this size multiple of chunkChars. */
const KEEP_WHOLE_FACTOR = 1.5;
/** Glossary entries and Q/A blocks are kept whole up to this multiple of chunkChars. */
const ENTRY_MAX_FACTOR = 4;

interface Section {
  path: string[];
  lines: string[];
  /** A glossary entry or question/answer block: one idea, not to be cut. */
  entry: boolean;
}

/**
 * Structure-aware chunking: headings stay with their text (every chunk carries its heading path),
 * glossary entries and FAQ blocks stay whole, long sections are packed from paragraphs (or lines
 * for text dumps) with a sentence-aligned overlap.
 */
export function chunkDocument(doc: SourceDocument, options: ChunkOptions): Chunk[] {
  const normalized = doc.text.replace(/\r\n?/g, '\n').replace(/\u00a0/g, ' ');
  const format = doc.format === 'text' && looksLikeMarkdown(normalized) ? 'markdown' : doc.format;
  const parsed =
    format === 'text'
      ? parseText(normalized)
      : parseMarkdown(format === 'html' ? htmlToMarkdown(normalized) : normalized, doc.fallbackTitle);
  const title = parsed.title ?? doc.fallbackTitle;
  const drafts: ChunkDraft[] = [];
  for (const section of parsed.sections) {
    const sectionName = section.path.filter((p, i) => !(i === 0 && p === title && section.path.length > 1)).join(' › ');
    const { prose, rows } = format === 'text' ? { prose: section, rows: [] } : withoutTables(section, options);
    for (const text of [...splitSection(prose, options, format === 'text'), ...rows]) {
      drafts.push({
        source: doc.source,
        title,
        section: sectionName,
        text,
        ...(parsed.url ? { url: parsed.url } : {}),
      });
    }
  }
  const seen = new Map<string, number>();
  return drafts.map((draft) => {
    const key = `${draft.section}\n${draft.text}`;
    const occurrence = seen.get(key) ?? 0;
    seen.set(key, occurrence + 1);
    return { id: chunkId(draft, occurrence), ...draft };
  });
}

interface Parsed {
  title?: string;
  url?: string;
  sections: Section[];
}

const FRONT_MATTER = /^---\n([\s\S]*?)\n---\n/;
const FENCE = /^\s*(```|~~~)/;
const ATX_HEADING = /^(#{1,6})\s+(.+?)\s*#*\s*$/;
/** "**Term**: definition" or "**Term** — definition" lines in a glossary list. */
const BOLD_TERM = /^\s*[-*]?\s*\*\*([^*]{1,80})\*\*\s*[:—–-]\s+\S/;

/** Wiki and docs-site dumps saved as .txt are Markdown: sub-headings or code fences give them away. */
function looksLikeMarkdown(text: string): boolean {
  return (text.match(/^#{2,6} \S/gm)?.length ?? 0) >= 5 || (text.match(/^```/gm)?.length ?? 0) >= 4;
}

const DOCUMENT_START = '\u0000';
const EMBEDDED_FRONT_MATTER = /^---\n((?:[\w-]+:.*\n){1,12})---$/gm;

function parseMarkdown(input: string, fallbackTitle: string): Parsed {
  let text = input;
  let title: string | undefined;
  let url: string | undefined;
  // Several documents concatenated (a docs-site dump): each front-matter title becomes a chapter.
  const blocks = [...text.matchAll(EMBEDDED_FRONT_MATTER)];
  if (blocks.length > 1) {
    title = fallbackTitle;
    text = text.replace(EMBEDDED_FRONT_MATTER, (_m, fields: string) => {
      const name = /^title:\s*(.+)$/m.exec(fields)?.[1];
      return `# ${DOCUMENT_START}${name ? unquote(name.trim()) : fallbackTitle}`;
    });
  }
  const front = FRONT_MATTER.exec(text);
  if (front) {
    for (const line of front[1]!.split('\n')) {
      const m = /^(\w+):\s*(.*?)\s*$/.exec(line);
      if (m?.[1] === 'title' && m[2]) title = unquote(m[2]);
      if (m?.[1] === 'url' && m[2]) url = unquote(m[2]);
    }
    text = text.slice(front[0].length);
  }
  const sections: Section[] = [];
  const stack: Array<{ level: number; name: string }> = [];
  let current: Section = { path: [], lines: [], entry: false };
  let inFence = false;
  const glossaryLike = () => current.path.some((p) => /glossary|definitions|terms/i.test(p));
  const startSection = (path: string[], entry: boolean) => {
    sections.push(current);
    current = { path, lines: [], entry };
  };
  for (const raw of text.split('\n')) {
    // A new document of a concatenated dump: an unclosed code fence in the previous one ends here.
    if (raw.startsWith(`# ${DOCUMENT_START}`)) inFence = false;
    const line = raw.replace(DOCUMENT_START, '');
    if (FENCE.test(line)) inFence = !inFence;
    const heading = inFence ? null : ATX_HEADING.exec(line);
    if (heading) {
      const level = heading[1]!.length;
      const name = stripInline(heading[2]!);
      if (level === 1 && title === undefined) title = name;
      if (level === 1 && name === title && stack.length === 0) {
        stack.push({ level, name });
        startSection([name], false);
        continue;
      }
      while (stack.length && stack[stack.length - 1]!.level >= level) stack.pop();
      stack.push({ level, name });
      startSection(
        stack.map((s) => s.name),
        false,
      );
      current.entry = glossaryLike() && stack.length > 1;
      continue;
    }
    if (!inFence && glossaryLike()) {
      const term = BOLD_TERM.exec(line);
      if (term) {
        startSection([...stack.map((s) => s.name), stripInline(term[1]!)], true);
      }
    }
    current.lines.push(line);
  }
  sections.push(current);
  return { title, url, sections: sections.filter((s) => s.lines.some((l) => l.trim() !== '')) };
}

/** "2.4 Task", "4.1.5 Bookkeeping"; a bare "2 Basic Concepts" is too often a table-of-contents or list line. */
const NUMBERED_HEADING = /^(\d{1,2}(?:\.\d{1,2}){1,3})\s+([A-Z][^\n]{1,78})$/;
const SEPARATOR = /^\s*(?:-{6,}|={6,}|\*{6,}|_{6,})\s*$/;
const ENTRY_HEAD = /^(?:DEFINITION|TERM|Question)\s*:\s*(.*)$/i;

/**
 * Plain text, including PDF text dumps: numbered headings ("2.4 Task"), short standalone
 * questions, separator-delimited entries ("DEFINITION: …", "Question: …"); page furniture
 * (page numbers, running headers repeated on every page) is dropped.
 */
function parseText(input: string): Parsed {
  const lines = input.split('\n');
  const counts = new Map<string, number>();
  for (const line of lines) {
    const t = line.trim();
    if (t && t.length < 80) counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  const furniture = (t: string) => /^\d{1,4}$/.test(t) || /^[ivxlc]{1,6}$/.test(t) || (counts.get(t) ?? 0) >= 8;

  const sections: Section[] = [];
  let current: Section = { path: [], lines: [], entry: false };
  let chapter: string[] = [];
  const headings = new Map<string, string>();
  let previous = '';
  let afterSeparator = false;
  let seenText = false;
  let namePending = false;
  const start = (path: string[], entry: boolean) => {
    sections.push(current);
    current = { path, lines: [], entry };
  };
  for (const raw of lines) {
    const t = raw.trim();
    if (SEPARATOR.test(t)) {
      afterSeparator = true;
      start(chapter, false);
      continue;
    }
    if (!t) {
      current.lines.push('');
      continue;
    }
    if (furniture(t)) continue;
    if (namePending) {
      // "Question:" alone on its line: the next line is the question, and names the entry.
      namePending = false;
      current.path = [...current.path, t];
      previous = t;
      continue;
    }
    const entry = afterSeparator || !seenText ? ENTRY_HEAD.exec(t) : null;
    afterSeparator = false;
    seenText = true;
    if (entry) {
      start(chapter.slice(0, 1), true);
      if (entry[1]!.trim()) current.path.push(entry[1]!.trim());
      else namePending = true;
      continue;
    }
    const numbered = NUMBERED_HEADING.exec(t);
    if (numbered && !/[.,;:]$/.test(t) && numbered[2]!.split(' ').length <= 10) {
      const number = numbered[1]!;
      const name = `${number} ${numbered[2]}`;
      headings.set(number, name);
      const parent = headings.get(number.split('.').slice(0, -1).join('.'));
      chapter = parent && number.split('.').length > 2 ? [parent, name] : [name];
      start(chapter, false);
      previous = t;
      continue;
    }
    const question =
      t.length <= 110 &&
      /^[A-Z‘'"“]/.test(t) &&
      /\?["”’]?$/.test(t) &&
      (previous === '' || /[.!?:)”"’]$/.test(previous) || previous.length < 60);
    if (question) {
      start([...chapter.slice(0, 2), t], true);
      previous = t;
      continue;
    }
    current.lines.push(t);
    previous = t;
  }
  sections.push(current);
  return { sections: sections.filter((s) => s.lines.some((l) => l.trim() !== '')) };
}

/** A table shown whole inside its prose passage when it is at most this share of chunkChars. */
const INLINE_TABLE_FACTOR = 0.5;

/**
 * Tables come out of the prose: each row becomes its own passage (with the table's caption and
 * column names), and the prose keeps a small table whole or a long one's outline, so the section
 * still reads in order.
 */
function withoutTables(section: Section, options: ChunkOptions): { prose: Section; rows: string[] } {
  const segments = splitTables(section.lines);
  if (!segments.some((s) => s.kind === 'table')) return { prose: section, rows: [] };
  const lines: string[] = [];
  const rows: string[] = [];
  for (const segment of segments) {
    if (segment.kind === 'text') {
      lines.push(...segment.lines);
      continue;
    }
    const whole = pipeMarkdown(segment.table);
    lines.push('', whole.length <= options.chunkChars * INLINE_TABLE_FACTOR ? whole : tableOutline(segment.table), '');
    for (const row of segment.table.rows) rows.push(rowPassage(segment.table, row));
  }
  return { prose: { ...section, lines }, rows };
}

function splitSection(section: Section, options: ChunkOptions, lineMode: boolean): string[] {
  const body = trimBlankLines(section.lines).join('\n');
  if (!body.trim()) return [];
  const limit = options.chunkChars;
  if (body.length <= limit * KEEP_WHOLE_FACTOR) return [body];
  if (section.entry && body.length <= limit * ENTRY_MAX_FACTOR) return [body];
  const units = lineMode ? body.split('\n').filter((l) => l.trim()) : paragraphs(body);
  const pieces = units.flatMap((unit) => (unit.length > limit ? splitLong(unit, limit) : [unit]));
  const chunks: string[] = [];
  let buffer = '';
  const separator = lineMode ? '\n' : '\n\n';
  for (const piece of pieces) {
    // A short lead-in ("You can invoke it like this:") stays with what it introduces.
    if (buffer && buffer.length + separator.length + piece.length > limit && buffer.length >= limit * 0.3) {
      chunks.push(buffer);
      const carried = overlapTail(buffer, options.chunkOverlap);
      buffer = carried ? `${carried}${separator}${piece}` : piece;
    } else {
      buffer = buffer ? `${buffer}${separator}${piece}` : piece;
    }
  }
  if (buffer.trim()) chunks.push(buffer);
  return chunks;
}

/** Blank-line separated paragraphs; a fenced code block is one paragraph. */
function paragraphs(body: string): string[] {
  const out: string[] = [];
  let current: string[] = [];
  let inFence = false;
  for (const line of body.split('\n')) {
    if (FENCE.test(line)) inFence = !inFence;
    if (!inFence && line.trim() === '') {
      if (current.length) out.push(current.join('\n'));
      current = [];
    } else {
      current.push(line);
    }
  }
  if (current.length) out.push(current.join('\n'));
  return out;
}

const SENTENCE_END = /(?<=[.!?])\s+(?=[A-Z0-9“"‘(`*])/g;

/** A unit longer than the limit: sentences first, then whitespace, then a hard cut. */
function splitLong(unit: string, limit: number): string[] {
  // Code and listings split at line ends; prose at sentence ends.
  const sentences = (unit.match(/\n/g)?.length ?? 0) >= 3 ? unit.split('\n') : unit.split(SENTENCE_END);
  const joiner = (unit.match(/\n/g)?.length ?? 0) >= 3 ? '\n' : ' ';
  const out: string[] = [];
  let buffer = '';
  for (const sentence of sentences.flatMap((s) => (s.length > limit ? hardWrap(s, limit) : [s]))) {
    if (buffer && buffer.length + 1 + sentence.length > limit) {
      out.push(buffer);
      buffer = sentence;
    } else {
      buffer = buffer ? `${buffer}${joiner}${sentence}` : sentence;
    }
  }
  if (buffer) out.push(buffer);
  return out;
}

function hardWrap(text: string, limit: number): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    let cut = rest.lastIndexOf(' ', limit);
    if (cut < limit / 2) cut = limit;
    out.push(rest.slice(0, cut).trim());
    rest = rest.slice(cut).trim();
  }
  if (rest) out.push(rest);
  return out;
}

/** The end of a chunk to repeat at the start of the next: whole sentences (or words) within the budget. */
function overlapTail(text: string, budget: number): string {
  if (budget <= 0) return '';
  // Whole sentences read better than a cut one: look back up to twice the budget for a sentence start.
  for (const span of [budget, budget * 2]) {
    const tail = text.slice(-span);
    const sentenceStart = tail.search(/(?<=[.!?\n])\s+\S/);
    if (sentenceStart >= 0 && sentenceStart < tail.length - 20) return tail.slice(sentenceStart).trim();
  }
  const tail = text.slice(-budget);
  const space = tail.indexOf(' ');
  return space >= 0 ? tail.slice(space + 1).trim() : '';
}

function trimBlankLines(lines: string[]): string[] {
  let start = 0;
  let end = lines.length;
  while (start < end && lines[start]!.trim() === '') start++;
  while (end > start && lines[end - 1]!.trim() === '') end--;
  return lines.slice(start, end);
}

function stripInline(text: string): string {
  return text
    .replace(/[*_`]/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim();
}

function unquote(value: string): string {
  return value.replace(/^["']|["']$/g, '');
}
