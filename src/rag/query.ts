import { synonymsOf } from './synonyms.ts';
import { stem, terms } from './terms.ts';
import { wordRegex } from '../util/word-pattern.ts';

/** One searched term: its weight, and the query word it stands for (synonyms share their word's group). */
export interface QueryTerm {
  term: string;
  weight: number;
  group: number;
}

export interface QueryPlan {
  /** The words that carry the question, after question words and filler are dropped. */
  terms: QueryTerm[];
  /** Distinct query words (groups): what "coverage" of a passage is measured against. */
  groups: string[];
  /** "What does RSE stand for?": the acronym whose expansion is asked for (as a term). */
  acronym?: string;
}

/** An optional quote around the acronym: "what does 'RSE' stand for". */
const QUOTE = '["\'`]?';
/** The acronym itself, captured: "RSE", "x509", "T0-export". */
const ACRONYM = String.raw`([A-Za-z][A-Za-z0-9-]{1,11})`;
/** "What does RSE stand for", "what is LFN short for", "meaning of the acronym FTS". */
const ACRONYM_QUESTION = [
  new RegExp(
    String.raw`\bwhat\s+(?:does|do|did|is|'s)\s+(?:the\s+)?(?:acronym\s+|abbreviation\s+)?` +
      String.raw`${QUOTE}${ACRONYM}${QUOTE}\s+(?:stand|stands|short)\s+for\b`,
    'i',
  ),
  /\b["'`]?([A-Za-z][A-Za-z0-9-]{1,11})["'`]?\s+(?:stands|is\s+short)\s+for\s+what\b/i,
  /\b(?:meaning|expansion|definition)\s+of\s+(?:the\s+)?(?:acronym|abbreviation)\s+["'`]?([A-Za-z][A-Za-z0-9-]{1,11})\b/i,
  /\bwhat\s+(?:does|is)\s+(?:the\s+)?(?:acronym|abbreviation)\s+["'`]?([A-Za-z][A-Za-z0-9-]{1,11})["'`]?(?:\s+mean)?\b/i,
];

/** "is it possible to …", "can you tell me …": a request around the question. */
const FRAMING_PHRASES = [
  'is it possible to',
  'is there a way to',
  'i want to',
  'i need to',
  'i would like to',
  'do you know',
  'can you tell me',
  'could you tell me',
  'tell me',
];

/**
 * Phrases that only frame a question: dropped before the words are searched, so a passage is not
 * ranked for containing "often" or "stand" ("how often does …" is answered by "every 30 minutes").
 */
const FILLER = [
  /\b(?:stands?|is\s+short)\s+for\b/gi,
  /\bhow\s+(?:often|much|many|long|far)\b/gi,
  wordRegex(FRAMING_PHRASES, { flags: 'gi' }),
  /\b(?:acronym|abbreviation)\b/gi,
];
/** Words that never decide which passage answers: dropped from queries only (a passage may say them). */
const QUERY_STOP = new Set(
  [
    'way',
    'possible',
    'thing',
    'things',
    'someone',
    'anyone',
    'something',
    'exactly',
    'actually',
    'really',
    'use',
    'used',
    'using',
    'work',
    'works',
    'happen',
    'happens',
    'get',
    'gets',
    'got',
  ].map(stem),
);

/** Synonyms count for half a word: they widen the search without outranking the word the user wrote. */
const SYNONYM_WEIGHT = 0.5;

/** The question as searched: filler dropped, synonyms added, an acronym question recognised. */
export function planQuery(question: string, extraSynonyms?: (term: string) => readonly string[]): QueryPlan {
  let acronym: string | undefined;
  for (const pattern of ACRONYM_QUESTION) {
    const m = pattern.exec(question);
    if (m) {
      acronym = terms(m[1]!)[0];
      break;
    }
  }
  let text = question;
  for (const filler of FILLER) text = text.replace(filler, ' ');
  const words = [...new Set(terms(text))];
  // Never drop every word: "how does it work?" still searches "work".
  const kept = words.filter((t) => !QUERY_STOP.has(t));
  const groups = kept.length ? kept : words;
  const out: QueryTerm[] = [];
  const seen = new Set<string>();
  groups.forEach((term, group) => {
    out.push({ term, weight: 1, group });
    seen.add(term);
  });
  groups.forEach((term, group) => {
    for (const synonym of [...synonymsOf(term), ...(extraSynonyms?.(term) ?? [])]) {
      if (!seen.has(synonym)) {
        seen.add(synonym);
        out.push({ term: synonym, weight: SYNONYM_WEIGHT, group });
      }
    }
  });
  return { terms: out, groups, ...(acronym ? { acronym } : {}) };
}
