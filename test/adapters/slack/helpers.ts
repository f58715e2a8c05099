import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApp, type App } from '../../../src/app.ts';
import { loadConfig } from '../../../src/load-config.ts';
import { SlackAdapter, type SlackAdapterOptions, type SlackStarted } from '../../../src/adapters/slack/adapter.ts';
import { silentLogger } from '../../../src/util/log.ts';
import type { Agent, Route } from '../../../src/agents/agent.ts';
import { APP_TOKEN, BOT_TOKEN, FakeSlack, SIGNING_SECRET, type Posted } from '../../fakes/slack-api.ts';

export interface Harness {
  fake: FakeSlack;
  app: App;
  adapter: SlackAdapter;
  started: SlackStarted;
  /** The events URL of the HTTP transport. */
  eventsUrl: string;
  close(): Promise<void>;
}

export interface HarnessOptions extends SlackAdapterOptions {
  fake?: FakeSlack;
  /** Share one data dir (and so one store) between harnesses: replicas. */
  dataDir?: string;
  store?: string;
  env?: Record<string, string>;
  /** Agents for a bot of the test's own (slow, streaming, long answers); the app's real bot otherwise. */
  agents?: Partial<Record<Route['agent'], Agent>>;
}

/** The real app (demo monitor, offline model) behind the real Bolt adapter, talking to a fake Slack. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const fake = options.fake ?? (await FakeSlack.start());
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'askpanda-slack-'));
  const transport = options.transport ?? 'http';
  const config = loadConfig({
    env: {
      ASKPANDA_DATA_DIR: dataDir,
      ...(options.store ? { ASKPANDA_STORE: options.store } : {}),
      ASKPANDA_DEMO: '1',
      ASKPANDA_LOG_LEVEL: 'silent',
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: fake.apiUrl,
      ...(transport === 'socket' ? { SLACK_APP_TOKEN: APP_TOKEN } : {}),
      ASKPANDA_SLACK_POST_INTERVAL_MS: '0',
      ASKPANDA_SLACK_STREAM_UPDATE_MS: '200',
      ...options.env,
    },
  });
  const app = await createApp(config, { demo: true, logger: silentLogger, agents: options.agents });
  const adapter = new SlackAdapter(app, { port: 0, statusDelayMs: 0, ...options, transport });
  const started = await adapter.start();
  if (transport === 'socket') await fake.waitForSocket();
  return {
    fake,
    app,
    adapter,
    started,
    eventsUrl: `http://127.0.0.1:${started.port ?? 0}/slack/events`,
    async close() {
      await adapter.stop();
      await app.close();
      if (!options.fake) await fake.close();
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Text of every section block of a posted message, joined. */
export function sectionText(blocks: unknown[]): string {
  return blocks
    .map((b) => b as { type?: string; text?: { text?: string } })
    .filter((b) => b.type === 'section')
    .map((b) => b.text?.text ?? '')
    .join('\n\n');
}

export function actionIds(blocks: unknown[]): string[] {
  return blocks.flatMap((b) => {
    const block = b as { type?: string; elements?: Array<{ action_id?: string }> };
    return block.type === 'actions' ? (block.elements ?? []).map((e) => e.action_id ?? '') : [];
  });
}

import { sleep } from '../../support/time.ts';

export { sleep };

/** The thread's stored turns (what the bot remembers), as the bot core keeps them. */
export async function turnsOf(
  h: Harness,
  channel: string,
  thread: string,
): Promise<Array<{ role: string; text: string; pandaid?: number; jeditaskid?: number }>> {
  return (
    ((await h.app.store.ns('history').get(`slack:${channel}:${thread}`)) as
      Array<{ role: string; text: string; pandaid?: number; jeditaskid?: number }> | undefined) ?? []
  );
}

/** The bot's answers in a thread: the last message of each carries the 👍/👎 buttons (a long answer spans several). */
export function answersIn(fake: FakeSlack, channel: string, threadTs: string): Posted[] {
  return fake
    .repliesIn(channel, threadTs)
    .filter((p) => p.blocks.some((b) => (b as { block_id?: string }).block_id === 'askpanda_feedback'));
}

/** Waits until `count` answers are in the thread (Socket Mode acks before the listener runs). */
export async function waitForAnswers(
  fake: FakeSlack,
  channel: string,
  threadTs: string,
  count = 1,
  timeoutMs = 5_000,
): Promise<Posted[]> {
  const start = Date.now();
  for (;;) {
    const answers = answersIn(fake, channel, threadTs);
    if (answers.length >= count) return answers;
    if (Date.now() - start > timeoutMs)
      throw new Error(`expected ${count} answers in ${channel}/${threadTs}, saw ${answers.length}`);
    await sleep(5);
  }
}
