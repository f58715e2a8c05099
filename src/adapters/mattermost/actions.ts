import type { Conversation } from '../../bot/conversation.ts';
import { HttpError, sendJson, type HttpRoute, type RouteRequest } from '../../http/server.ts';
import type { Logger } from '../../util/log.ts';
import { CALLBACK_LIMITS, MATTERMOST_PATHS } from './callbacks.ts';
import { verifyActionRequest } from './signing.ts';
import type { MattermostSurface } from './surface.ts';

/** Buttons older than this are refused (their answer is long gone from the thread's context). */
const BUTTON_MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000;

export interface ButtonActionsDeps {
  core: Conversation;
  surface: MattermostSurface;
  logger: Logger;
  /** What button contexts are signed with (MATTERMOST_ACTION_SECRET, or one derived from the token). */
  secret: string;
  /** The clicker's username when the click did not say it (older servers); undefined when unknown. */
  userName(userId: string): Promise<string | undefined>;
}

/**
 * Button clicks as Mattermost POSTs them to the integration URL: a follow-up question is asked in
 * the thread for the clicker, a 👍/👎 is recorded and thanked for in an ephemeral reply. A click
 * whose signed context is not ours, was changed, or is too old is refused.
 */
export function buttonActionsRoute(deps: ButtonActionsDeps): HttpRoute {
  async function onAction({ res, body }: RouteRequest): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse((await body()).toString('utf8'));
    } catch {
      throw new HttpError(400, 'a button callback must be JSON');
    }
    const click = verifyActionRequest(raw, deps.secret, { maxAgeMs: BUTTON_MAX_AGE_MS });
    if (!click.ok) {
      deps.logger.warn({ reason: click.reason }, 'button callback refused');
      throw new HttpError(
        click.status,
        click.status === 403 ? 'this button is not one of mine, or it was changed' : 'not a button click',
      );
    }
    const { payload, userId, postId, channelId } = click;
    if (payload.action === 'feedback') {
      let thanks = '';
      await deps.core.vote(
        deps.surface,
        {
          channel: channelId,
          messageId: postId,
          thread: payload.thread,
          user: userId,
          rating: payload.rating,
          context: {
            agent: payload.agent,
            model: payload.model,
            question: payload.question,
            pandaid: payload.pandaid,
            jeditaskid: payload.jeditaskid,
          },
        },
        (text) => void (thanks = text),
      );
      // Without `update` Mattermost leaves the post as it is; the thanks is shown to the clicker only.
      sendJson(res, 200, { ephemeral_text: thanks });
      return;
    }
    const userName = click.userName ?? (await deps.userName(userId));
    void deps.core.receive(deps.surface, {
      channel: channelId,
      thread: payload.thread,
      messageId: `${postId}:${userId}`,
      user: userId,
      text: payload.question,
      isDirect: false,
      addressed: 'directly',
      // A double click asks once.
      dedupeKey: `mattermost:click:${postId}:${userId}:${payload.question.slice(0, 200)}`,
      reactTo: null,
      preface: userName ? `@${userName} asked: ${payload.question}` : undefined,
    });
    sendJson(res, 200, {});
  }

  return { method: 'POST', path: MATTERMOST_PATHS.actions, ...CALLBACK_LIMITS, handler: onAction };
}
