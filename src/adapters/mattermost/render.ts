import type { Answer, FollowUp } from '../../core/answer.ts';
import { codePointLength, splitMarkdown } from '../../bot/split-markdown.ts';
import type { FeedbackContext } from '../../bot/surface.ts';
import { closeOpenFence, toMattermostMarkdown } from './markdown.ts';
import { signContext, type SignedContext } from './signing.ts';

/**
 * An answer as Mattermost posts: the text in Mattermost's markdown (markdown.ts), split at the
 * server's `MaxPostSize` (code points). Follow-up questions and 👍/👎 become interactive message
 * buttons whose `context` is signed (signing.ts).
 */

/** `props.attachments[].actions[]`, as the server reads them (model/slack_attachment.go). */
export interface PostAction {
  /** Letters and digits only: the click arrives at `/posts/{id}/actions/{action_id:[A-Za-z0-9]+}`. */
  id: string;
  name: string;
  type: 'button';
  style?: 'default' | 'primary' | 'good' | 'warning' | 'danger';
  integration: { url: string; context: SignedContext };
}

export interface Attachment {
  fallback: string;
  text?: string;
  actions: PostAction[];
}

export interface MattermostPostBody {
  message: string;
  props?: Record<string, unknown> & { attachments?: Attachment[] };
}

export interface ButtonOptions {
  /** Where Mattermost POSTs clicks: `ASKPANDA_PUBLIC_URL` + the actions path; must be reachable from the server. */
  url: string;
  secret: string;
  /** The channel and thread the buttons are posted in: a click elsewhere is refused. */
  channelId: string;
  threadId: string;
  feedback: FeedbackContext;
}

export interface RenderOptions {
  maxPostSize: number;
  /** Shown above the answer, e.g. "@ana asked: …" for a slash command or a button click. */
  preface?: string;
  /** Follow-up and feedback buttons on the last post; none when absent (ephemeral replies). */
  buttons?: ButtonOptions;
  /** A longer answer is cut after this many posts, with a pointer to the monitor page. Default 4. */
  maxPosts?: number;
  /** Extra props on every post (e.g. what the answer is about, for later clicks or edits). */
  props?: Record<string, unknown>;
}

export const MATTERMOST_LIMITS = {
  followUpButtons: 5,
  /** Button labels are shown on one line; the full question travels in the context. */
  buttonNameChars: 60,
  /** Questions carried in a context are cut to this many code points. */
  contextQuestionChars: 1000,
} as const;

export const ACTION_IDS = {
  followUpPrefix: 'followup',
  feedbackUp: 'feedbackup',
  feedbackDown: 'feedbackdown',
} as const;

const FOLLOW_UPS_SECTION = /\n\n\*\*You could ask next\*\*\n[\s\S]*$/;

/**
 * An Answer as Mattermost posts: text split under `maxPostSize`, the buttons on the last post. An
 * answer longer than `maxPosts` posts is cut, with a pointer to its monitor page.
 */
export function renderAnswer(answer: Answer, options: RenderOptions): MattermostPostBody[] {
  const limit = options.maxPostSize;
  const maxPosts = Math.max(1, options.maxPosts ?? 4);
  const withButtons = options.buttons !== undefined;
  // The follow-ups become buttons, so their markdown list would only repeat them.
  const markdown =
    withButtons && answer.followUps.length > 0 ? answer.text.replace(FOLLOW_UPS_SECTION, '') : answer.text;
  const text = toMattermostMarkdown(options.preface ? `${options.preface}\n\n${markdown}` : markdown);
  let pieces = splitMarkdown(text, limit);
  if (pieces.length === 0) pieces = ['_(empty answer)_'];
  if (pieces.length > maxPosts) {
    const link = answer.links[0];
    const rest = link
      ? ` The full details are on [${link.title}](${link.url}).`
      : ' Ask about one part at a time for the rest.';
    const note = `_The answer is too long for Mattermost, so it is cut here.${rest}_`;
    pieces = pieces.slice(0, maxPosts);
    const room = limit - codePointLength(note) - 2;
    const last = room > 0 ? (splitMarkdown(pieces[maxPosts - 1]!, room)[0] ?? '') : '';
    pieces[maxPosts - 1] = room > 0 ? `${last}\n\n${note}` : (splitMarkdown(note, limit)[0] ?? '');
  }
  const posts: MattermostPostBody[] = pieces.map((message) =>
    options.props ? { message, props: { ...options.props } } : { message },
  );
  if (options.buttons) {
    const last = posts[posts.length - 1]!;
    last.props = { ...last.props, attachments: answerButtons(answer.followUps, options.buttons) };
  }
  return posts;
}

/** A streaming answer so far: the beginning that fits, open code closed, marked as unfinished. */
export function renderPartial(markdown: string, maxPostSize: number): string {
  const marker = ' …';
  const text = closeOpenFence(toMattermostMarkdown(markdown).trimEnd());
  const first = splitMarkdown(text, Math.max(1, maxPostSize - marker.length))[0] ?? '';
  return `${first}${marker}`;
}

/** A short message (an error, a thank-you): converted and cut to one post. */
export function renderNotice(markdown: string, maxPostSize: number): string {
  return splitMarkdown(toMattermostMarkdown(markdown), maxPostSize)[0] ?? '';
}

function truncate(text: string, max: number): string {
  if (codePointLength(text) <= max) return text;
  return `${[...text]
    .slice(0, max - 1)
    .join('')
    .trimEnd()}…`;
}

/** The attachments that carry the buttons: suggested questions, then 👍 / 👎. */
export function answerButtons(followUps: FollowUp[], options: ButtonOptions): Attachment[] {
  const where = { channel: options.channelId, thread: options.threadId };
  const attachments: Attachment[] = [];
  const asked = followUps.slice(0, MATTERMOST_LIMITS.followUpButtons);
  if (asked.length > 0) {
    attachments.push({
      fallback: `You could ask next: ${asked.map((f) => f.question).join(' · ')}`,
      text: '**You could ask next**',
      actions: asked.map((followUp, i) => ({
        id: `${ACTION_IDS.followUpPrefix}${i}`,
        name: truncate(followUp.question, MATTERMOST_LIMITS.buttonNameChars),
        type: 'button',
        style: 'default',
        integration: {
          url: options.url,
          context: signContext(
            {
              action: 'followup',
              question: truncate(followUp.question, MATTERMOST_LIMITS.contextQuestionChars),
              ...where,
            },
            options.secret,
          ),
        },
      })),
    });
  }
  const feedback = {
    ...options.feedback,
    question: truncate(options.feedback.question, MATTERMOST_LIMITS.contextQuestionChars),
  };
  attachments.push({
    fallback: 'Was this answer helpful?',
    actions: [
      {
        id: ACTION_IDS.feedbackUp,
        name: '👍 Helpful',
        type: 'button',
        style: 'good',
        integration: {
          url: options.url,
          context: signContext({ action: 'feedback', rating: 'up', ...where, ...feedback }, options.secret),
        },
      },
      {
        id: ACTION_IDS.feedbackDown,
        name: '👎 Not helpful',
        type: 'button',
        style: 'default',
        integration: {
          url: options.url,
          context: signContext({ action: 'feedback', rating: 'down', ...where, ...feedback }, options.secret),
        },
      },
    ],
  });
  return attachments;
}
