import type { ErrorKind } from './answer.ts';

/** An error that is meant for the user: its message says what happened and what to do. */
export class AskPandaError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AskPandaError';
  }
}

export function isAskPandaError(err: unknown): err is AskPandaError {
  return err instanceof AskPandaError;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
