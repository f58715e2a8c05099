import type { types } from '@slack/bolt';
import type { Answer } from '../core/answer.ts';
import type { FeedbackContext } from '../bot/surface.ts';

type KnownBlock = types.KnownBlock;

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
const SECTION_BUDGET = SLACK_LIMITS.sectionChars - 100;

export const ACTION_IDS = {
  followUpPrefix: 'askpanda_followup_',
  feedbackUp: 'askpanda_feedback_up',
  feedbackDown: 'askpanda_feedback_down',
} as const;

export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

export type { FeedbackContext };

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  if (!MRKDWN_CONTROL.test(text)) return text;
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
const MRKDWN_CONTROL = /[&<>]/;

const PLACEHOLDER = '\u0000';
const KEPT = new RegExp(`${PLACEHOLDER}(\\d+)${PLACEHOLDER}`, 'g');

/** One line of markdown (outside code fences) to mrkdwn: links, bold, italics, strikes, inline code. */
function inlineToMrkdwn(line: string): string {
  // Most lines of an answer are plain prose: each rewrite runs only when its marker is there.
  if (!INLINE_MARKERS.test(line)) return line;
  const kept: string[] = [];
  const keep = (s: string) => `${PLACEHOLDER}${kept.push(s) - 1}${PLACEHOLDER}`;
  let out = line;
  if (out.includes('`')) out = out.replace(/`([^`\n]+)`/g, (_m, code: string) => keep('`' + escapeMrkdwn(code) + '`'));
  if (out.includes(']('))
    out = out.replace(/\[([^\]\n]+)\]\(((?:https?|mailto):[^)\s]+)\)/g, (_m, title: string, url: string) =>
      keep(slackLink(url, title)),
    );
  if (out.includes('<')) out = out.replace(/<((?:https?|mailto):[^>\s]+)>/g, (_m, url: string) => keep(slackLink(url)));
  out = escapeMrkdwn(out);
  if (out.includes('**')) out = out.replace(/\*\*(?=\S)([^*\n]+?)\*\*/g, '\u0001$1\u0001');
  if (out.includes('__')) out = out.replace(/__(?=\S)([^_\n]+?)__/g, '\u0001$1\u0001');
  if (out.includes('*')) out = out.replace(/(^|[^\w*])\*(?=\S)([^*\n]+?)\*(?![\w*])/g, '$1_$2_');
  if (out.includes('~~')) out = out.replace(/~~(?=\S)([^~\n]+?)~~/g, '~$1~');
  if (out.includes('\u0001')) out = out.replace(/\u0001/g, '*');
  return kept.length ? out.replace(KEPT, (_m, i: string) => kept[Number(i)] ?? '') : out;
}
/** Characters any of the inline rewrites below starts from. */
const INLINE_MARKERS = /[`[<>&*_~\u0001]/;

/** `<url|title>`; characters that would end the link early are replaced or escaped. */
export function slackLink(url: string, title?: string): string {
  const safeUrl = url.replace(/[<>|\s]/g, encodeURIComponent);
  if (!title || title === url) return `<${safeUrl}>`;
  return `<${safeUrl}|${escapeMrkdwn(title.replace(/\|/g, '/'))}>`;
}

const FIRST_VISIBLE = /\S/;

/**
 * The bot's markdown (`**bold**`, `[title](url)`, fenced code, `- ` lists, `#` headings) in Slack's
 * mrkdwn dialect (`*bold*`, `<url|title>`, ``` fences without a language, `•` bullets).
 */
export function markdownToMrkdwn(markdown: string): string {
  const out: string[] = [];
  let fence: string | undefined;
  for (const raw of (markdown.includes('\r') ? markdown.replace(/\r\n?/g, '\n') : markdown).split('\n')) {
    // Block syntax is recognised by a line's first visible character; prose lines skip every pattern.
    const lead = FIRST_VISIBLE.exec(raw)?.[0] ?? '';
    const fenceMatch = lead === '`' || lead === '~' ? raw.match(/^\s*(```|~~~)/) : null;
    if (fence) {
      if (fenceMatch && fenceMatch[1] === fence && raw.trim() === fence) {
        out.push('```');
        fence = undefined;
      } else {
        out.push(escapeMrkdwn(raw));
      }
      continue;
    }
    if (fenceMatch) {
      fence = fenceMatch[1];
      out.push('```');
      continue;
    }
    const heading = lead === '#' ? raw.match(/^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/) : null;
    if (heading) {
      out.push(`*${inlineToMrkdwn(heading[1]!).replace(/^\*(.*)\*$/, '$1')}*`);
      continue;
    }
    if ((lead === '-' || lead === '*' || lead === '_') && /^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(raw)) {
      out.push('──────────');
      continue;
    }
    const quote = lead === '>' ? raw.match(/^(\s*>\s?)(.*)$/) : null;
    if (quote) {
      out.push(`>${inlineToMrkdwn(quote[2]!)}`);
      continue;
    }
    const bullet = lead === '-' || lead === '*' || lead === '+' ? raw.match(/^(\s*)[-*+]\s+(.*)$/) : null;
    if (bullet) {
      out.push(`${bullet[1]}• ${inlineToMrkdwn(bullet[2]!)}`);
      continue;
    }
    out.push(inlineToMrkdwn(raw));
  }
  if (fence) out.push('```');
  return out.join('\n');
}

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

function truncate(text: string, max: number): string {
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

const FOLLOW_UPS_HEADING = /\n\n\*\*You could ask next\*\*\n[\s\S]*$/;

export interface RenderOptions {
  /** Shown above the answer: e.g. "@ana asked: …" when a button or slash command asked for her. */
  preface?: string;
  /** Follow-up and feedback buttons (off for ephemeral replies, which cannot be voted on later). */
  buttons?: boolean;
  feedback?: FeedbackContext;
}

/**
 * An Answer as one or more Slack messages within Block Kit's limits: text sections first, then the
 * follow-up questions as buttons and 👍/👎 on the last message. A very long answer continues in
 * further thread messages and is trimmed, with a link to the monitor page, after a few.
 */
export function renderAnswer(answer: Answer, options: RenderOptions = {}): SlackMessage[] {
  const buttons = options.buttons ?? true;
  // The follow-ups become buttons, so their markdown list would only repeat them.
  const markdown = buttons && answer.followUps.length > 0 ? answer.text.replace(FOLLOW_UPS_HEADING, '') : answer.text;
  const chunks = chunkMrkdwn(markdownToMrkdwn(markdown));
  if (chunks.length === 0) chunks.push('_(empty answer)_');

  // Sections are packed into messages by length, so a typical answer is one message.
  const groups: string[][] = [];
  let size = Infinity;
  for (const chunk of chunks) {
    if (
      size + chunk.length > SLACK_LIMITS.messageChars ||
      groups[groups.length - 1]!.length >= SLACK_LIMITS.blocksPerMessage - 5
    ) {
      groups.push([]);
      size = 0;
    }
    groups[groups.length - 1]!.push(chunk);
    size += chunk.length;
  }
  if (groups.length > SLACK_LIMITS.messagesPerAnswer) {
    groups.length = SLACK_LIMITS.messagesPerAnswer;
    const last = groups[groups.length - 1]!;
    const link = answer.links[0];
    const where = link
      ? ` The full details are on ${slackLink(link.url, link.title)}.`
      : ' Ask about one part at a time for the rest.';
    last.push(`_The answer was too long for Slack, so it is cut here.${where}_`);
  }

  const messages: SlackMessage[] = groups.map((group, index) => {
    const blocks: KnownBlock[] = [];
    if (index === 0 && options.preface)
      blocks.push({
        type: 'context',
        elements: [{ type: 'mrkdwn', text: truncate(options.preface, SLACK_LIMITS.sectionChars) }],
      });
    for (const text of group) blocks.push({ type: 'section', text: { type: 'mrkdwn', text } });
    return { text: fallbackText(group[0] ?? ''), blocks };
  });

  if (buttons) {
    const last = messages[messages.length - 1]!;
    const followUps = answer.followUps.slice(0, SLACK_LIMITS.followUpButtons);
    if (followUps.length > 0) {
      last.blocks.push({
        type: 'actions',
        block_id: 'askpanda_followups',
        elements: followUps.map((f, i) => ({
          type: 'button',
          action_id: `${ACTION_IDS.followUpPrefix}${i}`,
          text: { type: 'plain_text', text: truncate(f.question, SLACK_LIMITS.buttonTextChars), emoji: true },
          value: truncate(f.question, SLACK_LIMITS.buttonValueChars),
        })),
      });
    }
    const value = feedbackValue(options.feedback ?? { agent: answer.agent, model: answer.model, question: '' });
    last.blocks.push({
      type: 'actions',
      block_id: 'askpanda_feedback',
      elements: [
        {
          type: 'button',
          action_id: ACTION_IDS.feedbackUp,
          text: { type: 'plain_text', text: '👍 Helpful', emoji: true },
          value,
        },
        {
          type: 'button',
          action_id: ACTION_IDS.feedbackDown,
          text: { type: 'plain_text', text: '👎 Not helpful', emoji: true },
          value,
        },
      ],
    });
  }
  for (const message of messages) {
    if (message.blocks.length > SLACK_LIMITS.blocksPerMessage) message.blocks.length = SLACK_LIMITS.blocksPerMessage;
  }
  return messages;
}

/** The button value: JSON well within 2,000 characters (the question is shortened to fit). */
export function feedbackValue(context: FeedbackContext): string {
  // 600 characters stay under the limit even if JSON escaping doubles every one of them.
  return JSON.stringify({ ...context, question: truncate(context.question, 600) });
}

/** A streaming answer so far: one section, the beginning kept, marked as still being written. */
export function renderPartial(markdown: string): SlackMessage {
  const text = truncate(markdownToMrkdwn(markdown), SECTION_BUDGET);
  return { text: fallbackText(text), blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `${text} …` } }] };
}

/** A short plain message (errors, thanks, notices) with its block form. */
export function renderNotice(mrkdwn: string): SlackMessage {
  const text = truncate(mrkdwn, SECTION_BUDGET);
  return { text: fallbackText(text), blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}
