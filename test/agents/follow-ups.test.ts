import { describe, expect, it } from 'vitest';
import { withAnswerExtras } from '../../src/agents/answer-extras.ts';
import { isAnswerable, suggestFollowUps } from '../../src/agents/follow-ups.ts';
import { emptyDraft, type AnswerDraft } from '../../src/core/answer.ts';
import { OfflineModel } from '../../src/llm/offline.ts';
import { agentContext } from '../llm/helpers.ts';

function jobDraft(facts: Record<string, unknown>): AnswerDraft {
  return { ...emptyDraft('job', 'Job 6798544333 failed: stage-in timed out at BNL_PROD.'), facts };
}

describe('follow-up suggestions', () => {
  it('are built from what the job answer found: its error code, its task, its attempts and site', () => {
    const draft = jobDraft({
      pandaid: 6798544333,
      jeditaskid: 46374283,
      piloterrorcode: 1151,
      piloterrordiag: 'Stage-in timed out: file EVNT.pool.root',
      computingsite: 'BNL_PROD',
      attemptnr: 1,
      maxattempt: 3,
    });
    const followUps = suggestFollowUps(draft, { question: 'why did job 6798544333 fail?', history: [] });
    expect(followUps.map((f) => f.question)).toEqual([
      'What does pilot error 1151 mean?',
      'What is happening with task 46374283?',
      'Will job 6798544333 be retried?',
      'Are the failures of task 46374283 concentrated at BNL_PROD?',
    ]);
    expect(followUps[0]!.why).toContain('Stage-in timed out');
    expect(followUps[2]!.why).toBe('this was attempt 1 of 3');
  });

  it('differ between answers with different findings', () => {
    const a = suggestFollowUps(jobDraft({ pandaid: 6798544333, piloterrorcode: 1151 }), { question: 'q', history: [] });
    const b = suggestFollowUps(jobDraft({ pandaid: 6802258254, piloterrorcode: 1305, exeerrorcode: 65 }), {
      question: 'q',
      history: [],
    });
    expect(a.map((f) => f.question)).not.toEqual(b.map((f) => f.question));
    expect(b.map((f) => f.question)).toContain('What does transform error 65 mean?');
  });

  it('drop the question just asked, duplicates, unrelated topics and ids the answer never saw', () => {
    const draft = jobDraft({ pandaid: 6798544333, jeditaskid: 46374283, piloterrorcode: 1151 });
    const followUps = suggestFollowUps(draft, { question: 'What does pilot error 1151 mean?', history: [] }, [
      { question: 'Why did job 1234567890 fail?', why: 'never mentioned' },
      { question: 'What is the capital of France?', why: 'off topic' },
      { question: 'what is happening with task 46374283', why: 'duplicate of a grounded one, lower case' },
    ]);
    const questions = followUps.map((f) => f.question);
    expect(questions).not.toContain('What does pilot error 1151 mean?');
    expect(questions.join()).not.toMatch(/1234567890|France/);
    expect(questions.filter((q) => /task 46374283/i.test(q))).toHaveLength(1);
  });

  it('answerability follows routing: a bare greeting is not answerable, a job question is', () => {
    const draft = jobDraft({ pandaid: 6798544333 });
    expect(isAnswerable('Why did job 6798544333 fail?', draft, [])).toBe(true);
    expect(isAnswerable('hello there', draft, [])).toBe(false);
  });

  it('the decorator fills 2–4 follow-ups on any agent and leaves error answers alone', async () => {
    const agent = withAnswerExtras({
      kind: 'task',
      handle: async () => ({
        ...emptyDraft('task', 'Task 46374283 is running; 12 jobs failed with pilot error 1305.'),
        facts: { jeditaskid: 46374283, status: 'running', failedPandaid: 6802258254 },
      }),
    });
    const draft = await agent.handle(
      agentContext(new OfflineModel(), 'what is happening with task 46374283?', {
        agent: 'task',
        jeditaskid: 46374283,
        reason: 't',
      }),
    );
    expect(draft.followUps.length).toBeGreaterThanOrEqual(2);
    expect(draft.followUps.map((f) => f.question)).toContain('Why did job 6802258254 fail?');
    expect(draft.facts.llmUsage).toBeUndefined();

    const failing = withAnswerExtras({
      kind: 'job',
      handle: async () => ({
        ...emptyDraft('job', 'Job 1 not found'),
        error: { kind: 'not_found' as const, message: 'Job 1 not found' },
      }),
    });
    expect(
      (await failing.handle(agentContext(new OfflineModel(), 'job 1', { agent: 'job', pandaid: 1, reason: 't' })))
        .followUps,
    ).toEqual([]);
  });
});
