import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import { silentLogger } from '../util/log.ts';
import type { DigestRunner, RunReport } from './runner.ts';

export interface DigestSchedulerOptions {
  logger?: Logger;
  /** node-cron expression of the tick; every minute. Tests use a six-field (seconds) one. */
  expression?: string;
  /** Called after every tick (metrics, tests). */
  onTick?: (report: RunReport) => void;
}

/**
 * One node-cron task for all subscriptions: each minute it asks the runner (and through it the
 * store) what is due. Schedules live in the store, not in cron jobs, so thousands of subscriptions
 * cost one timer, a restart loses nothing (a missed minute is caught up by the next tick, folded
 * into one digest) and replicas coordinate through the runner's claims. `noOverlap` keeps a slow
 * tick (monitor time-outs) from running twice in this process.
 */
export class DigestScheduler {
  private task?: ScheduledTask;
  private running?: Promise<RunReport | undefined>;
  private readonly logger: Logger;

  constructor(
    private readonly runner: DigestRunner,
    private readonly options: DigestSchedulerOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
  }

  start(): void {
    if (this.task) return;
    this.task = cron.schedule(this.options.expression ?? '* * * * *', () => this.tick(), {
      name: 'askpanda-digests',
      noOverlap: true,
      timezone: 'UTC',
    });
  }

  /** One run now; never throws (a failing tick is logged and the next one tries again). */
  tick(at = new Date()): Promise<RunReport | undefined> {
    const run = this.runner
      .run(at)
      .then((report) => {
        if (report.posted.length || report.waitingForMonitor.length || report.failedPosts.length) {
          this.logger.info(
            {
              posted: report.posted.length,
              waiting: report.waitingForMonitor.length,
              failedPosts: report.failedPosts.length,
              requests: report.monitorRequests,
            },
            'digest tick',
          );
        }
        this.options.onTick?.(report);
        return report;
      })
      .catch((err: unknown) => {
        this.logger.error(
          { err: err instanceof Error ? err.message : String(err) },
          'digest tick failed; the next tick tries again',
        );
        return undefined;
      });
    this.running = run;
    return run;
  }

  /** Stops the timer and waits for a tick in progress (its claims and records stay consistent). */
  async stop(): Promise<void> {
    const task = this.task;
    this.task = undefined;
    if (task) await task.destroy();
    await this.running;
  }
}
