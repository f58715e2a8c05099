// Child process: takes SQLite's write lock on a store file (BEGIN EXCLUSIVE), holds it for the
// given milliseconds while the event loop stays free, then commits. Says "locked" once it holds it.
// With a third argument it commits every that many milliseconds and takes the lock again in the
// same tick: a busy writer that makes progress, not one sitting on the lock.
import Database from 'better-sqlite3';

const [file, holdMs = '2000', commitEveryMs] = process.argv.slice(2);
const db = new Database(file!, { timeout: 10_000 });
db.pragma('journal_mode = WAL');
db.exec('CREATE TABLE IF NOT EXISTS holder (x INTEGER)');
const insert = db.prepare('INSERT INTO holder (x) VALUES (?)');
db.exec('BEGIN EXCLUSIVE');
insert.run(Date.now());
process.stdout.write('locked\n');
const churn = commitEveryMs
  ? setInterval(() => {
      db.exec('COMMIT');
      db.exec('BEGIN EXCLUSIVE');
      insert.run(Date.now());
    }, Number(commitEveryMs))
  : undefined;
setTimeout(() => {
  clearInterval(churn);
  db.exec('COMMIT');
  db.close();
  process.stdout.write('released\n');
}, Number(holdMs));
