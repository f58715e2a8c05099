/**
 * The words of small talk, shared by the router (a message that is only small talk goes to the
 * general agent) and the general agent's offline reply (which kind of small talk it was).
 * Multi-word entries match any whitespace between their words.
 */

export const GREETINGS = [
  'hi',
  'hello',
  'hey',
  'hiya',
  'howdy',
  'yo',
  'greetings',
  'good morning',
  'good afternoon',
  'good evening',
  'good day',
  'morning',
];

export const THANKS = [
  'thank',
  'thanks',
  'thank you',
  'thank you so much',
  'thank you very much',
  'many thanks',
  'thx',
  'ty',
  'cheers',
];

export const ACKNOWLEDGEMENTS = [
  'ok',
  'okay',
  'k',
  'cool',
  'great',
  'nice',
  'perfect',
  'awesome',
  'excellent',
  'got it',
  'understood',
  'i see',
  'makes sense',
  'sure',
  'yes',
  'no',
  'yep',
  'nope',
  'lol',
  'wow',
];

export const GOODBYES = ['bye', 'goodbye', 'see you', 'cya'];

/** Not words, so never inside word boundaries: a boundary next to "👍" needs a letter on its other side. */
export const THANKS_EMOJI = ['🙏'];
export const FRIENDLY_EMOJI = ['👍', '🙂', '😊', ':)', ':-)'];
