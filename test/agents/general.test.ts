import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GeneralAgent } from '../../src/agents/general.ts';
import { UNAVAILABLE_NOTE } from '../../src/agents/refine.ts';
import type { Turn } from '../../src/core/turn.ts';
import { OfflineModel } from '../../src/llm/offline.ts';
import { FAKES, status, text, type LlmFake } from '../fakes/llm/index.ts';
import { agentContext, chainFor, modelFor } from '../llm/helpers.ts';

const ROUTE = { agent: 'general' as const, reason: 'no id and no documentation cue' };
let fake: LlmFake;
beforeAll(async () => {
  fake = await FAKES.gemini().start();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.requests.length = 0;
});

describe('general agent with a model', () => {
  it('streams a PanDA answer, names the model and suggests grounded follow-ups', async () => {
    fake.enqueue(
      text(
        'Jobs wait in the activated state until a pilot on a worker node asks PanDA for work; brokerage picked the site first.',
      ),
    );
    const context = agentContext(
      chainFor(modelFor('gemini', fake)),
      'why do my jobs sit in activated for hours',
      ROUTE,
    );
    const draft = await new GeneralAgent().handle(context);
    expect(draft.summary).toMatch(/until a pilot on a worker node asks PanDA for work/);
    expect(draft.model).toBe('gemini:fake-gemini-model');
    expect(context.partials.length).toBeGreaterThan(1);
    expect(context.partials.at(-1)).toBe(draft.summary);
    const questions = draft.followUps.map((f) => f.question);
    expect(questions).toContain('What is a PanDA pilot?');
    expect(questions).toContain('What is brokerage in PanDA?');
    expect(draft.followUps.length).toBeGreaterThanOrEqual(2);
    expect(draft.followUps.length).toBeLessThanOrEqual(4);
  });

  it('sends the scope rules (decline unrelated topics, no invented job data) and the thread history', async () => {
    fake.enqueue(
      text(
        'I can only help with PanDA and ATLAS distributed computing, not the weather. Ask me about a job, a task or a PanDA concept.',
      ),
    );
    const history: Turn[] = [
      { role: 'user', text: 'what is a pilot?', at: 1 },
      {
        role: 'assistant',
        text: 'A pilot is a small job that runs on a worker node and fetches payloads.',
        agent: 'documents',
        at: 2,
      },
    ];
    const draft = await new GeneralAgent().handle(
      agentContext(chainFor(modelFor('gemini', fake)), 'what will the weather be tomorrow in Geneva', ROUTE, history),
    );
    expect(draft.summary).toMatch(/only help with PanDA/);
    const body = fake.requests[0]!.body as {
      systemInstruction: { parts: Array<{ text: string }> };
      contents: Array<{ role: string; parts: Array<{ text: string }> }>;
    };
    const system = body.systemInstruction.parts.map((p) => p.text).join('');
    expect(system).toMatch(/not about PanDA.*decline politely/s);
    expect(system).toMatch(/do not guess its state/);
    expect(body.contents.map((c) => c.role)).toEqual(['user', 'model', 'user']);
    expect(body.contents[1]!.parts[0]!.text).toContain('A pilot is a small job');
  });

  it('answers offline and says so when the model is down', async () => {
    fake.enqueue(status(503));
    const draft = await new GeneralAgent().handle(
      agentContext(chainFor(modelFor('gemini', fake)), 'tell me something', ROUTE),
    );
    expect(draft.model).toBe('offline');
    expect(draft.summary).toContain(UNAVAILABLE_NOTE);
    expect(draft.summary).toMatch(/I can explain/);
  });

  it('keeps its offline answer with the offline model', async () => {
    const draft = await new GeneralAgent().handle(agentContext(new OfflineModel(), 'hello', ROUTE));
    expect(draft.model).toBe('offline');
    expect(draft.summary).not.toContain(UNAVAILABLE_NOTE);
  });
});
