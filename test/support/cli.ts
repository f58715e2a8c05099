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
  return {
    ...env,
    ASKPANDA_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'askpanda-cli-')),
    ASKPANDA_LOG_LEVEL: 'silent',
    ...extra,
  };
}

/** Runs bin/askpanda.js (or another command) from the repo root with optional stdin bytes. */
export function runCli(
  args: string[],
  options: {
    env?: Record<string, string>;
    stdin?: string | Buffer;
    command?: string[];
    timeoutMs?: number;
    uid?: number;
    gid?: number;
    /** `serve` keeps serving HTTP after its input ends: SIGTERM it once this says the output is complete. */
    until?: (output: { stdout: string; stderr: string }) => boolean;
  } = {},
): Promise<CliResult> {
  const [cmd, ...pre] = options.command ?? [process.execPath, path.join(REPO_ROOT, 'bin/askpanda.js')];
  // Its own process group: `npm start` does not pass SIGTERM on to node, so signals go to the group.
  const child = spawn(cmd!, [...pre, ...args], {
    cwd: REPO_ROOT,
    env: options.env ?? cliEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
    uid: options.uid,
    gid: options.gid,
    detached: true,
  });
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // already gone
    }
  };
  let stdout = '';
  let stderr = '';
  let signalled = false;
  const check = () => {
    if (!signalled && options.until?.({ stdout, stderr })) {
      signalled = true;
      signal('SIGTERM');
    }
  };
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    check();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
    check();
  });
  child.stdin.end(options.stdin ?? '');
  const timer = setTimeout(() => signal('SIGKILL'), options.timeoutMs ?? 25_000);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
