import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request as the fake received it: tests assert on bodies (e.g. that no secret reached it). */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  body: unknown;
}

/** A tool call the fake makes: `arguments` as an object, or as text sent as it is (JSON that does not parse). */
export interface ScriptedCall {
  /** Default: an id of the provider's own form (none for Ollama, whose calls carry none). */
  id?: string;
  name: string;
  arguments: Record<string, unknown> | string;
}

/** A tool result as a request carried it, read where the provider's API puts it. */
export interface SentToolResult {
  /** The call it answers (absent where the API pairs results by name: Ollama, Gemini without ids). */
  callId?: string;
  name?: string;
  content: string;
  /** Only APIs that carry the flag say (Anthropic's is_error, Gemini's `error` response). */
  isError?: boolean;
}

/** The tools a request offers and its tool choice in neutral words (`undefined`: the API's default). */
export interface OfferedTools {
  names: string[];
  choice?: 'auto' | 'none' | 'required';
}

/** What the fake does with the next request. */
export type Reply =
  | { kind: 'text'; text: string; inputTokens?: number; outputTokens?: number }
  /** The model asks for tools (non-streaming requests), with optional text beside the calls. */
  | { kind: 'tools'; calls: ScriptedCall[]; text?: string; inputTokens?: number; outputTokens?: number }
  | { kind: 'status'; status: number; headers?: Record<string, string>; message?: string }
  /** Answers `reply` after `ms` milliseconds (slow providers, concurrency caps). */
  | { kind: 'slow'; ms: number; reply: Reply }
  /** Accepts the request and never answers (timeouts). */
  | { kind: 'hang' }
  /** Streams the first half of the text, then cuts the connection. */
  | { kind: 'cut'; text: string }
  /** Any status, headers and body: garbage, an HTML error page, JSON of the wrong shape. */
  | { kind: 'raw'; status: number; headers?: Record<string, string>; body: string }
  /** Closes the connection as soon as the request has arrived (a reset, no response at all). */
  | { kind: 'reset' }
  /** A 200 whose body never ends: `chunk` written again and again as fast as the socket takes it. */
  | { kind: 'flood'; contentType: string; head: string; chunk: string }
  /** A stream that never finishes: `delta` as a text delta every `everyMs` ms until the client goes away. */
  | { kind: 'endless'; delta: string; everyMs: number };

export const text = (value: string, usage: { inputTokens?: number; outputTokens?: number } = {}): Reply => ({
  kind: 'text',
  text: value,
  ...usage,
});
export const toolCalls = (...calls: ScriptedCall[]): Reply => ({ kind: 'tools', calls });
export const slow = (ms: number, reply: Reply): Reply => ({ kind: 'slow', ms, reply });
export const hang = (): Reply => ({ kind: 'hang' });
export const status = (code: number, headers?: Record<string, string>): Reply => ({
  kind: 'status',
  status: code,
  headers,
});
export const raw = (
  code: number,
  body: string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Reply => ({ kind: 'raw', status: code, headers, body });
export const reset = (): Reply => ({ kind: 'reset' });
export const flood = (head: string, chunk: string, contentType = 'application/json'): Reply => ({
  kind: 'flood',
  contentType,
  head,
  chunk,
});
export const endless = (delta = 'more text ', everyMs = 5): Reply => ({ kind: 'endless', delta, everyMs });

/** How one provider's wire protocol frames replies. */
export interface Protocol {
  readonly name: string;
  /** Null when the path is not this API's chat endpoint (the fake answers 404). */
  matches(method: string, path: string): boolean;
  isStream(request: RecordedRequest): boolean;
  sendText(response: ServerResponse, reply: Extract<Reply, { kind: 'text' }>, request: RecordedRequest): void;
  /** Streams `pieces`, then ends the body normally. */
  sendStream(
    response: ServerResponse,
    pieces: string[],
    reply: Extract<Reply, { kind: 'text' }>,
    request: RecordedRequest,
  ): void;
  /** Starts a stream and writes `pieces` without finishing it. */
  startStream(response: ServerResponse, pieces: string[], request: RecordedRequest): void;
  /** One more text delta of a started stream, framed as the protocol frames it. */
  streamDelta(piece: string, request: RecordedRequest): string;
  errorBody(status: number, message: string): unknown;
  /** Answers with tool calls in the API's own shape. */
  sendToolCalls(response: ServerResponse, reply: ToolsReply, request: RecordedRequest): void;
  offeredTools(request: RecordedRequest): OfferedTools;
  toolResults(request: RecordedRequest): SentToolResult[];
  /** Why the real API would refuse the request's tool turns (it answers 400), or undefined. */
  toolTurnError(request: RecordedRequest): string | undefined;
}

export type ToolsReply = Extract<Reply, { kind: 'tools' }>;

/** An object's property, for reading request bodies of unknown shape. */
export function field(value: unknown, key: string): unknown {
  return value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
}

/** An array property, or none. */
export function list(value: unknown, key: string): unknown[] {
  const found = field(value, key);
  return Array.isArray(found) ? found : [];
}

/** Splits text into a few stream chunks the way providers do (several tokens per chunk). */
export function pieces(value: string, count = 3): string[] {
  const size = Math.max(1, Math.ceil(value.length / count));
  const out: string[] = [];
  for (let i = 0; i < value.length; i += size) out.push(value.slice(i, i + size));
  return out.length ? out : [''];
}

export function sendJson(
  response: ServerResponse,
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(statusCode, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

/**
 * A loopback server speaking one provider's protocol. Replies come from `enqueue`d scripts first,
 * then from `responder` (default: a fixed text), so a test can say "500, then answer".
 */
export class LlmFake {
  readonly requests: RecordedRequest[] = [];
  /** Bytes written by `flood` and `endless` replies, and how many of their connections the client has closed. */
  floodBytes = 0;
  abandoned = 0;
  /** Requests being answered right now, and the most ever at once. */
  active = 0;
  maxActive = 0;
  responder: (request: RecordedRequest) => Reply = () => text('The pilot could not stage in the input file.');
  private readonly queue: Reply[] = [];
  private readonly sockets = new Set<Socket>();
  private server?: Server;
  private port = 0;

  constructor(readonly protocol: Protocol) {}

  /** Base URL of the fake: http://127.0.0.1:<port> (each provider's base URL is derived from it). */
  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  enqueue(...replies: Reply[]): this {
    this.queue.push(...replies);
    return this;
  }

  /** Drops scripted replies not yet used and the recorded requests: a failed test leaves none for the next. */
  reset(): void {
    this.queue.length = 0;
    this.requests.length = 0;
  }

  offeredTools(request: RecordedRequest = this.requests.at(-1)!): OfferedTools {
    return this.protocol.offeredTools(request);
  }

  toolResults(request: RecordedRequest = this.requests.at(-1)!): SentToolResult[] {
    return this.protocol.toolResults(request);
  }

  /** Every recorded request body as text, for "the secret never reached the provider" checks. */
  allBodies(): string {
    return this.requests.map((r) => r.raw).join('\n');
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = undefined;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = undefined;
    }
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      raw,
      body,
    };
    if (!this.protocol.matches(recorded.method, recorded.path)) {
      sendJson(res, 404, this.protocol.errorBody(404, `no route for ${recorded.method} ${recorded.path}`));
      return;
    }
    this.requests.push(recorded);
    const refused = this.protocol.toolTurnError(recorded);
    if (refused) {
      sendJson(res, 400, this.protocol.errorBody(400, refused));
      return;
    }
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    res.on('close', () => this.active--);
    this.reply(res, recorded, this.queue.shift() ?? this.responder(recorded));
  }

  private reply(res: ServerResponse, recorded: RecordedRequest, reply: Reply): void {
    switch (reply.kind) {
      case 'slow':
        setTimeout(() => this.reply(res, recorded, reply.reply), reply.ms);
        return;
      case 'hang':
        return;
      case 'status':
        sendJson(
          res,
          reply.status,
          this.protocol.errorBody(reply.status, reply.message ?? `fake ${this.protocol.name} answered ${reply.status}`),
          reply.headers,
        );
        return;
      case 'cut': {
        const parts = pieces(reply.text, 4);
        this.protocol.startStream(res, parts.slice(0, 2), recorded);
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      case 'tools':
        if (this.protocol.isStream(recorded))
          sendJson(res, 400, this.protocol.errorBody(400, 'fake: tool calls are scripted for non-streaming requests'));
        else this.protocol.sendToolCalls(res, reply, recorded);
        return;
      case 'text':
        if (this.protocol.isStream(recorded)) this.protocol.sendStream(res, pieces(reply.text), reply, recorded);
        else this.protocol.sendText(res, reply, recorded);
        return;
      case 'raw':
        res.writeHead(reply.status, reply.headers ?? {});
        res.end(reply.body);
        return;
      case 'reset':
        res.socket?.destroy();
        return;
      case 'flood': {
        res.writeHead(200, { 'content-type': reply.contentType });
        res.write(reply.head);
        const chunk = Buffer.from(
          reply.chunk.repeat(Math.max(1, Math.floor(65_536 / Math.max(1, reply.chunk.length)))),
        );
        // As fast as the client reads: a body that never ends must be cut by the client's own cap.
        const pump = () => {
          while (!res.destroyed) {
            this.floodBytes += chunk.length;
            if (!res.write(chunk)) {
              res.once('drain', pump);
              return;
            }
          }
        };
        res.on('close', () => this.abandoned++);
        pump();
        return;
      }
      case 'endless': {
        this.protocol.startStream(res, [reply.delta], recorded);
        const timer = setInterval(() => {
          if (res.destroyed) return;
          const frame = this.protocol.streamDelta(reply.delta, recorded);
          this.floodBytes += frame.length;
          res.write(frame);
        }, reply.everyMs);
        res.on('close', () => {
          clearInterval(timer);
          this.abandoned++;
        });
        return;
      }
    }
  }
}
