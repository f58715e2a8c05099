/**
 * The one tokenizer shared by indexing, querying and the coverage check, so a word is the same
 * term everywhere: lower case, split on anything that is not a letter or digit, stop words
 * dropped, a light suffix stemmer ("retries", "retried", "retrying" → "retry").
 */
const STOP_WORDS = new Set(
  (
    'a about above after again all also am an and any are as at be because been before being below between both but by can could ' +
    'did do does doing done down during each few for from further had has have having he her here hers him his how i if in into is it its ' +
    'itself just me more most my myself no nor not now of off on once only or other our ours out over own same she should so some such ' +
    'than that the their theirs them then there these they this those through to too under until up very was we were what when where ' +
    'which while who whom why will with would you your yours yourself mean means meaning tell explain please'
  ).split(' '),
);

/** Porter-style suffix stripping, small enough to be predictable. */
export function stem(word: string): string {
  if (word.length <= 3 || /\d/.test(word)) return word;
  let w = word;
  if (w.endsWith('ies') && w.length > 4) w = `${w.slice(0, -3)}y`;
  else if (w.endsWith('ied') && w.length > 4) w = `${w.slice(0, -3)}y`;
  else if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.endsWith('s') && !/(ss|us|is|os)$/.test(w)) w = w.slice(0, -1);
  if (w.endsWith('ing') && w.length > 5) w = undouble(w.slice(0, -3));
  else if (w.endsWith('ed') && w.length > 4) w = undouble(w.slice(0, -2));
  else if (w.endsWith('ly') && w.length > 5) w = w.slice(0, -2);
  return w;
}

function undouble(w: string): string {
  const last = w.at(-1);
  return last !== undefined && last === w.at(-2) && !/[lsz]/.test(last) ? w.slice(0, -1) : w;
}

const SEPARATORS = /[^\p{L}\p{N}]+/u;
/** Word → term (null for a stop word). The vocabulary of a docs corpus is small; stemming it once pays. */
const memo = new Map<string, string | null>();
const MEMO_LIMIT = 200_000;

/** Index and query terms of a text, in order, duplicates kept (BM25 counts them). */
export function terms(text: string): string[] {
  const out: string[] = [];
  for (const word of text.toLowerCase().split(SEPARATORS)) {
    if (word === '') continue;
    let term = memo.get(word);
    if (term === undefined) {
      term = STOP_WORDS.has(word) || word.length > 40 ? null : stem(word);
      if (memo.size < MEMO_LIMIT) memo.set(word, term);
    }
    if (term !== null) out.push(term);
  }
  return out;
}

export function termSet(text: string): Set<string> {
  return new Set(terms(text));
}
