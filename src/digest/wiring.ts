import type { Writable } from 'node:stream';
import type { App } from '../app.ts';
import { configuredPlatforms } from '../config/demo-mode.ts';
import { PlatformPosters, TerminalPoster, type DigestPoster } from './poster.ts';

/**
 * THE place where chat platforms plug into digests: every poster the runner and `serve`'s scheduler
 * post through is registered here, by platform name (Incoming.platform of the subscribing message).
 *
 * Slack and Mattermost posting belongs to the conversation core (src/bot), which implements
 * DigestPoster for each of them: post the message in the channel, then `details` as replies in its
 * thread, within the platform's limits and pacing. Until it does, subscriptions made there stay due
 * and are posted, combined into one catch-up, once their platform's poster is registered below.
 *
 * `terminal`: where digests of subscriptions made in a terminal (`ask`, `chat`) are printed.
 */
export async function digestPosters(_app: Pick<App, 'config'>, options: { terminal?: Writable } = {}): Promise<PlatformPosters> {
  const posters: Record<string, DigestPoster | undefined> = {};
  if (options.terminal) {
    const terminal = new TerminalPoster(options.terminal);
    posters.cli = terminal;
    posters.console = terminal;
  }
  // The conversation core registers its platforms here, e.g.
  //   if (app.config.slack.botToken) posters.slack = await slackDigestPoster(app);
  //   if (app.config.mattermost.url) posters.mattermost = await mattermostDigestPoster(app);
  return new PlatformPosters(posters);
}

/** Configured chat platforms that no digest poster reaches yet (for start-up and `digest run` notes). */
export function platformsWithoutPoster(app: Pick<App, 'config'>, posters: PlatformPosters): string[] {
  return configuredPlatforms(app.config).filter((p) => !posters.platforms.includes(p));
}
