import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnswerSchema } from '../../src/core/answer.ts';
import { REPO_ROOT, cliEnv, runCli } from '../support/cli.ts';

describe('npm run build', () => {
  it('compiles to dist/, and an installed copy without sources runs the compiled code', async () => {
    // An installed package: bin, dist, config and package.json; no src/, so no TypeScript at run time.
    const installed = mkdtempSync(path.join(tmpdir(), 'askpanda-installed-'));
    execFileSync(process.execPath, [path.join(REPO_ROOT, 'bin/build.js'), path.join(installed, 'dist')], {
      cwd: REPO_ROOT,
      stdio: 'pipe',
    });
    mkdirSync(path.join(installed, 'bin'));
    copyFileSync(path.join(REPO_ROOT, 'bin/askpanda.js'), path.join(installed, 'bin/askpanda.js'));
    copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(installed, 'package.json'));
    symlinkSync(path.join(REPO_ROOT, 'config'), path.join(installed, 'config'));
    symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(installed, 'node_modules'));
    const command = [process.execPath, path.join(installed, 'bin/askpanda.js')];

    const version = await runCli(['--version'], { command });
    expect(version.stdout.trim()).toBe('0.1.0 (compiled code from dist/)');
    const asked = await runCli(['ask', 'why did job 6802258254 fail?', '--json'], {
      command,
      env: cliEnv({ ASKPANDA_DEMO: '1' }),
    });
    expect(asked.code, asked.stderr).toBe(0);
    const answer = AnswerSchema.parse(JSON.parse(asked.stdout));
    expect(answer.facts).toMatchObject({ pandaid: 6802258254, piloterrorcode: 1305 });
    expect(answer.sources.length + answer.evidence.length).toBeGreaterThan(0);

    // The web chat's page, script and style are data files the compiled server reads at start.
    const served = await runCli(['serve'], {
      command,
      env: cliEnv({ ASKPANDA_DEMO: '1', ASKPANDA_PORT: '0' }),
      stdin: '',
      until: ({ stderr }) => stderr.includes('still serving HTTP'),
    });
    expect(served.stderr).toMatch(/askpanda: web chat: http:\/\/localhost:\d+\//);

    // Sources edited after the build (a checkout): the stale dist/ is not used.
    cpSync(path.join(REPO_ROOT, 'src'), path.join(installed, 'src'), { recursive: true });
    const later = new Date(Date.now() + 5_000);
    utimesSync(path.join(installed, 'src/app.ts'), later, later);
    const stale = await runCli(['--version'], { command });
    expect(stale.stdout.trim()).toBe('0.1.0 (TypeScript sources through tsx)');
  }, 120_000);
});
