import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { testConfig } from '../support/config.ts';
import type { Config } from '../../src/config/schema.ts';
import { PandaClient } from '../../src/panda/client.ts';
import { type Store } from '../../src/storage/store.ts';
import { openStore } from '../../src/storage/open-store.ts';
import { SubscriptionStore } from '../../src/digest/subscription-store.ts';
import { DigestRunner, type DigestSettings } from '../../src/digest/runner.ts';
import type { DigestMessage, DigestPoster, DigestTarget } from '../../src/digest/poster.ts';
import type { Schedule } from '../../src/core/schedule.ts';
import type { Subscription } from '../../src/digest/subscription.ts';

export { REDIS_URL as REDIS } from '../support/services.ts';

/** Records every post; `fail` makes the next posts reject (a platform that refuses). */
export class RecordingPoster implements DigestPoster {
  readonly posts: Array<{ target: DigestTarget; message: DigestMessage; messageId: string }> = [];
  fail = false;
  private n = 0;
  constructor(private readonly platforms: readonly string[] = ['slack', 'mattermost']) {}
  canPost(target: DigestTarget): boolean {
    return this.platforms.includes(target.platform);
  }
  async post(target: DigestTarget, message: DigestMessage): Promise<{ messageId: string }> {
    if (this.fail) throw new Error('channel_not_found');
    const messageId = `m${++this.n}`;
    this.posts.push({ target, message, messageId });
    return { messageId };
  }
  texts(): string[] {
    return this.posts.map((p) => [p.message.markdown, ...p.message.details].join('\n\n'));
  }
}

/** Config for digest tests: monitor data never cached between runs, one retry. */
export function digestConfig(env: Record<string, string> = {}): Config {
  return testConfig({ ASKPANDA_MONITOR_METADATA_TTL_SECONDS: '0', ASKPANDA_MONITOR_RETRIES: '1', ...env });
}

/** A client on the fake monitor without caching (tests change the fake's data between runs). */
export function fakeClient(config: Config, url: string): PandaClient {
  return new PandaClient(config, { baseUrl: url, publicUrl: 'https://bigpanda.cern.ch', backoffMs: 5 });
}

export const SETTINGS: DigestSettings = { quiet: 'post', retryMinutes: 5, maxDelayMinutes: 30, claimLeaseMs: 60_000 };

export async function openTestStore(
  uri = '',
  dataDir = mkdtempSync(path.join(tmpdir(), 'askpanda-digest-store-')),
): Promise<Store> {
  return openStore({ store: uri, dataDir });
}

export function uniquePrefix(): string {
  return `t-${randomUUID().slice(0, 8)}:`;
}

export function runnerOn(
  store: Store,
  client: PandaClient,
  poster: DigestPoster,
  options: { prefix?: string; settings?: Partial<DigestSettings>; clock?: () => number } = {},
): { runner: DigestRunner; subs: SubscriptionStore } {
  const subs = new SubscriptionStore(store, { prefix: options.prefix });
  const runner = new DigestRunner({
    subscriptions: subs,
    client,
    poster,
    settings: { ...SETTINGS, ...options.settings },
    clock: options.clock,
  });
  return { runner, subs };
}

export function subscribe(
  subs: SubscriptionStore,
  fields: {
    jeditaskid: number;
    channel?: string;
    platform?: string;
    schedule?: Schedule;
    timezone?: string;
    at: string;
  },
): Promise<Subscription> {
  return subs.add({
    platform: fields.platform ?? 'slack',
    channel: fields.channel ?? 'C0DIGEST',
    jeditaskid: fields.jeditaskid,
    schedule: fields.schedule ?? { kind: 'daily', hour: 8, minute: 0 },
    timezone: fields.timezone ?? 'UTC',
    createdBy: 'U042',
    createdAt: new Date(fields.at).toISOString(),
  });
}

export { hour, t } from '../support/time.ts';
