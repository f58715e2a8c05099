/**
 * The benchmark's BigPanDA, in its own process so the digest run's memory is its own: the loopback
 * fake (real URLs and JSON shapes, /errors/ summarised from job records like the monitor does) with
 * N watched tasks of F failed jobs each and a fixed latency per request. Prints its URL; answers
 * "stats" and "reset" messages over IPC.
 *   argv: tasks failuresPerTask latencyMs firstTaskId windowFromIso windowToIso
 */
import { generatedFailures, startFakeBigPanda, watchedTask } from '../test/fakes/bigpanda.ts';

const [tasks, failures, latency, firstId, from, to] = process.argv.slice(2);
const ids = Array.from({ length: Number(tasks) }, (_, i) => Number(firstId) + i);
const fake = await startFakeBigPanda({
  latencyMs: Number(latency),
  tasks: ids.map((id) =>
    watchedTask(id, {
      failures: generatedFailures({
        jeditaskid: id,
        from: Date.parse(from!),
        to: Date.parse(to!),
        count: Number(failures),
      }),
    }),
  ),
});
process.on('message', (message) => {
  if (message === 'reset') {
    fake.requests.length = 0;
    fake.resetInFlight();
    process.send?.({ reset: true });
  } else if (message === 'stats') {
    process.send?.({
      inFlightMax: fake.inFlightMax,
      errors: fake.count('/errors/'),
      tasks: fake.count('/tasks/'),
      total: fake.requests.length,
    });
  } else if (message === 'exit') {
    void fake.close().then(() => process.exit(0));
  }
});
process.stdout.write(`${fake.url}\n`);
