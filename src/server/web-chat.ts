import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { ServerDeps } from './server-deps.ts';
import { answerSummary } from '../bot/render.ts';
import { REQUEST_TIMING, RequestSurface } from '../bot/request-surface.ts';
import type { SurfaceTiming } from '../bot/surface.ts';
import { clientAddress } from './bearer.ts';
import { HttpError, sendJson, type HttpServer } from '../http/server.ts';

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
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};
/** The status at once; a streamed answer's markdown at most every 150 ms (a model writes many tokens a second). */
const WEB_TIMING: SurfaceTiming = { ...REQUEST_TIMING, draftUpdateMs: 150 };
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

export function addWebChatRoutes(server: HttpServer, app: ServerDeps, options: { demo: boolean }): void {
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
      // The core shows the status and streams the draft (at most every WEB_TIMING.draftUpdateMs).
      const surface = new RequestSurface(
        'http',
        {
          status: (text) => line({ type: 'status', text: `askpanda ${text}` }),
          draft: (markdown) => line({ type: 'partial', markdown }),
        },
        WEB_TIMING,
      );
      try {
        const asked = await app.conversation.ask(surface, {
          channel: 'web',
          thread,
          user: clientAddress(req),
          text: question,
          signal,
        });
        // Turned away by the limits before anything was written: a plain 429.
        if (asked.retryAfterSeconds !== undefined)
          return sendJson(res, 429, { error: asked.answer.text }, { 'retry-after': String(asked.retryAfterSeconds) });
        line({ type: 'answer', answer: asked.answer, summary: answerSummary(asked.answer) });
      } catch (err) {
        app.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'web chat answer failed');
        line({
          type: 'error',
          message: 'Something went wrong on my side while answering. Please try again in a minute.',
        });
      }
      if (!res.writableEnded) res.end();
    },
  });
}
