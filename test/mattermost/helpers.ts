import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { MattermostConnection } from '../../src/adapters/mattermost/connection.ts';
import type { MattermostConnectionOptions } from '../../src/adapters/mattermost/options.ts';
import type { MattermostPostEvent } from '../../src/adapters/mattermost/events.ts';
import { BOT_TOKEN, type FakeMattermost } from '../fakes/mattermost.ts';

/** A connection to the fake with fast reconnects, recording every post it hands over. */
export function connectTo(
  fake: FakeMattermost,
  overrides: Partial<MattermostConnectionOptions> = {},
): { connection: MattermostConnection; received: MattermostPostEvent[] } {
  const received: MattermostPostEvent[] = [];
  const connection = new MattermostConnection({
    url: fake.url,
    token: BOT_TOKEN,
    onPost: (event) => {
      received.push(event);
      fake.emit('change');
    },
    requestTimeoutMs: 2_000,
    reconnect: { minMs: 50, maxMs: 500, jitterMs: 50, failuresBeforeBackoff: 3 },
    startTimeoutMs: 5_000,
    ...overrides,
  });
  return { connection, received };
}

/** Waits until `received` holds an event matching `match` (`count` of them). */
export function waitForReceived(
  fake: FakeMattermost,
  received: MattermostPostEvent[],
  match: (e: MattermostPostEvent) => boolean,
  count = 1,
  timeoutMs = 5_000,
): Promise<MattermostPostEvent[]> {
  return fake.waitUntil(
    () => {
      const found = received.filter(match);
      return found.length >= count ? found : undefined;
    },
    timeoutMs,
    `${count} post(s) handed to onPost`,
  );
}

/** A loopback port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export { sleep as delay } from '../support/time.ts';
