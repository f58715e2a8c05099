#!/usr/bin/env -S node --max-semi-space-size=2
// The `askpanda` command. It runs the compiled code in dist/ (`npm run build`) when that is there
// and not older than the sources, so an installed copy needs no TypeScript compiler at run time;
// otherwise the TypeScript sources through tsx, so `npx askpanda` works right after `npm ci`.
// --max-semi-space-size=2 (MiB): streaming a multi-GB log allocates a string per 64 KiB batch, and
// V8 otherwise grows its young generation to 16 MiB semi-spaces (up to ~40 MiB more peak RSS, rising
// with the log's size); at 2 MiB a 1 GiB scan stays within a few MiB of the process baseline.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const compiled = path.join(root, 'dist', 'cli', 'main.js');
const sources = path.join(root, 'src');

/** The newest modification time under `dir` (a source edited after the build makes dist stale). */
function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

const useCompiled =
  existsSync(compiled) && (!existsSync(sources) || newestMtime(sources) <= statSync(compiled).mtimeMs);
process.env.ASKPANDA_RUNTIME = useCompiled ? 'compiled' : 'sources';
if (useCompiled) {
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
