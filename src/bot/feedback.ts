import type { Logger } from 'pino';
import type { Answer } from '../core/answer.ts';
import type { Store } from '../storage/store.ts';
import type { FeedbackContext, Surface } from './surface.ts';

/** A 👍/👎 click on an answer. */
export interface Vote {
  channel: string;
  /** The answer message voted on. */
  messageId: string;
  thread: string;
  user: string;
  rating: 'up' | 'down';
  context?: FeedbackContext;
  answerText?: string;
}

/**
 * Stores the vote, one per person and answer (changing one's mind overwrites it), then thanks the
 * voter: through `reply` when the platform answers the click itself (Mattermost), else as an
 * ephemeral message.
 */
export async function recordVote<M>(
  deps: { store: Store; logger: Logger },
  surface: Surface<M>,
  vote: Vote,
  reply?: (thanks: string) => void,
): Promise<void> {
  const record = {
    platform: surface.platform,
    rating: vote.rating,
    user: vote.user,
    channel: vote.channel,
    messageId: vote.messageId,
    thread: vote.thread,
    ...vote.context,
    answerText: (vote.answerText ?? '').slice(0, 2000),
    at: new Date().toISOString(),
  };
  await deps.store.ns('feedback').set(`${surface.platform}:${vote.channel}:${vote.messageId}:${vote.user}`, record);
  deps.logger.info(
    { platform: surface.platform, rating: vote.rating, channel: vote.channel, messageId: vote.messageId },
    'feedback stored',
  );
  const thanks =
    vote.rating === 'up'
      ? 'Thanks, glad it helped.'
      : 'Thanks for telling me; the maintainers read these to improve the answers.';
  if (reply) return reply(thanks);
  await surface
    .postEphemeral?.(
      { channel: vote.channel, thread: vote.thread === vote.messageId ? undefined : vote.thread },
      vote.user,
      surface.renderNotice(thanks),
    )
    .catch((err: unknown) => deps.logger.debug({ err: String(err) }, 'could not thank for feedback'));
}

/** What an answer's 👍/👎 buttons carry, so a vote is stored with what it is about. */
export function feedbackContext(answer: Answer, question: string): FeedbackContext {
  const number = (v: unknown) =>
    typeof v === 'number' && Number.isSafeInteger(v)
      ? v
      : typeof v === 'string' && /^\d{1,15}$/.test(v)
        ? Number(v)
        : undefined;
  return {
    agent: answer.agent,
    model: answer.model,
    question,
    pandaid: number(answer.facts.pandaid),
    jeditaskid: number(answer.facts.jeditaskid),
  };
}
