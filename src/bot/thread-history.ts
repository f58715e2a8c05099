import type Keyv from 'keyv';
import { TurnsSchema, type Turn } from './history.ts';

export interface HistoryBudget {
  maxTurns: number;
  maxChars: number;
  ttlDays: number;
}

/** Keeps the last turns of each thread within a size budget; oldest turns go first. */
export class ThreadHistory {
  constructor(
    private readonly space: Keyv,
    private readonly budget: HistoryBudget,
  ) {}

  async load(threadKey: string): Promise<Turn[]> {
    const raw: unknown = await this.space.get(threadKey);
    const parsed = TurnsSchema.safeParse(raw ?? []);
    // A record from an older version that no longer parses is dropped rather than crashing the thread.
    return parsed.success ? parsed.data : [];
  }

  async append(threadKey: string, ...turns: Turn[]): Promise<Turn[]> {
    return this.save(threadKey, [...(await this.load(threadKey)), ...turns]);
  }

  /** Stores a thread's whole history (the caller already holds the earlier turns), within the budget. */
  async save(threadKey: string, turns: readonly Turn[]): Promise<Turn[]> {
    const kept = fitBudget(turns, this.budget);
    await this.space.set(threadKey, kept, this.budget.ttlDays * 86_400_000);
    return kept;
  }

  /**
   * Starts a thread's history from turns found on the platform (a Slack thread that began before the
   * bot was asked). Never overwrites: returns false when the thread already has history.
   */
  async seed(threadKey: string, turns: readonly Turn[]): Promise<boolean> {
    if ((await this.load(threadKey)).length > 0) return false;
    await this.append(threadKey, ...turns);
    return true;
  }

  async clear(threadKey: string): Promise<void> {
    await this.space.delete(threadKey);
  }
}

/**
 * The newest turns that fit both limits. A single turn larger than the whole budget is cut
 * rather than dropped, so the ids it carries still route follow-ups.
 */
export function fitBudget(turns: readonly Turn[], budget: Pick<HistoryBudget, 'maxTurns' | 'maxChars'>): Turn[] {
  const kept: Turn[] = [];
  let chars = 0;
  for (let i = turns.length - 1; i >= 0 && kept.length < budget.maxTurns; i--) {
    const turn = turns[i]!;
    if (chars + turn.text.length > budget.maxChars) {
      if (kept.length === 0) kept.unshift({ ...turn, text: turn.text.slice(0, budget.maxChars) });
      break;
    }
    chars += turn.text.length;
    kept.unshift(turn);
  }
  return kept;
}
