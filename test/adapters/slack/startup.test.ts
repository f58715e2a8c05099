import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../../src/app.ts';
import { loadConfig } from '../../../src/load-config.ts';
import { SlackAdapter } from '../../../src/adapters/slack/adapter.ts';
import { silentLogger } from '../../../src/util/log.ts';
import { APP_TOKEN, BOT_TOKEN, FakeSlack } from '../../fakes/slack-api.ts';

let fake: FakeSlack;
let dataDir: string;
const apps: App[] = [];

beforeAll(async () => {
  fake = await FakeSlack.start();
  dataDir = mkdtempSync(path.join(tmpdir(), 'askpanda-slack-start-'));
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await fake.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function appWith(env: Record<string, string>): Promise<App> {
  const app = await createApp(
    loadConfig({ env: { ASKPANDA_DATA_DIR: dataDir, ASKPANDA_DEMO: '1', SLACK_API_URL: fake.apiUrl, ...env } }),
    { demo: true, logger: silentLogger },
  );
  apps.push(app);
  return app;
}

describe('Slack adapter start-up problems say what to set', () => {
  it('refuses HTTP events without a signing secret', async () => {
    const app = await appWith({ SLACK_BOT_TOKEN: BOT_TOKEN });
    expect(() => new SlackAdapter(app)).toThrow(/SLACK_SIGNING_SECRET.*SLACK_APP_TOKEN/s);
  });

  it('explains a rejected bot token without printing it', async () => {
    const app = await appWith({ SLACK_BOT_TOKEN: 'xoxb-revoked-0000-token', SLACK_APP_TOKEN: APP_TOKEN });
    const adapter = new SlackAdapter(app);
    const failure = await adapter.start().then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(failure?.message).toMatch(/invalid_auth/);
    expect(failure?.message).toMatch(/SLACK_BOT_TOKEN/);
    expect(failure?.message).not.toContain('xoxb-revoked-0000-token');
    // Slack said no: it was asked once, not retried with backoff
    expect(fake.callsOf('auth.test').filter((c) => c.token === 'xoxb-revoked-0000-token')).toHaveLength(1);
  });
});

describe('Slack adapter start-up problems, transports', () => {
  it('explains a rejected app-level token', async () => {
    const app = await appWith({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: 'xapp-1-A0-revoked' });
    const adapter = new SlackAdapter(app);
    const failure = await adapter.start().then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(failure?.message).toMatch(/invalid_auth/);
    expect(failure?.message).toMatch(/SLACK_APP_TOKEN/);
    await adapter.stop();
  });

  it('names ASKPANDA_PORT when the events port is taken', async () => {
    const first = new SlackAdapter(await appWith({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: 'secret' }), {
      port: 0,
    });
    const { port } = await first.start();
    const second = new SlackAdapter(await appWith({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: 'secret' }), {
      port,
    });
    await expect(second.start()).rejects.toThrow(/ASKPANDA_PORT/);
    await first.stop();
  });
});
