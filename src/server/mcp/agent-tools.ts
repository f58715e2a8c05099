import { jeditaskid, pandaid } from '../../tools/inputs.ts';
import { fromAnswer } from './results.ts';
import { defineTool, toolIncoming } from './tool.ts';

/**
 * The tools that are one of askpanda's agents on the route the caller names: the same Answer a
 * chat user gets, without routing or thread history.
 */

export const jobLogAnalysisTool = defineTool({
  name: 'panda_job_log_analysis',
  title: 'Why did a PanDA job fail',
  description:
    'Diagnosis of one PanDA job: finds the error component and code, reads the right log ' +
    '(pilotlog.txt, or payload.stdout/stderr for payload failures), and explains the cause for users and experts, ' +
    "with the log lines that show it as evidence, the queue's limits for memory and time failures, and monitor links. " +
    'For running or finished jobs it gives a status summary. Slower: may read a large log.',
  input: { pandaid },
  returnsAnswer: true,
  readOnly: true,
  openWorld: true,
  async run({ pandaid: id }, call) {
    return fromAnswer(
      await call.app.bot.handleRoute(
        toolIncoming(call, `why did job ${id} fail?`),
        { agent: 'job', pandaid: id, reason: 'MCP tool panda_job_log_analysis' },
        { progress: call.progress, signal: call.signal },
      ),
    );
  },
});

export const taskStatusTool = defineTool({
  name: 'panda_task_status',
  title: 'PanDA task status',
  description:
    'Status of one JEDI task: progress of its input files, job counts by state, ' +
    'the most frequent failures with an example job each, and what to do next, with monitor links.',
  input: { jeditaskid },
  returnsAnswer: true,
  readOnly: true,
  openWorld: true,
  async run({ jeditaskid: id }, call) {
    return fromAnswer(
      await call.app.bot.handleRoute(
        toolIncoming(call, `what is happening with task ${id}?`),
        { agent: 'task', jeditaskid: id, reason: 'MCP tool panda_task_status' },
        { progress: call.progress, signal: call.signal },
      ),
    );
  },
});
