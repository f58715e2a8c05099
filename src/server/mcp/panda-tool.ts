import { toAnswer } from '../../bot/render.ts';
import { ToolInputError, type PandaTool, type ToolContext } from '../../tools/tool.ts';
import { failure } from './results.ts';
import type { McpTool, ToolCall } from './tool.ts';

/**
 * A registry tool as MCP serves it: the same input, the offline answer's markdown as the text and
 * the tool's model view as the structured result.
 */
export function mcpToolFrom(tool: PandaTool): McpTool {
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    input: tool.input,
    returnsAnswer: false,
    readOnly: true,
    openWorld: tool.openWorld,
    async run(args, call) {
      try {
        const outcome = await tool.execute(args, toolContext(call));
        const structured =
          outcome.forModel !== null && typeof outcome.forModel === 'object' && !Array.isArray(outcome.forModel)
            ? (outcome.forModel as Record<string, unknown>)
            : { result: outcome.forModel };
        return { text: toAnswer(outcome.draft).text, structured };
      } catch (err) {
        if (err instanceof ToolInputError) return failure('bad_input', err.message);
        throw err;
      }
    },
  };
}

function toolContext(call: ToolCall): ToolContext {
  const { app } = call;
  return {
    panda: app.panda,
    cric: app.cric,
    docs: app.docs,
    config: app.config,
    logger: app.logger,
    progress: call.progress,
    signal: call.signal,
  };
}
