// Child process of the concurrency tests: waits for rounds on stdin, each naming a fresh data dir;
// opens the store there, writes history, cache and feedback entries and tries every claim, closes,
// and reports one JSON line per round. Any error is reported, never thrown past this loop.
import { createInterface } from 'node:readline';
import { openStore } from '../../src/storage/open-store.ts';

const worker = Number(process.argv[2]);
const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
for await (const line of lines) {
  const round = JSON.parse(line) as { dir: string; claims: string[]; writes: number };
  const started = performance.now();
  try {
    const store = await openStore({ dataDir: round.dir, store: '' });
    const won: string[] = [];
    await Promise.all([
      (async () => {
        for (let i = 0; i < round.writes; i++)
          await store
            .ns('history')
            .set(`w${worker}-${i}`, [{ role: 'user', text: `question ${i} of ${worker}`, at: i }]);
      })(),
      (async () => {
        for (let i = 0; i < round.writes; i++) await store.ns('cache').set(`w${worker}-${i}`, { worker, i }, 3_600_000);
      })(),
      (async () => {
        for (const key of round.claims) if (await store.claimOnce(key, 3_600_000)) won.push(key);
      })(),
    ]);
    await store.close();
    process.stdout.write(`${JSON.stringify({ ok: true, worker, won, ms: performance.now() - started })}\n`);
  } catch (err) {
    process.stdout.write(
      `${JSON.stringify({ ok: false, worker, error: err instanceof Error ? err.message : String(err) })}\n`,
    );
  }
}
