/**
 * Tables in Markdown documents: GitHub pipe tables (`| a | b |` over `|---|---|`, outer pipes
 * optional) and reStructuredText-style grid tables (`+----+----+` borders, `+====+` under the
 * header, cells that wrap over several lines). A table's rows are what questions ask about ("the
 * default of X", "the limit of Y"), so the chunker makes each row its own passage that still names
 * its table and columns.
 */
export interface Table {
  header: string[];
  rows: string[][];
  /** The line just before the table, when it reads as its caption ("Section: Pilot", "The table below …"). */
  caption?: string;
}

export type Segment = { kind: 'text'; lines: string[] } | { kind: 'table'; table: Table; lines: string[] };

const FENCE = /^\s*(```|~~~)/;
const PIPE_SEPARATOR = /^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)+\|?\s*$/;
const GRID_BORDER = /^\s*\+[-=:+]*[-=]\+[-=:+]*\s*$/;
const CAPTION_MAX = 200;

/** Splits a section's lines into prose and tables; fenced code is never a table. */
export function splitTables(lines: readonly string[]): Segment[] {
  const out: Segment[] = [];
  let text: string[] = [];
  const flush = () => {
    if (text.length) out.push({ kind: 'text', lines: text });
    text = [];
  };
  let inFence = false;
  for (let i = 0; i < lines.length;) {
    const line = lines[i]!;
    if (FENCE.test(line)) inFence = !inFence;
    if (!inFence) {
      const found = GRID_BORDER.test(line)
        ? gridTable(lines, i)
        : isPipeTableStart(lines, i)
          ? pipeTable(lines, i)
          : undefined;
      if (found && found.table.rows.length > 0) {
        const caption = captionOf(text);
        flush();
        out.push({
          kind: 'table',
          table: { ...found.table, ...(caption ? { caption } : {}) },
          lines: lines.slice(i, found.end),
        });
        i = found.end;
        continue;
      }
    }
    text.push(line);
    i++;
  }
  flush();
  return out;
}

function captionOf(before: readonly string[]): string | undefined {
  for (let i = before.length - 1; i >= 0 && i >= before.length - 3; i--) {
    const t = before[i]!.trim();
    if (!t) continue;
    return t.length <= CAPTION_MAX ? cleanCell(t) : undefined;
  }
  return undefined;
}

function isPipeTableStart(lines: readonly string[], i: number): boolean {
  const header = lines[i]!;
  const separator = lines[i + 1];
  return (
    header.includes('|') && separator !== undefined && PIPE_SEPARATOR.test(separator) && cellsOf(header).length >= 2
  );
}

function pipeTable(lines: readonly string[], start: number): { table: Table; end: number } {
  const header = cellsOf(lines[start]!);
  const rows: string[][] = [];
  let i = start + 2;
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.includes('|') || line.trim() === '' || FENCE.test(line)) break;
    const cells = cellsOf(line);
    if (cells.some((c) => c !== '')) rows.push(cells);
  }
  return { table: { header, rows }, end: i };
}

/** Cells of one pipe-table line; escaped pipes (`\|`) stay in their cell. */
function cellsOf(line: string): string[] {
  let body = line.trim();
  if (body.startsWith('|')) body = body.slice(1);
  if (body.endsWith('|') && !body.endsWith('\\|')) body = body.slice(0, -1);
  return body.split(/(?<!\\)\|/).map((c) => cleanCell(c.replace(/\\\|/g, '|')));
}

/**
 * A grid table from its first border: column edges are the `+` positions of the border; each row is
 * the lines between two borders, cell text joined per column; a `+===+` border ends the header.
 */
function gridTable(lines: readonly string[], start: number): { table: Table; end: number } | undefined {
  const border = lines[start]!;
  const edges = [...border.matchAll(/\+/g)].map((m) => m.index);
  if (edges.length < 3) return undefined;
  let header: string[] = [];
  const rows: string[][] = [];
  let pending: string[][] = [];
  let i = start + 1;
  const closeRow = () => {
    if (pending.length)
      rows.push(edges.slice(0, -1).map((_, c) => cleanCell(pending.map((cells) => cells[c] ?? '').join(' '))));
    pending = [];
  };
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (GRID_BORDER.test(line)) {
      closeRow();
      if (line.includes('=') && header.length === 0 && rows.length === 1) header = rows.pop()!;
      continue;
    }
    if (!line.trimStart().startsWith('|')) break;
    pending.push(edges.slice(0, -1).map((edge, c) => line.slice(edge + 1, edges[c + 1]).replace(/^\|/, '')));
  }
  closeRow();
  return { table: { header, rows: rows.filter((r) => r.some((c) => c !== '')) }, end: i };
}

/** Cell text for reading and search: links to their text, HTML list markup to "; ", no padding. */
function cleanCell(cell: string): string {
  return cell
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<li>/gi, '; ')
    .replace(/<br\s*\/?>/gi, ' ')
    .replace(/<\/?[a-z][^>]*>/gi, '')
    .replace(/^[;\s]+/, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * One row as a passage: the table (caption and columns) it belongs to, then each cell under its
 * column name, so "default value: 1800" is found by "default heartbeat" and read in context.
 */
export function rowPassage(table: Table, row: readonly string[]): string {
  const columns = table.header.some((h) => h !== '') ? table.header : [];
  const cells = row
    .map((cell, c) => (columns[c] && cell ? `${columns[c]}: ${cell}` : cell))
    .filter((line) => line !== '');
  return [table.caption, ...cells].filter(Boolean).join('\n');
}

/** The table in Markdown pipe form (how small tables stay readable inside their prose passage). */
export function pipeMarkdown(table: Table): string {
  const header = table.header.length ? table.header : table.rows[0]!.map(() => '');
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...table.rows.map((r) => `| ${r.join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** A long table's stand-in inside its prose passage: the columns and the first cell of each row. */
export function tableOutline(table: Table): string {
  const firsts = table.rows.map((r) => r[0]).filter((c): c is string => !!c);
  const shown = firsts.slice(0, 40).join(', ');
  return (
    `[Table${table.header.length ? ` (${table.header.join(' | ')})` : ''}, ${table.rows.length} rows: ` +
    `${shown}${firsts.length > 40 ? ', …' : ''}]`
  );
}
