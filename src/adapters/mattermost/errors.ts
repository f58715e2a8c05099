import mm from '@mattermost/client';

const { ClientError } = mm;

/**
 * What can go wrong talking to Mattermost, as errors that say it in one line: at start for the
 * operator (`MattermostStartError`: which setting to fix), later for the log and the glue
 * (`MattermostApiError`: the route, the status and the server's error id).
 */

export type StartFailure = 'bad_url' | 'bad_token' | 'unreachable' | 'timeout' | 'not_mattermost' | 'websocket';

/** Why `start()` could not connect; the message is one line for the operator. */
export class MattermostStartError extends Error {
  constructor(
    readonly reason: StartFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MattermostStartError';
  }
}

/** A REST call that failed: `status` 0 for a network error or time-out. */
export class MattermostApiError extends Error {
  constructor(
    readonly route: string,
    readonly status: number,
    /** The server's error id (`api.context.permissions.app_error`, …), or `network` / `timeout`. */
    readonly errorId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MattermostApiError';
  }
}

export function badUrlError(url: string): MattermostStartError {
  return new MattermostStartError(
    'bad_url',
    `MATTERMOST_URL "${url}" is not an http(s) URL: set it to your server's address, e.g. https://mattermost.example.org`,
  );
}

/** A Client4 failure as MattermostApiError. */
export function apiError(route: string, err: unknown): MattermostApiError {
  if (err instanceof MattermostApiError) return err;
  if (err instanceof ClientError) {
    return new MattermostApiError(
      route,
      err.status_code ?? 0,
      err.server_error_id ?? 'unknown',
      `Mattermost ${route} failed (${err.status_code ?? '?'}): ${err.message}`,
      { cause: err },
    );
  }
  if (isTimeout(err))
    return new MattermostApiError(route, 0, 'timeout', `Mattermost ${route} timed out`, { cause: err });
  return new MattermostApiError(route, 0, 'network', `Mattermost ${route} failed: ${networkReason(err)}`, {
    cause: err,
  });
}

/** A failed token check (`GET /users/me`) as the one line that says what to fix. */
export function startError(err: unknown, base: string, timeoutMs: number): MattermostStartError {
  if (err instanceof ClientError) {
    const status = err.status_code ?? 0;
    if (status === 401)
      return new MattermostStartError(
        'bad_token',
        `Mattermost at ${base} refused MATTERMOST_TOKEN (401: ${err.message || 'invalid or expired session'}): ` +
          'create an access token for the bot account (System Console → Integrations → Bot Accounts) ' +
          'and set MATTERMOST_TOKEN to it',
        { cause: err },
      );
    if (status === 404)
      return new MattermostStartError(
        'not_mattermost',
        `${base} answered 404 for /api/v4/users/me: ` +
          "set MATTERMOST_URL to the Mattermost server's base address (without /api/v4)",
        { cause: err },
      );
    if (status === 403)
      return new MattermostStartError(
        'bad_token',
        `Mattermost at ${base} refused MATTERMOST_TOKEN (403: ${err.message}): ` +
          'the account may be deactivated or not allowed to use access tokens',
        { cause: err },
      );
    return new MattermostStartError(
      'unreachable',
      `Mattermost at ${base} answered ${status || 'an error'} for /api/v4/users/me` +
        `${err.message ? ` (${err.message})` : ''}: try again when the server is up, or check MATTERMOST_URL`,
      { cause: err },
    );
  }
  if (isTimeout(err))
    return new MattermostStartError(
      'timeout',
      `Mattermost at ${base} did not answer within ${Math.round(timeoutMs / 1000)} s: ` +
        'check MATTERMOST_URL and the network',
      { cause: err },
    );
  return new MattermostStartError(
    'unreachable',
    `Cannot reach Mattermost at ${base} (${networkReason(err)}): check MATTERMOST_URL and that the server is up`,
    { cause: err },
  );
}

/** A fetch aborted by its time-out signal. */
export function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

/** A short reason from a failed fetch: ECONNREFUSED, ENOTFOUND, a certificate error, … */
function networkReason(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** A loggable summary of an error (no request bodies, no tokens). */
export function describeError(err: unknown): Record<string, unknown> {
  if (err instanceof MattermostApiError)
    return { route: err.route, status: err.status, id: err.errorId, message: err.message };
  return { message: err instanceof Error ? err.message : String(err) };
}
