import type { AnswerDraft } from '../core/answer.ts';
import { withAnswerUsage } from '../llm/usage.ts';
import type { Agent, AgentContext } from './agent.ts';
import { MAX_FOLLOW_UPS, MIN_FOLLOW_UPS, suggestFollowUps } from './follow-ups.ts';

/** Per-answer token use as it appears in `facts.llmUsage` (absent when no model was called). */
export interface AnswerUsage {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  estimatedCostUsd: number;
}

/**
 * What every answer gets whichever agent wrote it: 2–4 grounded follow-ups (when the agent left
 * fewer or more) and the tokens and estimated cost of the model calls made for it.
 */
export function withAnswerExtras(agent: Agent): Agent {
  return {
    kind: agent.kind,
    async handle(context: AgentContext): Promise<AnswerDraft> {
      const { result: draft, usage } = await withAnswerUsage(() => agent.handle(context));
      const out: AnswerDraft = { ...draft };
      if (!out.error && (out.followUps.length < MIN_FOLLOW_UPS || out.followUps.length > MAX_FOLLOW_UPS)) {
        out.followUps = suggestFollowUps(out, context, out.followUps);
      }
      const totals = usage.totals();
      if (totals.calls > 0) {
        const llmUsage: AnswerUsage = {
          calls: totals.calls,
          inputTokens: totals.inputTokens,
          outputTokens: totals.outputTokens,
          estimatedCostUsd: Math.round(totals.costUsd * 1e6) / 1e6,
        };
        out.facts = { ...out.facts, llmUsage };
      }
      return out;
    },
  };
}
