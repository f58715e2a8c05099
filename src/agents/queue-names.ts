/**
 * Queue and site names in questions. Names are learned from every CRIC snapshot this process (or,
 * through the store, another process) has read; before any snapshot, words shaped like names
 * (AGLT2, CERN-PROD) still count where queue words stand next to them.
 */

const knownNames = new Map<string, string>();

/** Registers the queue and site names of a snapshot, so routing recognises them. */
export function rememberQueueNames(names: Iterable<string>): void {
  for (const name of names) if (name && name.length >= 2) knownNames.set(name.toLowerCase(), name);
}

/** Forgets every learned name (tests). */
export function forgetQueueNames(): void {
  knownNames.clear();
}

/** Plain words that are also queue names ("ALL"): a name only right after "queue"/"site". */
const COMMON_WORDS = new Set([
  'all',
  'any',
  'none',
  'test',
  'site',
  'sites',
  'cloud',
  'grid',
  'queue',
  'queues',
  'panda',
  'online',
  'offline',
]);
/** Upper-case words in PanDA questions that are not queue names. */
const NOT_NAMES = new Set([
  'PANDA',
  'CRIC',
  'JEDI',
  'ATLAS',
  'MCORE',
  'SCORE',
  'UCORE',
  'GRID',
  'HPC',
  'GPU',
  'CPU',
  'RSS',
  'PSS',
  'RAM',
  'MB',
  'GB',
  'GIB',
  'MIB',
  'HS06',
  'WAN',
  'LAN',
  'DDM',
  'RSE',
  'ARC',
  'PFT',
  'AFT',
  'DAOD',
  'AOD',
  'EVNT',
  'HITS',
  'ROOT',
  'JSON',
  'API',
  'URL',
  'HTTP',
  'HTTPS',
  'SSL',
  'VOMS',
  'IAM',
  'SSO',
  'UTC',
  'FAQ',
  'HOWTO',
  'THE',
  'AND',
  'WHY',
  'WHAT',
  'HOW',
  'IS',
  'ARE',
  'HIMEM',
  'VHIMEM',
  'LOMEM',
  'BNLX',
]);

const TOKEN = /[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9]|[A-Za-z]/g;

/** Queue or site names of the snapshot that the text mentions, as CRIC spells them. */
export function knownNamesIn(text: string): string[] {
  return namesIn(text, (lower) => knownNames.get(lower));
}

/**
 * Names the text mentions, by a lookup from a lowercase word to the name as CRIC spells it. Plain
 * names (BNL, TOKYO, pic) count only as written (or in capitals), never as a common word.
 */
export function namesIn(text: string, lookup: (lower: string) => string | undefined): string[] {
  const found: string[] = [];
  const tokens = text.match(TOKEN) ?? [];
  tokens.forEach((token, i) => {
    const name = lookup(token.toLowerCase());
    if (!name || found.includes(name)) return;
    const distinctive = /[-_0-9]/.test(name);
    const afterQueueWord = i > 0 && /^(?:queues?|sites?)$/i.test(tokens[i - 1]!);
    if (!distinctive) {
      const writtenAsName = token === name || token === name.toUpperCase();
      if (!writtenAsName || token.length < 3) return;
      if (COMMON_WORDS.has(token.toLowerCase()) && !afterQueueWord) return;
    }
    found.push(name);
  });
  return found;
}

/** Words shaped like queue or site names (AGLT2, CERN-PROD, ANALY_FOO) that are not known names. */
export function nameShapedWords(
  text: string,
  isKnown: (lower: string) => boolean = (l) => knownNames.has(l),
): string[] {
  return (text.match(TOKEN) ?? []).filter((t) => {
    if (isKnown(t.toLowerCase())) return false;
    if (/^[A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)+$/.test(t) && /[A-Z]/.test(t)) return true;
    return /^[A-Z][A-Z0-9]{2,}$/.test(t) && !NOT_NAMES.has(t) && !/^T[0-3]D?$/.test(t);
  });
}
