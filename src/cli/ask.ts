import { Command } from 'commander';
import { RequestSurface } from '../bot/request-surface.ts';
import { errorMessage } from '../core/errors.ts';
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
      [
        '\nExamples:',
        '  askpanda ask "Why did job 6802258254 fail?"',
        '  askpanda ask "What is happening with task 46374283?" --json',
        '  askpanda ask "how can I fix it?" --thread t1',
        '\nExit codes: 0 when an answer was produced (an error answer too), 2 on usage errors.',
      ].join('\n'),
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
      try {
        if (!options.json) for (const line of app.banners) process.stderr.write(`${line}\n`);
        const showStatus = process.stderr.isTTY && !options.json;
        const surface = new RequestSurface('cli', {
          status: showStatus ? (text) => process.stderr.write(`askpanda ${text}\n`) : undefined,
        });
        // Without --thread the core asks in a one-off thread and remembers nothing.
        const { answer, historyError } = await app.conversation.ask(surface, {
          channel: 'cli',
          thread: options.thread,
          user: process.env.USER || 'cli',
          text: question,
          local: true,
        });
        process.stdout.write(options.json ? `${JSON.stringify(answer)}\n` : `${answer.text}\n`);
        if (historyError !== undefined) {
          await app.close();
          exitWith(`this answer was not saved for --thread ${options.thread}: ${errorMessage(historyError)}`);
        }
      } finally {
        await app.close();
      }
    });
}
