import { existsSync } from 'node:fs';
import path from 'node:path';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * The shared reference texts (../shared/reference beside the repo). A helper's git worktree sits one
 * level deeper (/work/wt/<name>), so the parent of the parent is tried too; ASKPANDA_REFERENCE_DIR
 * overrides both. Undefined when none exists: tests that need it skip and say why.
 */
export function referenceDir(): string | undefined {
  const candidates = [
    process.env.ASKPANDA_REFERENCE_DIR,
    path.resolve(REPO_ROOT, '../shared/reference'),
    path.resolve(REPO_ROOT, '../../shared/reference'),
  ];
  return candidates.find(
    (dir): dir is string => !!dir && existsSync(path.join(dir, 'askpanda-resources-panda_documentation.txt')),
  );
}

/** Where the reference texts were looked for, for the message of a skipped test or bench. */
export const REFERENCE_HINT = '../shared/reference beside the repo (or ASKPANDA_REFERENCE_DIR)';
