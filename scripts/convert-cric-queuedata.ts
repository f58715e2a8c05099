/**
 * Converts Ask PanDA's CRIC snapshot (an SQLite file, table `queuedata`, one queue per row with the
 * whole CRIC record in `raw_json`) into the demo's queue dump: the JSON object CRIC itself answers
 * to GET /api/atlas/pandaqueue/query/?json, keyed by PanDA queue name.
 *
 *   node --import tsx scripts/convert-cric-queuedata.ts [queuedata.db] [out.json]
 *
 * Defaults: shared/reference/askpanda-resources-queuedata.db next to the checkout → src/panda/demo/cric-queuedata.json.
 * Needs the `sqlite3` command-line tool (3.33 or later, for `-json`); Debian: `apt-get install sqlite3`.
 * Run it once when the reference snapshot changes and commit the output; nothing reads the .db at
 * run time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// The shared reference folder sits next to the main checkout (../shared) or above a worktree (../../shared).
const referenceDb = ['..', '../..']
  .map((up) => path.resolve(root, up, 'shared/reference/askpanda-resources-queuedata.db'))
  .find((file) => existsSync(file));
const dbFile = process.argv[2] ?? referenceDb;
const outFile = process.argv[3] ?? path.join(root, 'src/panda/demo/cric-queuedata.json');

type Queue = Record<string, unknown>;

/**
 * The demo jobs run at BNL_PROD_MCORE and ANALY_MWT2_UCORE, names of the time before CRIC merged
 * them into the unified queues BNL and MWT2 (which the snapshot has). Each is added as a copy of
 * its unified successor under the old name, saying so in its `comment`, so the demo's job answers
 * have a queue to compare with. The other demo sites (MWT2, AGLT2, UKI-NORTHGRID-MAN-HEP,
 * ANALY_GOEGRID) are in the snapshot as they are.
 */
const DEMO_ALIASES: Array<{ name: string; from: string; changes: Queue }> = [
  { name: 'BNL_PROD_MCORE', from: 'BNL', changes: { description: 'BNL production queue (askpanda demo copy of BNL)' } },
  {
    name: 'ANALY_MWT2_UCORE',
    from: 'MWT2',
    changes: { description: 'MWT2 analysis queue (askpanda demo copy of MWT2)', type: 'analysis' },
  },
];
const DEMO_SITES = ['BNL_PROD_MCORE', 'ANALY_MWT2_UCORE', 'MWT2', 'AGLT2', 'UKI-NORTHGRID-MAN-HEP', 'ANALY_GOEGRID'];

function readRows(file: string): Array<{ record_id: string; raw_json: string }> {
  const run = spawnSync(
    'sqlite3',
    ['-readonly', '-json', file, 'SELECT record_id, raw_json FROM queuedata ORDER BY record_id'],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  if (run.error) throw new Error(`cannot run sqlite3 (${run.error.message}); install the sqlite3 command-line tool`);
  if (run.status !== 0) throw new Error(`sqlite3 failed on ${file}: ${run.stderr.trim()}`);
  return JSON.parse(run.stdout) as Array<{ record_id: string; raw_json: string }>;
}

if (!dbFile)
  throw new Error(
    'no queuedata.db found in ../shared/reference or ../../shared/reference: give its path as the first argument',
  );
const queues = new Map<string, Queue>();
for (const row of readRows(dbFile)) {
  const record = JSON.parse(row.raw_json) as Queue;
  const name = typeof record.name === 'string' && record.name ? record.name : row.record_id;
  queues.set(name, record);
}
let nextId = Math.max(...[...queues.values()].map((q) => (typeof q.id === 'number' ? q.id : 0))) + 1;
for (const alias of DEMO_ALIASES) {
  const source = queues.get(alias.from);
  if (!source) throw new Error(`the snapshot has no queue ${alias.from} to copy as ${alias.name}`);
  queues.set(alias.name, {
    ...structuredClone(source),
    ...alias.changes,
    id: nextId++,
    name: alias.name,
    nickname: alias.name,
    panda_resource: alias.name,
    siteid: alias.name,
    comment: `askpanda demo: a copy of ${alias.from} under the name the demo jobs use`,
  });
}
for (const site of DEMO_SITES) if (!queues.has(site)) throw new Error(`demo site ${site} is missing from the dump`);

// One queue per line: small diffs when the snapshot is converted again.
const names = [...queues.keys()].sort((a, b) => a.localeCompare(b, 'en'));
const lines = names.map(
  (name, i) => `${JSON.stringify(name)}: ${JSON.stringify(queues.get(name))}${i < names.length - 1 ? ',' : ''}`,
);
writeFileSync(outFile, `{\n${lines.join('\n')}\n}\n`);
process.stdout.write(
  `${names.length} queues (${DEMO_ALIASES.length} demo copies) written to ${path.relative(process.cwd(), outFile)}\n`,
);
