/**
 * The one tokenizer shared by indexing, querying and the coverage check, so a word is the same
 * term everywhere: lower case, split on anything that is not a letter or digit, stop words
 * dropped, a light suffix stemmer ("retries", "retried", "retrying" → "retry").
 */
const STOP_WORDS = new Set(
  (
    'a about above after again all also am an and any are as at be because been before being below between both but by can could ' +
    'did do does doing done down during each few for from further had has have having he her here hers ' +
    'him his how i if in into is it its ' +
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
/** Word as written → its terms (empty for a stop word). The vocabulary of a docs corpus is small; analysing it once pays. */
const memo = new Map<string, readonly string[]>();
const MEMO_LIMIT = 200_000;
const NONE: readonly string[] = [];
/** "buildJob", "nFilesPerJob", "noLoopingCheck": the parts are words users type. */
const CAMEL_BOUNDARY = /(?<=[a-z0-9])(?=[A-Z][a-z]{2})|(?<=[A-Z])(?=[A-Z][a-z]{2})/;

/**
 * The terms of one word as written: lower case, stemmed, stop words dropped, except an acronym in
 * capitals that spells a stop word (DID, the Rucio data identifier, is not "did"); a camelCase
 * identifier gives itself and its parts.
 */
function analyse(word: string): readonly string[] {
  const lower = word.toLowerCase();
  if (lower.length > 40) return NONE;
  if (STOP_WORDS.has(lower))
    return word.length >= 3 && word === word.toUpperCase() && /[A-Z]/.test(word) ? [lower] : NONE;
  const whole = stem(lower);
  if (!CAMEL_BOUNDARY.test(word)) return [whole];
  const parts = word
    .split(CAMEL_BOUNDARY)
    .map((p) => p.toLowerCase())
    .filter((p) => p.length > 1 && !STOP_WORDS.has(p))
    .map(stem);
  return [whole, ...parts.filter((p) => p !== whole)];
}

/** Index and query terms of a text, in order, duplicates kept (BM25 counts them). */
export function terms(text: string): string[] {
  const out: string[] = [];
  for (const word of text.split(SEPARATORS)) {
    if (word === '') continue;
    let found = memo.get(word);
    if (found === undefined) {
      found = analyse(word);
      if (memo.size < MEMO_LIMIT) memo.set(word, found);
    }
    for (const term of found) out.push(term);
  }
  return out;
}

export function termSet(text: string): Set<string> {
  return new Set(terms(text));
}
