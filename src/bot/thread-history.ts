import type Keyv from 'keyv';
import { TurnsSchema, type Turn } from '../core/turn.ts';

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
    // A save still being written (an answer posted before its history landed) is read back, not missed.
    const pending = savesInFlight(this.space).get(threadKey);
    if (pending) await pending;
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
    const saves = savesInFlight(this.space);
    const write = this.space.set(threadKey, kept, this.budget.ttlDays * 86_400_000);
    const settled = write.then(
      () => undefined,
      () => undefined,
    );
    saves.set(threadKey, settled);
    try {
      await write;
    } finally {
      if (saves.get(threadKey) === settled) saves.delete(threadKey);
    }
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

/** Per store namespace (every ThreadHistory on it shares them), the saves not yet written. */
const pendingSaves = new WeakMap<Keyv, Map<string, Promise<void>>>();
function savesInFlight(space: Keyv): Map<string, Promise<void>> {
  let saves = pendingSaves.get(space);
  if (!saves) pendingSaves.set(space, (saves = new Map()));
  return saves;
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
