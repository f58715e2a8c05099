import type { types } from '@slack/bolt';
import type { Answer } from '../../core/answer.ts';
import type { FeedbackContext } from '../../bot/surface.ts';
import { SECTION_BUDGET, SLACK_LIMITS, chunkMrkdwn, fallbackText, truncate } from './limits.ts';
import { markdownToMrkdwn, slackLink } from './mrkdwn.ts';

type KnownBlock = types.KnownBlock;

export const ACTION_IDS = {
  followUpPrefix: 'askpanda_followup_',
  feedbackUp: 'askpanda_feedback_up',
  feedbackDown: 'askpanda_feedback_down',
} as const;

export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
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
