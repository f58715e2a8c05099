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

/** What the fake does with the next request. */
export type Reply =
  | { kind: 'text'; text: string; inputTokens?: number; outputTokens?: number }
  | { kind: 'status'; status: number; headers?: Record<string, string>; message?: string }
  /** Answers `reply` after `ms` milliseconds (slow providers, concurrency caps). */
  | { kind: 'slow'; ms: number; reply: Reply }
  /** Accepts the request and never answers (timeouts). */
  | { kind: 'hang' }
  /** Streams the first half of the text, then cuts the connection. */
  | { kind: 'cut'; text: string };

export const text = (value: string, usage: { inputTokens?: number; outputTokens?: number } = {}): Reply => ({ kind: 'text', text: value, ...usage });
export const slow = (ms: number, reply: Reply): Reply => ({ kind: 'slow', ms, reply });
export const hang = (): Reply => ({ kind: 'hang' });
export const status = (code: number, headers?: Record<string, string>): Reply => ({ kind: 'status', status: code, headers });

/** How one provider's wire protocol frames replies. */
export interface Protocol {
  readonly name: string;
  /** Null when the path is not this API's chat endpoint (the fake answers 404). */
  matches(method: string, path: string): boolean;
  isStream(request: RecordedRequest): boolean;
  sendText(response: ServerResponse, reply: Extract<Reply, { kind: 'text' }>, request: RecordedRequest): void;
  /** Streams `pieces`, then ends the body normally. */
  sendStream(response: ServerResponse, pieces: string[], reply: Extract<Reply, { kind: 'text' }>, request: RecordedRequest): void;
  /** Starts a stream and writes `pieces` without finishing it. */
  startStream(response: ServerResponse, pieces: string[], request: RecordedRequest): void;
  errorBody(status: number, message: string): unknown;
}

/** Splits text into a few stream chunks the way providers do (several tokens per chunk). */
export function pieces(value: string, count = 3): string[] {
  const size = Math.max(1, Math.ceil(value.length / count));
  const out: string[] = [];
  for (let i = 0; i < value.length; i += size) out.push(value.slice(i, i + size));
  return out.length ? out : [''];
}

export function sendJson(response: ServerResponse, statusCode: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(statusCode, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

/**
 * A loopback server speaking one provider's protocol. Replies come from `enqueue`d scripts first,
 * then from `responder` (default: a fixed text), so a test can say "500, then answer".
 */
export class LlmFake {
  readonly requests: RecordedRequest[] = [];
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
    const recorded: RecordedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, raw, body };
    if (!this.protocol.matches(recorded.method, recorded.path)) {
      sendJson(res, 404, this.protocol.errorBody(404, `no route for ${recorded.method} ${recorded.path}`));
      return;
    }
    this.requests.push(recorded);
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
        sendJson(res, reply.status, this.protocol.errorBody(reply.status, reply.message ?? `fake ${this.protocol.name} answered ${reply.status}`), reply.headers);
        return;
      case 'cut': {
        const parts = pieces(reply.text, 4);
        this.protocol.startStream(res, parts.slice(0, 2), recorded);
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      case 'text':
        if (this.protocol.isStream(recorded)) this.protocol.sendStream(res, pieces(reply.text), reply, recorded);
        else this.protocol.sendText(res, reply, recorded);
    }
  }
}
