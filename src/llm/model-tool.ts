import { z } from 'zod';
import type { ToolInputSchema, ToolSpec } from './chat-model.ts';

/** What a tool returns: text, or JSON the loop serialises for the model. */
export type ToolOutput =
  string | number | boolean | null | readonly ToolOutput[] | { readonly [key: string]: ToolOutput };

/**
 * A tool a model may call in a tool loop: its spec for the model, the zod schema every call's input
 * is checked against, and what runs it. `execute` gets the loop's signal (deadline and caller's abort).
 */
export interface ModelTool<Input = unknown> {
  readonly name: string;
  readonly description: string;
  readonly input: z.ZodType<Input>;
  execute(input: Input, signal: AbortSignal): Promise<ToolOutput> | ToolOutput;
}

/** Names every provider accepts for a function (OpenAI's rule is the strictest). */
const TOOL_NAME = /^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$/;

/** A tool whose `execute` is typed by its schema. */
export function defineModelTool<Input>(tool: ModelTool<Input>): ModelTool<Input> {
  if (!TOOL_NAME.test(tool.name)) throw new Error(`tool name ${JSON.stringify(tool.name)} is not ${TOOL_NAME}`);
  return tool;
}

/**
 * The spec a model sees: the input schema as JSON Schema from zod (what the model writes is the
 * schema's input side, before defaults and transforms), without `$schema`, which some APIs refuse.
 */
export function toolSpec(tool: ModelTool): ToolSpec {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(tool.input, { io: 'input' }) as Record<string, unknown>;
  if (schema.type !== 'object')
    throw new Error(`tool ${tool.name}: its input must be an object schema (providers take named arguments)`);
  return { name: tool.name, description: tool.description, inputSchema: schema as ToolInputSchema };
}
