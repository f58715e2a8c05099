import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { ServerDeps } from './server-deps.ts';
import { answerSummary } from '../bot/render.ts';
import { withRequest } from '../util/request-context.ts';
import { clientAddress } from './bearer.ts';
import { HttpError, sendJson, type HttpServer } from '../http/server.ts';
import { BusyError, type QuestionGate } from './question-gate.ts';

/**
 * The web chat: one page at `/` with its script and style under `/web/` (no framework, nothing
 * loaded from elsewhere: the Content-Security-Policy allows this server only), and `POST /web/ask`,
 * which answers one question as a stream of JSON lines: `status` (what askpanda is doing),
 * `partial` (the answer's markdown so far, while a model writes it), then `answer` (the whole
 * Answer with its summary) or `error`. Each browser tab is one thread: the page sends its tab's id.
 */

const WEB_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'web');
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/web/chat.js': { file: 'chat.js', type: 'text/javascript; charset=utf-8' },
  '/web/chat.css': { file: 'chat.css', type: 'text/css; charset=utf-8' },
};
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};
/** A streamed answer's markdown is sent at most this often (a model writes many tokens a second). */
const PARTIAL_INTERVAL_MS = 150;
const ASK_TIMEOUT_MS = 300_000;

/** Questions the page offers to start with; the demo's name its example jobs and task. */
const DEMO_EXAMPLES = [
  'Why did job 6800730400 fail?',
  'What is happening with task 46374283?',
  'What does pilot error 1213 mean?',
  'Which queues are brokeroff?',
  'What is a pilot?',
];
const EXAMPLES = ['What is a pilot?', 'How do I retry the failed jobs of my task?', 'Which queues are brokeroff?'];

const AskSchema = z.object({
  question: z.string({ error: 'send the question as text' }).max(16_000, { error: 'the question is too long' }),
  thread: z
    .string({ error: 'send the tab id as thread' })
    .regex(/^[A-Za-z0-9_-]{8,64}$/, { error: 'the tab id must be 8-64 letters, digits, dashes or underscores' }),
});

export function addWebChatRoutes(
  server: HttpServer,
  app: ServerDeps,
  gate: QuestionGate,
  options: { demo: boolean },
): void {
  // Read once at start: the page is a few kilobytes, and a missing file fails `serve` early.
  const assets = new Map(
    Object.entries(ASSETS).map(([route, asset]) => [
      route,
      { body: readFileSync(path.join(WEB_DIR, asset.file)), type: asset.type },
    ]),
  );
  const serveAsset =
    (route: string) =>
    ({ res }: { res: import('node:http').ServerResponse }) => {
      const asset = assets.get(route)!;
      res.writeHead(200, {
        'content-type': asset.type,
        'content-length': asset.body.length,
        'cache-control': 'no-cache',
        ...SECURITY_HEADERS,
      });
      res.end(asset.body);
    };
  for (const route of assets.keys()) server.add({ method: 'GET', path: route, handler: serveAsset(route) });
  const examples = options.demo ? DEMO_EXAMPLES : EXAMPLES;
  server.add({
    method: 'GET',
    path: '/web/info',
    handler: ({ res }) => sendJson(res, 200, { demo: options.demo, examples }),
  });

  server.add({
    method: 'POST',
    path: '/web/ask',
    maxBodyBytes: 64 * 1024,
    timeoutMs: ASK_TIMEOUT_MS,
    handler: async ({ req, res, body, signal }) => {
      // A JSON content type cannot be sent cross-site without a CORS preflight, which this server never grants.
      if (!/^application\/json\b/i.test(req.headers['content-type'] ?? ''))
        throw new HttpError(415, 'send the question as JSON (Content-Type: application/json)');
      let parsed;
      try {
        parsed = AskSchema.safeParse(JSON.parse((await body()).toString('utf8')));
      } catch (err) {
        if (err instanceof HttpError) throw err;
        throw new HttpError(400, 'the request body is not JSON: send {"question": "…", "thread": "<tab id>"}');
      }
      if (!parsed.success) throw new HttpError(400, parsed.error.issues[0]!.message);
      const { question, thread } = parsed.data;
      const client = clientAddress(req);

      let started = false;
      const line = (event: Record<string, unknown>) => {
        if (res.destroyed || res.writableEnded) return;
        if (!started) {
          started = true;
          res.writeHead(200, {
            'content-type': 'application/x-ndjson; charset=utf-8',
            'cache-control': 'no-store',
            'x-accel-buffering': 'no',
            ...SECURITY_HEADERS,
          });
        }
        res.write(`${JSON.stringify(event)}\n`);
      };
      let latest: string | undefined;
      let timer: NodeJS.Timeout | undefined;
      let lastSent = 0;
      let lastStatus = '';
      const flushPartial = () => {
        clearTimeout(timer);
        timer = undefined;
        if (latest === undefined) return;
        lastSent = Date.now();
        line({ type: 'partial', markdown: latest });
        latest = undefined;
      };
      try {
        await gate.run('web', client, () =>
          withRequest({ platform: 'http' }, async () => {
            line({ type: 'status', text: 'askpanda is thinking…' });
            const answer = await app.bot.handle(
              { platform: 'http', channel: 'web', thread, user: client, text: question, isDirect: true },
              {
                progress: (status) => {
                  // The bot and the agent may both say "is looking up job …": one line is enough.
                  if (status === lastStatus) return;
                  lastStatus = status;
                  line({ type: 'status', text: `askpanda ${status}` });
                },
                onPartialText: (markdown) => {
                  latest = markdown;
                  if (!timer)
                    timer = setTimeout(flushPartial, Math.max(0, lastSent + PARTIAL_INTERVAL_MS - Date.now()));
                },
                signal,
              },
            );
            clearTimeout(timer);
            line({ type: 'answer', answer, summary: answerSummary(answer) });
          }),
        );
      } catch (err) {
        clearTimeout(timer);
        if (err instanceof BusyError) {
          if (!started)
            return sendJson(res, 429, { error: err.message }, { 'retry-after': String(err.retryAfterSeconds) });
          line({ type: 'error', message: err.message });
        } else {
          app.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'web chat answer failed');
          line({
            type: 'error',
            message: 'Something went wrong on my side while answering. Please try again in a minute.',
          });
        }
      }
      if (!res.writableEnded) res.end();
    },
  });
}
