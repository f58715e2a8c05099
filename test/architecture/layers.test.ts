import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const DEPCRUISE = path.join(ROOT, 'node_modules/.bin/depcruise');

/** A tiny tree under src/ checked with the project's own rules, as `npm run lint` checks the real one. */
async function cruise(files: Record<string, string>): Promise<{ ok: boolean; output: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'askpanda-layers-'));
  cpSync(path.join(ROOT, '.dependency-cruiser.cjs'), path.join(dir, '.dependency-cruiser.cjs'));
  cpSync(path.join(ROOT, 'tsconfig.json'), path.join(dir, 'tsconfig.json'));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  try {
    const { stdout } = await run(DEPCRUISE, ['src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], {
      cwd: dir,
    });
    return { ok: true, output: stdout };
  } catch (err) {
    const failed = err as { stdout?: string };
    return { ok: false, output: failed.stdout ?? String(err) };
  }
}

describe('the layer table (.dependency-cruiser.cjs)', () => {
  it('passes imports that point down the table', async () => {
    const result = await cruise({
      'src/core/answer.ts': "export const kind = 'job';\n",
      'src/bot/bot.ts': "import { kind } from '../core/answer.ts';\nexport const b = kind;\n",
    });
    expect(result.output).toContain('no dependency violations');
    expect(result.ok).toBe(true);
  });

  it('fails an import against the table, naming the rule', async () => {
    const result = await cruise({
      'src/bot/bot.ts': 'export const b = 1;\n',
      'src/util/log.ts': "import { b } from '../bot/bot.ts';\nexport const l = b;\n",
    });
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/layer-util: src\/util\/log\.ts → src\/bot\/bot\.ts/);
  });

  it('fails an import between folders of one row', async () => {
    const result = await cruise({
      'src/server/route.ts': 'export const r = 1;\n',
      'src/adapters/slack.ts': "import { r } from '../server/route.ts';\nexport const s = r;\n",
    });
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/layer-adapters/);
  });

  it('fails a file cycle', async () => {
    const result = await cruise({
      'src/bot/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
      'src/bot/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
    });
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/no-cycles/);
  });

  it('keeps adapters from reaching what answers', async () => {
    const result = await cruise({
      'src/agents/job.ts': 'export const j = 1;\n',
      'src/adapters/slack.ts': "import { j } from '../agents/job.ts';\nexport const s = j;\n",
    });
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/adapters-only-translate/);
  });
});
