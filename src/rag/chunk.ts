import { createHash } from 'node:crypto';

/** One retrievable passage: the unit that is indexed, embedded, stored and cited. */
export interface Chunk {
  /** Content hash of source + section + text: unchanged text keeps its id across re-ingests. */
  id: string;
  /** Where it came from, as shown to users (a path relative to the package, or a URL). */
  source: string;
  /** The document's title. */
  title: string;
  /** The heading path, e.g. "Glossary › Pilot"; empty before the first heading. */
  section: string;
  text: string;
  url?: string;
}

export type ChunkDraft = Omit<Chunk, 'id'>;

export function chunkId(draft: ChunkDraft, occurrence: number): string {
  const hash = createHash('sha256')
    .update(`${draft.source}\n${draft.section}\n${draft.text}\n${occurrence}`)
    .digest('hex');
  return hash.slice(0, 20);
}

/** "Title › Section (source)": how a chunk is cited. */
export function citationTitle(chunk: Pick<Chunk, 'title' | 'section' | 'source'>): string {
  const where = chunk.section && chunk.section !== chunk.title ? `${chunk.title} › ${chunk.section}` : chunk.title;
  return `${where} (${chunk.source})`;
}
