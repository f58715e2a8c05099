import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import type { Bot } from '../bot/bot.ts';

export interface ConsoleOptions {
  input: Readable;
  output: Writable;
  /** Where the thinking status goes (stderr on a terminal); nothing when omitted. */
  status?: Writable;
  /** One thread for the whole session, so follow-ups work like in a chat thread. */
  thread?: string;
  prompt?: boolean;
}

/**
 * Terminal chat through the same bot as the chat platforms: one line in, one answer out, history
 * kept per session. Ends at end of input or on "exit"/"quit".
 */
export async function runConsole(bot: Bot, options: ConsoleOptions): Promise<void> {
  const thread = options.thread ?? `console-${randomUUID()}`;
  const rl = createInterface({ input: options.input, terminal: false, crlfDelay: Infinity });
  const prompt = () => {
    if (options.prompt) options.output.write('\nyou> ');
  };
  let lastStatus = '';
  // The bot and the agent may both announce the same step; say it once.
  const showStatus = (status: string) => {
    if (status !== lastStatus) options.status?.write(`askpanda ${status}\n`);
    lastStatus = status;
  };
  prompt();
  for await (const line of rl) {
    const text = line.trim();
    if (text === '') {
      prompt();
      continue;
    }
    if (/^(exit|quit|:q)$/i.test(text)) break;
    const answer = await bot.handle(
      {
        platform: 'console',
        channel: 'terminal',
        thread,
        user: process.env.USER || 'user',
        text: line,
        isDirect: true,
      },
      { progress: (status) => showStatus(status) },
    );
    options.output.write(`\naskpanda> ${answer.text}\n`);
    prompt();
  }
  rl.close();
}
