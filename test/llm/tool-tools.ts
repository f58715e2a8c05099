import { z } from 'zod';
import { defineModelTool, type ModelTool } from '../../src/llm/model-tool.ts';
import type { LlmFake, RecordedRequest } from '../fakes/llm/index.ts';

export const QUESTION = [
  { role: 'system' as const, content: 'You are askpanda. Use the tools to look up what you need.' },
  { role: 'user' as const, content: 'Why did job 6802258254 fail?' },
];

/** A secret the job's record carries: it must never reach a provider. */
export const TOOL_SECRET = 'sk-proj-TOOLSECRET0123456789abcdef';

/** PanDA-like tools for the loop tests; `executed` lists every run, in order. */
export function panDaTools(): { tools: ModelTool[]; executed: Array<{ tool: string; input: unknown }> } {
  const executed: Array<{ tool: string; input: unknown }> = [];
  const jobStatus = defineModelTool({
    name: 'job_status',
    description: 'Status, error codes and site of one PanDA job.',
    input: z.object({ pandaid: z.number().int().positive().describe('the PanDA job id') }),
    execute: (input) => {
      executed.push({ tool: 'job_status', input });
      return {
        pandaid: input.pandaid,
        status: 'failed',
        pilotErrorCode: 1305,
        site: 'BNL',
        env: `export PANDA_TOKEN=${TOOL_SECRET}`,
      };
    },
  });
  const jobLogs = defineModelTool({
    name: 'job_logs',
    description: 'The tail of one log file of a PanDA job.',
    input: z.object({ pandaid: z.number().int().positive(), file: z.string().optional() }),
    execute: (input) => {
      executed.push({ tool: 'job_logs', input });
      return 'ERROR | stage-in failed: no replica of the input file at BNL';
    },
  });
  return { tools: [jobStatus, jobLogs], executed };
}

/** The request of the round where the model must answer: tool choice `none` (Ollama: no tools offered). */
export function isFinalRound(fake: LlmFake, request: RecordedRequest): boolean {
  const offered = fake.offeredTools(request);
  return offered.choice === 'none' || offered.names.length === 0;
}
