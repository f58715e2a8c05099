import { jobStatusTool } from './job/status.ts';
import type { PandaTool } from './tool.ts';

/**
 * Every PanDA tool, one line each, in the order MCP lists them. The offline router, a model's tool
 * calls and MCP all take their tools from here.
 */
export const PANDA_TOOLS: readonly PandaTool[] = [jobStatusTool];

export function findTool(name: string): PandaTool | undefined {
  return PANDA_TOOLS.find((tool) => tool.name === name);
}
