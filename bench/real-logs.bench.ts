/**
 * Job answers on real log text (bench/eval/real-logs.json): the fraction of jobs whose answer quotes
 * the causal line and names the cause, on the held-out part (the figure) and on the tuning part.
 *
 *   npm run bench -- real-logs
 *
 * Every case runs through the job agent (offline model) against the loopback fake BigPanDA, its
 * excerpts served as the files of the job's log tarball. Goal: held-out >= 90 %; monitor requests of
 * a cold answer <= 4.
 */
import { fraction, runRealLogEval } from './eval/real-logs.ts';

const GOAL = 0.9;
const results = await runRealLogEval();
for (const r of results)
  console.log(
    `${r.pass ? 'pass' : 'MISS'}  ${r.split.padEnd(8)}  ${r.id.padEnd(40)}  quoted ${r.quoted ? 'yes' : 'no '}  named ${r.named ? 'yes' : 'no '}  requests ${r.requests}`,
  );
const held = fraction(results, 'held-out');
const tuning = fraction(results, 'tuning');
const pct = (f: { pass: number; of: number }) => `${((100 * f.pass) / f.of).toFixed(0)} % (${f.pass} of ${f.of})`;
const met = held.pass / held.of >= GOAL;
console.log(`tuning part: ${pct(tuning)} (the patterns were adjusted on these cases)`);
console.log(`held-out part (the figure): ${pct(held)}   goal >= ${GOAL * 100} % → ${met ? 'MET' : 'MISSED'}`);
const maxRequests = Math.max(...results.map((r) => r.requests));
console.log(
  `monitor requests per cold answer: at most ${maxRequests}   goal <= 4 → ${maxRequests <= 4 ? 'MET' : 'MISSED'}`,
);
if (!met || maxRequests > 4) process.exitCode = 1;
