import type { Writable } from 'node:stream';
import type { Conversation } from '../bot/conversation.ts';
import type { Config } from '../config/schema.ts';
import { PlatformPosters, TerminalPoster, type DigestPoster } from './poster.ts';

/**
 * THE place where chat platforms plug into digests: every poster the runner and `serve`'s scheduler
 * post through is registered here, by platform name (Incoming.platform of the subscribing message).
 * Chat platforms post through the conversation core (the message in the channel, `details` as
 * replies in its thread, within each platform's limits and pacing), for every platform whose
 * adapter is connected in this process (`serve` receiving, `digest run` for posting only). A
 * subscription whose platform is not connected stays due and goes out, combined, once it is.
 *
 * `terminal`: where digests of subscriptions made in a terminal (`ask`, `chat`) are printed.
 */
export async function digestPosters(
  app: { config: Config; conversation: Conversation },
  options: { terminal?: Writable } = {},
): Promise<PlatformPosters> {
  const posters: Record<string, DigestPoster | undefined> = {};
  if (options.terminal) {
    const terminal = new TerminalPoster(options.terminal);
    posters.cli = terminal;
    posters.console = terminal;
  }
  for (const platform of app.conversation.platforms()) {
    posters[platform] = {
      post: (target, message) => app.conversation.postToChannel(target.platform, target.channel, message),
    };
  }
  return new PlatformPosters(posters);
}

/** Of the configured chat platforms (by name), those no digest poster reaches yet (for `digest run` notes). */
export function platformsWithoutPoster(configured: readonly string[], posters: PlatformPosters): string[] {
  return configured.filter((p) => !posters.platforms.includes(p));
}
