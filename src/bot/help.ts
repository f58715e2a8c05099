import { emptyDraft } from '../core/answer.ts';
import type { Command } from './commands.ts';

export function helpCommand(botName: string): Command {
  return {
    name: 'help',
    summary: 'what I can do and how to ask',
    usage: 'help',
    async run({ registry }) {
      const draft = emptyDraft(
        'command',
        `I am @${botName}: I explain PanDA job and task failures and answer questions about PanDA, ` +
          `from the BigPanDA monitor, the job logs and the documentation.`,
      );
      draft.sections.push(
        {
          title: 'Ask me',
          body: [
            '- `why did job 6802258254 fail?`: reads the job, picks the right log (pilot log, ' +
              'or the payload output for user failures) and explains the cause.',
            '- `what is happening with task 46374283?`: progress, job states and the top failure reasons.',
            '- `which queues are brokeroff?`, `what is the maxtime of AGLT2?`, `is BNL accepting MCORE jobs?`: ' +
              'PanDA queues and sites from CRIC; `is PanDA up?` checks the PanDA server and the monitor.',
            '- `what does pilot error 1213 mean?`, `exit code 65 of a transform`, `taskbuffer error 100`: ' +
              'what the code means, who usually has to act and what to do.',
            '- `what is a pilot?`, `how do I retry failed jobs?`: answered from the documentation, with sources.',
            '- In a thread, follow-ups such as `how can I fix it?` stay on the same job or task.',
          ].join('\n'),
        },
        {
          title: 'Commands',
          body: registry
            .list()
            .map((c) => `- \`${c.usage}\`: ${c.summary}`)
            .join('\n'),
        },
      );
      return draft;
    },
  };
}
