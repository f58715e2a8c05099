import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpApp, type HttpApp } from '../support/http-app.ts';
import { ENABLE_BROWSER_TESTS, findChromium } from '../support/chromium.ts';
import { serviceAvailable } from '../support/services.ts';

/** Without the background-networking flags Chromium keeps trying hosts this closed network refuses. */
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const CHROMIUM = serviceAvailable('Chromium', findChromium() !== undefined, ENABLE_BROWSER_TESTS)
  ? findChromium()
  : undefined;
const browserSuite = CHROMIUM ? describe : describe.skip;
const skippedNote = CHROMIUM ? '' : ` (skipped: no Chromium; ${ENABLE_BROWSER_TESTS})`;

let browser: Browser;
beforeAll(async () => {
  if (CHROMIUM) browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}, 60_000);
afterAll(() => browser?.close());

/** A page that records every request it makes, to prove nothing is loaded from elsewhere. */
async function openChat(http: HttpApp): Promise<{ page: Page; requests: string[]; close(): Promise<void> }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const requests: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${http.base}/`);
  return {
    page,
    requests,
    async close() {
      expect(errors).toEqual([]);
      await context.close();
    },
  };
}

async function ask(page: Page, question: string): Promise<void> {
  await page.fill('#question', question);
  await page.press('#question', 'Enter');
}

browserSuite(`the web chat in headless Chromium (demo monitor)${skippedNote}`, () => {
  let http: HttpApp;
  beforeAll(async () => {
    http = await startHttpApp();
  });
  afterAll(() => http.close());

  it('asks a demo question, shows the answer with its links, and follows up with a click', async () => {
    const chat = await openChat(http);
    const { page } = chat;
    await expect(page.title()).resolves.toBe('askpanda · PanDA help');
    await page.waitForSelector('#examples button');
    expect(await page.isVisible('#demo-note')).toBe(true);

    await ask(page, 'Why did job 6800730400 fail?');
    const answer = page.locator('.message.assistant .answer').first();
    await answer.waitFor({ timeout: 20_000 });
    await expect(page.locator('.message.user').first().textContent()).resolves.toBe('Why did job 6800730400 fail?');
    await expect(answer.locator('.summary').textContent()).resolves.toMatch(/^Job 6800730400 failed at BNL_PROD_MCORE/);
    const sections = await answer.locator('.section h2').allTextContents();
    expect(sections).toEqual(expect.arrayContaining(['Description', 'Non-expert guidance', 'Expert guidance']));
    // Markdown became markup: bold text, lists.
    expect(await answer.locator('.section strong').count()).toBeGreaterThan(0);
    expect(await answer.locator('.section li').count()).toBeGreaterThan(2);
    await expect(answer.locator('details.evidence summary').allTextContents()).resolves.toEqual(
      expect.arrayContaining([expect.stringMatching(/^Evidence from pilotlog\.txt \(\d+ lines\)$/)]),
    );
    const jobLink = answer.locator('.links a[href="https://bigpanda.cern.ch/job?pandaid=6800730400"]');
    await expect(jobLink.textContent()).resolves.toBe('Job 6800730400');
    await expect(jobLink.getAttribute('target')).resolves.toBe('_blank');
    await expect(jobLink.getAttribute('rel')).resolves.toBe('noopener noreferrer');
    expect(await answer.locator('.links a[href="https://bigpanda.cern.ch/task/46374283/"]').count()).toBe(1);
    const followUps = answer.locator('button.followup');
    expect(await followUps.count()).toBeGreaterThanOrEqual(2);

    // The follow-up button asks its question in the same conversation.
    await answer.locator('button.followup', { hasText: 'What is happening with task 46374283?' }).click();
    const second = page.locator('.message.assistant .answer').nth(1);
    await second.waitFor({ timeout: 20_000 });
    await expect(page.locator('.message.user').nth(1).textContent()).resolves.toBe(
      'What is happening with task 46374283?',
    );
    await expect(second.locator('.summary').textContent()).resolves.toMatch(/^Task 46374283 is running/);
    expect(await second.locator('.links a[href="https://bigpanda.cern.ch/task/46374283/"]').count()).toBe(1);

    // The tab is one thread: "its" is the task.
    await ask(page, 'what is its progress now?');
    const third = page.locator('.message.assistant .answer').nth(2);
    await third.waitFor({ timeout: 20_000 });
    await expect(third.getAttribute('data-agent')).resolves.toBe('task');

    // Everything came from this server.
    expect(chat.requests.length).toBeGreaterThan(3);
    expect(chat.requests.filter((url) => !url.startsWith(`${http.base}/`) && !url.startsWith('data:'))).toEqual([]);

    // A reload keeps the tab's conversation on screen.
    await page.reload();
    await page.locator('.message.assistant .answer').nth(2).waitFor();
    expect(await page.locator('.message.user').count()).toBe(3);
    await chat.close();
  }, 90_000);

  it('another tab is another conversation', async () => {
    const first = await openChat(http);
    await ask(first.page, 'Why did job 6800730400 fail?');
    await first.page.locator('.answer').first().waitFor({ timeout: 20_000 });
    const second = await openChat(http);
    await ask(second.page, 'how can I fix it?');
    const answer = second.page.locator('.answer').first();
    await answer.waitFor({ timeout: 20_000 });
    await expect(answer.getAttribute('data-agent')).resolves.not.toBe('job');
    await ask(first.page, 'how can I fix it?');
    const followUp = first.page.locator('.answer').nth(1);
    await followUp.waitFor({ timeout: 20_000 });
    await expect(followUp.locator('.summary').textContent()).resolves.toMatch(/^To fix job 6800730400:/);
    await first.close();
    await second.close();
  }, 90_000);

  it('serves the page with a policy that allows this server only', async () => {
    const res = await fetch(`${http.base}/`);
    expect(res.headers.get('content-security-policy')).toMatch(
      /default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'/,
    );
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//);
    for (const asset of ['/web/chat.js', '/web/chat.css']) {
      const body = await (await fetch(`${http.base}${asset}`)).text();
      expect(body, asset).not.toMatch(/(?:src|href|url)\s*[=(]\s*['"]?https?:/);
    }
    const wrongType = await fetch(`${http.base}/web/ask`, {
      method: 'POST',
      body: JSON.stringify({ question: 'hi', thread: 'abcdefgh' }),
    });
    expect(wrongType.status).toBe(415);
    const badThread = await fetch(`${http.base}/web/ask`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ question: 'hi', thread: '../x' }),
    });
    expect(badThread.status).toBe(400);
  });
});

/**
 * A loopback OpenAI-compatible model that writes slowly: its streamed reply comes in pieces 400 ms
 * apart (the chat completions wire format), so the page can be seen showing the answer as it grows.
 */
async function slowModel(reply: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { stream?: boolean; model?: string };
      const base = { id: 'chatcmpl-slow', created: Math.floor(Date.now() / 1000), model: body.model ?? 'slow' };
      if (!body.stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            ...base,
            object: 'chat.completion',
            choices: [
              {
                index: 0,
                message: { role: 'assistant', content: reply, refusal: null },
                finish_reason: 'stop',
                logprobs: null,
              },
            ],
            usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const words = reply.split(/(?<= )/);
      const pieces = [words.slice(0, 4).join(''), words.slice(4, 9).join(''), words.slice(9).join('')];
      const chunk = (delta: Record<string, unknown>, finish: string | null) =>
        `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] })}\n\n`;
      res.write(chunk({ role: 'assistant', content: '' }, null));
      let i = 0;
      const next = () => {
        if (res.destroyed) return;
        if (i < pieces.length) {
          res.write(chunk({ content: pieces[i++] }, null));
          setTimeout(next, 400);
          return;
        }
        res.write(chunk({}, 'stop'));
        res.end('data: [DONE]\n\n');
      };
      next();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

browserSuite(`the web chat while a language model writes${skippedNote}`, () => {
  const reply = 'Grid jobs wait in the activated state until a pilot on a worker node asks PanDA for work.';
  let model: Awaited<ReturnType<typeof slowModel>>;
  let http: HttpApp;
  beforeAll(async () => {
    model = await slowModel(reply);
    http = await startHttpApp({
      ASKPANDA_LLM: 'openai',
      OPENAI_API_KEY: 'sk-test-slow-model',
      OPENAI_BASE_URL: `${model.url}/v1`,
      ASKPANDA_OPENAI_MODEL: 'slow-model',
    });
  });
  afterAll(async () => {
    await http.close();
    await model.close();
  });

  it('shows the answer as it is written, then the finished answer', async () => {
    const chat = await openChat(http);
    await ask(chat.page, 'tell me about grid jobs sitting in activated for hours');
    const draft = chat.page.locator('.message.assistant .draft');
    // The first words are on screen while the rest is still being written.
    await chat.page.locator('.message.assistant .draft', { hasText: 'Grid jobs wait' }).waitFor({ timeout: 20_000 });
    expect(await chat.page.locator('.message.assistant .answer').count()).toBe(0);
    expect(await draft.textContent()).not.toContain('asks PanDA for work.');
    const answer = chat.page.locator('.message.assistant .answer');
    await answer.waitFor({ timeout: 20_000 });
    await expect(answer.locator('.summary').textContent()).resolves.toBe(reply);
    await expect(answer.locator('.meta').textContent()).resolves.toMatch(/answered by openai:slow-model/);
    await chat.close();
  }, 60_000);
});
