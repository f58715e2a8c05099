import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { fromAnswer } from './results.ts';
import { defineTool, toolIncoming } from './tool.ts';

const threadError = 'expected a thread id of 1-100 letters, digits, dots, colons, dashes or underscores';

/** askpanda_ask: a whole question through the bot, as a chat user would ask it. */
export const askTool = defineTool({
  name: 'askpanda_ask',
  title: 'Ask askpanda',
  description:
    'Sends a whole question through askpanda (it picks the job, task, queue or documentation answer) and returns ' +
    'the finished answer as askpanda would post it in chat, with sections, evidence, links, sources and ' +
    'follow-up questions. Use it when you want the finished answer rather than the data.',
  input: {
    question: z
      .string({ error: 'expected the question as text' })
      .trim()
      .min(1, { error: 'expected a question' })
      .max(8000, { error: 'expected a question of at most 8,000 characters' })
      .describe('the question, as a user would type it, e.g. "why did job 6802258254 fail?"'),
    thread: z
      .string({ error: threadError })
      .regex(/^[\w.:-]{1,100}$/, { error: threadError })
      .optional()
      .describe(
        'optional conversation id: questions with the same thread share history, so "how can I fix it?" knows the job',
      ),
  },
  returnsAnswer: true,
  // It writes the thread's history.
  readOnly: false,
  openWorld: true,
  async run({ question, thread }, call) {
    return fromAnswer(
      await call.app.bot.handle(
        { ...toolIncoming(call, question), thread: thread ?? `once-${randomUUID()}` },
        { progress: call.progress, signal: call.signal, remember: thread !== undefined },
      ),
    );
  },
});
