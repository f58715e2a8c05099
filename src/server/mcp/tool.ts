import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { ErrorKind } from '../../core/answer.ts';
import type { Incoming } from '../../core/incoming.ts';
import type { ServerDeps } from '../server-deps.ts';

/** One call of a tool: who asks, over what, and where its progress goes. */
export interface ToolCall {
  app: ServerDeps;
  /** stdio (a local client) or http (the /mcp endpoint). */
  transport: 'stdio' | 'http';
  /** Who is asking, for the limits: "stdio" or the client's address. */
  client: string;
  progress: (status: string) => void;
  signal?: AbortSignal;
}

export interface ToolOutput {
  text: string;
  structured: Record<string, unknown>;
  /** Set: the call failed for a reason the caller can act on (shown as a tool error). */
  error?: { kind: ErrorKind; message: string };
}

/**
 * One of askpanda's MCP tools: its name, what it is for (written for a model choosing among
 * them), its zod input shape (the MCP server checks the arguments against it before `run`), and
 * what it does. A tool returns markdown for people and a structured object for programs.
 */
export interface McpTool {
  name: string;
  title: string;
  description: string;
  input: z.ZodRawShape;
  /** The result is one of askpanda's Answers: the Answer schema is its output schema. */
  returnsAnswer: boolean;
  /** Changes nothing (MCP's readOnlyHint): false for a tool that writes thread history. */
  readOnly: boolean;
  /** Reaches services outside askpanda (MCP's openWorldHint): the monitor, CRIC. */
  openWorld: boolean;
  /** Asks through the conversation core, which applies the limits itself. */
  asksTheCore?: boolean;
  run(args: unknown, call: ToolCall): Promise<ToolOutput>;
}

/** A tool whose `run` receives its arguments as typed by its input shape. */
export function defineTool<S extends z.ZodRawShape>(
  tool: Omit<McpTool, 'input' | 'run'> & {
    input: S;
    run(args: z.infer<z.ZodObject<S>>, call: ToolCall): Promise<ToolOutput>;
  },
): McpTool {
  // The MCP server has parsed the arguments with `input` before it calls run.
  return { ...tool, run: (args, call) => tool.run(args as z.infer<z.ZodObject<S>>, call) };
}

/** A tool's question as the bot sees it: a thread of its own, nothing remembered. */
export function toolIncoming(call: ToolCall, text: string): Incoming {
  return {
    platform: 'mcp',
    channel: call.transport,
    thread: `tool-${randomUUID()}`,
    user: call.client,
    text,
    isDirect: true,
  };
}
