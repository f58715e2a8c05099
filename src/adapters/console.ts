import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import type { Conversation } from '../bot/conversation.ts';
import { RequestSurface } from '../bot/request-surface.ts';

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
 * Terminal chat through the conversation core, like the chat platforms: one line in, one answer
 * out, history kept per session. Ends at end of input or on "exit"/"quit".
 */
export async function runConsole(conversation: Conversation, options: ConsoleOptions): Promise<void> {
  const thread = options.thread ?? `console-${randomUUID()}`;
  const status = options.status;
  const surface = new RequestSurface('console', {
    status: status && ((text) => status.write(`askpanda ${text}\n`)),
  });
  const rl = createInterface({ input: options.input, terminal: false, crlfDelay: Infinity });
  const prompt = () => {
    if (options.prompt) options.output.write('\nyou> ');
  };
  prompt();
  for await (const line of rl) {
    const text = line.trim();
    if (text === '') {
      prompt();
      continue;
    }
    if (/^(exit|quit|:q)$/i.test(text)) break;
    const { answer } = await conversation.ask(surface, {
      channel: 'terminal',
      thread,
      user: process.env.USER || 'user',
      text: line,
      local: true,
    });
    options.output.write(`\naskpanda> ${answer.text}\n`);
    prompt();
  }
  rl.close();
}
