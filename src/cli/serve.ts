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
      const stop = async () => {
        await app.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
