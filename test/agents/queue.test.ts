import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HealthTargets } from '../../src/agents/queue-health.ts';
import { QueueAgent } from '../../src/agents/queue.ts';
import { AnswerSchema, type Answer } from '../../src/core/answer.ts';
import type { Turn } from '../../src/core/turn.ts';
import { toAnswer } from '../../src/bot/render.ts';
import { loadConfig } from '../../src/load-config.ts';
import type { ChatModel } from '../../src/llm/chat-model.ts';
import { OfflineModel } from '../../src/llm/offline.ts';
import { CricClient } from '../../src/panda/cric-client.ts';
import { type Store } from '../../src/storage/store.ts';
import { openStore } from '../../src/storage/open-store.ts';
import { startFakeBigPanda, type FakeBigPanda } from '../fakes/bigpanda.ts';
import { realQueueDump, startFakeCric, type FakeCric } from '../fakes/cric.ts';
import { FAKES, text, type LlmFake } from '../fakes/llm/index.ts';
import { startFakePandaServer, type FakePandaServer } from '../fakes/panda-server.ts';
import { agentContext, chainFor, modelFor } from '../llm/helpers.ts';

let cric: FakeCric;
let server: FakePandaServer;
let monitor: FakeBigPanda;
const stores: Store[] = [];
beforeAll(async () => {
  [cric, server, monitor] = await Promise.all([
    startFakeCric(),
    startFakePandaServer(),
    startFakeBigPanda({ hugeLogBytes: 1024 * 1024 }),
  ]);
});
afterAll(async () => {
  await Promise.all([cric.close(), server.close(), monitor.close()]);
});
afterEach(async () => {
  cric.mode = 'ok';
  cric.setQueues(realQueueDump());
  cric.requests.length = 0;
  server.mode = 'alive';
  for (const s of stores.splice(0)) await s.close();
});

function setup(options: { store?: Store; env?: Record<string, string>; health?: Partial<HealthTargets> } = {}) {
  const config = loadConfig({
    env: { CRIC_URL: cric.url, ASKPANDA_CRIC_RETRIES: '0', ASKPANDA_CRIC_TIMEOUT_MS: '1000', ...options.env },
  });
  const client = new CricClient(config, {
    publicUrl: 'https://atlas-cric.cern.ch',
    persistent: options.store?.ns('cache'),
    backoffMs: 5,
  });
  const agent = new QueueAgent({
    cric: client,
    monitorPublicUrl: 'https://bigpanda.cern.ch',
    health: {
      pandaServerUrl: server.url,
      pandaServerPublicUrl: 'https://pandaserver.cern.ch:25443',
      monitorUrl: monitor.url,
      monitorPublicUrl: 'https://bigpanda.cern.ch',
      timeoutMs: 400,
      slowMs: 250,
      ...options.health,
    },
  });
  return { agent, client };
}

async function ask(
  question: string,
  options: Parameters<typeof setup>[0] & { history?: Turn[]; model?: ChatModel } = {},
): Promise<Answer> {
  const { agent } = setup(options);
  const draft = await agent.handle(
    agentContext(
      options.model ?? new OfflineModel(),
      question,
      { agent: 'queue', reason: 'test' },
      options.history ?? [],
    ),
  );
  return AnswerSchema.parse(toAnswer(draft));
}

async function tempStore(): Promise<Store> {
  const store = await openStore({ dataDir: mkdtempSync(path.join(tmpdir(), 'askpanda-queue-')), store: '' });
  stores.push(store);
  return store;
}

describe('one queue: status and limits', () => {
  it('answers the asked limit first, then status and every limit, with CRIC and BigPanDA links', async () => {
    const answer = await ask('what is the maxtime for queue AGLT2?');
    expect(answer.agent).toBe('queue');
    expect(answer.error).toBeUndefined();
    expect(answer.text.split('\n')[0]).toBe('The walltime limit (maxtime) of queue AGLT2 is 71.7 h (258,000 s).');
    expect(answer.text).toContain('Queue AGLT2 (site AGLT2, cloud US) is **online**');
    const limits = answer.sections.find((s) => s.title === 'Limits')!.body;
    for (const line of [
      'memory: 48,000 MB per 8-core slot (6,000 MB per core)',
      'walltime: 71.7 h (258,000 s)',
      'cores: 8; takes single-core and 8-core jobs (capability ucore)',
      'input size per job: 16,000 MB (15.6 GiB)',
      'copytools: rucio',
      'resource type: GRID, queue type unified',
      'last change in CRIC: 2025-05-20 08:55:34 UTC',
    ]) {
      expect(limits).toContain(line);
    }
    expect(answer.links.map((l) => l.url)).toEqual([
      'https://atlas-cric.cern.ch/atlas/pandaqueue/detail/AGLT2/',
      'https://bigpanda.cern.ch/site/AGLT2/',
    ]);
    expect(answer.facts.limits).toMatchObject({
      queue: 'AGLT2',
      memoryMb: 48000,
      memoryPerCoreMb: 6000,
      cores: 8,
      walltimeSeconds: 258000,
      copytools: ['rucio'],
    });
    expect(answer.facts.cric).toMatchObject({ stale: false, queues: 229, skippedRecords: 0 });
    expect(answer.sections.find((s) => s.title === 'Source')!.body).toMatch(
      /^From CRIC \(https:\/\/atlas-cric\.cern\.ch\), read just now\./,
    );
    expect(answer.followUps.length).toBeGreaterThanOrEqual(2);
  });

  it('names the other queues of the site and what a brokeroff status means', async () => {
    const answer = await ask('status of BNL_Test');
    expect(answer.text).toMatch(
      /^Queue BNL_Test is \*\*brokeroff\*\*: it keeps running jobs, but the brokerage assigns it no new ones/,
    );
    expect(answer.sections.find((s) => s.title === 'Site')!.body).toContain(
      'Other queues of BNL-ATLAS: ANALY_BNL_VP (online), BNL (online)',
    );
  });

  it('a follow-up without a name is about the queue asked before', async () => {
    const history: Turn[] = [
      { role: 'user', text: 'what are the limits of UKI-NORTHGRID-MAN-HEP?', at: 1 },
      { role: 'assistant', text: 'Queue UKI-NORTHGRID-MAN-HEP is online.', agent: 'queue', at: 2 },
    ];
    const answer = await ask('and the walltime?', { history });
    expect(answer.text.split('\n')[0]).toBe(
      'The walltime limit (maxtime) of queue UKI-NORTHGRID-MAN-HEP is 48 h (172,800 s).',
    );
  });
});

describe('multi-core', () => {
  it('"is BNL accepting MCORE jobs?": yes, with the other BNL-ATLAS queues and what they take', async () => {
    const answer = await ask('is BNL accepting MCORE jobs?');
    expect(answer.text.split('\n')[0]).toBe(
      'Yes: queue BNL is online and takes single-core and 8-core jobs, with 48,000 MB per 8-core slot (6,000 MB per core).',
    );
    const others = answer.sections.find((s) => s.title === 'Other queues of BNL-ATLAS')!.body;
    expect(others).toContain('**BNL-PTEST** (brokeroff): single-core jobs, 1,800 MB per single-core slot');
    expect(answer.facts.queuesTaking).toEqual(expect.arrayContaining(['BNL', 'BNL_ARM', 'BNL_PROD_MCORE']));
  });

  it('a single-core-only queue says no, and why', async () => {
    const answer = await ask('does ANALY_GOEGRID accept multi-core jobs?');
    expect(answer.text.split('\n')[0]).toBe(
      'No: queue ANALY_GOEGRID takes single-core jobs only (capability score, 1 core per slot).',
    );
  });
});

describe('lists and counts', () => {
  it('lists by status: counts in the opening line, every queue in a section, what the status means', async () => {
    const answer = await ask('which queues are brokeroff?');
    expect(answer.text.split('\n')[0]).toBe(
      '25 queues that are brokeroff (of 229 in CRIC): 9 in CERN, 7 in US, 5 in DE, 2 in ND, 1 in NL, 1 in ES. The full list is below.',
    );
    const list = answer.sections.find((s) => s.title === 'Queues (25)')!.body.split('\n');
    expect(list).toHaveLength(25);
    expect(list).toContain('- **BNL_Test** (brokeroff): BNL-ATLAS, US; 8 cores, 32,000 MB, 96 h');
    expect(answer.sections.map((s) => s.title)).toContain('What brokeroff means');
    expect(answer.facts.matched).toBe(25);
  });

  it('site → queues with their status', async () => {
    const answer = await ask('queues at GoeGrid');
    expect(answer.text.split('\n')[0]).toBe(
      '8 queues at GoeGrid: ANALY_GOEGRID (offline), EMMY (brokeroff), EMMY_BKG (brokeroff), EMMY_DESY (online), EMMY_KIT (online), GoeGrid (online), GoeGrid_LODISK (online), GoeGrid_NHR (brokeroff).',
    );
  });

  it('combines site and status', async () => {
    const answer = await ask('which queues at BNL-ATLAS are brokeroff?');
    expect(answer.text.split('\n')[0]).toBe(
      '3 queues at BNL-ATLAS that are brokeroff: BNL-PTEST, BNL_PROD_CONTR_TEST, BNL_Test.',
    );
  });

  it('by cloud and resource type, by copytool', async () => {
    expect((await ask('list the hpc queues in cloud ES')).text.split('\n')[0]).toBe(
      '7 queues in cloud ES of resource type hpc: IFIC_ARC_TEST (test), IFIC_Lusitania2 (offline), IFIC_MareNostrum4 (online), UAM_MareNostrum4 (online), pic_MareNostrum4 (online), pic_MareNostrum4_Test (offline), pic_MareNostrum5 (brokeroff).',
    );
    const xrdcp = await ask('which queues use xrdcp?');
    expect(xrdcp.facts.filter).toEqual({ copytool: 'xrdcp' });
    expect(xrdcp.facts.matched).toBeGreaterThan(0);
  });

  it('counts per status, overall and per cloud', async () => {
    const answer = await ask('how many queues per status?');
    expect(answer.text.split('\n')[0]).toBe(
      'CRIC lists 229 PanDA queues: 162 online, 25 brokeroff, 29 test, 13 offline.',
    );
    expect(answer.sections.find((s) => s.title === 'By cloud')!.body).toMatch(
      /^- DE: 45 \(35 online, 5 brokeroff, 3 test, 2 offline\)\n- US: 44 /,
    );
    const online = await ask('how many queues are online in cloud DE?');
    expect(online.text.split('\n')[0]).toMatch(/^\d+ queues in cloud DE that are online \(of 229 in CRIC\)/);
  });

  it('no match says so, with the counts without the status condition', async () => {
    const answer = await ask('which queues at AGLT2 are offline?');
    expect(answer.text.split('\n')[0]).toBe(
      'No queue in CRIC matches: none at AGLT2 that are offline. Without the status condition there are 3: 3 online.',
    );
  });
});

describe('unknown names', () => {
  it('says CRIC has no such queue and offers the closest names', async () => {
    const answer = await ask('what is the status of queue AGLT3?');
    expect(answer.error?.kind).toBe('not_found');
    expect(answer.text).toMatch(/^CRIC has no queue or site called AGLT3\. The closest names are AGLT2/);
    expect(answer.followUps[0]!.question).toBe('What is the status of AGLT2?');
    const prefixless = await ask('is SiGNET_DIRECT online?');
    expect(prefixless.text).toContain('ANALY_SiGNET_DIRECT');
  });
});

describe('CRIC down', () => {
  it('without any snapshot: one clear sentence that CRIC did not answer', async () => {
    cric.mode = 'down';
    const answer = await ask('which queues are brokeroff?');
    expect(answer.error?.kind).toBe('monitor_unavailable');
    expect(answer.text).toMatch(/^CRIC did not answer \(HTTP 503\)\. I have no earlier copy of its queue list\./);
    expect(answer.links[0]!.url).toBe('https://atlas-cric.cern.ch/atlas/pandaqueue/list/');
  });

  it('with a stored snapshot: the answer from it, saying how old it is', async () => {
    const store = await tempStore();
    await setup({ store }).client.queues();
    cric.mode = 'down';
    // A later process, after the TTL: CRIC is asked, fails, and the stored copy answers.
    const answer = await ask('which queues at BNL-ATLAS are brokeroff?', {
      store,
      env: { ASKPANDA_CRIC_TTL_SECONDS: '0' },
    });
    expect(answer.error).toBeUndefined();
    expect(answer.text.split('\n')[0]).toBe(
      '3 queues at BNL-ATLAS that are brokeroff: BNL-PTEST, BNL_PROD_CONTR_TEST, BNL_Test.',
    );
    expect(answer.text).toContain(
      '_CRIC did not answer (HTTP 503). This is the last copy of its queue list, less than a minute old._',
    );
    expect(answer.facts.cric).toMatchObject({ stale: true });
  });
});

describe('a bad record in the dump', () => {
  it('is left out, counted and named in the source note; the rest answers', async () => {
    cric.setQueues({ ...realQueueDump(), BROKEN_Q: { status: 'online', maxrss: 'unlimited' } });
    const answer = await ask('how many queues are there per status?');
    expect(answer.text.split('\n')[0]).toMatch(/^CRIC lists 229 PanDA queues/);
    expect(answer.facts.cric).toMatchObject({ skippedRecords: 1 });
    expect(answer.sections.find((s) => s.title === 'Source')!.body).toContain(
      '1 record of the dump could not be read and was left out (queue "BROKEN_Q": maxrss:',
    );
  });
});

describe('memory kills without a job id', () => {
  it('explains where the limit comes from and asks for the job id', async () => {
    const answer = await ask('why was my job killed for memory when I asked for enough?');
    expect(answer.text).toMatch(/^A job is killed for memory when its memory use \(PSS/);
    expect(answer.text).toContain('Give me the job id');
    expect(answer.sections.map((s) => s.title)).not.toContain('Source');
  });
});

describe('is PanDA up?', () => {
  it('alive: both checks in one short answer', async () => {
    const answer = await ask('is PanDA up?');
    expect(answer.text.split('\n')[0]).toMatch(
      /^PanDA is up: the PanDA server answered alive=yes in \d+ ms, and the monitor answered in \d+ ms\.$/,
    );
    expect(answer.facts).toMatchObject({
      pandaServer: { state: 'alive', url: 'https://pandaserver.cern.ch:25443/server/panda/isAlive' },
      monitor: { state: 'alive' },
    });
    expect(server.requests.at(-1)).toBe('/server/panda/isAlive');
    expect(cric.count()).toBe(0);
  });

  it('down: the server failing, the monitor fine', async () => {
    server.mode = 'down';
    const answer = await ask('is the panda server down?');
    expect(answer.text.split('\n')[0]).toMatch(
      /^The PanDA server is not answering well, but the monitor is: the PanDA server answered HTTP 503, so it is failing or overloaded, and the monitor answered in \d+ ms\.$/,
    );
    expect(answer.sections.map((s) => s.title)).toContain('What it means');
  });

  it('slow and no answer', async () => {
    server.mode = 'slow';
    server.slowMs = 300;
    const slow = await ask('is PanDA up?');
    expect(slow.text).toMatch(/^PanDA is up, but slow: the PanDA server answered alive=yes, but slowly \(0\.3 s/);
    server.mode = 'hang';
    const started = Date.now();
    const hung = await ask('is PanDA up?');
    expect(hung.text).toMatch(
      /^The PanDA server is not answering well, but the monitor is: the PanDA server did not answer within 0\.4 s/,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('nothing listening: could not be reached', async () => {
    const answer = await ask('is PanDA up?', {
      health: { pandaServerUrl: 'http://127.0.0.1:9', monitorUrl: 'http://127.0.0.1:9' },
    });
    expect(answer.text.split('\n')[0]).toMatch(
      /^PanDA does not look up from here: the PanDA server could not be reached \(ECONNREFUSED\)/,
    );
  });
});

describe('with a model', () => {
  let llm: LlmFake;
  beforeAll(async () => {
    llm = await FAKES.openai().start();
  });
  afterAll(() => llm.close());

  it('the model writes from the same CRIC facts; facts and links stay the offline ones', async () => {
    llm.enqueue(
      text(
        JSON.stringify({
          summary: 'AGLT2 is online and allows 71.7 h per job.',
          sections: [{ title: 'Limits', body: 'Memory 48,000 MB per 8-core slot; walltime 71.7 h.' }],
        }),
      ),
    );
    const answer = await ask('what is the maxtime for queue AGLT2?', { model: chainFor(modelFor('openai', llm)) });
    expect(answer.model).toBe('openai:fake-openai-model');
    expect(answer.text.split('\n')[0]).toBe('AGLT2 is online and allows 71.7 h per job.');
    expect(answer.facts.limits).toMatchObject({ queue: 'AGLT2', walltimeSeconds: 258000 });
    const prompt = (llm.requests[0]!.body as { messages: Array<{ content: string }> }).messages
      .map((m) => m.content)
      .join('\n');
    expect(prompt).toContain('walltime: 71.7 h (258,000 s)');
    expect(prompt).toContain('<untrusted-data>');
  });
});
