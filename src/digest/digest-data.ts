import { TASKS_PER_REQUEST, type PandaClient } from '../panda/client.ts';
import type { ErrorsResponse, TaskWithCounts } from '../panda/schemas.ts';
import { AskPandaError, isAskPandaError } from '../core/errors.ts';

export type Fetched<T> = { ok: true; value: T } | { ok: false; error: AskPandaError };

/**
 * The monitor requests of one digest run: one `/errors/` per (task, window), however many channels
 * share that window, and `/tasks/` for the status of every due task, 50 ids per request. All go
 * through the shared client (its cache, time-outs, retries, 429 handling and concurrency cap).
 * When the monitor looks down (several failures in a row) the rest of the run fails fast instead of
 * waiting out every time-out; the runner retries on a later tick.
 */
export class DigestData {
  private readonly errorsByWindow = new Map<string, Promise<Fetched<ErrorsResponse>>>();
  private consecutiveFailures = 0;
  private down?: AskPandaError;

  constructor(
    private readonly client: PandaClient,
    private readonly options: { breakAfter?: number } = {},
  ) {}

  /** Failures of one task modified in (after, until]. */
  errors(jeditaskid: number, window: { after: number; until: number }): Promise<Fetched<ErrorsResponse>> {
    const key = `${jeditaskid}:${window.after}:${window.until}`;
    let pending = this.errorsByWindow.get(key);
    if (!pending) {
      pending = this.guard(() =>
        this.client.taskErrorsInWindow(jeditaskid, { after: new Date(window.after), until: new Date(window.until) }),
      );
      this.errorsByWindow.set(key, pending);
    }
    return pending;
  }

  /** Status rows of the tasks; a task the monitor does not list maps to a not_found error. */
  async statuses(ids: readonly number[]): Promise<Map<number, Fetched<TaskWithCounts>>> {
    const unique = [...new Set(ids)].sort((a, b) => a - b);
    const chunks: number[][] = [];
    for (let i = 0; i < unique.length; i += TASKS_PER_REQUEST) chunks.push(unique.slice(i, i + TASKS_PER_REQUEST));
    const results = new Map<number, Fetched<TaskWithCounts>>();
    await Promise.all(
      chunks.map(async (chunk) => {
        const fetched = await this.guard(() => this.client.tasksWithJobCounts(chunk));
        for (const id of chunk) {
          if (!fetched.ok) results.set(id, fetched);
          else {
            const row = fetched.value.get(id);
            results.set(
              id,
              row
                ? { ok: true, value: row }
                : { ok: false, error: new AskPandaError('not_found', `The monitor no longer lists task ${id}.`) },
            );
          }
        }
      }),
    );
    return results;
  }

  private async guard<T>(load: () => Promise<T>): Promise<Fetched<T>> {
    if (this.down) return { ok: false, error: this.down };
    try {
      const value = await load();
      this.consecutiveFailures = 0;
      return { ok: true, value };
    } catch (err) {
      const error = isAskPandaError(err)
        ? err
        : new AskPandaError(
            'monitor_unavailable',
            `The monitor request failed (${err instanceof Error ? err.message : String(err)}).`,
          );
      if (error.kind === 'monitor_unavailable' || error.kind === 'rate_limited') {
        this.consecutiveFailures++;
        if (this.consecutiveFailures >= (this.options.breakAfter ?? 3)) this.down = error;
      }
      return { ok: false, error };
    }
  }
}

/** One sentence for the digest when the monitor could not give a task's failures. */
export function missingFailuresNote(error: AskPandaError): string {
  const why =
    error.kind === 'rate_limited'
      ? 'the monitor is rate-limiting us'
      : error.kind === 'not_found'
        ? 'the monitor has no error summary for it'
        : 'the monitor did not answer';
  return `Failures could not be read (${why}); they will be in the next digest`;
}

/** One sentence for the digest when the monitor could not give a task's status. */
export function missingStatusNote(error: AskPandaError): string {
  return error.kind === 'not_found' ? 'the monitor no longer lists this task' : 'status not available from the monitor';
}
