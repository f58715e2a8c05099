import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

/** A request body larger than this is refused with 413 unless a route allows more. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** A handler still running after this answers 503 (a route may allow longer, e.g. a streamed answer). */
export const DEFAULT_HANDLER_TIMEOUT_MS = 30_000;

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD' | 'OPTIONS';

export interface RouteRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Reads the body, at most the route's `maxBodyBytes` (413 otherwise). */
  body(): Promise<Buffer>;
  /** Aborted when the client goes away or the handler times out. */
  signal: AbortSignal;
}

export interface HttpRoute {
  method: Method | Method[];
  /** An exact path, or a prefix ending in `/*` (the MCP endpoint, the web chat's assets). */
  path: string;
  handler(request: RouteRequest): Promise<void> | void;
  maxBodyBytes?: number;
  /** 0: no limit (streamed responses end when they are done). */
  timeoutMs?: number;
  /**
   * The handler reads the raw request itself (Bolt's receiver verifies signatures over the bytes):
   * `body()` is not offered and the size cap is the handler's to enforce.
   */
  rawRequest?: boolean;
}

/** An error a handler throws to answer with a status and a one-line JSON message. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/**
 * The one HTTP server of `askpanda serve` (ASKPANDA_PORT): every inbound route of the design —
 * health, metrics, Slack events, Mattermost callbacks, MCP, the OpenAI-compatible API, the web chat —
 * is a HttpRoute added here by the part that owns it. Bodies are capped, handlers time out, errors
 * answer with one JSON line and never a stack.
 */
export class HttpServer {
  private readonly routes: HttpRoute[] = [];
  private server: Server | undefined;
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger.child({ component: 'http' });
  }

  add(route: HttpRoute): this {
    this.routes.push(route);
    return this;
  }

  has(path: string): boolean {
    return this.routes.some((r) => r.path === path);
  }

  async listen(port: number, host?: string): Promise<number> {
    const server = createServer(
      { requestTimeout: 120_000, headersTimeout: 20_000, keepAliveTimeout: 5_000 },
      (req, res) => void this.dispatch(req, res),
    );
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  get port(): number | undefined {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : undefined;
  }

  /** Stops accepting connections; open ones get `graceMs` to finish, then are cut. */
  async close(graceMs = 5_000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    await closed;
    clearTimeout(timer);
  }

  private match(method: string, pathname: string): { route?: HttpRoute; allowed: string[] } {
    const allowed: string[] = [];
    for (const route of this.routes) {
      const matches = route.path.endsWith('/*')
        ? pathname === route.path.slice(0, -2) || pathname.startsWith(route.path.slice(0, -1))
        : pathname === route.path;
      if (!matches) continue;
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      if (methods.includes(method as Method) || (method === 'HEAD' && methods.includes('GET')))
        return { route, allowed };
      allowed.push(...methods);
    }
    return { allowed };
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://askpanda.local');
    } catch {
      return sendJson(res, 400, { error: 'the request URL could not be read' });
    }
    const { route, allowed } = this.match(req.method ?? 'GET', url.pathname);
    if (!route) {
      if (allowed.length)
        return sendJson(
          res,
          405,
          { error: `${req.method} is not allowed on ${url.pathname}; use ${[...new Set(allowed)].join(' or ')}` },
          { allow: [...new Set(allowed)].join(', ') },
        );
      return sendJson(res, 404, { error: `nothing is served at ${url.pathname}` });
    }
    const controller = new AbortController();
    res.once('close', () => controller.abort());
    const timeoutMs = route.timeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS;
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            controller.abort();
            if (!res.headersSent) sendJson(res, 503, { error: 'the request took too long; try again' });
            else res.destroy();
          }, timeoutMs)
        : undefined;
    const maxBody = route.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    try {
      await route.handler({
        req,
        res,
        url,
        signal: controller.signal,
        body: () => (route.rawRequest ? Promise.reject(new Error('raw route')) : readBody(req, maxBody)),
      });
    } catch (err) {
      if (err instanceof HttpError) {
        if (!res.headersSent) sendJson(res, err.status, { error: err.message }, err.headers);
        else res.destroy();
      } else {
        this.logger.error(
          { path: url.pathname, err: err instanceof Error ? err.message : String(err) },
          'HTTP handler failed',
        );
        if (!res.headersSent)
          sendJson(res, 500, { error: 'something went wrong on the server; try again in a minute' });
        else res.destroy();
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The request body, refusing more than `max` bytes (413) without reading the rest. */
export async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max)
    throw new HttpError(413, `the request body is larger than ${max} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) {
      req.destroy();
      throw new HttpError(413, `the request body is larger than ${max} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  contentType = 'text/plain; charset=utf-8',
): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}
