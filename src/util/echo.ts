/**
 * Words of the user's message as a reply may quote them ("I did not understand "…""): control
 * characters dropped, whitespace collapsed, and cut at `max` characters (never inside a surrogate
 * pair), so a 100 KB message is not echoed back whole and a quote never breaks the reply's layout.
 */
export function echo(text: string, max = 60): string {
  const clean = text
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const chars = Array.from(clean);
  return chars.length <= max ? clean : `${chars.slice(0, max).join('')}…`;
}
