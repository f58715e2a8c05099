import { Command } from 'commander';
import { startPlatforms, type RunningPlatform } from '../adapters/platforms.ts';
import { configuredPlatforms } from '../adapters/registry.ts';
import { collectTaskWindows } from '../digest/runner.ts';
import { DigestData } from '../digest/digest-data.ts';
import { buildDigest } from '../digest/builder.ts';
import { createDigestRunner } from '../digest/service.ts';
import { digestPosters, platformsWithoutPoster } from '../digest/wiring.ts';
import { canonicalZone } from '../util/zone.ts';
import { startApp, EXIT_USAGE } from './context.ts';

/** An ISO-8601 instant; without a zone it is read as UTC (the monitor's time), a bare date as 00:00 UTC. */
export function parseInstant(text: string): number | undefined {
  const m = text
    .trim()
    .match(/^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i);
  if (!m) return undefined;
  const zone = m[3] ? (m[3].toUpperCase() === 'Z' ? 'Z' : m[3].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')) : 'Z';
  const t = Date.parse(`${m[1]}T${m[2] ?? '00:00'}${zone}`);
  return Number.isNaN(t) ? undefined : t;
}

function usage(message: string): void {
  process.stderr.write(`askpanda digest: ${message}\n`);
  process.exitCode = EXIT_USAGE;
}

const GIVEN_UP = 'given up for this window, its failures go into the next digest';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function runCommand(): Command {
  return new Command('run')
    .description(
      'Post every digest that is due at that instant (overdue ones combined into one catch-up per ' +
        'subscription) and record it; a second run at the same instant posts nothing. What `serve` does each ' +
        'minute; for system cron or a Kubernetes CronJob.',
    )
    .option('--at <iso>', 'the instant to run at (ISO-8601, UTC when no zone is given); default now')
    .option('--json', 'print the run report as one JSON object (terminal digests then go to stderr)')
    .addHelpText(
      'after',
      '\nExamples:\n  askpanda digest run\n  askpanda digest run --at 2025-09-09T08:00:00Z\n' +
        '  crontab: * * * * * cd /srv/askpanda && npx askpanda digest run\n\n' +
        'Exit codes: 0 done, 1 some digests could not be posted (they stay due), 2 usage errors.',
    )
    .action(async (options: { at?: string; json?: boolean }) => {
      const at = options.at === undefined ? Date.now() : parseInstant(options.at);
      if (at === undefined)
        return usage(`--at takes an ISO-8601 instant such as 2025-09-09T08:00:00Z, not "${options.at}"`);
      const { app } = await startApp({ interactive: true });
      const platforms: RunningPlatform[] = [];
      try {
        // Connected for posting only (no websocket, no HTTP routes), each on its own: one that cannot
        // connect keeps its own digests due and does not hold back the others'.
        for (const platform of configuredPlatforms(app.config)) {
          try {
            platforms.push(...(await startPlatforms(app, { receive: false, platforms: [platform] })));
          } catch (err) {
            process.stderr.write(
              `askpanda digest run: could not connect to ${platform.title} for posting ` +
                `(${err instanceof Error ? err.message : String(err)}).\n`,
            );
          }
        }
        const posters = await digestPosters(app, { terminal: options.json ? process.stderr : process.stdout });
        const report = await createDigestRunner(app, posters).run(new Date(at));
        if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
        const tasks = report.posted.reduce((n, p) => n + p.tasks.length, 0);
        const parts = [`posted ${plural(report.posted.length, 'digest')} (${plural(tasks, 'task')})`];
        if (report.quiet) parts.push(`${report.quiet} quiet`);
        if (report.claimedElsewhere) parts.push(`${report.claimedElsewhere} already done or in progress elsewhere`);
        if (report.waitingForMonitor.length)
          parts.push(
            `${report.waitingForMonitor.length} waiting for the monitor (next try ${report.waitingForMonitor[0]!.retryAt})`,
          );
        if (report.ended.length)
          parts.push(
            `subscriptions ended for finished ${report.ended.length === 1 ? 'task' : 'tasks'} ${report.ended.join(', ')}`,
          );
        process.stderr.write(
          `askpanda digest run at ${report.at}: ${parts.join('; ')}; ${plural(report.monitorRequests, 'monitor request')}.\n`,
        );
        for (const failed of report.failedPosts)
          process.stderr.write(
            `askpanda digest run: posting to ${failed.target.platform} channel ${failed.target.channel} failed ` +
              `(${failed.error}); ${failed.givenUp ? GIVEN_UP : 'retrying later'}.\n`,
          );
        const configured = configuredPlatforms(app.config).map((p) => p.name);
        const missing = platformsWithoutPoster(configured, posters);
        for (const { platform, subscriptions } of report.unpostable) {
          const configured = missing.includes(platform)
            ? 'is configured, but could not be connected for posting'
            : 'is not configured in this process';
          process.stderr.write(
            `askpanda digest run: ${plural(subscriptions, 'due subscription')} in ${platform} channels not ` +
              `posted: ${platform} ${configured}; they stay due and go out, combined, once it can post.\n`,
          );
        }
        if (report.unpostable.length || report.failedPosts.some((f) => !f.givenUp)) process.exitCode = 1;
      } finally {
        for (const platform of platforms) await platform.stop().catch(() => undefined);
        await app.close();
      }
    });
}

export function digestCommand(): Command {
  const command = new Command('digest')
    // Options after `run` are run's own (both have --json).
    .enablePositionalOptions()
    .description(
      "Digests of a task's new failures. `digest --task N` prints one without posting or recording it; `digest run` posts the due ones.",
    )
    .option('--task <id>', 'the JEDI task id')
    .option('--since <iso>', 'start of the window (ISO-8601, UTC when no zone is given); default 24 hours ago')
    .option('--tz <zone>', 'time zone the times are shown in (Area/City); default digest.timezone')
    .option('--json', 'print the message and the per-task facts as one JSON object')
    .addHelpText(
      'after',
      '\nExamples:\n  askpanda digest --task 46374283\n' +
        '  askpanda digest --task 46374283 --since 2025-09-08T00:00:00Z --tz Europe/Zurich\n' +
        '  askpanda digest run --at 2025-09-09T08:00:00Z',
    )
    .action(async (options: { task?: string; since?: string; tz?: string; json?: boolean }) => {
      if (options.task === undefined)
        return usage('give --task N to print a digest, or use `askpanda digest run` (see askpanda digest --help)');
      if (!/^\d{1,15}$/.test(options.task)) return usage(`--task takes a JEDI task id (digits), not "${options.task}"`);
      const until = Date.now();
      const after = options.since === undefined ? until - 86_400_000 : parseInstant(options.since);
      if (after === undefined)
        return usage(`--since takes an ISO-8601 instant such as 2025-09-08T08:00:00Z, not "${options.since}"`);
      if (after >= until) return usage('--since must be in the past');
      const zone = options.tz === undefined ? undefined : canonicalZone(options.tz);
      if (options.tz !== undefined && !zone)
        return usage(`--tz takes an IANA time zone such as Europe/Zurich or UTC, not "${options.tz}"`);
      const jeditaskid = Number(options.task);
      const { app } = await startApp({ interactive: true });
      try {
        if (!options.json) for (const line of app.banners) process.stderr.write(`${line}\n`);
        const [collected] = await collectTaskWindows(new DigestData(app.panda), [
          { jeditaskid, window: { after, until } },
        ]);
        if (
          !collected!.statusFetch.ok &&
          (collected!.statusFetch.error.kind === 'not_found' || !collected!.errorsFetch.ok)
        ) {
          const error = collected!.statusFetch.error;
          const problem =
            error.kind === 'not_found'
              ? `the monitor has no task ${jeditaskid}; check the number, or open ${app.panda.taskPage(jeditaskid)}`
              : `the monitor did not answer for task ${jeditaskid}: ${error.message}`;
          process.stderr.write(`askpanda digest: ${problem}\n`);
          process.exitCode = 1;
          return;
        }
        const built = buildDigest({
          tasks: [collected!],
          timezone: zone ?? app.config.digest.timezone,
          quiet: 'post',
          links: { taskPage: (id) => app.panda.taskPage(id), jobPage: (id) => app.panda.jobPage(id) },
        });
        const message = built.message!;
        if (options.json) {
          const window = { after: new Date(after).toISOString(), until: new Date(until).toISOString() };
          process.stdout.write(`${JSON.stringify({ window, message, tasks: built.tasks })}\n`);
        } else {
          process.stdout.write(
            `${[message.markdown, ...message.details.map((d) => `--- in the thread ---\n${d}`)].join('\n\n')}\n`,
          );
        }
      } finally {
        await app.close();
      }
    });
  command.addCommand(runCommand().exitOverride().showHelpAfterError('(run askpanda digest run --help for usage)'));
  return command;
}
