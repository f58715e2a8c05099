import type { Config } from './schema.ts';

/**
 * Demo mode: ASKPANDA_DEMO=1, or nothing configured at all (no monitor URL or token set and no
 * chat platform: `chatPlatformConfigured` is src/adapters/registry.ts's answer), so `npm ci && npm start`
 * on a fresh machine shows something real instead of failing to reach CERN. ASKPANDA_DEMO=0 turns it off.
 */
export function isDemoMode(
  config: Config,
  origin: ReadonlyMap<string, string>,
  chatPlatformConfigured: boolean,
): boolean {
  if (config.demo) return true;
  if (origin.has('demo')) return false;
  const monitorSet = origin.has('monitor.url') || origin.has('monitor.token');
  return !monitorSet && !chatPlatformConfigured;
}

export const DEMO_BANNER = [
  'DEMO MODE: answers come from an embedded copy of a few example PanDA jobs and tasks and of a CRIC ' +
    'queue snapshot, not from the live monitor and CRIC.',
  'Try: "Why did job 6800730400 fail?", "Why did job 6802258254 fail?", "What is going on with job ' +
    '6798544333?", "What is happening with task 46374283?", "Which queues are brokeroff?"',
  'To use the real monitor set PANDA_MONITOR_URL=https://bigpanda.cern.ch (and PANDA_MONITOR_TOKEN if ' +
    'your monitor needs one), or ASKPANDA_DEMO=0.',
].join('\n');
