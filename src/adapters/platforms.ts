import type { PlatformDeps } from '../bot/platform-deps.ts';
import { configuredPlatforms } from '../config/demo-mode.ts';
import type { HttpServer } from '../http/server.ts';

/** One chat platform running in this process. */
export interface RunningPlatform {
  name: 'slack' | 'mattermost';
  /** One line for start-up: "Slack connected (Socket Mode) as U…". */
  summary: string;
  /** For /readyz. */
  connected(): boolean;
  /** Stops taking events (answers in progress are the conversation core's to finish). */
  stop(): Promise<void>;
}

/** A configured platform that could not start: the message says what to fix. */
export class PlatformStartError extends Error {
  constructor(
    readonly platform: string,
    message: string,
  ) {
    super(message);
    this.name = 'PlatformStartError';
  }
}

/**
 * Starts every configured chat platform on the conversation core. `receive: false` connects them
 * for posting only (digests from `askpanda digest run`); `server` is where their HTTP callbacks
 * (Slack events, Mattermost slash command and buttons) are served. Each platform's SDK loads only
 * when it is configured. A platform that fails stops the ones already started and throws.
 */
export async function startPlatforms(
  app: PlatformDeps,
  options: { server?: HttpServer; receive: boolean },
): Promise<RunningPlatform[]> {
  const running: RunningPlatform[] = [];
  const fail = async (platform: string, err: unknown): Promise<never> => {
    for (const p of running) await p.stop().catch(() => undefined);
    throw new PlatformStartError(platform, err instanceof Error ? err.message : String(err));
  };
  const platforms = configuredPlatforms(app.config);
  if (platforms.includes('slack')) {
    try {
      const { SlackAdapter } = await import('./slack/adapter.ts');
      const slack = new SlackAdapter(app, { server: options.server });
      const started = await slack.start({ receive: options.receive });
      const how = !options.receive
        ? 'for posting only'
        : started.transport === 'socket'
          ? 'over Socket Mode'
          : `with HTTP events on /slack/events`;
      running.push({
        name: 'slack',
        summary: `Slack connected ${how}${started.botUserId ? ` as ${started.botUserId}` : ''}`,
        connected: () => slack.connected,
        stop: () => slack.stop(),
      });
    } catch (err) {
      await fail('Slack', err);
    }
  }
  if (platforms.includes('mattermost')) {
    try {
      const { MattermostAdapter } = await import('./mattermost.ts');
      const mattermost = new MattermostAdapter(app, { server: options.receive ? options.server : undefined });
      const bot = await mattermost.start({ receive: options.receive });
      const slash = app.config.mattermost.slashTokens.length
        ? ', slash command on /mattermost/command'
        : ', no slash command (MATTERMOST_SLASH_TOKEN unset)';
      const how = options.receive ? `over its websocket${slash}, buttons on /mattermost/actions` : 'for posting only';
      running.push({
        name: 'mattermost',
        summary: `Mattermost connected as @${bot.username} ${how}`,
        connected: () => !options.receive || mattermost.connected,
        stop: () => mattermost.stop(),
      });
    } catch (err) {
      await fail('Mattermost', err);
    }
  }
  return running;
}
