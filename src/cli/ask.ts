import { Command } from 'commander';
import { startApp, EXIT_USAGE, exitWith } from './context.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // Invalid UTF-8 becomes U+FFFD, which the bot answers as bad input instead of guessing.
  return new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(chunks));
}

export function askCommand(): Command {
  return new Command('ask')
    .description('Ask one question through the whole pipeline and print the answer.')
    .argument('[question...]', 'the question; reads standard input when omitted or "-"')
    .option('--json', 'print the Answer as one JSON object (see DESIGN.md)')
    .option('--thread <id>', 'load and save history under this thread id, so a second call is a follow-up')
    .addHelpText(
      'after',
      '\nExamples:\n  askpanda ask "Why did job 6802258254 fail?"\n  askpanda ask "What is happening with task 46374283?" --json\n  askpanda ask "how can I fix it?" --thread t1\n\nExit codes: 0 when an answer was produced (an error answer too), 2 on usage errors.',
    )
    .action(async (words: string[], options: { json?: boolean; thread?: string }) => {
      let question = words.join(' ');
      if (words.length === 0 || question === '-') {
        if (process.stdin.isTTY) {
          process.stderr.write('askpanda ask: give a question, e.g. askpanda ask "Why did job 6802258254 fail?"\n');
          process.exitCode = EXIT_USAGE;
          return;
        }
        question = await readStdin();
      }
      if (options.thread !== undefined && !/^[\w.:-]{1,128}$/.test(options.thread)) {
        process.stderr.write(
          'askpanda ask: --thread takes 1-128 letters, digits, dots, colons, dashes or underscores\n',
        );
        process.exitCode = EXIT_USAGE;
        return;
      }
      // A follow-up (--thread) needs its history saved; a one-shot question needs no store at all.
      const { app } = await startApp({ interactive: true, needsStore: options.thread !== undefined });
      let saved: Promise<void> | undefined;
      try {
        if (!options.json) for (const line of app.banners) process.stderr.write(`${line}\n`);
        const answer = await app.bot.handle(
          {
            platform: 'cli',
            channel: 'cli',
            thread: options.thread ?? `ask-${process.pid}-${Date.now()}`,
            user: process.env.USER || 'cli',
            text: question,
            isDirect: true,
          },
          {
            progress: (status) =>
              process.stderr.isTTY && !options.json ? process.stderr.write(`askpanda ${status}\n`) : undefined,
            remember: options.thread !== undefined,
            deferHistorySave: (promise) => (saved = promise),
          },
        );
        process.stdout.write(options.json ? `${JSON.stringify(answer)}\n` : `${answer.text}\n`);
        const failure = await saved?.then(
          () => undefined,
          (err: unknown) => err,
        );
        if (failure !== undefined) {
          await app.close();
          exitWith(
            `this answer was not saved for --thread ${options.thread}: ${failure instanceof Error ? failure.message : String(failure)}`,
          );
        }
      } finally {
        await app.close();
      }
    });
}
