// Child process: takes SQLite's write lock on a store file (BEGIN EXCLUSIVE), holds it for the
// given milliseconds while the event loop stays free, then commits. Says "locked" once it holds it.
import Database from 'better-sqlite3';

const [file, holdMs = '2000'] = process.argv.slice(2);
const db = new Database(file!, { timeout: 10_000 });
db.pragma('journal_mode = WAL');
db.exec('CREATE TABLE IF NOT EXISTS holder (x INTEGER)');
db.exec('BEGIN EXCLUSIVE');
db.prepare('INSERT INTO holder (x) VALUES (?)').run(Date.now());
process.stdout.write('locked\n');
setTimeout(() => {
  db.exec('COMMIT');
  db.close();
  process.stdout.write('released\n');
}, Number(holdMs));
