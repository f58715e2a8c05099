import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnswerSchema } from '../../src/core/answer.ts';
import { FAULT, startFakeBigPanda, type FakeBigPanda } from '../fakes/bigpanda.ts';

const run = promisify(execFile);
const bin = path.resolve(import.meta.dirname, '../../bin/askpanda.js');
let dataDir: string;
let fake: FakeBigPanda;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'askpanda-cli-'));
  fake = await startFakeBigPanda({ hugeLogBytes: 1024 });
});
afterAll(async () => {
  await fake.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function ask(question: string, env: Record<string, string>) {
  const { stdout } = await run(process.execPath, [bin, 'ask', question, '--json'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dataDir,
      ASKPANDA_DATA_DIR: dataDir,
      ASKPANDA_LOG_LEVEL: 'silent',
      ASKPANDA_LLM: 'offline',
      ...env,
    },
    timeout: 20_000,
  });
  return AnswerSchema.parse(JSON.parse(stdout));
}

describe('askpanda ask --json (spawned CLI)', () => {
  it('explains demo job 6800730400 offline with links to bigpanda.cern.ch', async () => {
    const answer = await ask('Why did job 6800730400 fail?', { ASKPANDA_DEMO: '1' });
    expect(answer.agent).toBe('job');
    expect(answer.facts).toMatchObject({ pandaid: 6800730400, piloterrorcode: 1235 });
    expect(
      answer.evidence.some(
        (e) => e.source.startsWith('pilotlog.txt') && e.lines.some((l) => l.includes('exceeded the memory limit')),
      ),
    ).toBe(true);
    expect(answer.links[0]!.url).toBe('https://bigpanda.cern.ch/job?pandaid=6800730400');
    expect(answer.model).toBe('offline');
  });

  it('reports demo task 46374283', async () => {
    const answer = await ask('What is happening with task 46374283?', { ASKPANDA_DEMO: '1' });
    expect(answer.agent).toBe('task');
    expect(answer.facts).toMatchObject({ jeditaskid: 46374283, status: 'running', nfilesfinished: 1112 });
  });

  it('answers a fault case against the fake via PANDA_MONITOR_URL', async () => {
    const answer = await ask(`Why did job ${FAULT.malformed} fail?`, {
      ASKPANDA_DEMO: '0',
      PANDA_MONITOR_URL: fake.url,
      ASKPANDA_MONITOR_RETRIES: '0',
    });
    expect(answer.error?.kind).toBe('monitor_unavailable');
    expect(answer.error?.message).toContain(`${fake.url}/job?pandaid=${FAULT.malformed}`);
  });
});
