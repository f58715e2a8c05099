import { accessSync, constants } from 'node:fs';
import { createConnection } from 'node:net';
import path from 'node:path';

/**
 * The shared Redis the machines (and .ci/run) run; `ASKPANDA_TEST_REDIS_URL` points the tests at
 * another one. Tests that start and kill a Redis of their own use other ports.
 */
export const REDIS_URL = process.env.ASKPANDA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The one line a reader needs when the Redis tests were skipped. */
export const ENABLE_REDIS =
  'install and start Redis on 127.0.0.1:6379 (Debian: apt-get install redis-server), as .ci/run does';

/** CI must run every test: a missing browser or service there is a failure, not a skip. */
export function everyTestRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true' || env.CI === '1';
}

/** True when something answers Redis's PING on the port within a second. */
export function redisAnswers(url = REDIS_URL): Promise<boolean> {
  const { hostname, port } = new URL(url);
  const host = hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const socket = createConnection({ port: Number(port || 6379), host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/** True when `name` is an executable on PATH (or an absolute path to one). */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = path.isAbsolute(name)
    ? [name]
    : (env.PATH ?? '')
        .split(path.delimiter)
        .filter(Boolean)
        .map((dir) => path.join(dir, name));
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Whether the tests of a service run: a fresh machine with only Node skips them (the global setup
 * names what to install); CI, which installs everything, fails instead of skipping.
 */
export function serviceAvailable(what: string, available: boolean, enable: string): boolean {
  if (!available && everyTestRequired()) throw new Error(`CI=true and ${what} is missing: ${enable}`);
  return available;
}

/** Shared Redis for the tests that need it; false (skipped) on a machine without one. */
export async function sharedRedis(): Promise<boolean> {
  return serviceAvailable(`Redis at ${REDIS_URL}`, await redisAnswers(), ENABLE_REDIS);
}
