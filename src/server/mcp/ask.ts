import { z } from 'zod';
import { RequestSurface } from '../../bot/request-surface.ts';
import { AskPandaError } from '../../core/errors.ts';
import { fromAnswer } from './results.ts';
import { defineTool } from './tool.ts';

const threadError = 'expected a thread id of 1-100 letters, digits, dots, colons, dashes or underscores';

/** askpanda_ask: a whole question through the conversation core, as a chat user would ask it. */
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
  asksTheCore: true,
  async run({ question, thread }, call) {
    const asked = await call.app.conversation.ask(new RequestSurface('mcp', { status: call.progress }), {
      channel: call.transport,
      // Without a thread the core asks in a one-off thread and remembers nothing.
      thread,
      user: call.client,
      local: call.transport === 'stdio',
      text: question,
      signal: call.signal,
    });
    if (asked.retryAfterSeconds !== undefined) throw new AskPandaError('busy', asked.answer.text);
    return fromAnswer(asked.answer);
  },
});
