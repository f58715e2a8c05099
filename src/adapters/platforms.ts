import type { PlatformDeps } from '../bot/platform-deps.ts';
import type { HttpServer } from '../http/server.ts';
import type { PlatformDescriptor, StartedPlatform } from './platform-descriptor.ts';
import { CHAT_PLATFORMS, configuredPlatforms } from './registry.ts';

/** One chat platform running in this process. */
export interface RunningPlatform extends StartedPlatform {
  /** Its descriptor's name: "slack". */
  name: string;
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

export interface StartPlatformsOptions {
  /** Take questions (`serve`); false connects for posting only (digests). */
  receive: boolean;
  /** Where receiving platforms serve their HTTP callbacks (Slack events, Mattermost slash command and buttons). */
  server?: HttpServer;
  /** Default: every platform of the registry. */
  platforms?: readonly PlatformDescriptor[];
}

/**
 * Starts every configured chat platform on the conversation core, in registry order. A platform
 * that fails stops the ones already started and throws PlatformStartError.
 */
export async function startPlatforms(app: PlatformDeps, options: StartPlatformsOptions): Promise<RunningPlatform[]> {
  const running: RunningPlatform[] = [];
  for (const platform of configuredPlatforms(app.config, options.platforms ?? CHAT_PLATFORMS)) {
    try {
      const started = await platform.start(app, {
        receive: options.receive,
        server: options.receive ? options.server : undefined,
      });
      // Called through `started`, so a descriptor may return a class instance as well as an object literal.
      running.push({
        name: platform.name,
        summary: started.summary,
        routes: started.routes,
        connected: () => started.connected(),
        stop: () => started.stop(),
      });
    } catch (err) {
      for (const p of running) await p.stop().catch(() => undefined);
      throw new PlatformStartError(platform.title, err instanceof Error ? err.message : String(err));
    }
  }
  return running;
}
