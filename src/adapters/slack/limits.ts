/**
 * Slack's limits (docs.slack.dev, Block Kit reference): a message holds at most 50 blocks, a section's
 * text at most 3,000 characters, a button's text 75 and its value 2,000. Messages with more than
 * ~12,000 characters of text get truncated or refused in practice, so each message stays well below.
 */
export const SLACK_LIMITS = {
  blocksPerMessage: 50,
  sectionChars: 3000,
  buttonTextChars: 75,
  buttonValueChars: 2000,
  /** Our own budget of section text per message: comfortably under the practical ~12k ceiling. */
  messageChars: 9000,
  /** A longer answer is trimmed (with a link) after this many thread messages. */
  messagesPerAnswer: 4,
  /** The notification text (`text` next to `blocks`): shown in notifications and old clients. */
  fallbackChars: 300,
  followUpButtons: 5,
} as const;

/** Section text is split a little under the hard limit: the fence re-opening adds a few characters. */
export const SECTION_BUDGET = SLACK_LIMITS.sectionChars - 100;

/** Paragraphs (separated by blank lines) with each code fence kept whole as one unit. */
function paragraphs(mrkdwn: string): string[] {
  const units: string[] = [];
  let current: string[] = [];
  let inFence = false;
  const flush = () => {
    if (current.length) units.push(current.join('\n'));
    current = [];
  };
  for (const line of mrkdwn.split('\n')) {
    if (line.startsWith('```')) inFence = !inFence;
    if (!inFence && line.trim() === '' && !line.startsWith('```')) {
      flush();
      continue;
    }
    current.push(line);
  }
  flush();
  return units;
}

/** Cuts one over-long line at a space (never inside `<…>` or an `&…;` entity when avoidable). */
function cutLine(line: string, max: number): string[] {
  const pieces: string[] = [];
  let rest = line;
  while (rest.length > max) {
    let at = rest.lastIndexOf(' ', max);
    if (at < max / 2) at = max;
    const open = rest.lastIndexOf('<', at);
    if (open > rest.lastIndexOf('>', at) && open > max / 2) at = open;
    const amp = rest.lastIndexOf('&', at);
    if (amp > at - 6 && amp > 0 && !rest.slice(amp, at).includes(';')) at = amp;
    pieces.push(rest.slice(0, at).trimEnd());
    rest = rest.slice(at).trimStart();
  }
  if (rest) pieces.push(rest);
  return pieces;
}

/** One paragraph larger than the budget, split by lines; a code fence cut in two is closed and re-opened. */
function splitUnit(unit: string, max: number): string[] {
  const room = max - 4; // every piece may need a closing "\n```"
  const pieces: string[] = [];
  let current: string[] = [];
  let length = 0;
  let inFence = false;
  for (const line of unit.split('\n').flatMap((l) => (l.length > room - 4 ? cutLine(l, room - 4) : [l]))) {
    const closesFence = inFence && line.startsWith('```');
    if (current.length > 0 && !closesFence && length + 1 + line.length > room) {
      pieces.push(current.join('\n') + (inFence ? '\n```' : ''));
      current = inFence ? ['```'] : [];
      length = inFence ? 3 : 0;
    }
    length += (current.length > 0 ? 1 : 0) + line.length;
    current.push(line);
    if (line.startsWith('```')) inFence = !inFence;
  }
  if (current.length > 0) pieces.push(current.join('\n') + (inFence ? '\n```' : ''));
  return pieces;
}

/** mrkdwn split into chunks of at most `max` characters, at paragraph boundaries where possible. */
export function chunkMrkdwn(mrkdwn: string, max: number = SECTION_BUDGET): string[] {
  const chunks: string[] = [];
  let current = '';
  for (const unit of paragraphs(mrkdwn).flatMap((u) => (u.length > max ? splitUnit(u, max) : [u]))) {
    if (current && current.length + 2 + unit.length > max) {
      chunks.push(current);
      current = unit;
    } else {
      current = current ? `${current}\n\n${unit}` : unit;
    }
  }
  if (current) chunks.push(current);
  return chunks;
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}

/** A plain one-liner for notifications: no markup characters a phone would show raw. */
export function fallbackText(mrkdwn: string): string {
  // Only the opening reaches a notification: a long chunk's first lines give the same text.
  const cut = openingEnd(mrkdwn, 4 * SLACK_LIMITS.fallbackChars);
  if (cut < mrkdwn.length) {
    const opening = withoutFences(mrkdwn.slice(0, cut));
    // An unclosed `<` could pair with a `|…>` further on.
    if (opening.lastIndexOf('<') <= opening.lastIndexOf('>')) {
      const plain = withoutMarkup(opening);
      if (plain.length > SLACK_LIMITS.fallbackChars) return truncate(plain, SLACK_LIMITS.fallbackChars);
    }
  }
  return truncate(withoutMarkup(withoutFences(mrkdwn)) || 'askpanda answered', SLACK_LIMITS.fallbackChars);
}

/** The first line end at or after `min` with an even number of code fences before it; else the length. */
function openingEnd(mrkdwn: string, min: number): number {
  let fences = 0;
  let from = 0;
  for (let at = mrkdwn.indexOf('\n', min); at !== -1; at = mrkdwn.indexOf('\n', at + 1)) {
    // Fences are paired left to right, like the pattern in withoutFences; none spans a line end.
    for (let f = mrkdwn.indexOf('```', from); f !== -1 && f + 3 <= at; f = mrkdwn.indexOf('```', f + 3)) {
      fences++;
      from = f + 3;
    }
    if (fences % 2 === 0) return at;
  }
  return mrkdwn.length;
}

function withoutFences(mrkdwn: string): string {
  return mrkdwn.replace(/```[\s\S]*?```/g, ' ');
}

/** Links to their titles, formatting marks dropped, whitespace collapsed; within lines but for `<…>`. */
function withoutMarkup(text: string): string {
  return (
    text
      .replace(/<([^|>]+)\|([^>]+)>/g, '$2')
      // formatting marks only: ANALY_MWT2_UCORE keeps its underscores
      .replace(/(^|[^\w])([*_~])(?=\S)([^\n]*?\S)\2(?!\w)/g, '$1$3')
      .replace(/`/g, '')
      .replace(/\s+/g, ' ')
      .trim()
  );
}
