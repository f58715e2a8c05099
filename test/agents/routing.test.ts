import { describe, expect, it } from 'vitest';
import type { Route } from '../../src/agents/agent.ts';
import { ROUTING_RULES, selectFast } from '../../src/agents/selection.ts';
import type { Turn } from '../../src/core/turn.ts';

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
const JOB_ONLY_THREAD: Turn[] = [
  { role: 'user', text: 'why did job 6802258254 fail?', at: 1, pandaid: 6802258254 },
  { role: 'assistant', text: 'Job 6802258254 failed with pilot error 1305.', agent: 'job', at: 2, pandaid: 6802258254 },
];
const TASK_THREAD: Turn[] = [
  { role: 'user', text: 'what is happening with task 46374283?', at: 1, jeditaskid: 46374283 },
  { role: 'assistant', text: 'Task 46374283 is running; 12 jobs failed.', agent: 'task', at: 2, jeditaskid: 46374283 },
];
const CODE_THREAD: Turn[] = [
  { role: 'user', text: 'what does pilot error 1213 mean?', at: 1 },
  {
    role: 'assistant',
    text: '**Pilot error 1213 (REACHEDMAXTIME)**: The job ran out of the time the batch system allows.',
    agent: 'error_code',
    at: 2,
  },
];
const TRANSFORM_THREAD: Turn[] = [
  { role: 'user', text: 'exit code 137', at: 1 },
  {
    role: 'assistant',
    text: '**Transform exit code 137 (TRF_SIG_SIGKILL)**: The payload ended on signal SIGKILL. pilot errors 1212/1235/1213 often come with it.',
    agent: 'error_code',
    at: 2,
  },
];
const DOCS_THREAD: Turn[] = [
  { role: 'user', text: 'what is Rucio?', at: 1 },
  {
    role: 'assistant',
    text: '**Rucio** [1] Rucio is the ATLAS distributed data management system.',
    agent: 'documents',
    at: 2,
  },
];

type Expect = Partial<Pick<Route, 'pandaid' | 'jeditaskid' | 'errorCode'>>;
type Row = [question: string, history: Turn[], agent: Route['agent'], expect: Expect, confident: boolean];

const TABLE: Row[] = [
  // Queues and sites (CRIC), and PanDA's health.
  ['which queues are brokeroff?', [], 'queue', {}, true],
  ['is PanDA up?', [], 'queue', {}, true],
  // Ids: job and task, labelled, linked and bare.
  ['why did job 6802258254 fail?', [], 'job', { pandaid: 6802258254 }, true],
  ['what is going on with job 6798544333', [], 'job', { pandaid: 6798544333 }, true],
  ['pandaid 6798544333 logs please', [], 'job', { pandaid: 6798544333 }, true],
  ['PanDA ID: 6800730400 failed, why?', [], 'job', { pandaid: 6800730400 }, true],
  ['https://bigpanda.cern.ch/job?pandaid=6800730400', [], 'job', { pandaid: 6800730400 }, true],
  ['what is happening with task 46374283?', [], 'task', { jeditaskid: 46374283 }, true],
  ['jeditaskid=46374283 status', [], 'task', { jeditaskid: 46374283 }, true],
  ['https://bigpanda.cern.ch/task/46374283/', [], 'task', { jeditaskid: 46374283 }, true],
  ['why did job 6802258254 fail with pilot error 1305?', [], 'job', { pandaid: 6802258254 }, true],
  ['what about job 6798544333?', TASK_THREAD, 'job', { pandaid: 6798544333 }, true],
  ['6802258254', [], 'job', { pandaid: 6802258254 }, false],
  ['46374283', [], 'task', { jeditaskid: 46374283 }, false],
  ['6800730400', JOB_ONLY_THREAD, 'job', { pandaid: 6800730400 }, true],
  ['46374284', TASK_THREAD, 'task', { jeditaskid: 46374284 }, true],
  // Error codes, every component and the shapes users type.
  ['What does pilot error 1213 mean?', [], 'error_code', { errorCode: { component: 'pilot', code: 1213 } }, true],
  ['what is piloterrorcode 1099', [], 'error_code', { errorCode: { component: 'pilot', code: 1099 } }, true],
  ['piloterrorcode=1305?', [], 'error_code', { errorCode: { component: 'pilot', code: 1305 } }, true],
  ['pilot:1305', [], 'error_code', { errorCode: { component: 'pilot', code: 1305 } }, true],
  ['explain pilot error code 1235', [], 'error_code', { errorCode: { component: 'pilot', code: 1235 } }, true],
  ['what is a 1150 pilot error', [], 'error_code', { errorCode: { component: 'pilot', code: 1150 } }, true],
  ['What is exit code 65 of a transform?', [], 'error_code', { errorCode: { component: 'transform', code: 65 } }, true],
  ['transform exit code 251', [], 'error_code', { errorCode: { component: 'transform', code: 251 } }, true],
  ['my jobs end with exit code 137', [], 'error_code', { errorCode: { component: 'transform', code: 137 } }, true],
  ['what does transexitcode 8 mean', [], 'error_code', { errorCode: { component: 'transform', code: 8 } }, true],
  ['exeerrorcode 65', [], 'error_code', { errorCode: { component: 'executor', code: 65 } }, true],
  ['what does ddm error 200 mean?', [], 'error_code', { errorCode: { component: 'dataservice', code: 200 } }, true],
  ['dataservice:200', [], 'error_code', { errorCode: { component: 'dataservice', code: 200 } }, true],
  ['taskbuffer error 100', [], 'error_code', { errorCode: { component: 'taskbuffer', code: 100 } }, true],
  ['what is task buffer error 300?', [], 'error_code', { errorCode: { component: 'taskbuffer', code: 300 } }, true],
  ['supervisor error 8970', [], 'error_code', { errorCode: { component: 'supervisor', code: 8970 } }, true],
  ['ddm error 12345', [], 'error_code', { errorCode: { component: 'dataservice', code: 12345 } }, true],
  ['why did 6802258254 fail with pilot error 1305', [], 'job', { pandaid: 6802258254 }, false],
  ['brokerage error code 5', [], 'error_code', { errorCode: { component: 'brokerage', code: 5 } }, true],
  ['jobdispatcher error 100', [], 'error_code', { errorCode: { component: 'jobdispatcher', code: 100 } }, true],
  ['What does STAGEINFAILED mean?', [], 'error_code', { errorCode: { component: 'pilot', code: 1099 } }, true],
  ['TRF_EXEC_FAIL?', [], 'error_code', { errorCode: { component: 'transform', code: 65 } }, true],
  ['what does error code 1213 mean', [], 'error_code', { errorCode: { code: 1213 } }, true],
  ['error 1305', [], 'error_code', { errorCode: { code: 1305 } }, true],
  [
    'What does pilot error 1235 mean?',
    JOB_THREAD,
    'error_code',
    { errorCode: { component: 'pilot', code: 1235 } },
    true,
  ],
  ['What does HTTP status code 429 mean on the monitor?', [], 'documents', {}, true],
  ['what does error 4242 mean', [], 'documents', {}, true],
  // Follow-ups to an error-code answer.
  ['and 1212?', CODE_THREAD, 'error_code', { errorCode: { component: 'pilot', code: 1212 } }, true],
  ['what about 1236', CODE_THREAD, 'error_code', { errorCode: { component: 'pilot', code: 1236 } }, true],
  ['how do I fix it?', CODE_THREAD, 'error_code', { errorCode: { component: 'pilot', code: 1213 } }, true],
  ['is it my fault?', CODE_THREAD, 'error_code', { errorCode: { component: 'pilot', code: 1213 } }, true],
  [
    'show failed jobs with this error in my task',
    CODE_THREAD,
    'error_code',
    { errorCode: { component: 'pilot', code: 1213 } },
    true,
  ],
  ['and 139?', TRANSFORM_THREAD, 'error_code', { errorCode: { component: 'transform', code: 139 } }, true],
  ['what is a pilot?', CODE_THREAD, 'documents', {}, true],
  // Small talk and questions about the bot.
  ['hello', [], 'general', {}, true],
  ['hi!', [], 'general', {}, true],
  ['good morning askpanda', [], 'general', {}, true],
  ['thanks!', [], 'general', {}, true],
  ['thank you so much', [], 'general', {}, true],
  ['ok', [], 'general', {}, true],
  ['ok thanks', JOB_THREAD, 'general', {}, true],
  ['👍', [], 'general', {}, true],
  ['bye', [], 'general', {}, true],
  ['who are you?', [], 'general', {}, true],
  ['what can you do?', [], 'general', {}, true],
  ['hi, can you help me with PanDA?', [], 'general', {}, true],
  // Documentation shapes (with no id): all to the documents agent.
  ['what is a pilot?', [], 'documents', {}, true],
  ['How does brokerage work?', [], 'documents', {}, true],
  ['How does the event service work?', [], 'documents', {}, true],
  ['How are job priorities calculated?', [], 'documents', {}, true],
  ['How are retries of failed jobs done?', [], 'documents', {}, true],
  ['Why would my task go to exhausted?', [], 'documents', {}, true],
  ['Why would my task be broken?', [], 'documents', {}, true],
  ['What causes a lost heartbeat?', [], 'documents', {}, true],
  ['What causes the Looping job killed by pilot error?', [], 'documents', {}, true],
  ['How often does the pilot send a heartbeat?', [], 'documents', {}, true],
  ['How often are priorities of waiting jobs recalculated?', [], 'documents', {}, true],
  ['When is a task done?', [], 'documents', {}, true],
  ['When is a Rucio dataset complete?', [], 'documents', {}, true],
  ['What does RSE stand for?', [], 'documents', {}, true],
  ['what does CRIC stand for', [], 'documents', {}, true],
  ['how do I retry my failed jobs?', [], 'documents', {}, true],
  ['where can I find my output dataset?', [], 'documents', {}, true],
  [
    'Which error code does the pilot report for SIGTERM?',
    [],
    'error_code',
    { errorCode: { component: 'pilot', code: 1201 } },
    true,
  ],
  ['Can a closed Rucio dataset be opened again?', [], 'documents', {}, true],
  ['Is automatic token refresh on by default in the Rucio client?', [], 'documents', {}, true],
  ['explain brokerage', [], 'documents', {}, true],
  ['define scout jobs', [], 'documents', {}, true],
  ['tell me about Harvester', [], 'documents', {}, true],
  ['difference between done and finished for a task', [], 'documents', {}, true],
  ['my jobs are stuck in activated', [], 'documents', {}, false],
  ['pilot heartbeat timeouts, common causes', [], 'documents', {}, false],
  ['what is the capital of France?', [], 'documents', {}, false],
  ['What is Rucio?', JOB_THREAD, 'documents', {}, true],
  // Follow-ups in job, task and documentation threads.
  ['how can I fix it?', JOB_THREAD, 'job', { pandaid: 6802258254 }, true],
  ['why did it fail?', JOB_THREAD, 'job', { pandaid: 6802258254 }, true],
  ['show me the logs', JOB_THREAD, 'job', { pandaid: 6802258254 }, true],
  ['what is the progress?', TASK_THREAD, 'task', { jeditaskid: 46374283 }, true],
  ['kill it', TASK_THREAD, 'task', { jeditaskid: 46374283 }, true],
  ['show failed jobs with this error in my task', TASK_THREAD, 'task', { jeditaskid: 46374283 }, true],
  ['and the other one?', JOB_THREAD, 'job', { pandaid: 6802258254 }, false],
  ['compare with yesterday', JOB_THREAD, 'job', { pandaid: 6802258254 }, false],
  ['and CRIC?', DOCS_THREAD, 'documents', {}, true],
  ['and Harvester', DOCS_THREAD, 'documents', {}, true],
];

describe('the routing table (offline fast path)', () => {
  it('has at least 80 phrasings', () => expect(TABLE.length).toBeGreaterThanOrEqual(80));

  it.each(TABLE)('%s → %s', (question, history, agent, expected, confident) => {
    const routed = selectFast(question, history);
    if ('problem' in routed) throw new Error(routed.problem);
    expect(routed.route.agent, routed.rule).toBe(agent);
    expect(routed.route).toMatchObject(expected);
    if (agent === 'error_code' && !expected.errorCode?.component)
      expect(routed.route.errorCode?.component).toBeUndefined();
    expect(routed.confident, routed.rule).toBe(confident);
  });

  it('exercises every rule of the table', () => {
    const used = new Set(
      TABLE.map(([question, history]) => selectFast(question, history)).map((r) => ('rule' in r ? r.rule : 'problem')),
    );
    expect(ROUTING_RULES.map((r) => r.name).filter((name) => !used.has(name))).toEqual([]);
  });

  it('never sends a question without an id, code or small talk to the general agent', () => {
    for (const [question, history, agent] of TABLE) {
      if (agent !== 'general') {
        const routed = selectFast(question, history);
        expect('route' in routed && routed.route.agent, question).not.toBe('general');
      }
    }
  });

  it('reports ids it cannot use instead of routing them', () => {
    expect(selectFast('why did job 68022582540000000 fail?', [])).toMatchObject({
      problem: expect.stringMatching(/digits/),
    });
  });
});
