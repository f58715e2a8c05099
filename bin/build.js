#!/usr/bin/env node
// `npm run build [-- OUT_DIR]`: compiles src/ to dist/ (or OUT_DIR) with tsconfig.build.json and
// copies the data files the code reads at run time (JSON and other non-TypeScript files under
// src/), so the compiled package runs without the sources.
import { cpSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.resolve(process.argv[2] ?? path.join(root, 'dist'));
rmSync(out, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json'), '--outDir', out],
  { cwd: root, stdio: 'inherit' },
);
cpSync(path.join(root, 'src'), out, { recursive: true, filter: (source) => !source.endsWith('.ts') });
