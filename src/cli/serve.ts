import { Command } from 'commander';
import { runConsole } from '../adapters/console.ts';
import { configuredPlatforms } from '../config/demo-mode.ts';
import { startApp } from './context.ts';

export function serveCommand(): Command {
  return new Command('serve')
    .description('Run everything configured: platform adapters (Slack, Mattermost), digests, health/metrics HTTP.\nWith nothing configured it runs the demo in the terminal.')
    .action(async () => {
      const { app } = await startApp();
      for (const line of app.banners) process.stderr.write(`${line}\n`);
      const platforms = configuredPlatforms(app.config);
      if (platforms.length === 0) {
        process.stderr.write('No chat platform is configured (see README: Slack, Mattermost); chatting in the terminal instead.\n');
        await runConsole(app.bot, { input: process.stdin, output: process.stdout, status: process.stderr, prompt: process.stdin.isTTY === true });
        await app.close();
        return;
      }
      app.logger.info({ platforms }, 'askpanda serving');
      const stoppers: Array<() => Promise<void>> = [];
      if (app.config.slack.botToken) {
        try {
          // Bolt and its dependencies load only when Slack is configured.
          const { SlackAdapter } = await import('../adapters/slack.ts');
          const slack = new SlackAdapter(app);
          await slack.start();
          stoppers.push(() => slack.stop());
        } catch (err) {
          process.stderr.write(`askpanda: Slack did not start: ${err instanceof Error ? err.message : String(err)}\n`);
          await app.close();
          process.exit(1);
        }
      }
      if (app.config.digest.scheduler) {
        // The tick posts through whatever src/digest/wiring.ts registers for each platform.
        const { digestPosters, platformsWithoutPoster } = await import('../digest/wiring.ts');
        const { startDigestScheduler } = await import('../digest/service.ts');
        const posters = await digestPosters(app);
        if (posters.platforms.length) {
          const scheduler = startDigestScheduler(app, posters);
          stoppers.push(() => scheduler.stop());
          app.logger.info({ platforms: posters.platforms }, 'digest scheduler started (one tick a minute)');
        }
        const missing = platformsWithoutPoster(app, posters);
        if (missing.length) process.stderr.write(`askpanda: digests cannot be posted to ${missing.join(' or ')} yet (not wired in: src/digest/wiring.ts); subscriptions made there wait and go out, combined, once they can.\n`);
      }
      const stop = async () => {
        for (const stopOne of stoppers.reverse()) await stopOne().catch(() => undefined);
        await app.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
