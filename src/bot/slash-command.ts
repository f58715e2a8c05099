import type { Logger } from 'pino';
import type { Incoming } from '../core/incoming.ts';
import type { Bot } from './bot.ts';
import { parseCommand } from './commands.ts';
import type { PlatformMessage } from './platform-message.ts';
import type { Surface } from './surface.ts';

/** A slash command: a command is answered privately, a question in the channel's new thread. */
export interface SlashRequest<M> {
  channel: string;
  user: string;
  text: string;
  /** The platform's id of this invocation (dedupe). */
  id: string;
  isDirect: boolean;
  /** The channel post that carries the question, in the platform's own mention syntax. */
  askedLine: string;
  respond(message: M, visibility: 'ephemeral' | 'in_channel'): Promise<void>;
  /** The notice for a channel the bot cannot post in. */
  cannotPost(err: unknown): M;
  /** Told when the question has been posted in the channel (the platform's request can be answered now). */
  accepted?: () => void;
}

export interface SlashDeps {
  bot: Bot;
  logger: Logger;
  /** Runs a command's answer in one of the process's answer slots. */
  inSlot: <T>(work: () => Promise<T>) => Promise<T>;
  /** The conversation core's way in for a question (claim, order, limits, posting). */
  receive: <M>(surface: Surface<M>, message: PlatformMessage) => Promise<void>;
}

/** `/askpanda …`: commands answer privately; a question is asked in the channel and answered in its thread. */
export async function runSlash<M>(deps: SlashDeps, surface: Surface<M>, request: SlashRequest<M>): Promise<void> {
  const text = request.text.trim() || 'help';
  if (parseCommand(text, deps.bot.commands).kind !== 'none') {
    const incoming: Incoming = {
      platform: surface.platform,
      channel: request.channel,
      thread: `slash:${request.id}`,
      user: request.user,
      text,
      isDirect: request.isDirect,
      messageId: request.id,
    };
    const answer = await deps.inSlot(() => deps.bot.handle(incoming, { newThread: true }));
    for (const message of surface.render(answer, {
      where: { channel: request.channel, thread: incoming.thread },
      buttons: false,
    }))
      await request.respond(message, 'ephemeral');
    return;
  }
  // A question is asked in the channel, so everyone sees the answer and can follow up in its thread.
  let root: string;
  try {
    root = await surface.post({ channel: request.channel }, surface.renderNotice(request.askedLine));
  } catch (err) {
    deps.logger.info(
      { platform: surface.platform, channel: request.channel, err: String(err) },
      'cannot post in the slash command channel',
    );
    await request.respond(request.cannotPost(err), 'ephemeral');
    return;
  }
  request.accepted?.();
  await deps.receive(surface, {
    channel: request.channel,
    thread: root,
    messageId: root,
    user: request.user,
    text,
    isDirect: request.isDirect,
    addressed: 'directly',
    dedupeKey: `${surface.platform}:slash:${request.id}`,
    reactTo: null,
  });
}
