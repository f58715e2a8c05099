import { z } from 'zod';
import { redactSecrets } from '../util/redact.ts';
import {
  ModelUnavailableError,
  type ChatMessage,
  type ChatModel,
  type ToolCall,
  type ToolResultMessage,
  type Usage,
} from './chat-model.ts';
import { raceAbort } from './race-abort.ts';
import { toolSpec, type ModelTool } from './model-tool.ts';
import { capChars, fence, formatToolResult, TOOL_RESULT_NOTE } from './tool-result.ts';

export interface ToolLoopOptions {
  messages: readonly ChatMessage[];
  tools: readonly ModelTool[];
  /** ModelTool calls per question, malformed ones included; then the model must answer. */
  maxToolCalls?: number;
  /** Characters of one tool result the model gets (head and tail kept). */
  maxResultChars?: number;
  /** The whole loop, every model call and tool run included. */
  deadlineMs?: number;
  signal?: AbortSignal;
  maxOutputTokens?: number;
  temperature?: number;
}

export const TOOL_LOOP_DEFAULTS = { maxToolCalls: 4, maxResultChars: 6_000, deadlineMs: 60_000 } as const;

/** One call the model made, for logs and answers' facts. */
export interface ToolCallRecord {
  name: string;
  input: unknown;
  ok: boolean;
  /** Why the call failed (unknown tool, input that is not JSON or not of the tool's shape, the tool threw). */
  error?: string;
  ms: number;
}

export interface ToolLoopResult {
  /**
   * False: no model of the chain can call tools, so none was asked (`text` is empty) and the caller
   * goes on without the model's choice of tools (the router's choice).
   */
  toolsUsed: boolean;
  text: string;
  calls: ToolCallRecord[];
  /** Summed over every model call of the loop. */
  usage: Usage;
  /** Who wrote the answer (after fallback). */
  model: string;
}

/** What the model is told when its arguments cannot be used; the echo of them is kept short. */
const ECHO_CHARS = 300;
const ERROR_CHARS = 500;

/**
 * Answers a question with tools: the model asks for tools, each call's input is checked against the
 * tool's zod schema and the tool run, and its result goes back to the model, until the model answers
 * in text. Bounded: at most `maxToolCalls` calls (a malformed one counts; it is answered with an error
 * the model can correct), then one last call with tool choice `none`, so the model must answer; all
 * within `deadlineMs`. Results are redacted, capped and fenced as untrusted data. `model` is usually
 * the fallback chain: each call goes through it, so a provider failing mid-loop hands the same
 * neutral message list to the next. Calls `complete`, never `stream`.
 */
export async function runToolLoop(model: ChatModel, options: ToolLoopOptions): Promise<ToolLoopResult> {
  const usage: Usage = { inputTokens: 0, outputTokens: 0 };
  if (!model.supportsTools) return { toolsUsed: false, text: '', calls: [], usage, model: model.id };
  const maxToolCalls = options.maxToolCalls ?? TOOL_LOOP_DEFAULTS.maxToolCalls;
  const maxResultChars = options.maxResultChars ?? TOOL_LOOP_DEFAULTS.maxResultChars;
  const deadlineMs = options.deadlineMs ?? TOOL_LOOP_DEFAULTS.deadlineMs;
  const tools = new Map(options.tools.map((tool) => [tool.name, tool]));
  if (tools.size !== options.tools.length) throw new Error('two tools of a tool loop have the same name');
  const specs = options.tools.map(toolSpec);

  const deadline = AbortSignal.timeout(deadlineMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  const messages = withToolResultNote(options.messages);
  const calls: ToolCallRecord[] = [];
  try {
    for (;;) {
      const spent = calls.length >= maxToolCalls;
      const result = await model.complete({
        messages,
        tools: specs,
        toolChoice: spent ? 'none' : 'auto',
        signal,
        ...(options.maxOutputTokens !== undefined ? { maxOutputTokens: options.maxOutputTokens } : {}),
        ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
      });
      usage.inputTokens += result.usage.inputTokens;
      usage.outputTokens += result.usage.outputTokens;
      if (spent || !result.toolCalls?.length)
        return { toolsUsed: true, text: result.text, calls, usage, model: result.model };

      messages.push({ role: 'assistant', content: result.text, toolCalls: result.toolCalls });
      for (const call of result.toolCalls) {
        // Every call gets a result (providers refuse a call left unanswered), but past the limit none runs.
        if (calls.length >= maxToolCalls) {
          messages.push(errorResult(call, `not run: the limit of ${maxToolCalls} tool calls per question is reached`));
          continue;
        }
        const { record, message } = await runCall(call, tools, signal, maxResultChars);
        calls.push(record);
        messages.push(message);
      }
    }
  } catch (err) {
    if (deadline.aborted && !options.signal?.aborted) {
      throw new ModelUnavailableError(
        `No answer with tools within ${Math.round(deadlineMs / 100) / 10} s (${calls.length} tool calls made).`,
        model.id,
        { cause: err },
      );
    }
    throw err;
  }
}

/** The conversation with the note on fenced tool results after its system prompts. */
function withToolResultNote(messages: readonly ChatMessage[]): ChatMessage[] {
  const out = [...messages];
  const firstTurn = out.findIndex((m) => m.role !== 'system');
  out.splice(firstTurn < 0 ? out.length : firstTurn, 0, { role: 'system', content: TOOL_RESULT_NOTE });
  return out;
}

async function runCall(
  call: ToolCall,
  tools: ReadonlyMap<string, ModelTool>,
  signal: AbortSignal,
  maxResultChars: number,
): Promise<{ record: ToolCallRecord; message: ToolResultMessage }> {
  const started = performance.now();
  const done = (message: ToolResultMessage, input: unknown, error?: string) => ({
    record: {
      name: call.name,
      input,
      ok: error === undefined,
      ...(error !== undefined ? { error } : {}),
      ms: Math.round(performance.now() - started),
    },
    message,
  });
  const refuse = (error: string) => done(errorResult(call, error), call.invalidInput ?? call.input, error);

  const tool = tools.get(call.name);
  if (!tool) return refuse(`there is no tool named "${call.name}"; the tools are: ${[...tools.keys()].join(', ')}`);
  if (call.invalidInput !== undefined)
    return refuse(
      `the arguments are not valid JSON (${JSON.stringify(capChars(call.invalidInput, ECHO_CHARS))}); ` +
        'send one JSON object that matches the input schema',
    );
  const parsed = tool.input.safeParse(call.input);
  if (!parsed.success) return refuse(`the arguments do not match the input schema:\n${z.prettifyError(parsed.error)}`);

  try {
    const output = await raceAbort(Promise.resolve(tool.execute(parsed.data, signal)), signal);
    const content = formatToolResult(call.name, output, maxResultChars);
    return done({ role: 'tool', toolCallId: call.id, toolName: call.name, content }, parsed.data);
  } catch (err) {
    if (signal.aborted) throw err;
    // The message may quote what the tool read (an HTTP error body): redacted and fenced like a result.
    const reason = capChars(redactSecrets(err instanceof Error ? err.message : String(err)), ERROR_CHARS);
    return done(
      {
        role: 'tool',
        toolCallId: call.id,
        toolName: call.name,
        content: `Error: the tool failed.\n${fence(call.name, reason)}`,
        isError: true,
      },
      parsed.data,
      `the tool failed: ${reason}`,
    );
  }
}

function errorResult(call: ToolCall, error: string): ToolResultMessage {
  return { role: 'tool', toolCallId: call.id, toolName: call.name, content: `Error: ${error}`, isError: true };
}
