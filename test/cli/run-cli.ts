import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A clean environment: no developer tokens leak into the run, data goes to a fresh folder. */
export function cliEnv(extra: Record<string, string> = {}): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'NODE_OPTIONS'];
  const env: Record<string, string> = {};
  for (const key of keep) if (process.env[key]) env[key] = process.env[key]!;
  return { ...env, ASKPANDA_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'askpanda-cli-')), ASKPANDA_LOG_LEVEL: 'silent', ...extra };
}

/** Runs bin/askpanda.js (or another command) from the repo root with optional stdin bytes. */
export function runCli(args: string[], options: { env?: Record<string, string>; stdin?: string | Buffer; command?: string[]; timeoutMs?: number; uid?: number; gid?: number } = {}): Promise<CliResult> {
  const [cmd, ...pre] = options.command ?? [process.execPath, path.join(REPO_ROOT, 'bin/askpanda.js')];
  const child = spawn(cmd!, [...pre, ...args], { cwd: REPO_ROOT, env: options.env ?? cliEnv(), stdio: ['pipe', 'pipe', 'pipe'], uid: options.uid, gid: options.gid });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(options.stdin ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 25_000);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
