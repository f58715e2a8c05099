import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startPlatforms } from '../../src/adapters/platforms.ts';
import { CHAT_PLATFORMS, configuredPlatforms } from '../../src/adapters/registry.ts';
import { createApp, type App } from '../../src/app.ts';
import { serveBanner } from '../../src/cli/serve-banner.ts';
import { loadConfig } from '../../src/load-config.ts';
import { BUILT_IN_SURFACES, SURFACE_NAME } from '../../src/core/incoming.ts';
import { createDigestRunner } from '../../src/digest/service.ts';
import { digestPosters } from '../../src/digest/wiring.ts';
import { HttpServer } from '../../src/http/server.ts';
import { silentLogger } from '../../src/util/log.ts';
import { FAKE_CHAT_EVENTS_PATH, fakeChatPlatform } from '../support/fake-chat-platform.ts';

const TASK = 46374283;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The demo app and the one HTTP server, with `platforms` in place of the registry's list. */
async function serveWith(platforms: Parameters<typeof startPlatforms>[1]['platforms']) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'askpanda-registry-'));
  const config = loadConfig({
    env: { ASKPANDA_DATA_DIR: dataDir, ASKPANDA_DEMO: '1', ASKPANDA_LOG_LEVEL: 'silent' },
  });
  const app: App = await createApp(config, { demo: true, logger: silentLogger, chatPlatforms: platforms });
  const server = new HttpServer(silentLogger);
  const port = await server.listen(0, '127.0.0.1');
  const running = await startPlatforms(app, { receive: true, server, platforms });
  cleanups.push(async () => {
    for (const platform of running) await platform.stop();
    await server.close(0);
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { app, config, port, running };
}

describe('a chat platform added as one descriptor', () => {
  it('is started, serves its route, is listed at start-up and gets the digests subscribed in its channels', async () => {
    const fake = fakeChatPlatform();
    const { app, config, port, running } = await serveWith([...CHAT_PLATFORMS, fake.descriptor]);
    // Slack and Mattermost have no settings here: only the added platform runs.
    expect(running.map((p) => p.name)).toEqual(['fakechat']);

    const banner = serveBanner({
      config,
      port,
      base: `http://localhost:${port}`,
      platforms: running,
      store: 'x',
      demo: true,
    });
    expect(banner[0]).toBe(
      `HTTP server on port ${port}: /healthz /readyz /metrics ${FAKE_CHAT_EVENTS_PATH} /v1/models /v1/chat/completions /`,
    );
    expect(banner).toContain(`Fake Chat connected with events on ${FAKE_CHAT_EVENTS_PATH}`);

    const said = await fetch(`http://127.0.0.1:${port}${FAKE_CHAT_EVENTS_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'm1', channel: 'room-1', user: 'ana', text: `subscribe task ${TASK} daily at 08:00` }),
    });
    expect(said.status).toBe(200);
    await app.conversation.idle();
    const confirmation = fake.posts.find((p) => p.channel === 'room-1' && p.thread === 'm1');
    expect(confirmation?.text).toMatch(/^Subscribed: /);

    const due = new Date();
    due.setUTCHours(8, 1, 0, 0);
    if (due.getTime() <= Date.now()) due.setUTCDate(due.getUTCDate() + 1);
    const report = await createDigestRunner(app, await digestPosters(app)).run(due);
    expect(report.posted).toHaveLength(1);
    const digest = fake.posts.filter((p) => p.channel === 'room-1' && p.thread === undefined);
    expect(digest).toHaveLength(1);
    expect(digest[0]!.text).toContain(`task ${TASK}`);
  });

  it('is left alone when not configured, and named where digests are refused', async () => {
    const fake = fakeChatPlatform({ configured: false });
    const platforms = [...CHAT_PLATFORMS, fake.descriptor];
    const { app, config, running } = await serveWith(platforms);
    expect(running).toEqual([]);
    expect(configuredPlatforms(config, platforms)).toEqual([]);
    const refused = await app.bot.handle({
      platform: 'mcp',
      channel: 'mcp',
      thread: 't1',
      user: 'u',
      text: `subscribe task ${TASK}`,
      isDirect: true,
    });
    expect(refused.error?.kind).toBe('bad_input');
    expect(refused.text).toContain('Digests are posted in Slack, Mattermost, or Fake Chat channels');
  });

  it('names every registered platform so that it fits in keys and differs from the built-in surfaces', () => {
    const names = CHAT_PLATFORMS.map((p) => p.name);
    expect(names).toEqual(['slack', 'mattermost']);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) {
      expect(name).toMatch(SURFACE_NAME);
      expect(BUILT_IN_SURFACES as readonly string[]).not.toContain(name);
    }
  });
});
