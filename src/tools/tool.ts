import type { Logger } from 'pino';
import { z } from 'zod';
import type { AgentKind, AnswerDraft } from '../core/answer.ts';
import type { Config } from '../config/schema.ts';
import type { CricClient } from '../panda/cric-client.ts';
import type { PandaClient } from '../panda/client.ts';
import type { Retriever } from '../rag/retriever.ts';

/**
 * What a PanDA tool may use: the process's clients (one cache, one concurrency cap, one monitor
 * budget for everyone), where to say what it is doing, and the caller's abort signal.
 */
export interface ToolContext {
  panda: PandaClient;
  cric: CricClient;
  /** The docs index, opened on first use. */
  docs: () => Promise<Retriever>;
  config: Config;
  logger: Logger;
  /** A short status for the person waiting ("is reading pilotlog.txt of job 680…"). */
  progress: (status: string) => void;
  signal?: AbortSignal;
}

/**
 * One PanDA tool, the unit the offline router, a model's tool calls and MCP all use: typed input,
 * a declared monitor budget, structured output, an offline rendering (the answer's sections) and a
 * compact JSON for a model. A tool reads; it never changes anything in PanDA.
 */
export interface ToolDefinition<S extends z.ZodRawShape, O> {
  /** snake_case, as MCP lists it: `panda_job_logs`. Never renamed: clients call tools by name. */
  name: string;
  /** A few words for people: "Files in a job's log tarball". */
  title: string;
  /** What it returns and when to use it, written for a model choosing among the tools. */
  description: string;
  /** The input's fields; each field's `.describe()` is what a model and MCP see. */
  input: S;
  /** The Answer kind its rendering is filed under (the metric label, `ask --json`'s `agent`). */
  answers: Exclude<AgentKind, 'command'>;
  /** Monitor (BigPanDA, CRIC) requests it makes at most on a cold cache; 0 when everything is cached. */
  monitorRequests: number;
  /** Reaches services outside askpanda (MCP's openWorldHint). */
  openWorld: boolean;
  run(input: z.infer<z.ZodObject<S>>, context: ToolContext): Promise<O>;
  /** The answer built from the output alone, without a model: summary, sections, evidence, links. */
  render(output: O, input: z.infer<z.ZodObject<S>>): AnswerDraft;
  /** The output for a model: only what answering needs, ids and numbers kept, secrets redacted. */
  forModel(output: O): unknown;
}

/** What running a tool gives each caller: the offline answer, the model's view, the raw output. */
export interface ToolOutcome {
  draft: AnswerDraft;
  forModel: unknown;
  output: unknown;
}

/** A bad argument, with the sentence the caller shows (MCP: a tool error; a model: a tool result). */
export class ToolInputError extends Error {
  constructor(
    readonly tool: string,
    message: string,
  ) {
    super(message);
    this.name = 'ToolInputError';
  }
}

/**
 * A tool as the registry holds it: its definition's description, and `execute`, which checks the
 * arguments against the input schema before anything runs, so callers can pass what a model or an
 * MCP client sent.
 */
export interface PandaTool {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly input: z.ZodRawShape;
  readonly schema: z.ZodObject<z.ZodRawShape>;
  readonly answers: Exclude<AgentKind, 'command'>;
  readonly monitorRequests: number;
  readonly openWorld: boolean;
  /** Throws ToolInputError for arguments that do not fit; errors of the run itself propagate. */
  execute(args: unknown, context: ToolContext): Promise<ToolOutcome>;
}

export function defineTool<S extends z.ZodRawShape, O>(definition: ToolDefinition<S, O>): PandaTool {
  const schema = z.object(definition.input).strict();
  return {
    name: definition.name,
    title: definition.title,
    description: definition.description,
    input: definition.input,
    schema,
    answers: definition.answers,
    monitorRequests: definition.monitorRequests,
    openWorld: definition.openWorld,
    async execute(args, context) {
      const parsed = schema.safeParse(args ?? {});
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
        throw new ToolInputError(definition.name, `${definition.name}: ${where}${issue?.message ?? 'bad arguments'}`);
      }
      const input = parsed.data as z.infer<z.ZodObject<S>>;
      const output = await definition.run(input, context);
      return { draft: definition.render(output, input), forModel: definition.forModel(output), output };
    },
  };
}
