import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { refineWithModel, UNAVAILABLE_NOTE } from '../../src/agents/refine.ts';
import type { AnswerDraft } from '../../src/core/answer.ts';
import { toAnswer } from '../../src/bot/render.ts';
import type { ChatMessage } from '../../src/llm/chat-model.ts';
import { OfflineModel } from '../../src/llm/offline.ts';
import { FAKES, status, text, type LlmFake } from '../fakes/llm/index.ts';
import { agentContext, chainFor, modelFor } from '../llm/helpers.ts';

/** The offline job draft as the job agent builds it for the demo's 1305 payload failure. */
function offlineDraft(): AnswerDraft {
  return {
    agent: 'job',
    summary: 'Job 6802258254 failed: pilot error 1305 (payload execution failure); the payload exited with code 65.',
    sections: [
      { title: 'Description', body: 'The payload (athena) stopped with exit code 65.' },
      { title: 'Non-expert guidance', body: 'Check the payload log for the first error.' },
      { title: 'Expert guidance', body: 'See payload.stderr around the ERROR line.' },
    ],
    facts: {
      pandaid: 6802258254,
      jeditaskid: 46374283,
      jobstatus: 'failed',
      piloterrorcode: 1305,
      piloterrordiag: 'Payload execution failure: exit code 65',
      exeerrorcode: 65,
      computingsite: 'BNL_PROD',
      attemptnr: 1,
      maxattempt: 3,
    },
    evidence: [
      { source: 'payload.stderr', lines: ['ERROR: could not open input file EVNT.12345._000001.pool.root.1'] },
    ],
    followUps: [],
    sources: [],
    links: [{ title: 'job 6802258254', url: 'https://bigpanda.cern.ch/job?pandaid=6802258254' }],
    model: 'offline',
  };
}

const MESSAGES: ChatMessage[] = [
  { role: 'system', content: 'You are askpanda, explaining a failed PanDA job.' },
  {
    role: 'user',
    content:
      'Job facts: pandaid 6802258254, pilot error 1305.\nLog (untrusted):\n```\nERROR: could not open input file\n```\nWhy did job 6802258254 fail?',
  },
];
const ROUTE = { agent: 'job' as const, pandaid: 6802258254, reason: 'test' };

const GOOD = JSON.stringify({
  summary: 'Job 6802258254 failed because athena could not open its input file EVNT.12345._000001.pool.root.1.',
  sections: [
    { title: 'Description', body: 'The payload stopped with exit code 65 after failing to open the input file.' },
    {
      title: 'Non-expert guidance',
      body: '- The input file was missing or unreadable at BNL_PROD.\n- Retrying may help if the site had a transient storage problem.',
    },
    {
      title: 'Expert guidance',
      body: 'Check the replica of EVNT.12345._000001.pool.root.1 in Rucio and the site storage status.',
    },
  ],
  followUps: [
    { question: 'Is the input file of job 6802258254 available in Rucio?', why: 'athena could not open it' },
    { question: 'What is the weather at CERN?', why: 'not answerable by askpanda' },
    { question: 'Why did job 1111111111 fail?', why: 'an id that this answer never saw' },
  ],
});

let fake: LlmFake;
beforeAll(async () => {
  fake = await FAKES.openai().start();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.requests.length = 0;
});

describe('refineWithModel', () => {
  it('returns the model sections, keeps facts, evidence and links, and names the model', async () => {
    fake.enqueue(text(GOOD));
    const draft = await refineWithModel(
      agentContext(chainFor(modelFor('openai', fake)), 'Why did job 6802258254 fail?', ROUTE),
      MESSAGES,
      offlineDraft(),
    );
    expect(draft.model).toBe('openai:fake-openai-model');
    expect(draft.summary).toMatch(/could not open its input file/);
    expect(draft.sections.map((s) => s.title)).toEqual(['Description', 'Non-expert guidance', 'Expert guidance']);
    expect(draft.facts).toEqual(offlineDraft().facts);
    expect(draft.evidence).toEqual(offlineDraft().evidence);
    expect(draft.links).toEqual(offlineDraft().links);
    // The request asked for JSON with the offline draft's section titles.
    const body = fake.requests[0]!.body as { messages: Array<{ content: string }>; response_format: unknown };
    expect(body.response_format).toEqual({ type: 'json_object' });
    expect(body.messages.map((m) => m.content).join('\n')).toContain(
      '"Description", "Non-expert guidance", "Expert guidance"',
    );
  });

  it('keeps only follow-ups askpanda can answer about ids it saw, and fills up to at least two from the facts', async () => {
    fake.enqueue(text(GOOD));
    const draft = await refineWithModel(
      agentContext(chainFor(modelFor('openai', fake)), 'Why did job 6802258254 fail?', ROUTE),
      MESSAGES,
      offlineDraft(),
    );
    const questions = draft.followUps.map((f) => f.question);
    expect(questions[0]).toBe('Is the input file of job 6802258254 available in Rucio?');
    expect(questions).not.toContain('What is the weather at CERN?');
    expect(questions.join(' ')).not.toContain('1111111111');
    expect(draft.followUps.length).toBeGreaterThanOrEqual(2);
    expect(draft.followUps.length).toBeLessThanOrEqual(4);
    expect(questions).toContain('What does pilot error 1305 mean?');
    for (const f of draft.followUps) expect(f.why.length).toBeGreaterThan(5);
  });

  it('repairs junk once: the second, valid reply is used', async () => {
    fake.enqueue(text('Sure! Here is the analysis: the job failed.'), text(`\`\`\`json\n${GOOD}\n\`\`\``));
    const draft = await refineWithModel(
      agentContext(chainFor(modelFor('openai', fake)), 'q', ROUTE),
      MESSAGES,
      offlineDraft(),
    );
    expect(draft.model).toBe('openai:fake-openai-model');
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[1]!.raw).toContain('That reply cannot be used: there is no JSON object in it');
  });

  it.each([
    ['prose', 'The job failed, sorry.'],
    ['truncated JSON', '{"summary": "Job failed", "sections": [{"title": "Description", "bo'],
    ['wrong shape', '{"answer": "the job failed"}'],
    [
      'JSON inside a section body',
      JSON.stringify({ summary: 'x', sections: [{ title: 'Description', body: '{"error": 65}' }] }),
    ],
    ['empty sections', JSON.stringify({ summary: 'x', sections: [] })],
  ])('falls back to the offline draft on %s twice, never showing raw JSON or a parse error', async (_name, junk) => {
    fake.enqueue(text(junk), text(junk));
    const draft = await refineWithModel(
      agentContext(chainFor(modelFor('openai', fake)), 'q', ROUTE),
      MESSAGES,
      offlineDraft(),
    );
    expect(draft).toEqual(offlineDraft());
    const rendered = toAnswer(draft).text;
    expect(rendered).not.toMatch(/JSON|parse|Unexpected token|"summary"/);
  });

  it('answers offline and says so when every remote model is down', async () => {
    fake.enqueue(status(500));
    const draft = await refineWithModel(
      agentContext(chainFor(modelFor('openai', fake)), 'q', ROUTE),
      MESSAGES,
      offlineDraft(),
    );
    expect(draft.model).toBe('offline');
    expect(draft.summary).toContain(UNAVAILABLE_NOTE);
    expect(draft.sections).toEqual(offlineDraft().sections);
  });

  it('does not call anything with the offline model', async () => {
    const draft = await refineWithModel(agentContext(new OfflineModel(), 'q', ROUTE), MESSAGES, offlineDraft());
    expect(draft).toEqual(offlineDraft());
  });
});

describe('streaming the summary while the sections are written', () => {
  it('decodes the summary of an unfinished JSON reply', async () => {
    const { partialSummary } = await import('../../src/agents/refine.ts');
    expect(partialSummary('{"summ')).toBeUndefined();
    expect(partialSummary('{"summary": "Job 680')).toBe('Job 680');
    expect(partialSummary('{"summary": "The \\"input\\" file\\')).toBe('The "input" file');
    expect(partialSummary('{"summary": "caf\\u00e9 and \\u00')).toBe('café and ');
    expect(partialSummary('{"summary": "done", "sections": [')).toBe('done');
  });

  it('shows the growing summary through onPartialText, then returns the full draft', async () => {
    fake.enqueue(text(GOOD));
    const context = agentContext(chainFor(modelFor('openai', fake)), 'Why did job 6802258254 fail?', ROUTE);
    const draft = await refineWithModel(context, MESSAGES, offlineDraft());
    expect((fake.requests[0]!.body as { stream?: boolean }).stream).toBe(true);
    expect(context.partials.length).toBeGreaterThan(0);
    expect(context.partials.every((p) => draft.summary.startsWith(p))).toBe(true);
    expect(context.partials.some((p) => p.includes('{') || p.includes('"sections"'))).toBe(false);
    expect(draft.sections).toHaveLength(3);
  });
});

it('makes one plain (non-streaming) call when the surface does not stream', async () => {
  fake.requests.length = 0;
  fake.enqueue(text(GOOD));
  const context = { ...agentContext(chainFor(modelFor('openai', fake)), 'q', ROUTE), onPartialText: undefined };
  const draft = await refineWithModel(context, MESSAGES, offlineDraft());
  expect(draft.model).toBe('openai:fake-openai-model');
  expect((fake.requests[0]!.body as { stream?: boolean }).stream).toBeFalsy();
});
