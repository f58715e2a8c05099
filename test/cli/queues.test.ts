import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnswerSchema } from '../../src/core/answer.ts';
import { startFakeCric, type FakeCric } from '../fakes/cric.ts';
import { startFakePandaServer, type FakePandaServer } from '../fakes/panda-server.ts';
import { cliEnv, runCli } from '../support/cli.ts';

/** `askpanda ask` processes answering queue questions: the snapshot is shared through the store. */

let cric: FakeCric;
let server: FakePandaServer;
beforeAll(async () => {
  [cric, server] = await Promise.all([startFakeCric(), startFakePandaServer()]);
});
afterAll(async () => {
  await Promise.all([cric.close(), server.close()]);
});

async function askJson(question: string, env: Record<string, string>) {
  const run = await runCli(['ask', '--json', question], { env });
  expect(run.code, run.stderr).toBe(0);
  return AnswerSchema.parse(JSON.parse(run.stdout));
}

describe('CRIC snapshot shared across processes', { timeout: 60_000 }, () => {
  it('a second ask process answers from the stored snapshot without asking CRIC again', async () => {
    const env = cliEnv({ CRIC_URL: cric.url });
    cric.requests.length = 0;
    const first = await askJson('which queues are brokeroff?', env);
    expect(first.agent).toBe('queue');
    expect(first.text.split('\n')[0]).toMatch(/^25 queues that are brokeroff \(of 229 in CRIC\)/);
    expect(cric.count()).toBe(1);
    const second = await askJson('what is the maxtime for queue AGLT2?', env);
    expect(second.text.split('\n')[0]).toBe('The walltime limit (maxtime) of queue AGLT2 is 71.7 h (258,000 s).');
    expect(cric.count()).toBe(1);
    // The second process also knew the names before answering: a bare name routes to the queue agent.
    const third = await askJson('AGLT2_TEST?', env);
    expect(third.agent).toBe('queue');
    expect(cric.count()).toBe(1);
  });

  it('CRIC down after the TTL: the next process answers from the last snapshot, with its age', async () => {
    const env = cliEnv({ CRIC_URL: cric.url, ASKPANDA_CRIC_RETRIES: '0' });
    await askJson('which queues are brokeroff?', env);
    cric.mode = 'down';
    try {
      const answer = await askJson('which queues at BNL-ATLAS are brokeroff?', {
        ...env,
        ASKPANDA_CRIC_TTL_SECONDS: '0',
      });
      expect(answer.error).toBeUndefined();
      expect(answer.text).toContain('CRIC did not answer (HTTP 503). This is the last copy of its queue list');
      expect(answer.facts.cric).toMatchObject({ stale: true });
      // Without any stored snapshot the answer is one clear sentence.
      const fresh = await askJson(
        'which queues are brokeroff?',
        cliEnv({ CRIC_URL: cric.url, ASKPANDA_CRIC_RETRIES: '0' }),
      );
      expect(fresh.error?.kind).toBe('monitor_unavailable');
      expect(fresh.text).toMatch(/^CRIC did not answer \(HTTP 503\)\. I have no earlier copy of its queue list\./);
    } finally {
      cric.mode = 'ok';
    }
  });

  it('"is PanDA up?" through the whole pipeline against PANDA_SERVER_URL', async () => {
    const answer = await askJson('is PanDA up?', cliEnv({ PANDA_SERVER_URL: server.url }));
    expect(answer.agent).toBe('queue');
    expect(answer.text).toMatch(/^PanDA is up: the PanDA server answered alive=yes in \d+ ms/);
    expect(answer.facts.pandaServer).toMatchObject({ state: 'alive', url: `${server.url}/server/panda/isAlive` });
  });
});

describe('a job answer while CRIC hangs', { timeout: 60_000 }, () => {
  it('answers without the queue limits after one CRIC timeout and exits at once (the CRIC request is cancelled)', async () => {
    cric.mode = 'hang';
    try {
      const started = Date.now();
      // Demo monitor, the hanging CRIC: five retries of 2 s each would keep a process alive for 10+ s.
      const answer = await askJson(
        'why did job 6800730400 fail?',
        cliEnv({
          ASKPANDA_DEMO: '1',
          CRIC_URL: cric.url,
          ASKPANDA_CRIC_TIMEOUT_MS: '2000',
          ASKPANDA_CRIC_RETRIES: '5',
        }),
      );
      expect(Date.now() - started).toBeLessThan(9_000);
      expect(answer.facts.piloterrorcode).toBe(1235);
      expect(answer.text).not.toContain('In CRIC');
      expect(answer.facts.queueLimits).toBeUndefined();
    } finally {
      cric.mode = 'ok';
    }
  });
});

describe('the demo', { timeout: 60_000 }, () => {
  it("answers queue questions from the embedded snapshot, and names the memory job's queue limit", async () => {
    const env = cliEnv({ ASKPANDA_DEMO: '1' });
    const mcore = await askJson('is BNL accepting MCORE jobs?', env);
    expect(mcore.text.split('\n')[0]).toBe(
      'Yes: queue BNL is online and takes single-core and 8-core jobs, with 48,000 MB per 8-core slot (6,000 MB per core).',
    );
    expect(mcore.links[0]!.url).toBe('https://atlas-cric.cern.ch/atlas/pandaqueue/detail/BNL/');
    const job = await askJson('why did job 6800730400 fail?', env);
    expect(job.text.split('\n')[0]).toContain(
      'In CRIC, the queue BNL_PROD_MCORE allows 48,000 MB per 8-core slot (6,000 MB per core).',
    );
    const up = await askJson('is PanDA up?', env);
    expect(up.text).toContain('(Demo: both checks ran against the embedded demo services.)');
    expect(up.facts.pandaServer).toMatchObject({ url: 'https://pandaserver.cern.ch:25443/server/panda/isAlive' });
  });
});
