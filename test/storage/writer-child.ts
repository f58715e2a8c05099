// Child process for the kill -9 test: writes, reports, then hangs until killed.
import { openStore } from '../../src/storage/open-store.ts';

const [dataDir, store = '', prefix = 'k'] = process.argv.slice(2);
const s = await openStore({ dataDir: dataDir!, store });
for (let i = 0; i < 50; i++) await s.ns('history').set(`${prefix}${i}`, { turn: i, text: 'x'.repeat(100) });
await s.ns('subscriptions').set(`${prefix}-sub`, { task: 46374283 });
process.stdout.write('written\n');
setInterval(() => undefined, 1000);
