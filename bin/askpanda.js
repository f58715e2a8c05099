#!/usr/bin/env -S node --max-semi-space-size=2
// Runs the TypeScript sources directly through tsx so `npx askpanda` works right after `npm ci`.
// --max-semi-space-size=2 (MiB): streaming a multi-GB log allocates a string per 64 KiB batch, and
// V8 otherwise grows its young generation to 16 MiB semi-spaces (up to ~40 MiB more peak RSS, rising
// with the log's size); at 2 MiB a 1 GiB scan stays within a few MiB of the process baseline.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
