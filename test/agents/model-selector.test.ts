import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Route } from '../../src/agents/agent.ts';
import { createModelSelector } from '../../src/agents/model-selector.ts';
import { selectFast } from '../../src/agents/selection.ts';
import type { Turn } from '../../src/core/turn.ts';
import { FAKES, hang, status, text, type LlmFake, type RecordedRequest } from '../fakes/llm/index.ts';
import { chainFor, modelFor } from '../llm/helpers.ts';

const JOB_THREAD: Turn[] = [
  { role: 'user', text: 'why did job 6802258254 fail?', at: 1, pandaid: 6802258254, jeditaskid: 46374283 },
  {
    role: 'assistant',
    text: 'Job 6802258254 failed with pilot error 1305.',
    agent: 'job',
    at: 2,
    pandaid: 6802258254,
    jeditaskid: 46374283,
  },
];
const TASK_THREAD: Turn[] = [
  { role: 'user', text: 'what is happening with task 46374283?', at: 1, jeditaskid: 46374283 },
  { role: 'assistant', text: 'Task 46374283 is running; 12 jobs failed.', agent: 'task', at: 2, jeditaskid: 46374283 },
];
const TWO_JOBS_THREAD: Turn[] = [
  { role: 'user', text: 'why did jobs 6798544333 and 6800730400 fail?', at: 1, pandaid: 6798544333 },
  {
    role: 'assistant',
    text: 'Job 6798544333 failed in stage-in (pilot error 1151).',
    agent: 'job',
    at: 2,
    pandaid: 6798544333,
  },
];

/**
 * A plausible routing model behind the OpenAI wire protocol: it reads the prompt the selector
 * built (conversation, rule-based guess, latest message) and answers the JSON the prompt asks for.
 */
function routingModel(request: RecordedRequest) {
  const messages = (request.body as { messages: Array<{ role: string; content: string }> }).messages;
  const prompt = messages.at(-1)!.content;
  const latest = /Latest message: (.*)$/s.exec(prompt)?.[1] ?? '';
  const choose = (agent: string, ids: { pandaid?: number; jeditaskid?: number } = {}) =>
    text(
      JSON.stringify({
        agent,
        pandaid: ids.pandaid ?? null,
        jeditaskid: ids.jeditaskid ?? null,
        reason: 'fake routing model',
      }),
    );
  const aboutJob = [...prompt.matchAll(/\(about job (\d+)/g)].map((m) => Number(m[1])).at(-1);
  const aboutTask = [...prompt.matchAll(/about (?:job \d+, )?task (\d+)\)/g)].map((m) => Number(m[1])).at(-1);
  if (/other (?:one|job|task)/i.test(latest)) {
    const all = [...prompt.matchAll(/\b(\d{10})\b/g)].map((m) => Number(m[1]));
    return choose('job', { pandaid: all.find((id) => id !== aboutJob) });
  }
  const died = /\b(?:died|crashed|ended|exited|stopped)\b.*?\b(\d{1,4})\b/i.exec(latest);
  if (died)
    return text(
      JSON.stringify({
        agent: 'error_code',
        pandaid: null,
        jeditaskid: null,
        code: Number(died[1]),
        component: null,
        reason: 'fake routing model',
      }),
    );
  if (/weather|pizza|joke|python|who made you|hello|^hi\b|thanks|good morning|help me with panda/i.test(latest))
    return choose('general');
  const job = /\b(\d{10})\b/.exec(latest);
  if (job) return choose('job', { pandaid: Number(job[1]) });
  const task = /\b(\d{8})\b/.exec(latest);
  if (task) return choose('task', { jeditaskid: Number(task[1]) });
  if (aboutJob) return choose('job', { pandaid: aboutJob });
  if (aboutTask) return choose('task', { jeditaskid: aboutTask });
  if (/fail|pilot|rucio|timeout|heartbeat|grid|panda|queue/i.test(latest)) return choose('documents');
  return choose('general');
}

let fake: LlmFake;
beforeAll(async () => {
  fake = await FAKES.openai().start();
  fake.responder = routingModel;
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.requests.length = 0;
});

/** Selection as the Bot does it: the fast path, then the model only when the fast path is unsure. */
async function route(question: string, history: Turn[]): Promise<Route> {
  const fast = selectFast(question, history);
  if ('problem' in fast) throw new Error(fast.problem);
  if (fast.confident) return fast.route;
  return createModelSelector(chainFor(modelFor('openai', fake)))(question, history, fast.route);
}

type Row = [question: string, history: Turn[], agent: Route['agent'], id: number | undefined, modelCalled: boolean];
const TABLE: Row[] = [
  // Deterministic fast path: no model call.
  ['why did job 6802258254 fail?', [], 'job', 6802258254, false],
  ['what is happening with task 46374283?', [], 'task', 46374283, false],
  ['pandaid 6798544333 logs please', [], 'job', 6798544333, false],
  ['jeditaskid=46374283 status', [], 'task', 46374283, false],
  ['https://bigpanda.cern.ch/job?pandaid=6800730400', [], 'job', 6800730400, false],
  ['task 46374283', [], 'task', 46374283, false],
  ['job 6802258254', [], 'job', 6802258254, false],
  ['what is a pilot?', [], 'documents', undefined, false],
  ['how do I resubmit a task?', [], 'documents', undefined, false],
  ['explain brokerage', [], 'documents', undefined, false],
  ['what does pilot error 1305 mean?', [], 'error_code', 1305, false],
  ['tell me about Harvester', [], 'documents', undefined, false],
  ['define scout jobs', [], 'documents', undefined, false],
  ['where can I find my output dataset?', [], 'documents', undefined, false],
  ['how can I fix it?', JOB_THREAD, 'job', 6802258254, false],
  ['why did it fail?', JOB_THREAD, 'job', 6802258254, false],
  ['show me the logs', JOB_THREAD, 'job', 6802258254, false],
  ['6800730400', JOB_THREAD, 'job', 6800730400, true],
  ['what is the progress?', TASK_THREAD, 'task', 46374283, false],
  ['kill it', TASK_THREAD, 'task', 46374283, false],
  ['what about job 6798544333?', TASK_THREAD, 'job', 6798544333, false],
  ['what is Rucio?', JOB_THREAD, 'documents', undefined, false],
  // Ambiguous: the model decides, within the closed list and the ids in play.
  ['6802258254', [], 'job', 6802258254, true],
  ['46374283', [], 'task', 46374283, true],
  ['status of 6798544333 please', [], 'job', 6798544333, true],
  ['can you check 46374283 for me', [], 'task', 46374283, true],
  ['hello', [], 'general', undefined, false],
  ['thanks!', [], 'general', undefined, false],
  ['good morning askpanda', [], 'general', undefined, false],
  ['hi, can you help me with PanDA?', [], 'general', undefined, false],
  ['can you recommend a pizza place near CERN', [], 'general', undefined, true],
  ['write me a python script to sort a list', [], 'general', undefined, true],
  ['who made you', [], 'general', undefined, false],
  ['my grid jobs keep failing at BNL, any idea', [], 'documents', undefined, true],
  ['pilot heartbeat timeouts, common causes', [], 'documents', undefined, true],
  ['is rucio down today', [], 'documents', undefined, false],
  ['queue names for analysis at CERN', [], 'documents', undefined, true],
  ['compare with yesterday', JOB_THREAD, 'job', 6802258254, true],
  ['any news?', TASK_THREAD, 'task', 46374283, true],
  ['ok and now?', TASK_THREAD, 'task', 46374283, true],
  ['hmm, still red on the monitor', JOB_THREAD, 'job', 6802258254, true],
  ['tell me a joke', [], 'general', undefined, true],
  ['and the other one?', TWO_JOBS_THREAD, 'job', 6800730400, true],
  ['my job died with 137, what is that', [], 'error_code', 137, true],
  ['the payload crashed and exited 139 at BNL', [], 'error_code', 139, true],
  ['what about the other job?', TWO_JOBS_THREAD, 'job', 6800730400, true],
];

describe('selection: fast path first, the model only for ambiguous questions', () => {
  it('has a table of 40+ phrasings', () => expect(TABLE.length).toBeGreaterThanOrEqual(40));

  it.each(TABLE)('%s → %s', async (question, history, agent, id, modelCalled) => {
    const chosen = await route(question, history);
    expect(chosen.agent).toBe(agent);
    if (agent === 'job') expect(chosen.pandaid).toBe(id);
    if (agent === 'task') expect(chosen.jeditaskid).toBe(id);
    if (agent === 'error_code') expect(chosen.errorCode?.code).toBe(id);
    expect(fake.requests.length > 0).toBe(modelCalled);
  });
});

describe('model selector validation and history', () => {
  const selector = () => createModelSelector(chainFor(modelFor('openai', fake)));
  const guess: Route = { agent: 'job', pandaid: 6798544333, reason: 'follow-up in a thread about a job' };

  it('"and the other one?" picks the other job of the thread', async () => {
    const chosen = await selector()('and the other one?', TWO_JOBS_THREAD, guess);
    expect(chosen).toMatchObject({ agent: 'job', pandaid: 6800730400 });
    expect(fake.requests[0]!.raw).toContain('6800730400');
  });

  it.each([
    ['an agent outside the closed list', '{"agent":"weather","pandaid":null,"jeditaskid":null}'],
    ['an id that appears nowhere', '{"agent":"job","pandaid":9999999999,"jeditaskid":null}'],
    ['prose', 'I think this is about a job.'],
    ['a job route without any id', '{"agent":"job"}'],
    ['an error_code route without a code', '{"agent":"error_code"}'],
    ['an error code that appears nowhere', '{"agent":"error_code","code":1213}'],
  ])('ignores %s and keeps the fast guess', async (_name, reply) => {
    fake.enqueue(text(reply));
    const fallback: Route = { agent: 'general', reason: 'no id and no documentation cue' };
    expect(await selector()('hmm what now', [], fallback)).toBe(fallback);
  });

  it('keeps the fast guess when the model is too slow to route', async () => {
    fake.enqueue(hang());
    const started = Date.now();
    const chosen = await createModelSelector(chainFor(modelFor('openai', fake)), undefined, { timeoutMs: 200 })(
      '6802258254',
      [],
      guess,
    );
    expect(chosen).toBe(guess);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('keeps the fast guess when no model is reachable', async () => {
    fake.enqueue(status(503));
    expect(await selector()('6802258254', [], guess)).toBe(guess);
  });
});
