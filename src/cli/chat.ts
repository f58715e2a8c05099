import { Command } from 'commander';
import { runConsole } from '../adapters/console.ts';
import { startApp } from './context.ts';

export function chatCommand(): Command {
  return new Command('chat')
    .description('Chat with askpanda in the terminal (history is kept for the session; "exit" to leave).')
    .action(async () => {
      const { app } = await startApp({ interactive: true });
      try {
        for (const line of app.banners) process.stderr.write(`${line}\n`);
        await runConsole(app.conversation, {
          input: process.stdin,
          output: process.stdout,
          status: process.stderr,
          prompt: process.stdin.isTTY === true,
        });
      } finally {
        await app.close();
      }
    });
}
