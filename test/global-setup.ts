// Every temporary folder the suite makes (data dirs, fake sites, sockets, browser profiles, its
// child processes' own) goes under one folder per run, removed at the end: a CI machine that runs
// the suite all day would otherwise fill /tmp with a few hundred folders per run.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(path.join(tmpdir(), 'askpanda-tests-'));
  // Like /tmp itself: tests that run the CLI as another user (nobody) need to write here too.
  chmodSync(root, 0o1777);
  process.env.TMPDIR = root;
  return () => {
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
