import { AsyncLocalStorage } from 'node:async_hooks';
import type { Usage } from './chat-model.ts';
import { llmCostUsdTotal, llmTokensTotal } from '../core/metrics.ts';

/**
 * List prices in USD per million tokens (input, output), for estimates only: providers change them
 * and discount cached input. Unknown models count tokens with no cost; local Ollama models are free.
 */
const PRICES: Array<{ match: RegExp; input: number; output: number }> = [
  { match: /^openai:gpt-4o-mini/, input: 0.15, output: 0.6 },
  { match: /^openai:gpt-4o/, input: 2.5, output: 10 },
  { match: /^openai:gpt-4\.1-mini/, input: 0.4, output: 1.6 },
  { match: /^openai:gpt-4\.1/, input: 2, output: 8 },
  { match: /^openai:gpt-5-mini/, input: 0.25, output: 2 },
  { match: /^openai:gpt-5/, input: 1.25, output: 10 },
  { match: /^anthropic:claude-(?:3-5-)?haiku|^anthropic:claude-haiku/, input: 1, output: 5 },
  { match: /^anthropic:claude-(?:sonnet|3-7-sonnet|3-5-sonnet)/, input: 3, output: 15 },
  { match: /^anthropic:claude-opus/, input: 15, output: 75 },
  { match: /^gemini:gemini-2\.5-flash-lite/, input: 0.1, output: 0.4 },
  { match: /^gemini:gemini-2\.5-flash/, input: 0.3, output: 2.5 },
  { match: /^gemini:gemini-2\.5-pro/, input: 1.25, output: 10 },
  { match: /^mistral:mistral-small/, input: 0.1, output: 0.3 },
  { match: /^mistral:mistral-medium/, input: 0.4, output: 2 },
  { match: /^mistral:mistral-large/, input: 2, output: 6 },
  { match: /^ollama:/, input: 0, output: 0 },
];

/** Estimated USD cost of one call; 0 for models without a known price. */
export function estimateCostUsd(model: string, usage: Usage): number {
  const price = PRICES.find((p) => p.match.test(model));
  if (!price) return 0;
  return (usage.inputTokens * price.input + usage.outputTokens * price.output) / 1_000_000;
}

export interface UsageTotals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

function emptyTotals(): UsageTotals {
  return { calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
}

/** Sums of token use, overall and per model. */
export class UsageMeter {
  private readonly all = emptyTotals();
  private readonly perModel = new Map<string, UsageTotals>();

  record(model: string, usage: Usage): void {
    const cost = estimateCostUsd(model, usage);
    for (const totals of [this.all, this.forModel(model)]) {
      totals.calls++;
      totals.inputTokens += usage.inputTokens;
      totals.outputTokens += usage.outputTokens;
      totals.costUsd += cost;
    }
  }

  totals(): UsageTotals {
    return { ...this.all };
  }

  byModel(): Record<string, UsageTotals> {
    return Object.fromEntries([...this.perModel].map(([model, totals]) => [model, { ...totals }]));
  }

  private forModel(model: string): UsageTotals {
    let totals = this.perModel.get(model);
    if (!totals) this.perModel.set(model, (totals = emptyTotals()));
    return totals;
  }
}

/** Totals since the process started: the metrics endpoint reads these. */
export const processUsage = new UsageMeter();

/** The meter of the answer being built, so every model call on its behalf is counted to it. */
const answerScope = new AsyncLocalStorage<UsageMeter>();

/** Runs `work` with a fresh per-answer meter; returns the work's result and the meter. */
export async function withAnswerUsage<T>(work: () => Promise<T>): Promise<{ result: T; usage: UsageMeter }> {
  const meter = new UsageMeter();
  const result = await answerScope.run(meter, work);
  return { result, usage: meter };
}

/** Counts one model call to the process totals and to the current answer, if any. */
export function recordUsage(model: string, usage: Usage): void {
  processUsage.record(model, usage);
  const provider = model.split(':')[0] ?? 'unknown';
  llmTokensTotal.inc({ provider, kind: 'input' }, usage.inputTokens);
  llmTokensTotal.inc({ provider, kind: 'output' }, usage.outputTokens);
  llmCostUsdTotal.inc({ provider }, estimateCostUsd(model, usage));
  answerScope.getStore()?.record(model, usage);
}
