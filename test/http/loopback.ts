import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the loopback server saw of one request. */
export interface Seen {
  path: string;
  authorization?: string;
  ifNoneMatch?: string;
  acceptEncoding?: string;
}

export interface Loopback {
  url: string;
  seen: Seen[];
  /** Requests being answered right now, and the most at once. */
  active: number;
  peak: number;
  /** Body bytes written by the handler, and whether the client closed before the end. */
  bytesSent: number;
  closedEarly: boolean;
  count(path: string): number;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, server: Loopback) => void;

/** A real HTTP server on 127.0.0.1 whose answers the test writes by hand. */
export async function startLoopback(handler: Handler): Promise<Loopback> {
  const state: Loopback = {
    url: '',
    seen: [],
    active: 0,
    peak: 0,
    bytesSent: 0,
    closedEarly: false,
    count: (path) => state.seen.filter((s) => s.path === path).length,
    close: async () => undefined,
  };
  const server = createServer((req, res) => {
    state.seen.push({
      path: req.url ?? '/',
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      ...(req.headers['if-none-match'] ? { ifNoneMatch: req.headers['if-none-match'] } : {}),
      ...(req.headers['accept-encoding'] ? { acceptEncoding: req.headers['accept-encoding'] } : {}),
    });
    state.active++;
    state.peak = Math.max(state.peak, state.active);
    res.once('close', () => {
      state.active--;
      if (!res.writableEnded) state.closedEarly = true;
    });
    const write = res.write.bind(res) as (chunk: string | Buffer) => boolean;
    res.write = ((chunk: string | Buffer, ...rest: unknown[]) => {
      state.bytesSent += Buffer.byteLength(chunk);
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof res.write;
    handler(req, res, state);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

/** Writes `total` bytes in 64 KiB pieces, waiting for the socket to drain; stops if the client goes. */
export function stream(res: ServerResponse, total: number, piece = 'x'): void {
  const block = Buffer.alloc(64 * 1024, piece);
  let sent = 0;
  const pump = () => {
    while (sent < total && !res.destroyed) {
      const part = block.subarray(0, Math.min(block.length, total - sent));
      sent += part.length;
      if (!res.write(part)) return void res.once('drain', pump);
    }
    if (!res.destroyed) res.end();
  };
  pump();
}
