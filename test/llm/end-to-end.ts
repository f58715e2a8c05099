import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderName } from '../../src/llm/providers.ts';
import { AnswerSchema, type Answer } from '../../src/core/answer.ts';
import { cliEnv, runCli } from '../support/cli.ts';
import { envFor, FAKES, status, text, type LlmFake, type RecordedRequest, type Reply } from '../fakes/llm/index.ts';

const SECRET = 'sk-proj-E2ESEEDEDSECRET0123456789';

/** Every request's text, whatever the protocol nests it in (messages, contents/parts, system). */
function promptText(request: RecordedRequest): string {
  return request.raw.replace(/\\n/g, '\n').replace(/\\"/g, '"');
}

/**
 * What a capable model would answer to each kind of request askpanda sends: the routing JSON, the
 * structured job/task sections, a cited documentation answer, or a general answer.
 */
export function answeringModel(request: RecordedRequest): Reply {
  const prompt = promptText(request);
  if (prompt.includes('You route questions for askpanda')) {
    return text(
      JSON.stringify({
        agent: /hello|help me/i.test(prompt.split('Latest message:').pop() ?? '') ? 'general' : 'documents',
        pandaid: null,
        jeditaskid: null,
        reason: 'e2e',
      }),
    );
  }
  const titles = /Section titles, exactly and in this order: (.*?)\. Write/.exec(prompt)?.[1];
  if (titles) {
    const names = [...titles.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
    const id = /pandaid: (\d+)/.exec(prompt)?.[1] ?? /jeditaskid: (\d+)/.exec(prompt)?.[1] ?? 'unknown';
    return text(
      JSON.stringify({
        summary: `Model summary for ${id}: the evidence points at the failing step shown below.`,
        sections: names.map((title) => ({ title, body: `Model-written ${title.toLowerCase()} for ${id}.` })),
        followUps: [{ question: `What does pilot error 1305 mean?`, why: 'the job failed with it' }],
      }),
    );
  }
  if (prompt.includes('numbered documentation excerpts'))
    return text('A pilot is the small program that runs on a worker node and fetches and runs the payload [1].');
  return text(
    'I can help with PanDA jobs, tasks and concepts. Ask me about a job id or a PanDA term such as the pilot.',
  );
}

async function ask(env: Record<string, string>, question: string): Promise<Answer> {
  const result = await runCli(['ask', question, '--json'], { env, timeoutMs: 40_000 });
  expect(result.code, result.stderr).toBe(0);
  return AnswerSchema.parse(JSON.parse(result.stdout.trim()));
}

/** `askpanda ask --json` with ASKPANDA_LLM=<provider> against that provider's fake, for every agent. */
export function describeEndToEnd(provider: ProviderName): void {
  // Each case is one CLI process (about 2 s on an idle machine).
  describe(`ASKPANDA_LLM=${provider} end to end through askpanda ask --json`, () => {
    let fake: LlmFake;
    let down: LlmFake;
    let backup: LlmFake;
    beforeAll(async () => {
      fake = await FAKES[provider]().start();
      fake.responder = answeringModel;
      down = await FAKES[provider]().start();
      down.responder = () => status(503);
      backup = await FAKES.openai().start();
      backup.responder = answeringModel;
    });
    afterAll(async () => {
      for (const f of [fake, down, backup]) await f.close();
      expect(fake.allBodies()).not.toContain('E2ESEEDEDSECRET');
    });

    const env = () => cliEnv({ ...envFor(provider, fake), ASKPANDA_DEMO: '1' });
    const modelId = `${provider}:fake-${provider}-model`;

    it('answers a general question with the model', async () => {
      const answer = await ask(env(), `hello, can you help me? my key is ${SECRET}`);
      expect(answer).toMatchObject({ agent: 'general', model: modelId });
      expect(answer.text).toContain('I can help with PanDA jobs');
      expect(answer.followUps.length).toBeGreaterThanOrEqual(2);
    });

    it('answers a documentation question citing its sources', async () => {
      const answer = await ask(env(), 'what is a pilot?');
      expect(answer).toMatchObject({ agent: 'documents', model: modelId });
      expect(answer.text).toContain('[1]');
      expect(answer.sources.length).toBeGreaterThan(0);
    });

    it('answers a job question in the structured sections', async () => {
      const answer = await ask(env(), 'why did job 6802258254 fail?');
      expect(answer).toMatchObject({ agent: 'job', model: modelId });
      expect(answer.text).toContain('Model summary for 6802258254');
      expect(answer.facts.llmUsage).toMatchObject({ calls: 1, inputTokens: 120, outputTokens: 40 });
      expect(answer.sections.length).toBeGreaterThan(0);
      expect(answer.evidence.length).toBeGreaterThan(0);
      expect(answer.facts.pandaid).toBe(6802258254);
    });

    it('answers a task question in the structured sections', async () => {
      const answer = await ask(env(), 'what is happening with task 46374283?');
      expect(answer).toMatchObject({ agent: 'task', model: modelId });
      expect(answer.text).toContain('Model summary for 46374283');
    });

    it('answers a job question offline, saying so, when every remote model is down', async () => {
      const answer = await ask(
        cliEnv({ ...envFor(provider, down), ASKPANDA_LLM: `${provider},offline`, ASKPANDA_DEMO: '1' }),
        'why did job 6800730400 fail?',
      );
      expect(answer).toMatchObject({ agent: 'job', model: 'offline' });
      expect(answer.text).toContain('No language model could answer just now');
      expect(answer.sections.length).toBeGreaterThan(0);
      expect(answer.text).not.toMatch(/ProviderError|server error|Unexpected token|"summary"/);
    });

    it(`falls through to the next provider when ${provider} is down`, async () => {
      const answer = await ask(
        cliEnv({
          ...envFor(provider, down),
          ...envFor('openai', backup),
          ASKPANDA_LLM: `${provider},openai,offline`,
          ASKPANDA_DEMO: '1',
        }),
        'what is a pilot?',
      );
      expect(answer.model).toBe('openai:fake-openai-model');
      expect(down.requests.length).toBeGreaterThan(0);
    });
  });
}
