import escapeStringRegexp from 'escape-string-regexp';

/**
 * Regular expressions built from word lists, so a rule reads as the vocabulary it recognises
 * ("which", "list", "how many") instead of one long pattern. Entries are plain text, escaped here;
 * they are tried in the order given, which matters only where a match's text is used, not for `test`.
 */

/**
 * What separates the words of a multi-word entry ("how many") in the text. `'one space'` exists
 * because some rules were written with a literal space before they became lists, and routing must
 * decide exactly as it did: "how  many" (two spaces) did not match them and still does not.
 */
export type WordGap = 'whitespace' | 'one space';

/** The entries as one non-capturing group, `(?:a|b\s+c)`, for composing a larger pattern. */
export function anyOf(entries: readonly string[], gap: WordGap = 'whitespace'): string {
  const between = gap === 'whitespace' ? String.raw`\s+` : ' ';
  return `(?:${entries.map((entry) => entry.split(' ').map(escapeStringRegexp).join(between)).join('|')})`;
}

/** A regex that finds any entry as a whole word (a word boundary on each side); case-insensitive by default. */
export function wordRegex(entries: readonly string[], options: { gap?: WordGap; flags?: string } = {}): RegExp {
  return new RegExp(String.raw`\b${anyOf(entries, options.gap)}\b`, options.flags ?? 'i');
}

/** Each noun and its plural with an "s": the lists name the singular once. */
export function withPlurals(nouns: readonly string[]): string[] {
  return nouns.flatMap((noun) => [noun, `${noun}s`]);
}
