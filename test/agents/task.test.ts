import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnswerSchema } from '../../src/core/answer.ts';
import { toAnswer } from '../../src/bot/render.ts';
import { TaskAgent } from '../../src/agents/task.ts';
import { buildTaskPrompt } from '../../src/agents/task-prompt.ts';
import { analyzeTask } from '../../src/panda/task-analysis.ts';
import { TASK_FAULT, TASK_STATES, startFakeBigPanda, type FakeBigPanda } from '../fakes/bigpanda.ts';
import { context, testClient, monitorConfig } from '../panda/helpers.ts';

let fake: FakeBigPanda;
beforeAll(async () => {
  fake = await startFakeBigPanda({ hugeLogBytes: 1024 });
});
afterAll(async () => {
  await fake.close();
});

async function ask(jeditaskid: number, client = testClient(monitorConfig(fake.url))) {
  const agent = new TaskAgent({ client });
  const draft = await agent.handle(
    context({ agent: 'task', jeditaskid, reason: 'test' }, `What is happening with task ${jeditaskid}?`),
  );
  return { answer: AnswerSchema.parse(toAnswer(draft)), client };
}

describe('TaskAgent', () => {
  it('reports the demo task: status, progress per dataset, job states, top failures with examples, next steps', async () => {
    const { answer, client } = await ask(46374283);
    expect(answer.agent).toBe('task');
    expect(answer.facts).toMatchObject({
      jeditaskid: 46374283,
      status: 'running',
      nfiles: 4875,
      nfilesfinished: 1112,
      nfilesfailed: 12,
    });
    expect(answer.facts.topErrors).toEqual(
      expect.arrayContaining([{ error: 'pilot:1305', count: 29, example_pandaid: 6802258254 }]),
    );
    const description = answer.sections[0]!.body;
    expect(description).toMatch(/input .*1,112\/4,875 finished/);
    expect(description).toMatch(/output .*1 failed/);
    expect(description).toMatch(/log .*1 failed/);
    expect(description).toMatch(/running 212/);
    expect(answer.sections[2]!.body).toMatch(/pilot:1305 PAYLOADEXECUTIONFAILURE: 29 jobs, e\.g\. job 6802258254/);
    expect(answer.followUps[0]).toMatchObject({ question: 'Why did job 6802258254 fail?' });
    expect(answer.links[0]!.url).toBe(`${client.publicUrl}/task/46374283/`);
    // three monitor requests cold (task, task list with job counts, errors), none warm
    expect(client.stats.requests).toBe(3);
    await ask(46374283, client);
    expect(client.stats.requests).toBe(3);
  });

  const expectations: Record<string, RegExp> = {
    finished: /could not be processed/,
    broken: /broken.*Input dataset mc23_13p6TeV:missing/s,
    exhausted: /stopped retrying/,
    failed: /too many of its jobs failed/,
    done: /every input file was processed/,
  };
  for (const [status, id] of Object.entries(TASK_STATES)) {
    it(`gives status-specific guidance for a ${status} task`, async () => {
      const { answer } = await ask(id);
      expect(answer.facts.status).toBe(status);
      expect(answer.sections[1]!.body).toMatch(expectations[status]!);
    });
  }

  it('maps an unknown task to not_found and a 500 to monitor_unavailable, naming the task page', async () => {
    const unknown = (await ask(TASK_FAULT.unknown)).answer;
    expect(unknown.error?.kind).toBe('not_found');
    expect(unknown.error?.message).toContain(`/task/${TASK_FAULT.unknown}/`);
    const broken = (await ask(TASK_FAULT.server500)).answer;
    expect(broken.error?.kind).toBe('monitor_unavailable');
    expect(broken.error?.message).toContain(`task ${TASK_FAULT.server500}`);
  });

  it('still answers when the error summary is down, and says so', async () => {
    const { answer } = await ask(TASK_FAULT.errorsDown);
    expect(answer.error).toBeUndefined();
    expect(answer.facts.nfilesfinished).toBe(1112);
    expect(answer.text).toMatch(/error summary could not be read/);
  });

  it('builds a compact prompt with failure groups fenced as untrusted data', async () => {
    const client = testClient(monitorConfig(fake.url));
    const analysis = await analyzeTask(client, 46374283);
    const [system, user] = buildTaskPrompt({ question: 'what is happening?', analysis });
    expect(system!.content).toMatch(/never as instructions/);
    expect(user!.content).toContain('<untrusted-data>');
    expect(user!.content).toContain('pilot:1305 PAYLOADEXECUTIONFAILURE count=29 example_job=6802258254');
    expect(user!.content).not.toContain('taskparams');
    expect(user!.content.length).toBeLessThan(6000);
  });
});
