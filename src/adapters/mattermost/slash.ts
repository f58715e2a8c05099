import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Conversation } from '../../bot/conversation.ts';
import { errorMessage } from '../../core/errors.ts';
import { HttpError, sendJson, type HttpRoute, type RouteRequest } from '../../http/server.ts';
import type { Logger } from '../../util/log.ts';
import { CALLBACK_LIMITS, MATTERMOST_PATHS } from './callbacks.ts';
import type { MattermostSurface } from './surface.ts';

/** Mattermost waits for a slash command's reply; a slower answer goes out through response_url. */
const SLASH_REPLY_WITHIN_MS = 2_500;

const SlashFormSchema = z.object({
  token: z.string().default(''),
  text: z.string().max(8_000).default(''),
  channel_id: z.string().min(1),
  channel_name: z.string().default(''),
  user_id: z.string().min(1),
  user_name: z.string().default(''),
  response_url: z.string().default(''),
  trigger_id: z.string().default(''),
  command: z.string().default('/askpanda'),
});

export interface SlashCommandDeps {
  core: Conversation;
  surface: MattermostSurface;
  logger: Logger;
  /** MATTERMOST_SLASH_TOKEN: the command's token(s); none turns every request away. */
  tokens: readonly string[];
  /** The configured server's base URL: a response_url elsewhere is not called. */
  serverUrl: string | undefined;
  /** What to `/invite` when the bot cannot post in a channel. */
  botName(): string;
}

/**
 * `/askpanda` as Mattermost sends it: a form POST checked against the command's token. Mattermost
 * shows the HTTP reply if it comes within a few seconds, so the first reply goes there; anything
 * later (or more) is POSTed to the command's response_url.
 */
export function slashCommandRoute(deps: SlashCommandDeps): HttpRoute {
  const tokens = deps.tokens.map((t) => Buffer.from(t));
  const checkToken = (header: string | undefined, formToken: string): boolean => {
    const given = Buffer.from(header?.match(/^Token\s+(\S+)$/i)?.[1] ?? formToken);
    return tokens.some((token) => token.length === given.length && timingSafeEqual(token, given));
  };

  async function onSlashCommand({ req, res, body }: RouteRequest): Promise<void> {
    const form = SlashFormSchema.safeParse(Object.fromEntries(new URLSearchParams((await body()).toString('utf8'))));
    if (!form.success)
      throw new HttpError(
        400,
        'not a Mattermost slash command request (form fields channel_id and user_id are required)',
      );
    const command = form.data;
    if (tokens.length === 0)
      throw new HttpError(
        401,
        "the /askpanda slash command is not enabled here: set MATTERMOST_SLASH_TOKEN to the command's token",
      );
    if (!checkToken(req.headers.authorization, command.token)) throw new HttpError(401, 'wrong slash command token');

    let replied = false;
    let first: (body: Record<string, unknown>) => void = () => undefined;
    const firstReply = new Promise<Record<string, unknown>>((resolve) => (first = resolve));
    const reply = (body: Record<string, unknown>) => {
      if (replied) return false;
      replied = true;
      first(body);
      return true;
    };
    const text = command.text.trim() || 'help';
    const work = deps.core.slash(deps.surface, {
      channel: command.channel_id,
      user: command.user_id,
      text,
      id: command.trigger_id || `${command.channel_id}:${Date.now()}`,
      // Direct channels are named after their two members: "<id>__<id>".
      isDirect: command.channel_name.includes('__'),
      askedLine: `@${command.user_name || 'someone'} asked: ${text}`,
      respond: async (message, visibility) => {
        const payload = {
          response_type: visibility,
          text: message.message,
          ...(message.props?.attachments ? { attachments: message.props.attachments } : {}),
        };
        if (!reply(payload)) await sendToResponseUrl(deps, command.response_url, payload);
      },
      cannotPost: (err) => ({
        message:
          `I cannot post in this channel (${errorMessage(err)}). ` +
          `Add me to the channel (\`/invite @${deps.botName()}\`), or ask me in a direct message.`,
      }),
      accepted: () => reply({}),
    });
    const timer = setTimeout(() => reply({}), SLASH_REPLY_WITHIN_MS);
    void work
      .then(() => reply({}))
      .catch((err: unknown) => {
        deps.logger.error({ err: errorMessage(err) }, 'slash command failed');
        reply({ response_type: 'ephemeral', text: 'Something went wrong on my side. Please try again in a minute.' });
      });
    const answer = await firstReply;
    clearTimeout(timer);
    sendJson(res, 200, answer);
  }

  return { method: 'POST', path: MATTERMOST_PATHS.command, ...CALLBACK_LIMITS, handler: onSlashCommand };
}

/** A slower slash command reply, through the URL Mattermost gave, which must be on our Mattermost server. */
async function sendToResponseUrl(deps: SlashCommandDeps, url: string, payload: Record<string, unknown>): Promise<void> {
  if (!deps.serverUrl || !url.startsWith(`${deps.serverUrl}/`)) {
    deps.logger.warn('slash command response_url is not on the configured Mattermost server; reply dropped');
    return;
  }
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
    signal: AbortSignal.timeout(10_000),
  }).catch((err: unknown) => {
    deps.logger.warn({ err: errorMessage(err) }, 'slash command response_url failed');
    return undefined;
  });
  if (response && !response.ok)
    deps.logger.warn({ status: response.status }, 'slash command response_url refused the reply');
  await response?.body?.cancel().catch(() => undefined);
}
