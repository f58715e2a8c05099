import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MattermostAdapter, type MattermostAdapterOptions } from '../../src/adapters/mattermost/adapter.ts';
import type { Agent, Route } from '../../src/agents/agent.ts';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/load-config.ts';
import { HttpServer } from '../../src/http/server.ts';
import { silentLogger, type Logger } from '../../src/util/log.ts';
import { BOT_TOKEN, FakeMattermost, type FakePost } from '../fakes/mattermost.ts';

export const SLASH_TOKEN = 'sl4shtokenaskpanda0000000001';

export interface MattermostHarness {
  fake: FakeMattermost;
  app: App;
  adapter: MattermostAdapter;
  server: HttpServer;
  baseUrl: string;
  close(): Promise<void>;
}

export interface MattermostHarnessOptions {
  fake?: FakeMattermost;
  dataDir?: string;
  store?: string;
  env?: Record<string, string>;
  agents?: Partial<Record<Route['agent'], Agent>>;
  statusDelayMs?: number;
  /** The app's logger (default: silent). */
  logger?: Logger;
  /** Transport settings over the harness's fast reconnects and short time-outs. */
  connection?: MattermostAdapterOptions['connection'];
}

/** The real app (demo monitor, offline model) behind the real Mattermost adapter, on a fake server. */
export async function startMattermost(options: MattermostHarnessOptions = {}): Promise<MattermostHarness> {
  const fake = options.fake ?? (await FakeMattermost.start());
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'askpanda-mm-'));
  const server = new HttpServer(silentLogger);
  const port = await server.listen(0, '127.0.0.1');
  const config = loadConfig({
    env: {
      ASKPANDA_DATA_DIR: dataDir,
      ...(options.store ? { ASKPANDA_STORE: options.store } : {}),
      ASKPANDA_DEMO: '1',
      ASKPANDA_LOG_LEVEL: 'silent',
      MATTERMOST_URL: fake.url,
      MATTERMOST_TOKEN: BOT_TOKEN,
      MATTERMOST_SLASH_TOKEN: SLASH_TOKEN,
      ASKPANDA_PUBLIC_URL: `http://127.0.0.1:${port}`,
      ...options.env,
    },
  });
  const app = await createApp(config, { demo: true, logger: options.logger ?? silentLogger, agents: options.agents });
  const adapter = new MattermostAdapter(app, {
    server,
    statusDelayMs: options.statusDelayMs ?? 0,
    connection: {
      requestTimeoutMs: 3_000,
      reconnect: { minMs: 50, maxMs: 300, jitterMs: 50, failuresBeforeBackoff: 3 },
      startTimeoutMs: 5_000,
      ...options.connection,
    },
  });
  await adapter.start();
  return {
    fake,
    app,
    adapter,
    server,
    baseUrl: `http://127.0.0.1:${port}`,
    async close() {
      await adapter.stop();
      await server.close();
      await app.close();
      if (!options.fake) await fake.close();
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The bot's answers in a thread: posts of the bot whose last post carries the 👍/👎 buttons. */
export function answersIn(fake: FakeMattermost, rootId: string): FakePost[] {
  return fake.botPosts({ rootId }).filter((p) => JSON.stringify(p.props.attachments ?? []).includes('feedbackup'));
}

export async function waitForAnswers(
  fake: FakeMattermost,
  rootId: string,
  count = 1,
  timeoutMs = 8_000,
): Promise<FakePost[]> {
  return fake.waitUntil(
    () => {
      const found = answersIn(fake, rootId);
      return found.length >= count ? found : undefined;
    },
    timeoutMs,
    `${count} answer(s) in thread ${rootId}`,
  );
}

export { sleep } from '../support/time.ts';
