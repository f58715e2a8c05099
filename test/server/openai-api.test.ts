import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ThreadHistory } from '../../src/bot/thread-history.ts';
import { threadKey } from '../../src/core/incoming.ts';
import { v1ThreadId } from '../../src/server/openai-thread.ts';
import { envFor, FAKES, text, type LlmFake } from '../fakes/llm/index.ts';
import { startHttpApp, type HttpApp } from '../support/http-app.ts';

const KEY = 'sk-askpanda-test-key-0123456789';

async function streamed(
  client: OpenAI,
  messages: OpenAI.Chat.ChatCompletionMessageParam[],
  extra: { user?: string } = {},
) {
  const stream = await client.chat.completions.create({
    model: 'askpanda',
    messages,
    stream: true,
    stream_options: { include_usage: true },
    ...extra,
  });
  const deltas: string[] = [];
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (choice?.delta.content) deltas.push(choice.delta.content);
    if (choice?.finish_reason) finish = choice.finish_reason;
    if (chunk.usage) usage = chunk.usage;
  }
  return { deltas, content: deltas.join(''), finish, usage };
}

describe('/v1 with a key (Open WebUI as an OpenAI connection), demo monitor, offline', () => {
  let http: HttpApp;
  let client: OpenAI;
  beforeAll(async () => {
    http = await startHttpApp({ ASKPANDA_OPENAI_KEY: KEY });
    client = new OpenAI({ baseURL: `${http.base}/v1`, apiKey: KEY, maxRetries: 0 });
  });
  afterAll(() => http.close());

  it('lists one model, askpanda', async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    expect(models.map((m) => m.id)).toEqual(['askpanda']);
    expect((await client.models.retrieve('askpanda')).owned_by).toBe('askpanda');
    await expect(client.models.retrieve('gpt-4o')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it('answers a completion with the whole answer and usage', async () => {
    const completion = await client.chat.completions.create({
      model: 'askpanda',
      messages: [{ role: 'user', content: 'Why did job 6800730400 fail?' }],
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]!.finish_reason).toBe('stop');
    const content = completion.choices[0]!.message.content!;
    expect(content).toMatch(/^Job 6800730400 failed at BNL_PROD_MCORE/);
    expect(content).toContain('[Job 6800730400](https://bigpanda.cern.ch/job?pandaid=6800730400)');
    expect(completion.usage!.prompt_tokens).toBeGreaterThan(5);
    expect(completion.usage!.completion_tokens).toBeGreaterThan(100);
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens);
  });

  it('streams the same answer as chunks ending with a stop and the usage', async () => {
    const whole = await client.chat.completions.create({
      model: 'askpanda',
      messages: [{ role: 'user', content: 'What is happening with task 46374283?' }],
    });
    const stream = await streamed(client, [{ role: 'user', content: 'What is happening with task 46374283?' }]);
    expect(stream.content).toBe(whole.choices[0]!.message.content);
    expect(stream.finish).toBe('stop');
    expect(stream.usage?.completion_tokens).toBe(whole.usage!.completion_tokens);
    // The raw stream is OpenAI's SSE framing, ending with [DONE].
    const raw = await fetch(`${http.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'askpanda', stream: true, messages: [{ role: 'user', content: 'help' }] }),
    });
    expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const body = await raw.text();
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(
      body
        .split('\n\n')
        .filter(Boolean)
        .every((event) => event.startsWith('data: ')),
    ).toBe(true);
  });

  it('a follow-up relies on the earlier messages: no chat id needed', async () => {
    const first = await client.chat.completions.create({
      model: 'askpanda',
      messages: [{ role: 'user', content: 'why did job 6800730400 fail?' }],
    });
    const answer = first.choices[0]!.message.content!;
    const conversation: OpenAI.Chat.ChatCompletionMessageParam[] = [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'why did job 6800730400 fail?' },
      { role: 'assistant', content: answer },
      { role: 'user', content: 'how can I fix it?' },
    ];
    const followUp = await streamed(client, conversation);
    expect(followUp.content).toMatch(/^To fix job 6800730400:/);

    // Another client (another `user`) with the same messages: no stored turns to lean on, the
    // messages alone still say which job the thread is about.
    const fresh = await client.chat.completions.create({
      model: 'askpanda',
      messages: conversation,
      user: 'someone-else',
    });
    expect(fresh.choices[0]!.message.content).toMatch(/^To fix job 6800730400:/);
  });

  it('keeps a task thread on the task even though its answer names example jobs', async () => {
    const first = await client.chat.completions.create({
      model: 'askpanda',
      messages: [{ role: 'user', content: 'what is happening with task 46374283?' }],
      user: 'ana',
    });
    const answer = first.choices[0]!.message.content!;
    expect(answer).toMatch(/Why did job 6802258254 fail\?/);
    for (const user of ['ana', 'bob']) {
      const followUp = await client.chat.completions.create({
        model: 'askpanda',
        messages: [
          { role: 'user', content: 'what is happening with task 46374283?' },
          { role: 'assistant', content: answer },
          { role: 'user', content: 'what is its progress now?' },
        ],
        user,
      });
      expect(followUp.choices[0]!.message.content, user).toMatch(/^Task 46374283 is \*\*running\*\*/);
    }
  });

  it('a regenerated answer does not see the answer it replaces', async () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'what is happening with task 46374283?' },
      { role: 'assistant', content: 'Task 46374283 is running.' },
      { role: 'user', content: 'and its failures?' },
    ];
    await client.chat.completions.create({ model: 'askpanda', messages, user: 'regen' });
    await client.chat.completions.create({ model: 'askpanda', messages, user: 'regen' });
    const history = new ThreadHistory(http.app.store.ns('history'), http.app.config.history);
    const thread = v1ThreadId('user:regen', ['what is happening with task 46374283?', 'and its failures?']);
    const turns = await history.load(threadKey({ platform: 'http', channel: 'v1', thread }));
    expect(turns.map((t) => t.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(turns[1]!.text).toBe('Task 46374283 is running.');
    expect(turns[3]).toMatchObject({ agent: 'task', jeditaskid: 46374283 });
  });

  it('bad bodies get OpenAI-style 400 errors', async () => {
    const post = (body: string) =>
      fetch(`${http.base}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body,
      });
    const notJson = await post('{"model": "askpanda", "messages": [');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { type: string; message: string } }).error).toMatchObject({
      type: 'invalid_request_error',
      message: expect.stringMatching(/not valid JSON/),
    });

    const noMessages = await post(JSON.stringify({ model: 'askpanda' }));
    expect(noMessages.status).toBe(400);
    expect(((await noMessages.json()) as { error: { param: string } }).error.param).toBe('messages');

    await expect(client.chat.completions.create({ model: 'askpanda', messages: [] })).rejects.toMatchObject({
      status: 400,
      param: 'messages',
    });
    await expect(
      client.chat.completions.create({
        model: 'askpanda',
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'hello' },
        ],
      }),
    ).rejects.toMatchObject({
      status: 400,
      param: 'messages[1].role',
      message: expect.stringMatching(/last message must be the user's question/),
    });
    await expect(
      client.chat.completions.create({
        model: 'askpanda',
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.org/x.png' } }] }],
      }),
    ).rejects.toMatchObject({
      status: 400,
      param: 'messages[0].content[0]',
      message: expect.stringMatching(/reads text only/),
    });
    await expect(
      client.chat.completions.create({ model: 'askpanda', messages: [{ role: 'wizard' as 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({ status: 400, param: 'messages[0].role' });
    await expect(
      client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    const tooBig = await post(
      JSON.stringify({ model: 'askpanda', messages: [{ role: 'user', content: 'x'.repeat(3 * 1024 * 1024) }] }),
    );
    expect(tooBig.status).toBe(413);
    expect(((await tooBig.json()) as { error: { message: string } }).error.message).toMatch(/larger than/);
  });

  it('a wrong or missing key gets 401', async () => {
    const wrong = new OpenAI({ baseURL: `${http.base}/v1`, apiKey: 'sk-wrong-key-000000000000', maxRetries: 0 });
    await expect(
      wrong.chat.completions.create({ model: 'askpanda', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
    await expect(wrong.models.list()).rejects.toMatchObject({ status: 401 });
    const none = await fetch(`${http.base}/v1/models`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });
});

describe('/v1 without a key, over its limits', () => {
  let http: HttpApp;
  beforeAll(async () => {
    http = await startHttpApp({ ASKPANDA_LIMITS_PER_USER_PER_MINUTE: '2' });
  });
  afterAll(() => http.close());

  it('is open, and a client over its per-minute limit gets 429 with Retry-After', async () => {
    const client = new OpenAI({ baseURL: `${http.base}/v1`, apiKey: 'anything', maxRetries: 0 });
    const ask = () =>
      client.chat.completions.create({
        model: 'askpanda',
        messages: [{ role: 'user', content: 'what is a pilot?' }],
        user: 'busy-user',
      });
    await ask();
    await ask();
    const refused = await ask().then(
      () => undefined,
      (err: unknown) => err as { status: number; headers: Headers; message: string },
    );
    expect(refused?.status).toBe(429);
    expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused?.message).toMatch(/I am busy right now \(you asked 2 questions in the last minute/);
    // Another client is not held up by the first one's limit.
    expect(
      (
        await client.chat.completions.create({
          model: 'askpanda',
          messages: [{ role: 'user', content: 'what is a pilot?' }],
          user: 'calm-user',
        })
      ).choices[0]!.message.content,
    ).toMatch(/pilot/i);
  });
});

describe('/v1 streaming while a language model writes', () => {
  let fake: LlmFake;
  let http: HttpApp;
  beforeAll(async () => {
    fake = await FAKES.openai().start();
    // Every call (the routing model too) gets the same reply; routing falls back to its fast path.
    fake.responder = () =>
      text(
        'Grid jobs wait in the activated state until a pilot on a worker node asks PanDA for work; the brokerage chose the site before that.',
      );
    http = await startHttpApp(envFor('openai', fake));
  });
  afterAll(async () => {
    await http.close();
    await fake.close();
  });

  it('sends the answer as it is written, then the rest of the final answer', async () => {
    const client = new OpenAI({ baseURL: `${http.base}/v1`, apiKey: 'anything', maxRetries: 0 });
    const stream = await streamed(client, [
      { role: 'user', content: 'tell me about grid jobs sitting in activated for hours' },
    ]);
    expect(stream.deltas.length).toBeGreaterThanOrEqual(3);
    expect(stream.content).toMatch(/^Grid jobs wait in the activated state until a pilot/);
    expect(stream.finish).toBe('stop');
    expect(stream.usage!.completion_tokens).toBeGreaterThan(10);
  });
});
