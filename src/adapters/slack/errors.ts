import { errorMessage } from '../../core/errors.ts';

/** The Slack error code ("not_in_channel", "ratelimited" …) or the message, never a token. */
export function slackError(err: unknown): string {
  if (err && typeof err === 'object' && 'data' in err) {
    const data = (err as { data?: { error?: unknown } }).data;
    if (data && typeof data.error === 'string') return data.error;
  }
  return redactTokens(errorMessage(err));
}

/** Bot (xoxb-), user (xoxp-) and app-level (xapp-) tokens replaced: SDK messages and logs may quote them. */
export function redactTokens(text: string): string {
  return text.replace(/xox[a-z]-[\w-]+|xapp-[\w-]+/g, '[redacted]');
}
