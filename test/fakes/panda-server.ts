import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Loopback fake PanDA server: GET /server/panda/isAlive answers `alive=yes` as the real server
 * does, or fails the way a real outage looks (503 from the proxy, no answer, a slow answer).
 */
export type PandaServerMode = 'alive' | 'down' | 'slow' | 'hang' | 'forbidden';

export interface FakePandaServer {
  url: string;
  mode: PandaServerMode;
  /** How long a slow answer takes. */
  slowMs: number;
  requests: string[];
  close(): Promise<void>;
}

export async function startFakePandaServer(mode: PandaServerMode = 'alive'): Promise<FakePandaServer> {
  const fake: FakePandaServer = { url: '', mode, slowMs: 600, requests: [], close: async () => undefined };
  const server = createServer((req, res) => {
    fake.requests.push(req.url ?? '/');
    if (req.url !== '/server/panda/isAlive') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return void res.end('not found');
    }
    const alive = () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('alive=yes');
    };
    switch (fake.mode) {
      case 'alive':
        return alive();
      case 'slow':
        return void setTimeout(alive, fake.slowMs);
      case 'hang':
        return;
      case 'forbidden':
        res.writeHead(403, { 'content-type': 'text/html' });
        return void res.end('<html><body>Forbidden</body></html>');
      case 'down':
        res.writeHead(503, { 'content-type': 'text/html' });
        return void res.end('<html><body>Service Temporarily Unavailable</body></html>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}
