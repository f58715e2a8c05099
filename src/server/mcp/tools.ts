import { AskPandaError } from '../../core/errors.ts';
import { jobLogAnalysisTool, taskStatusTool } from './agent-tools.ts';
import { askTool } from './ask.ts';
import { docsSearchTool } from './docs-search.ts';
import { errorCodeTool } from './error-code.ts';
import { queueInfoTool } from './queue-info.ts';
import { bounded, failure } from './results.ts';
import { taskFailuresTool } from './task-failures.ts';
import { findTool } from '../../tools/registry.ts';
import { mcpToolFrom } from './panda-tool.ts';
import type { McpTool, ToolCall, ToolOutput } from './tool.ts';

/** askpanda's PanDA tools for MCP clients, in the order they are listed. */
export const TOOLS: readonly McpTool[] = [
  mcpToolFrom(findTool('panda_job_status')!),
  jobLogAnalysisTool,
  taskStatusTool,
  taskFailuresTool,
  errorCodeTool,
  docsSearchTool,
  askTool,
  queueInfoTool,
];

/**
 * Runs one tool within the process's limits (askpanda_ask through the conversation core, which
 * applies them itself); every failure comes back as a ToolOutput with `error`, never as an
 * exception, with the sentence a chat user would see. Outputs are bounded.
 */
export async function runTool(tool: McpTool, args: unknown, call: ToolCall): Promise<ToolOutput> {
  try {
    const run = () => tool.run(args, call);
    const requester = { channel: call.transport, user: call.client, local: call.transport === 'stdio' };
    return bounded(tool.asksTheCore ? await run() : await call.app.conversation.limited('mcp', requester, run));
  } catch (err) {
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
