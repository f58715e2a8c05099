import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgetQueueNames, knownNamesIn, rememberQueueNames } from '../../src/agents/queue-names.ts';
import { selectFast } from '../../src/agents/selection.ts';
import type { Turn } from '../../src/core/turn.ts';
import { demoQueueNames } from '../../src/panda/demo/grid-services.ts';

const JOB_THREAD: Turn[] = [
  { role: 'user', text: 'why did job 6800730400 fail?', at: 1, pandaid: 6800730400, jeditaskid: 46374283 },
  {
    role: 'assistant',
    text: 'Job 6800730400 failed at BNL_PROD_MCORE: pilot error 1235.',
    agent: 'job',
    at: 2,
    pandaid: 6800730400,
    jeditaskid: 46374283,
  },
];
const QUEUE_THREAD: Turn[] = [
  { role: 'user', text: 'what are the limits of AGLT2?', at: 1 },
  {
    role: 'assistant',
    text: 'Queue AGLT2 (site AGLT2, cloud US) is online: memory 48,000 MB per 8-core slot.',
    agent: 'queue',
    at: 2,
  },
];

function agentFor(question: string, history: Turn[] = []): string {
  const fast = selectFast(question, history);
  if ('problem' in fast) return `problem: ${fast.problem}`;
  return fast.route.agent;
}

/** Questions for the queue agent, as users ask them (names from the demo's CRIC dump). */
const QUEUE_QUESTIONS: Array<[string, Turn[]?]> = [
  ['which queues are brokeroff?'],
  ['is BNL accepting MCORE jobs?'],
  ['what is the maxtime for queue AGLT2?'],
  ['what is the memory limit at MWT2?'],
  ['AGLT2?'],
  ['status of CERN-PROD'],
  ['tell me about ANALY_SiGNET_DIRECT'],
  ['is the queue TOKYO online?'],
  ['which copytool does praguelcg2 use?'],
  ['list the hpc queues'],
  ['how many queues are online?'],
  ['queues in the DE cloud that are offline'],
  ['which sites use xrdcp?'],
  ['show test queues in cloud UK'],
  ['does IN2P3-CC accept multi-core jobs?'],
  ['how many cores does Vega_MCORE have?'],
  ['what is the walltime limit of pic?'],
  ['is PanDA up?'],
  ['is the panda server down?'],
  ['is bigpanda working right now?'],
  ['panda server status'],
  ['why was my job killed for memory when I asked for enough?'],
  ['what are the limits of RAL?'],
  ['which queues at BNL-ATLAS are brokeroff?'],
  ['number of queues per status'],
  ['give me all GPU queues'],
  ["what's the maxrss of UKI-LT2-QMUL?"],
  ['queues at GoeGrid'],
  ['What is the status of site MWT2?', JOB_THREAD],
  ['is FOO_BAR_TEST a brokeroff queue?'],
  ['max input size for queue DESY-HH'],
  ['which analysis queues are online in cloud US?'],
  ['can you reach the panda server?'],
  ['is SWT2_CPB accepting single-core jobs?'],
  ['and the walltime?', QUEUE_THREAD],
  ['what about MWT2?', QUEUE_THREAD],
];

/** Questions that belong to other agents even though they share words with queue questions. */
const OTHER_QUESTIONS: Array<[string, string, Turn[]?]> = [
  ['what is a queue?', 'documents'],
  ['what is CRIC?', 'documents'],
  ['what does brokeroff mean?', 'documents'],
  ['how do I request more memory for my jobs?', 'documents'],
  ['why did job 6800730400 fail?', 'job'],
  ['what is happening with task 46374283?', 'task'],
  ['why did it fail at BNL_PROD_MCORE?', 'job', JOB_THREAD],
  ['was it killed for memory?', 'job', JOB_THREAD],
  ['how can I fix it?', 'job', JOB_THREAD],
  ['is my job still running?', 'job', JOB_THREAD],
  ['hello', 'general'],
  ['list all my failed jobs from yesterday', 'documents'],
];

describe('routing to the queue agent, with the names of a CRIC snapshot', () => {
  beforeAll(() => rememberQueueNames(demoQueueNames()));
  afterAll(() => forgetQueueNames());

  it(`routes ${QUEUE_QUESTIONS.length} phrasings of queue, site and health questions to the queue agent`, () => {
    const wrong = QUEUE_QUESTIONS.filter(([q, history]) => agentFor(q, history) !== 'queue').map(
      ([q]) => `${q} -> ${agentFor(q)}`,
    );
    expect(wrong).toEqual([]);
    expect(QUEUE_QUESTIONS.length).toBeGreaterThanOrEqual(30);
  });

  it('leaves concept questions, job and task questions and job-thread follow-ups to their agents', () => {
    const wrong = OTHER_QUESTIONS.filter(([q, agent, history]) => agentFor(q, history) !== agent).map(
      ([q, agent, history]) => `${q}: expected ${agent}, got ${agentFor(q, history)}`,
    );
    expect(wrong).toEqual([]);
  });

  it('recognises plain names only as written, never common words', () => {
    expect(knownNamesIn('list all queues at pic')).toEqual(['pic']);
    expect(knownNamesIn('is BNL up')).toEqual(['BNL']);
    expect(knownNamesIn('is bnl up')).toEqual([]);
    expect(knownNamesIn('what is in the queue ALL')).toEqual(['ALL']);
    expect(knownNamesIn('uki-lt2-qmul memory')).toEqual(['UKI-LT2-QMUL']);
  });

  it('a known name routes with confidence; a name-shaped unknown word leaves room for a model', () => {
    const known = selectFast('what is the maxtime of AGLT2?', []);
    const shaped = selectFast('what is the maxtime of queue FOO_BAR?', []);
    expect('route' in known && known.confident).toBe(true);
    expect('route' in shaped && shaped.route.agent === 'queue' && !shaped.confident).toBe(true);
  });
});

describe('routing before any snapshot is known', () => {
  beforeAll(() => forgetQueueNames());

  it('still routes queue words with name-shaped words, lists and health questions', () => {
    for (const q of [
      'is BNL accepting MCORE jobs?',
      'what is the maxtime for queue AGLT2?',
      'which queues are brokeroff?',
      'is PanDA up?',
      'how many queues are online?',
    ]) {
      expect(agentFor(q), q).toBe('queue');
    }
  });

  it('a bare name needs the snapshot to be recognised', () => {
    expect(agentFor('AGLT2?')).toBe('documents');
  });
});
