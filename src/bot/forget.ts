import { emptyDraft } from '../core/answer.ts';
import type { Command } from './commands.ts';
import { threadKey } from '../core/incoming.ts';
import type { ThreadHistory } from './thread-history.ts';

/** `forget`: deletes what the bot keeps of this thread (its history), at once. */
export function forgetCommand(history: ThreadHistory): Command {
  return {
    name: 'forget',
    summary: 'delete what I remember of this thread (its history)',
    usage: 'forget',
    accepts: (args) =>
      args.length === 0 ||
      (args.length <= 2 && /^(?:this|the)?\s*(?:thread|conversation|chat)?$/i.test(args.join(' '))),
    async run({ incoming }) {
      await history.clear(threadKey(incoming));
      return emptyDraft(
        'command',
        'Done: I have deleted what I remembered of this thread. A follow-up here now needs the job or task id again.',
      );
    },
  };
}
