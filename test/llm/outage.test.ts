import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/load-config.ts';
import { silentLogger } from '../../src/util/log.ts';
import { envFor, FAKES, status, type LlmFake } from '../fakes/llm/index.ts';
import { answeringModel } from './end-to-end.ts';

describe('a provider outage in the middle of a running process', () => {
  let primary: LlmFake;
  let secondary: LlmFake;
  let app: App;
  let dataDir: string;
  beforeAll(async () => {
    primary = await FAKES.mistral().start();
    secondary = await FAKES.anthropic().start();
    primary.responder = answeringModel;
    secondary.responder = answeringModel;
    dataDir = mkdtempSync(path.join(tmpdir(), 'askpanda-outage-'));
    const env = {
      ...envFor('mistral', primary),
      ...envFor('anthropic', secondary),
      ASKPANDA_LLM: 'mistral,anthropic,offline',
      ASKPANDA_DATA_DIR: dataDir,
      ASKPANDA_DEMO: '1',
      ASKPANDA_LLM_BREAKER_FAILURES: '2',
    };
    app = await createApp(loadConfig({ env }), { logger: silentLogger, demo: true });
  });
  afterAll(async () => {
    await app.close();
    await primary.close();
    await secondary.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const ask = (text: string, thread: string) =>
    app.bot.handle({ platform: 'cli', channel: 'c', thread, user: 'u', text, isDirect: true });

  it('answers from the first provider, then from the next while it is down, and skips it once its breaker opens', async () => {
    expect((await ask('why did job 6802258254 fail?', 't1')).model).toBe('mistral:fake-mistral-model');

    primary.responder = () => status(503);
    const before = primary.requests.length;
    for (const [i, question] of [
      'why did job 6800730400 fail?',
      'what is happening with task 46374283?',
      'what is a pilot?',
      'why did job 6798544333 fail?',
    ].entries()) {
      const answer = await ask(question, `t-down-${i}`);
      expect(answer.model, question).toBe('anthropic:fake-anthropic-model');
      expect(answer.error).toBeUndefined();
    }
    // Two failures open the breaker (llm.breakerFailures = 2): later questions do not wait on mistral.
    expect(primary.requests.length - before).toBe(2);
  });
});
