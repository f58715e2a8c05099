/**
 * A digest run that dies between claim and post: it claims its window, calls the poster, says
 * "posting" and hangs there until the parent test kills it with SIGKILL.
 */
import { PandaClient } from '../../src/panda/client.ts';
import { loadConfig } from '../../src/load-config.ts';
import { openStore } from '../../src/storage/open-store.ts';
import { SubscriptionStore } from '../../src/digest/subscription-store.ts';
import { DigestRunner } from '../../src/digest/runner.ts';

const [dataDir, monitorUrl, lease, at] = process.argv.slice(2) as [string, string, string, string];
const config = loadConfig({ env: { ASKPANDA_DATA_DIR: dataDir, ASKPANDA_MONITOR_METADATA_TTL_SECONDS: '0' } });
const store = await openStore(config);
const runner = new DigestRunner({
  subscriptions: new SubscriptionStore(store),
  client: new PandaClient(config, { baseUrl: monitorUrl, publicUrl: 'https://bigpanda.cern.ch', backoffMs: 5 }),
  poster: {
    post: () => {
      process.stdout.write('posting\n');
      return new Promise(() => setInterval(() => undefined, 1000));
    },
  },
  settings: { quiet: 'post', retryMinutes: 5, maxDelayMinutes: 30, claimLeaseMs: Number(lease) },
});
await runner.run(new Date(at));
