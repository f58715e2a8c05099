import type { Config } from '../config/schema.ts';
import type { Incoming } from '../core/incoming.ts';

/**
 * Who may change a channel's subscriptions: anyone who can write in it (the default: people who can
 * talk to the bot there can already ask it anything), or only the ids in ASKPANDA_ADMINS. An entry
 * "U0123ABCD" matches that user id on any platform, "slack:U0123ABCD" only on Slack. Reading
 * (`subscriptions`, `digest now`) is always open.
 */
export function isDigestAdmin(config: Pick<Config, 'digest'>, incoming: Pick<Incoming, 'platform' | 'user'>): boolean {
  return config.digest.admins.some((entry) => {
    const at = entry.indexOf(':');
    if (at > 0 && /^[a-z]+$/.test(entry.slice(0, at)))
      return entry.slice(0, at) === incoming.platform && entry.slice(at + 1) === incoming.user;
    return entry === incoming.user;
  });
}

/** undefined when allowed; otherwise the one sentence that says why not and what to do. */
export function changeRefusal(
  config: Pick<Config, 'digest'>,
  incoming: Pick<Incoming, 'platform' | 'user'>,
): string | undefined {
  if (config.digest.changes === 'anyone' || isDigestAdmin(config, incoming)) return undefined;
  if (config.digest.admins.length === 0) {
    return (
      'Subscriptions can only be changed by askpanda admins here, and none are configured yet: ' +
      'ask whoever runs askpanda to add your user id to ASKPANDA_ADMINS.'
    );
  }
  return (
    `Only askpanda admins (ASKPANDA_ADMINS) may change this channel's subscriptions, ` +
    `and your user id ${incoming.user} is not one of them; ` +
    `ask an admin, or \`subscriptions\` to see what it watches.`
  );
}
