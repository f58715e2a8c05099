/**
 * Where Mattermost calls the bot on the process's one HTTP server: the slash command's request URL
 * and the buttons' integration URL (ASKPANDA_PUBLIC_URL + the path). Loads no SDK, so the
 * descriptor can name them before the adapter is imported.
 */
export const MATTERMOST_PATHS = { command: '/mattermost/command', actions: '/mattermost/actions' } as const;

/** A slash command form and a click's JSON are a few KiB; the server waits for neither for long. */
export const CALLBACK_LIMITS = { maxBodyBytes: 64 * 1024, timeoutMs: 10_000 } as const;
