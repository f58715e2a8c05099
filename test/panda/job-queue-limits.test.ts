import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JobAgent } from '../../src/agents/job.ts';
import { AnswerSchema } from '../../src/core/answer.ts';
import { toAnswer } from '../../src/bot/render.ts';
import { CricClient } from '../../src/panda/cric-client.ts';
import { FAULT, startFakeBigPanda, type FakeBigPanda } from '../fakes/bigpanda.ts';
import { realQueueDump, startFakeCric, type FakeCric } from '../fakes/cric.ts';
import { context, testClient, monitorConfig } from './helpers.ts';

let monitor: FakeBigPanda;
let cric: FakeCric;
beforeAll(async () => {
  [monitor, cric] = await Promise.all([startFakeBigPanda({ hugeLogBytes: 1024 * 1024 }), startFakeCric()]);
});
afterAll(async () => {
  await Promise.all([monitor.close(), cric.close()]);
});
afterEach(() => {
  cric.mode = 'ok';
  cric.delayMs = 0;
  cric.setQueues(realQueueDump());
  cric.requests.length = 0;
});

const MEMORY_JOB = 6800730400; // pilot 1235 at BNL_PROD_MCORE: maxPSS 6.0 GiB, asked 4,000 MB, single core
const TIME_JOB = 6797110034; // pilot 1213 at MWT2 after 24 h, maxwalltime 24 h

async function ask(pandaid: number, options: { cric?: boolean; waitMs?: number; question?: string } = {}) {
  const config = monitorConfig(monitor.url, (c) => {
    c.cric.url = cric.url;
    c.cric.retries = 0;
    c.cric.timeoutMs = 1000;
  });
  const cricClient =
    options.cric === false ? undefined : new CricClient(config, { publicUrl: 'https://atlas-cric.cern.ch' });
  const agent = new JobAgent({ client: testClient(config), config, cric: cricClient, cricWaitMs: options.waitMs });
  const draft = await agent.handle(
    context({ agent: 'job', pandaid, reason: 'test' }, options.question ?? `Why did job ${pandaid} fail?`),
  );
  return AnswerSchema.parse(toAnswer(draft));
}

function recommendations(text: string): string[] {
  const block = /\*\*Recommendations:\*\*\n((?:- .*\n?)+)/.exec(text)?.[1] ?? '';
  return block
    .trim()
    .split('\n')
    .map((l) => l.replace(/^- /, ''));
}

describe('memory failures next to the queue limits', () => {
  it('names the queue limit, and that a bigger request still fits the queue', async () => {
    const answer = await ask(MEMORY_JOB);
    expect(answer.text.split('\n')[0]).toContain(
      'Its memory use (maxPSS 6.0 GiB) was above its limit of 4.0 GiB. In CRIC, the queue BNL_PROD_MCORE allows 48,000 MB per 8-core slot (6,000 MB per core).',
    );
    expect(answer.sections[0]!.body).toContain(
      'Queue BNL_PROD_MCORE in CRIC: **online**, memory 48,000 MB per 8-core slot (6,000 MB per core), walltime 96 h (345,600 s), 8 cores.',
    );
    const recs = recommendations(answer.text);
    expect(recs[0]).toMatch(/^this job peaked at 6\.0 GiB PSS: request about 7400 MB/);
    expect(recs[1]).toBe(
      'a request of about 7,400 MB still fits BNL_PROD_MCORE, which allows up to 48,000 MB per 8-core slot, so the job can run at this queue once it asks for enough',
    );
    expect(answer.facts.queueLimits).toMatchObject({
      queue: 'BNL_PROD_MCORE',
      maxrssMb: 48000,
      corecount: 8,
      neededMb: 7400,
      fitsQueue: true,
    });
    expect(answer.links.map((l) => l.url)).toContain(
      'https://atlas-cric.cern.ch/atlas/pandaqueue/detail/BNL_PROD_MCORE/',
    );
  });

  it('when the queue allows less than the job needs, names same-site and same-cloud queues that allow more', async () => {
    const dump = realQueueDump();
    Object.assign(dump.BNL_PROD_MCORE!, { maxrss: 4000, corecount: 1, capability: 'score', type: 'production' });
    cric.setQueues(dump);
    const answer = await ask(MEMORY_JOB);
    expect(answer.text.split('\n')[0]).toContain(
      'In CRIC, the queue BNL_PROD_MCORE allows 4,000 MB per single-core slot.',
    );
    const rec = recommendations(answer.text)[1]!;
    expect(rec).toMatch(
      /^BNL_PROD_MCORE allows at most 4,000 MB, less than the 7,400 MB this job needs; online queues with more at the same site BNL-ATLAS: BNL \(48,000 MB\), BNL_ARM \(48,000 MB\), BNL_PROD_INTEL \(48,000 MB\), ANALY_BNL_VP \(28,000 MB\); in cloud US: /,
    );
    // Queues that are not online, or that allow less, are not offered.
    expect(rec).not.toContain('BNL_Test');
    expect(rec).not.toContain('BNL-PTEST');
    expect(answer.followUps.map((f) => f.question)).toContain('What are the limits of queue BNL?');
  });

  it('no online queue of the site or cloud allows enough: says so instead of inventing one', async () => {
    const dump = realQueueDump();
    for (const q of Object.values(dump)) if (q.cloud === 'US') Object.assign(q, { maxrss: 2000, corecount: 1 });
    cric.setQueues(dump);
    const rec = recommendations((await ask(MEMORY_JOB)).text)[1]!;
    expect(rec).toBe(
      'BNL_PROD_MCORE allows at most 2,000 MB, less than the 7,400 MB this job needs, and no online queue of site BNL-ATLAS or cloud US allows more: make the job need less memory (fewer events or files per job)',
    );
  });

  it('a 1305 that ran out of memory is compared too, with the same request figure as its first recommendation', async () => {
    const answer = await ask(6802258254);
    expect(answer.text.split('\n')[0]).toContain(
      'In CRIC, the queue ANALY_MWT2_UCORE allows 48,000 MB per 8-core slot (6,000 MB per core).',
    );
    const recs = recommendations(answer.text);
    expect(recs[0]).toContain('`--memory 6000`');
    expect(recs[1]).toMatch(/^a request of about 6,000 MB still fits ANALY_MWT2_UCORE/);
  });
});

describe('time failures next to the queue limits', () => {
  it('the job hit its own walltime request, not the queue limit', async () => {
    const answer = await ask(TIME_JOB);
    expect(answer.text.split('\n')[0]).toContain(
      'In CRIC, the queue MWT2 allows 96 h of walltime; the job ran 24.0 h and asked for 24 h.',
    );
    expect(recommendations(answer.text)[0]).toBe(
      "the job hit its own walltime request (24 h), not the queue's limit: MWT2 allows 96 h, so ask for more walltime per job or make the jobs shorter (fewer events per job)",
    );
  });

  it('the job used the queue up: queues that allow longer', async () => {
    const dump = realQueueDump();
    Object.assign(dump.MWT2!, { maxtime: 86400 });
    cric.setQueues(dump);
    const rec = recommendations((await ask(TIME_JOB)).text)[0]!;
    // A production job: analysis queues (ANALY_MWT2_UCORE) and queues without a walltime limit are not offered.
    expect(rec).toMatch(
      /^the job used up MWT2's whole walltime \(24 h\); online queues that allow longer in cloud US: TACC-FRONTERA-ES \(120 h\), BNL \(96 h\), /,
    );
    expect(rec).not.toMatch(/ANALY_|\(0 h\)/);
    expect(rec).toContain('or make the jobs shorter');
  });
});

describe('no CRIC data: the answer is as today', () => {
  it('queue not in CRIC, CRIC down, CRIC too slow: no queue sentence, no guess', async () => {
    const without = await ask(MEMORY_JOB, { cric: false });
    expect(without.text).not.toContain('In CRIC');
    const dump = realQueueDump();
    delete dump.BNL_PROD_MCORE;
    cric.setQueues(dump);
    const notInCric = await ask(MEMORY_JOB);
    cric.setQueues(realQueueDump());
    cric.mode = 'down';
    const down = await ask(MEMORY_JOB);
    cric.mode = 'ok';
    cric.delayMs = 2_000;
    const started = Date.now();
    const slow = await ask(MEMORY_JOB, { waitMs: 200 });
    expect(Date.now() - started).toBeLessThan(1_800);
    for (const answer of [notInCric, down, slow]) {
      expect(answer.text).toBe(without.text);
      expect(answer.facts.queueLimits).toBeUndefined();
    }
  });

  it('failures that are not about memory or time do not ask CRIC at all', async () => {
    const answer = await ask(FAULT.traceback1305);
    expect(answer.text).not.toContain('In CRIC');
    expect(cric.count()).toBe(0);
  });
});
