// Every temporary folder the suite makes (data dirs, fake sites, sockets, browser profiles, its
// child processes' own) goes under one folder per run, removed at the end: a CI machine that runs
// the suite all day would otherwise fill /tmp with a few hundred folders per run.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ENABLE_BROWSER_TESTS, findChromium } from './support/chromium.ts';
import { ENABLE_REDIS, everyTestRequired, onPath, redisAnswers } from './support/services.ts';

export default async function setup(): Promise<() => void> {
  const root = mkdtempSync(path.join(tmpdir(), 'askpanda-tests-'));
  // Like /tmp itself: tests that run the CLI as another user (nobody) need to write here too.
  chmodSync(root, 0o1777);
  process.env.TMPDIR = root;
  const skipped: string[] = [];
  if (!everyTestRequired()) {
    if (!findChromium()) skipped.push(`the web chat's browser test: ${ENABLE_BROWSER_TESTS}`);
    if (!(await redisAnswers())) skipped.push(`the tests on a shared Redis: ${ENABLE_REDIS}`);
    if (!onPath('redis-server'))
      skipped.push('the Redis restart test: install redis-server (Debian: apt-get install redis-server)');
  }
  return () => {
    // Said last, after vitest's summary, so a skipped test is not mistaken for a passed one.
    for (const line of skipped) process.stdout.write(`\nSkipped ${line}.\n`);
    try {
      rmSync(root, { recursive: true, force: true, maxRetries: 3 });
    } catch (err) {
      // A mount point still busy, say: leave the rest rather than fail a green run over a folder.
      process.stderr.write(
        `could not remove the suite's temporary folder ${root}: ${err instanceof Error ? err.message : String(err)}\n`,
      );
    }
  };
}
