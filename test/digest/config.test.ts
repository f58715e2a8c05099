import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.ts';
import { loadConfig } from '../../src/load-config.ts';

describe('digest settings', () => {
  it('has defaults a fresh install can use, and reads ASKPANDA_ADMINS as a list', () => {
    const config = loadConfig({ env: { ASKPANDA_ADMINS: 'U0ADMIN, slack:U0OTHER ,' } });
    expect(config.digest).toEqual({
      schedule: 'daily at 08:00',
      timezone: 'UTC',
      quiet: 'post',
      changes: 'anyone',
      admins: ['U0ADMIN', 'slack:U0OTHER'],
      maxPerChannel: 50,
      retryMinutes: 5,
      maxDelayMinutes: 30,
      claimLeaseSeconds: 300,
      scheduler: true,
      tick: '* * * * *',
    });
  });

  it.each([
    [
      { ASKPANDA_DIGEST_SCHEDULE: 'every 5h' },
      'Invalid setting digest.schedule (from ASKPANDA_DIGEST_SCHEDULE) = "every 5h": expected "daily at HH:MM", "weekdays at HH:MM" or "every Nh" (N = 1, 2, 3, 4, 6, 8, 12 or 24).',
    ],
    [
      { ASKPANDA_DIGEST_TIMEZONE: 'CET' },
      'Invalid setting digest.timezone (from ASKPANDA_DIGEST_TIMEZONE) = "CET": expected an IANA time zone such as UTC or Europe/Zurich.',
    ],
    [
      { ASKPANDA_DIGEST_QUIET: 'never' },
      'Invalid setting digest.quiet (from ASKPANDA_DIGEST_QUIET) = "never": expected post or silent.',
    ],
    [
      { ASKPANDA_DIGEST_CHANGES: 'owners' },
      'Invalid setting digest.changes (from ASKPANDA_DIGEST_CHANGES) = "owners": expected anyone or admins.',
    ],
  ])('refuses %j with one line', (env, message) => {
    expect(() => loadConfig({ env })).toThrow(ConfigError);
    expect(() => loadConfig({ env })).toThrow(message);
  });
});
