import { ConfigError } from '../config/load.ts';
import { loadConfigDetailed } from '../load-config.ts';
import { configuredPlatforms } from '../adapters/registry.ts';
import { DEMO_BANNER, isDemoMode } from '../config/demo-mode.ts';
import { createApp, type App } from '../app.ts';
import type { Config } from '../config/schema.ts';
import { type Store } from '../storage/store.ts';
import { openStore } from '../storage/open-store.ts';
import { openMemoryStore } from '../storage/memory-store.ts';
import { isStoreError } from '../storage/store-errors.ts';

/** Exit code for a configuration problem or a usage error (docs/architecture.md: 2 for usage errors). */
export const EXIT_USAGE = 2;

export interface StartOptions {
  interactive?: boolean;
  /**
   * The command is useless without the configured store (a chat platform's claims and history,
   * `ask --thread`, digests): a store that cannot be opened stops it. Otherwise it answers from
   * memory and says once that nothing is saved.
   */
  needsStore?: boolean | ((context: { demo: boolean; config: Config }) => boolean);
}

/** Prints one line and exits 2: configuration and store problems never print a stack or a secret. */
export function exitWith(message: string): never {
  process.stderr.write(`askpanda: ${message}\n`);
  process.exit(EXIT_USAGE);
}

/**
 * Loads the configuration and builds the app for a command. A configuration problem prints its one
 * line and exits; it never prints a stack or a secret.
 */
export async function startApp(options: StartOptions = {}): Promise<{ app: App; demo: boolean }> {
  let loaded;
  try {
    loaded = loadConfigDetailed();
  } catch (err) {
    if (err instanceof ConfigError) exitWith(err.message);
    throw err;
  }
  // In the terminal (ask, chat) the answer already says what went wrong: structured warnings on
  // stderr would only be noise, unless the user asked for a log level.
  if (options.interactive && !loaded.origin.has('logLevel')) loaded.config.logLevel = 'error';
  const demo = isDemoMode(loaded.config, loaded.origin, configuredPlatforms(loaded.config).length > 0);
  const needsStore =
    typeof options.needsStore === 'function'
      ? options.needsStore({ demo, config: loaded.config })
      : options.needsStore === true;
  let store: Store;
  try {
    store = await openStore(loaded.config);
  } catch (err) {
    if (!isStoreError(err)) throw err;
    if (needsStore) exitWith(err.message);
    store = openMemoryStore('the configured store could not be opened');
    process.stderr.write(`askpanda: ${err.message}. Answering without saving history.\n`);
  }
  const app = await createApp(loaded.config, {
    demo,
    store,
    explicitSettings: new Set(loaded.origin.keys()),
    onStoreProblem: (message) => process.stderr.write(`askpanda: ${message}. Answering without saving history.\n`),
  });
  if (demo && !app.banners.includes(DEMO_BANNER)) app.banners.unshift(DEMO_BANNER);
  return { app, demo };
}
