import { anyOf, wordRegex, withPlurals } from '../util/word-pattern.ts';
import { ACKNOWLEDGEMENTS, FRIENDLY_EMOJI, GOODBYES, GREETINGS, THANKS, THANKS_EMOJI } from './small-talk-words.ts';

/**
 * The vocabulary of the selection agent's rules (selection.ts): the words that make a message
 * small talk, a question about the bot, a question at all, or a follow-up about the thread's job,
 * task or error code.
 */

/** Who small talk is addressed to, or how it ends: "thanks askpanda", "thank you for the help". */
const SMALL_TALK_ENDINGS = [
  'askpanda',
  'panda',
  '@panda',
  'bot',
  'there',
  'all',
  'everyone',
  'folks',
  'a lot',
  'again',
  'for that',
  'for the help',
  'for your help',
];
const SMALL_TALK_WORDS = [
  ...GREETINGS,
  ...THANKS,
  ...ACKNOWLEDGEMENTS,
  ...GOODBYES,
  ...THANKS_EMOJI,
  ...FRIENDLY_EMOJI,
];

/** Greetings, thanks and acknowledgements: the whole message, nothing else in it ("ok thanks!", "hi all"). */
export const SMALL_TALK = new RegExp(
  String.raw`^(?:${anyOf(SMALL_TALK_WORDS)}(?:\s+${anyOf(SMALL_TALK_ENDINGS)})*[\s!.,?]*)+$`,
  'i',
);

const QUESTIONS_TO_THE_BOT = [
  'who are you',
  'who made you',
  'who built you',
  'who wrote you',
  'what are you',
  'what can you',
  'what do you',
  'what are you do',
  'what can you do',
  'what do you do',
  'what is askpanda',
  'how are you',
  'how are you doing',
  'are you a bot',
  'are you human',
  'are you a ai',
  'are you an ai',
  'are you there',
  'are you alive',
  'help me',
  'help me please',
  'what can i ask',
  'what can i ask you',
];
/** "can you help me with my jobs?": the only questions to the bot that may name what they are about. */
const OFFERS_OF_HELP = ['can you help', 'can you help me', 'could you help', 'could you help me'];
const HELP_TOPICS = ['panda', 'atlas', ...withPlurals(['my job', 'my task'])];

/** Questions about the bot itself, the whole message, after at most a greeting. */
export const ABOUT_THE_BOT = new RegExp(
  String.raw`^(?:${anyOf(['hi', 'hello', 'hey'])}[\s,!]+)?` +
    String.raw`(?:${anyOf(QUESTIONS_TO_THE_BOT)}|${anyOf(OFFERS_OF_HELP)}(?:\s+with\s+${anyOf(HELP_TOPICS)})?)` +
    String.raw`[\s!.,?]*$`,
  'i',
);

/** Concepts the documentation explains: "what is a pilot?" is about no job, even in a job's thread. */
const PANDA_CONCEPTS = [
  'pilot',
  'panda',
  'jedi',
  'harvester',
  'rucio',
  'cric',
  'payload',
  'queue',
  'task',
  'job',
  'dataset',
  'container',
  'scout',
  'brokerage',
  'site',
];
/** Generic concept questions stay with the documents even inside a job/task thread. */
export const GENERIC_CONCEPT = new RegExp(
  String.raw`^what(?:'s| is| are) (?:a|an|the)?\s*${anyOf(PANDA_CONCEPTS)}s?\b\s*\??$`,
  'i',
);

/** Words that point back at what the thread is about. */
const POINTERS = ['it', 'its', "it's", 'this', 'that', 'these', 'those', 'other one'];
const THREAD_SUBJECTS = ['job', 'task', 'failure', 'error', 'log', 'site', 'pilot', 'payload'];
/** "the job", "my failures", "our logs". */
const OWNED_SUBJECTS = ['the', 'my', 'our'].flatMap((owner) =>
  withPlurals(THREAD_SUBJECTS).map((subject) => `${owner} ${subject}`),
);
const TROUBLE_WORDS = [
  'why',
  'cause',
  'happen',
  'happened',
  'going on',
  'wrong',
  'stuck',
  'fail',
  'failed',
  'failing',
  'failure',
  'error',
];
const STATE_WORDS = ['running', 'finished', 'status', 'progress', 'attempt', 'next'];
const ACTION_WORDS = ['fix', 'retry', 'resubmit', 'rerun', 'again', 'kill'];
/** "show me the logs", "more details", "explain it like I am an expert". */
const DETAIL_WORDS = ['log', 'logs', 'memory', 'site', 'more', 'details', 'expert', 'explain'];

/** Words that make a question in a job/task thread about that job/task. */
export const THREAD_FOLLOW_UP = wordRegex(
  [...POINTERS, ...OWNED_SUBJECTS, ...TROUBLE_WORDS, ...STATE_WORDS, ...ACTION_WORDS, ...DETAIL_WORDS],
  { gap: 'one space' },
);

/** After an error-code answer: "how do I fix it?", "what about the next one?", "who causes this error?". */
export const ABOUT_THE_CODE = wordRegex(
  [
    'it',
    'its',
    "it's",
    'this',
    'that',
    'the error',
    'the code',
    'the failure',
    'this error',
    'this code',
    'next',
    'previous',
    'neighbouring',
    'neighboring',
    'fix',
    'cause',
    'causes',
    'fault',
    'who',
  ],
  { gap: 'one space' },
);

const QUESTION_WORDS = ['what', 'whats', "what's", 'how', 'why', 'when', 'where', 'which', 'who', 'whom', 'whose'];
/** "can", "is", "does": a question that starts with its verb. */
const QUESTION_VERBS = [
  'can',
  'could',
  'should',
  'would',
  'will',
  'may',
  'must',
  'shall',
  'is',
  'are',
  'am',
  'was',
  'were',
  'do',
  'does',
  'did',
  'has',
  'have',
  'had',
];
/** Requests that ask for an explanation without a question word: "explain brokerage", "i need the logs". */
const REQUESTS = [
  'explain',
  'define',
  'definition',
  'describe',
  'tell me',
  'show me',
  'list',
  'give me',
  'meaning of',
  'difference between',
  'is there',
  'i want',
  'i need',
  'i would like',
  'any idea',
  'any way',
  'help with',
];
/** The shapes of a question: a question word first, a question mark, or a request for an explanation. */
export const QUESTION_SHAPE = new RegExp(
  String.raw`^${anyOf([...QUESTION_WORDS, ...QUESTION_VERBS, ...REQUESTS])}\b|\?\s*$`,
  'i',
);
