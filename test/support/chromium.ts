import { onPath } from './services.ts';

/** The one line a reader needs when the browser tests were skipped. */
export const ENABLE_BROWSER_TESTS =
  'install Chromium (Debian: apt-get install chromium) or set ASKPANDA_CHROMIUM=/path/to/chrome';

const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

/**
 * The browser the web chat's test drives: `ASKPANDA_CHROMIUM`, Debian's `/usr/bin/chromium`, or a
 * Chrome/Chromium on PATH. Playwright downloads no browser of its own (no network here), so a machine
 * without one skips the browser test instead of failing `npm test`; CI installs Chromium and never skips.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const named = env.ASKPANDA_CHROMIUM?.trim();
  if (named) return named;
  if (onPath('/usr/bin/chromium')) return '/usr/bin/chromium';
  for (const name of NAMES) {
    const found = onPath(name, env);
    if (found) return found;
  }
  return undefined;
}
