import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import type { ServerDeps } from './server-deps.ts';
import type { Asked } from '../bot/question-request.ts';
import { REQUEST_TIMING, RequestSurface } from '../bot/request-surface.ts';
import { countTokens } from '../llm/tokens.ts';
import { clientAddress, hasBearer } from './bearer.ts';
import { HttpError, type HttpServer, type RouteRequest } from '../http/server.ts';
import { v1Thread, V1_CHANNEL, type ConversationTurn } from './openai-thread.ts';

/**
 * The OpenAI-compatible API Open WebUI (or any OpenAI client) talks to: GET /v1/models lists one
 * model, POST /v1/chat/completions answers the conversation's last user message through the bot,
 * as one JSON completion or as server-sent chunks ending with `data: [DONE]`. The conversation's
 * earlier messages are the thread's history (openai-thread.ts). Errors have OpenAI's shape.
 */

const MAX_BODY_BYTES = 2 * 1024 * 1024;
/** An answer that reads a large log can take minutes; nothing takes longer than this. */
const COMPLETION_TIMEOUT_MS = 300_000;
/** SSE comment lines while the answer is worked on, so proxies do not cut an idle stream. */
const KEEPALIVE_MS = 10_000;
const MAX_MESSAGES = 500;

const ContentPartSchema = z.looseObject({ type: z.string(), text: z.string().optional() });
const MessageSchema = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function'], {
    error: 'expected role to be one of system, developer, user, assistant, tool',
  }),
  content: z
    .union([z.string(), z.array(ContentPartSchema), z.null()], {
      error: 'expected content to be a string or an array of content parts',
    })
    .optional(),
});
const CompletionRequestSchema = z.looseObject({
  model: z
    .string({ error: 'you must provide a model parameter' })
    .min(1, { error: 'you must provide a model parameter' }),
  messages: z
    .array(MessageSchema, { error: 'expected messages to be an array of messages' })
    .min(1, { error: 'messages must contain at least one message' })
    .max(MAX_MESSAGES, { error: `messages may contain at most ${MAX_MESSAGES} messages` }),
  stream: z.boolean({ error: 'expected stream to be true or false' }).nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  user: z.string().max(256, { error: 'expected user to be at most 256 characters' }).nullish(),
});
type CompletionRequest = z.infer<typeof CompletionRequestSchema>;

/** An error in OpenAI's shape: `{ error: { message, type, param, code } }`. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function sendApiError(res: ServerResponse, err: ApiError): void {
  const text = JSON.stringify({ error: { message: err.message, type: err.type, param: err.param, code: err.code } });
  res.writeHead(err.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...err.headers,
  });
  res.end(text);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

export function addOpenAiRoutes(server: HttpServer, app: ServerDeps): void {
  const key = app.config.openaiApi.apiKey;
  const model = app.config.openaiApi.model;
  const created = Math.floor(Date.now() / 1000);

  /** Authentication first, then the handler; every failure in OpenAI's error shape. */
  const guarded = (handler: (request: RouteRequest) => Promise<void>) => async (request: RouteRequest) => {
    try {
      if (key && !hasBearer(request.req, key)) {
        throw new ApiError(
          401,
          'Incorrect API key provided. Send the key set in ASKPANDA_OPENAI_KEY as "Authorization: Bearer <key>".',
          'invalid_request_error',
          null,
          'invalid_api_key',
          { 'www-authenticate': 'Bearer realm="askpanda"' },
        );
      }
      await handler(request);
    } catch (err) {
      if (request.res.headersSent) throw err;
      if (err instanceof ApiError) return sendApiError(request.res, err);
      if (err instanceof HttpError)
        return sendApiError(
          request.res,
          new ApiError(err.status, err.message, err.status === 413 ? 'invalid_request_error' : 'server_error'),
        );
      throw err;
    }
  };

  server.add({
    method: 'GET',
    path: '/v1/models',
    handler: guarded(async ({ res }) =>
      send(res, 200, { object: 'list', data: [{ id: model, object: 'model', created, owned_by: 'askpanda' }] }),
    ),
  });
  server.add({
    method: 'GET',
    path: '/v1/models/*',
    handler: guarded(async ({ res, url }) => {
      const id = decodeURIComponent(url.pathname.slice('/v1/models/'.length));
      if (id !== model)
        throw new ApiError(
          404,
          `The model \`${id.slice(0, 80)}\` does not exist. This server has one model: ${model}.`,
          'invalid_request_error',
          'model',
          'model_not_found',
        );
      send(res, 200, { id: model, object: 'model', created, owned_by: 'askpanda' });
    }),
  });
  server.add({
    method: 'POST',
    path: '/v1/chat/completions',
    maxBodyBytes: MAX_BODY_BYTES,
    timeoutMs: COMPLETION_TIMEOUT_MS,
    handler: guarded(async (request) => {
      const body = parseRequest(await request.body());
      if (body.model !== model)
        throw new ApiError(
          404,
          `The model \`${body.model.slice(0, 80)}\` does not exist. This server has one model: ${model}.`,
          'invalid_request_error',
          'model',
          'model_not_found',
        );
      const { earlier, question } = conversationOf(body);
      // Open WebUI names its user (and, in some versions, its chat) in headers when
      // ENABLE_FORWARD_USER_INFO_HEADERS is set: threads and limits are then per user or per chat.
      const header = (name: string) => {
        const value = request.req.headers[name];
        return typeof value === 'string' && value ? value.slice(0, 200) : undefined;
      };
      const chatId = header('x-openwebui-chat-id');
      const user = body.user ?? header('x-openwebui-user-id');
      const client = user ?? clientAddress(request.req);
      const scope = chatId ? `chat:${chatId}` : user ? `user:${user}` : '';
      const completion = new Completion(
        request.res,
        model,
        body.stream === true,
        body.stream_options?.include_usage === true,
        promptTokens(body),
      );
      const { thread, seed } = v1Thread({ scope, earlier, question, asked: (text) => app.bot.stripMention(text) });
      // The core says when the answer starts (its status: the stream opens) and streams what the model writes.
      const surface = new RequestSurface(
        'http',
        { status: () => completion.start(), draft: (markdown) => completion.partial(markdown) },
        REQUEST_TIMING,
      );
      let asked: Asked;
      try {
        asked = await app.conversation.ask(surface, {
          channel: V1_CHANNEL,
          thread,
          user: client,
          text: question,
          signal: request.signal,
          seed,
        });
      } catch (err) {
        completion.abort();
        throw err;
      }
      if (asked.retryAfterSeconds !== undefined)
        throw new ApiError(429, asked.answer.text, 'rate_limit_exceeded', null, 'rate_limit_exceeded', {
          'retry-after': String(asked.retryAfterSeconds),
        });
      completion.finish(asked.answer.text);
    }),
  });
}

function parseRequest(raw: Buffer): CompletionRequest {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ApiError(
      400,
      'The request body is not valid JSON. Send a chat completion request: ' +
        '{"model": "askpanda", "messages": [{"role": "user", "content": "…"}]}.',
      'invalid_request_error',
    );
  }
  const parsed = CompletionRequestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param =
      issue.path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
        .join('')
        .replace(/^\./, '') || null;
    throw new ApiError(
      400,
      `Invalid request${param ? ` at '${param}'` : ''}: ${issue.message}.`,
      'invalid_request_error',
      param,
    );
  }
  return parsed.data;
}

/** The question (the last message, which must be the user's) and the turns before it. */
function conversationOf(body: CompletionRequest): { earlier: ConversationTurn[]; question: string } {
  const turns: ConversationTurn[] = [];
  body.messages.forEach((message, i) => {
    // System prompts and tool traffic are the client's business, not the thread's.
    if (message.role !== 'user' && message.role !== 'assistant') return;
    turns.push({ role: message.role, text: textOf(message.content, i) });
  });
  const last = body.messages[body.messages.length - 1]!;
  if (last.role !== 'user')
    throw new ApiError(
      400,
      `The last message must be the user's question (role "user"); it has role "${last.role}".`,
      'invalid_request_error',
      `messages[${body.messages.length - 1}].role`,
    );
  const question = turns.pop()!;
  return { earlier: turns, question: question.text };
}

function textOf(content: z.infer<typeof MessageSchema>['content'], index: number): string {
  if (typeof content === 'string') return content;
  if (!content) return '';
  return content
    .map((part, j) => {
      if (part.type === 'text' && typeof part.text === 'string') return part.text;
      throw new ApiError(
        400,
        `askpanda reads text only: message ${index} has a content part of type "${part.type.slice(0, 40)}". Send the question as text.`,
        'invalid_request_error',
        `messages[${index}].content[${j}]`,
      );
    })
    .join('\n');
}

function promptTokens(body: CompletionRequest): number {
  return body.messages.reduce(
    (n, m) =>
      n +
      4 +
      countTokens(typeof m.content === 'string' ? m.content : (m.content ?? []).map((p) => p.text ?? '').join('\n')),
    3,
  );
}

/**
 * One completion, streamed or not. Streaming sends what the model has written so far as it grows
 * (only ever appending), then the rest of the final answer; a final answer that does not continue
 * what was streamed (a model reply replaced by the offline answer) follows it after a rule.
 */
class Completion {
  private readonly id = `chatcmpl-${randomUUID().replaceAll('-', '')}`;
  private readonly created = Math.floor(Date.now() / 1000);
  private sent = '';
  private keepalive: NodeJS.Timeout | undefined;
  private started = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly model: string,
    private readonly stream: boolean,
    private readonly includeUsage: boolean,
    private readonly prompt: number,
  ) {}

  start(): void {
    if (!this.stream || this.started) return;
    this.started = true;
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    this.chunk({ role: 'assistant', content: '' });
    this.keepalive = setInterval(
      () => this.gone || this.res.write(': askpanda is working on the answer\n\n'),
      KEEPALIVE_MS,
    );
    this.res.once('close', () => clearInterval(this.keepalive));
  }

  partial(markdown: string): void {
    if (!this.stream || !markdown.startsWith(this.sent) || markdown.length === this.sent.length) return;
    this.start();
    this.chunk({ content: markdown.slice(this.sent.length) });
    this.sent = markdown;
  }

  finish(text: string): void {
    const usage = {
      prompt_tokens: this.prompt,
      completion_tokens: countTokens(text),
      total_tokens: this.prompt + countTokens(text),
    };
    if (!this.stream) {
      if (this.gone) return;
      send(this.res, 200, {
        id: this.id,
        object: 'chat.completion',
        created: this.created,
        model: this.model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: text, refusal: null },
            logprobs: null,
            finish_reason: 'stop',
          },
        ],
        usage,
      });
      return;
    }
    this.start();
    clearInterval(this.keepalive);
    const rest = text.startsWith(this.sent) ? text.slice(this.sent.length) : `\n\n---\n\n${text}`;
    if (rest) this.chunk({ content: rest });
    this.write({
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }],
    });
    if (this.includeUsage)
      this.write({
        id: this.id,
        object: 'chat.completion.chunk',
        created: this.created,
        model: this.model,
        choices: [],
        usage,
      });
    if (!this.gone) this.res.end('data: [DONE]\n\n');
  }

  /** The answer failed after the stream started: end it, so the client does not wait forever. */
  abort(): void {
    clearInterval(this.keepalive);
    if (this.started && !this.res.writableEnded) this.res.destroy();
  }

  private chunk(delta: Record<string, unknown>): void {
    this.write({
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: null }],
    });
  }

  /** The client went away: nothing more to write (the bot's work is cancelled through the signal). */
  private get gone(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  private write(body: unknown): void {
    if (this.gone) return;
    this.res.write(`data: ${JSON.stringify(body)}\n\n`);
  }
}
