import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { ChatModel } from '../llm/chat-model.ts';
import type { PandaClient } from '../panda/client.ts';
import type { SubscriptionStore } from './subscription-store.ts';
import type { DigestPoster } from './poster.ts';
import { DigestRunner, type DigestSettings } from './runner.ts';
import { DigestScheduler, type DigestSchedulerOptions } from './scheduler.ts';
import { modelSummary } from './summary.ts';

/** What the digests are given by the composition root. */
export interface DigestApp {
  config: Config;
  panda: PandaClient;
  subscriptions: SubscriptionStore;
  logger: Logger;
  model: ChatModel;
}

export function digestSettings(config: Config): DigestSettings {
  const d = config.digest;
  return {
    quiet: d.quiet,
    retryMinutes: d.retryMinutes,
    maxDelayMinutes: d.maxDelayMinutes,
    claimLeaseMs: d.claimLeaseSeconds * 1000,
  };
}

/** The runner of `askpanda digest run` and of the scheduler's tick, posting through `poster`. */
export function createDigestRunner(app: DigestApp, poster: DigestPoster): DigestRunner {
  return new DigestRunner({
    subscriptions: app.subscriptions,
    client: app.panda,
    poster,
    settings: digestSettings(app.config),
    logger: app.logger,
    summarize: modelSummary(app.model),
  });
}

/** `serve`'s digest tick (each minute), started; stop it with `await scheduler.stop()`. */
export function startDigestScheduler(
  app: DigestApp,
  poster: DigestPoster,
  options: DigestSchedulerOptions = {},
): DigestScheduler {
  const scheduler = new DigestScheduler(createDigestRunner(app, poster), { logger: app.logger, ...options });
  scheduler.start();
  return scheduler;
}
