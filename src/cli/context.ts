import { ConfigError, loadConfigDetailed } from '../config/load.ts';
import { DEMO_BANNER, isDemoMode } from '../config/demo-mode.ts';
import { createApp, type App } from '../app.ts';

/** Exit code for a configuration problem or a usage error (DESIGN.md: 2 for usage errors). */
export const EXIT_USAGE = 2;

/**
 * Loads the configuration and builds the app for a command. A configuration problem prints its one
 * line and exits; it never prints a stack or a secret.
 */
export async function startApp(options: { interactive?: boolean } = {}): Promise<{ app: App; demo: boolean }> {
  let loaded;
  try {
    loaded = loadConfigDetailed();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`askpanda: ${err.message}\n`);
      process.exit(EXIT_USAGE);
    }
    throw err;
  }
  // In the terminal (ask, chat) the answer already says what went wrong: structured warnings on
  // stderr would only be noise, unless the user asked for a log level.
  if (options.interactive && !loaded.origin.has('logLevel')) loaded.config.logLevel = 'error';
  const demo = isDemoMode(loaded.config, loaded.origin);
  const app = await createApp(loaded.config, { demo, explicitSettings: new Set(loaded.origin.keys()) });
  if (demo && !app.banners.includes(DEMO_BANNER)) app.banners.unshift(DEMO_BANNER);
  return { app, demo };
}
