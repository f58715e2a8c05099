/**
 * Acronym definitions in a passage: "Rucio Storage Element (RSE)", "JEDI (Job Execution and
 * Definition Interface)", "LFN stands for Logical File Name". A long form counts only when the
 * acronym's letters can be found in it in order, each word start matching where it must (the
 * Schwartz & Hearst 2003 test), so "the storage (RSE)" is not a definition of RSE.
 */
export interface AcronymDefinition {
  /** As written: "RSE", "GUQs", "iDDS". */
  short: string;
  long: string;
}

const SHORT = String.raw`[A-Za-z][A-Za-z0-9-]{1,9}`;
/** "Long Name (SHORT)": the long form is looked for in the text just before the parenthesis. */
const PARENTHESISED_SHORT = new RegExp(String.raw`\((${SHORT})\)`, 'g');
const LONG_FORM_CHARS = 120;
/** "SHORT (Long Name)". */
const SHORT_THEN_LONG = new RegExp(String.raw`\b(${SHORT})\s+\(([^()]{3,80})\)`, 'g');
/** "SHORT stands for Long Name", "SHORT is short for Long Name". */
const STANDS_FOR = new RegExp(
  String.raw`\b(${SHORT})\s+(?:stands|is\s+short)\s+for\s+(?:the\s+)?([^.,;:()\n]{3,80})`,
  'gi',
);

/** An acronym: 2–10 characters with at least two capitals (RSE, iDDS, GUQs, DQ2), not a plain word. */
function looksLikeAcronym(s: string): boolean {
  return (s.match(/[A-Z]/g)?.length ?? 0) >= 2 && !/^[A-Z][a-z]+$/.test(s);
}

/** The shortest tail of `candidate` that spells `short`, or undefined (Schwartz & Hearst). */
export function longFormFor(short: string, candidate: string): string | undefined {
  // Letters only: the 2 of DQ2 (Don Quijote) or the s of GUQs is not spelled by the long form.
  const s = short
    .replace(/s$/, '')
    .toLowerCase()
    .replace(/[^a-z]/g, '');
  const l = candidate.toLowerCase();
  if (s.length < 2) return undefined;
  let si = s.length - 1;
  let li = l.length - 1;
  while (si >= 0) {
    const c = s[si]!;
    // The first letter of the acronym must start a word; inner letters may be anywhere.
    while (li >= 0 && (l[li] !== c || (si === 0 && li > 0 && /[a-z0-9]/.test(l[li - 1]!)))) li--;
    if (li < 0) return undefined;
    si--;
    li--;
  }
  const start = l.lastIndexOf(' ', li + 1) + 1;
  const long = candidate.slice(start).trim();
  const words = long.split(/[\s-]+/).filter(Boolean);
  // A long form much longer than its acronym is a sentence that happens to contain the letters.
  if (words.length > Math.max(s.length + 3, s.length * 2)) return undefined;
  return long;
}

/** Every acronym a passage defines. */
export function acronymDefinitions(text: string): AcronymDefinition[] {
  const out: AcronymDefinition[] = [];
  const push = (short: string, long: string | undefined) => {
    if (long && looksLikeAcronym(short) && !out.some((d) => d.short === short)) out.push({ short, long });
  };
  for (const m of text.matchAll(PARENTHESISED_SHORT)) {
    // The words before "(", within the same sentence or clause.
    const before = text
      .slice(Math.max(0, m.index - LONG_FORM_CHARS), m.index)
      .split(/[.;:!?()\n]/)
      .pop()!
      .trim();
    if (before) push(m[1]!, longFormFor(m[1]!, before));
  }
  for (const m of text.matchAll(SHORT_THEN_LONG)) {
    const inner = m[2]!.trim();
    // "(Long Name)" must spell the acronym from its start.
    const long = longFormFor(m[1]!, inner);
    push(m[1]!, long === inner || (long && inner.startsWith(long)) ? inner : undefined);
  }
  for (const m of text.matchAll(STANDS_FOR)) push(m[1]!, longFormFor(m[1]!, m[2]!.trim()) ? m[2]!.trim() : undefined);
  return out;
}
