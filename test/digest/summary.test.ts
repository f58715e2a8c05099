import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DigestRunner } from '../../src/digest/runner.ts';
import { SubscriptionStore } from '../../src/digest/subscription-store.ts';
import { modelSummary } from '../../src/digest/summary.ts';
import { OfflineModel } from '../../src/llm/offline.ts';
import type { Store } from '../../src/storage/store.ts';
import { generatedFailures, startFakeBigPanda, watchedTask, type FakeBigPanda } from '../fakes/bigpanda.ts';
import { status, text, type LlmFake } from '../fakes/llm/index.ts';
import { openaiFake } from '../fakes/llm/openai.ts';
import { chainFor, modelFor } from '../llm/helpers.ts';
import { RecordingPoster, SETTINGS, fakeClient, openTestStore, subscribe, t, digestConfig } from './helpers.ts';

let monitor: FakeBigPanda;
let llm: LlmFake;
const stores: Store[] = [];
const ID = 46800100;

beforeAll(async () => {
  monitor = await startFakeBigPanda({
    tasks: [
      watchedTask(ID, {
        failures: generatedFailures({
          jeditaskid: ID,
          from: Date.parse('2025-09-08T06:30:00Z'),
          to: Date.parse('2025-09-08T07:30:00Z'),
          count: 30,
        }),
      }),
    ],
  });
  llm = await openaiFake().start();
});
afterAll(async () => {
  await monitor.close();
  await llm.close();
  await Promise.all(stores.map((s) => s.close()));
});

async function runWith(summarize: ReturnType<typeof modelSummary>) {
  const store = await openTestStore();
  stores.push(store);
  const subscriptions = new SubscriptionStore(store);
  const poster = new RecordingPoster();
  const runner = new DigestRunner({
    subscriptions,
    client: fakeClient(digestConfig(), monitor.url),
    poster,
    settings: SETTINGS,
    summarize,
  });
  await subscribe(subscriptions, { jeditaskid: ID, at: '2025-09-08T06:00:00Z' });
  await runner.run(t('2025-09-08T08:00:00Z'));
  return poster;
}

describe('the optional model summary', () => {
  it('puts one sentence from the model on top of the deterministic digest, the digest passed as fenced data', async () => {
    llm.enqueue(
      text('Task 46800100 lost 30 jobs overnight, mostly to payload crashes at a few sites.\nSecond line is dropped.'),
    );
    const poster = await runWith(modelSummary(chainFor(modelFor('openai', llm))));
    expect(poster.posts).toHaveLength(1);
    const [first, second] = poster.posts[0]!.message.markdown.split('\n');
    expect(first).toBe('_Task 46800100 lost 30 jobs overnight, mostly to payload crashes at a few sites._');
    expect(second).toMatch(/^\*\*PanDA digest\*\*/);
    const prompt = JSON.stringify(llm.requests.at(-1)!.body);
    expect(prompt).toContain('<<<digest');
    expect(prompt).toContain('30 failed jobs');
  });

  it('posts the same digest without it when the model fails, and asks no model when offline', async () => {
    const before = llm.requests.length;
    llm.enqueue(status(500), status(500), status(500), status(500));
    const failing = await runWith(modelSummary(chainFor(modelFor('openai', llm))));
    expect(failing.posts).toHaveLength(1);
    expect(failing.posts[0]!.message.markdown).toMatch(/^\*\*PanDA digest\*\*/);
    expect(llm.requests.length).toBeGreaterThan(before);
    expect(modelSummary(new OfflineModel())).toBeUndefined();
    const offline = await runWith(modelSummary(new OfflineModel()));
    expect(offline.posts[0]!.message.markdown).toBe(failing.posts[0]!.message.markdown);
  });
});
