/**
 * Why the state store failed, in words a user can act on. Both carry the store's path (never a
 * Redis password) so the one line printed at start or by the CLI says which file to look at.
 */

/** Another process held the SQLite write lock for longer than the retry budget. */
export class StoreLockedError extends Error {
  readonly code = 'store_locked';
  constructor(
    readonly where: string,
    readonly sqliteCode: string,
    readonly waitedMs: number,
  ) {
    super(
      `the state store ${where} is locked by another process (${sqliteCode} for ${(waitedMs / 1000).toFixed(1)} s): ` +
        'wait for the other askpanda command to finish, or give each process its own ASKPANDA_DATA_DIR; ' +
        'several replicas need ASKPANDA_STORE=redis://…',
    );
    this.name = 'StoreLockedError';
  }
}

export type StoreOpenProblem = 'not_sqlite' | 'read_only' | 'full' | 'cannot_open' | 'locked' | 'unreachable';

/** The store could not be opened at all: the message names the path and what to do. */
export class StoreOpenError extends Error {
  readonly code = 'store_unavailable';
  constructor(
    readonly where: string,
    readonly problem: StoreOpenProblem,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`the state store ${where} cannot be opened: ${detail}`, options);
    this.name = 'StoreOpenError';
  }
}

export function isStoreError(err: unknown): err is StoreLockedError | StoreOpenError {
  return err instanceof StoreLockedError || err instanceof StoreOpenError;
}
