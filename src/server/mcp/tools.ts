import { AskPandaError } from '../../core/errors.ts';
import { BusyError } from '../question-gate.ts';
import { jobLogAnalysisTool, taskStatusTool } from './agent-tools.ts';
import { askTool } from './ask.ts';
import { docsSearchTool } from './docs-search.ts';
import { errorCodeTool } from './error-code.ts';
import { jobStatusTool } from './job-status.ts';
import { queueInfoTool } from './queue-info.ts';
import { bounded, failure } from './results.ts';
import { taskFailuresTool } from './task-failures.ts';
import type { McpTool, ToolCall, ToolOutput } from './tool.ts';

/** askpanda's PanDA tools for MCP clients, in the order they are listed. */
export const TOOLS: readonly McpTool[] = [
  jobStatusTool,
  jobLogAnalysisTool,
  taskStatusTool,
  taskFailuresTool,
  errorCodeTool,
  docsSearchTool,
  askTool,
  queueInfoTool,
];

/**
 * Runs one tool within the process's limits; every failure comes back as a ToolOutput with
 * `error`, never as an exception, with the sentence a chat user would see. Outputs are bounded.
 */
export async function runTool(tool: McpTool, args: unknown, call: ToolCall): Promise<ToolOutput> {
  try {
    return bounded(await call.gate.run('mcp', `${call.transport}:${call.client}`, () => tool.run(args, call)));
  } catch (err) {
    if (err instanceof BusyError) return failure('busy', err.message);
    if (err instanceof AskPandaError) return failure(err.kind, err.message);
    if (call.signal?.aborted) return failure('bad_input', 'The request was cancelled.');
    call.app.logger.error(
      { tool: tool.name, err: err instanceof Error ? err.message : String(err) },
      'MCP tool failed',
    );
    return failure(
      'monitor_unavailable',
      'Something went wrong on my side while answering. Please try again in a minute; ' +
        'if it keeps happening, tell the askpanda maintainers.',
    );
  }
}
