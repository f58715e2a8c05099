import type { Logger } from 'pino';
import { emptyDraft } from '../core/answer.ts';
import { toAnswer } from './render.ts';
import type { Surface } from './surface.ts';

/** What a digest (or any unprompted message) posts: a main message, details as replies under it. */
export interface ChannelMessage {
  markdown: string;
  details?: string[];
}

/** Posts the messages in the thread (the first one replacing a streamed draft); never leaves a failed post. */
export async function postAll<M>(
  surface: Surface<M>,
  where: { channel: string; thread: string },
  messages: M[],
  draftId: string | undefined,
  logger: Logger,
): Promise<void> {
  for (const [index, message] of messages.entries()) {
    if (index === 0 && draftId) {
      try {
        await surface.update({ channel: where.channel, id: draftId }, message);
      } catch (err) {
        logger.warn(
          { platform: surface.platform, err: String(err) },
          'the platform refused the rendered answer; sending it as plain text',
        );
        await surface.update({ channel: where.channel, id: draftId }, surface.plainText(message));
      }
      continue;
    }
    await postWithFallback(surface, where, message, logger);
  }
}

/** Posts one message, as plain text when the platform refuses its formatting; resolves to its id. */
export async function postWithFallback<M>(
  surface: Surface<M>,
  where: { channel: string; thread?: string },
  message: M,
  logger: Logger,
): Promise<string> {
  try {
    return await surface.post(where, message);
  } catch (err) {
    // Formatting a platform refuses (too long, invalid blocks) must not cost the user the answer.
    logger.warn(
      { platform: surface.platform, err: String(err) },
      'the platform refused the rendered message; sending it as plain text',
    );
    return surface.post(where, surface.plainText(message));
  }
}

/**
 * Posts an unprompted message (a digest) in a channel: the main post (continued in its thread when
 * it is longer than the platform allows), then each of `details` as replies in its thread.
 */
export async function postChannelMessage<M>(
  surface: Surface<M>,
  channel: string,
  message: ChannelMessage,
  logger: Logger,
): Promise<{ messageId: string }> {
  const rendered = (markdown: string) => surface.render(toAnswer(emptyDraft('general', markdown)), { buttons: false });
  const [first, ...rest] = rendered(message.markdown);
  const main = await postWithFallback(surface, { channel }, first ?? surface.renderNotice(message.markdown), logger);
  for (const more of [...rest, ...(message.details ?? []).flatMap(rendered)])
    await postWithFallback(surface, { channel, thread: main }, more, logger);
  return { messageId: main };
}
