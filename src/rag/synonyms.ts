import { terms } from './terms.ts';

/**
 * Words the documents use for the same thing under other names. Most come from the handbook
 * glossary's "also called / shown as" (a PanDA queue is also a computing site, `computingsite` on a
 * job; `attemptnr` is the attempt number; `--inDS`/`--outDS` are the input and output containers);
 * the rest are the words users type for what the documentation calls otherwise (resubmit → retry,
 * blacklist → exclude). Each entry is a group; every word of a group widens the search for the
 * others, at half weight.
 */
const GROUPS: readonly string[][] = [
  ['queue', 'computingsite', 'computing site', 'panda resource'],
  ['attemptnr', 'attempt number'],
  ['maxattempt', 'maximum attempts'],
  ['inds', 'input dataset', 'input container'],
  ['outds', 'output dataset', 'output container'],
  ['did', 'data identifier'],
  ['rse', 'storage element'],
  ['retry', 'resubmit', 'rerun'],
  ['kill', 'abort'],
  ['exclude', 'blacklist', 'excludedsite'],
  ['walltime', 'time limit', 'maxtime'],
  ['memory', 'rss', 'maxrss', 'pss'],
  ['proxy', 'credential', 'x509'],
  ['scout', 'scouting'],
  ['payload', 'user code'],
  ['log', 'logfile'],
];

const index = new Map<string, Set<string>>();
for (const group of GROUPS) {
  const phrases = group.map((phrase) => terms(phrase));
  phrases.forEach((words, i) => {
    // A one-word name expands to every word of the group's other names.
    if (words.length !== 1) return;
    const set = index.get(words[0]!) ?? new Set<string>();
    phrases.forEach((other, j) => {
      if (j !== i) for (const w of other) if (w !== words[0]) set.add(w);
    });
    index.set(words[0]!, set);
  });
}

/** Other terms for a (stemmed) term, possibly none. */
export function synonymsOf(term: string): readonly string[] {
  const found = index.get(term);
  return found ? [...found] : [];
}
