import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback Pinecone: the control plane's describe_index (GET /indexes/:name) and the data plane's
 * /vectors/upsert, /query and /vectors/delete, with the real JSON shapes and Api-Key checks, holding
 * vectors per namespace in memory and answering queries by exact cosine similarity.
 */
export interface FakePineconeRecord {
  id: string;
  values: number[];
  metadata?: Record<string, unknown>;
}

export interface FakePineconeRequest {
  method: string;
  path: string;
  apiKey: string | undefined;
  apiVersion: string | undefined;
  body: unknown;
}

export interface FakePinecone {
  url: string;
  indexName: string;
  namespaces: Map<string, Map<string, FakePineconeRecord>>;
  requests: FakePineconeRequest[];
  /** The next N data-plane requests answer this HTTP status (then normal service resumes). */
  failNext(status: number, count?: number): void;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const text = Buffer.concat(parts).toString('utf8');
      try {
        resolve(text ? JSON.parse(text) : undefined);
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

export async function startFakePinecone(
  options: { apiKey?: string; indexName?: string; dimension?: number } = {},
): Promise<FakePinecone> {
  const apiKey = options.apiKey ?? 'pc-test-key';
  const indexName = options.indexName ?? 'askpanda-docs';
  const namespaces = new Map<string, Map<string, FakePineconeRecord>>();
  const requests: FakePineconeRequest[] = [];
  let failures: { status: number; count: number } | undefined;
  let url = '';

  const space = (name: unknown) => {
    const key = typeof name === 'string' ? name : '';
    let ns = namespaces.get(key);
    if (!ns) namespaces.set(key, (ns = new Map()));
    return ns;
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0]!;
      let body: unknown;
      try {
        body = await readBody(req);
      } catch {
        return send(res, 400, {
          error: { code: 'INVALID_ARGUMENT', message: 'Request body is not JSON' },
          status: 400,
        });
      }
      const key = req.headers['api-key'];
      requests.push({
        method: req.method ?? '',
        path,
        apiKey: typeof key === 'string' ? key : undefined,
        apiVersion: req.headers['x-pinecone-api-version'] as string | undefined,
        body,
      });
      if (key !== apiKey)
        return send(res, 401, { error: { code: 'UNAUTHENTICATED', message: 'Invalid API Key' }, status: 401 });

      if (req.method === 'GET' && path === `/indexes/${indexName}`) {
        return send(res, 200, {
          name: indexName,
          dimension: options.dimension ?? 256,
          metric: 'cosine',
          host: url,
          spec: { serverless: { cloud: 'aws', region: 'us-east-1' } },
          status: { ready: true, state: 'Ready' },
          vector_type: 'dense',
          deletion_protection: 'disabled',
        });
      }
      if (req.method === 'GET' && path.startsWith('/indexes/')) {
        return send(res, 404, {
          error: { code: 'NOT_FOUND', message: `Resource ${path.slice(9)} not found` },
          status: 404,
        });
      }
      if (failures && failures.count > 0) {
        failures.count--;
        return send(res, failures.status, { code: 13, message: 'internal error', details: [] });
      }
      const b = (body ?? {}) as Record<string, unknown>;
      if (req.method === 'POST' && path === '/vectors/upsert') {
        const vectors = Array.isArray(b.vectors) ? (b.vectors as FakePineconeRecord[]) : [];
        if (vectors.length > 1000) return send(res, 400, { code: 3, message: 'Batch size exceeds 1000', details: [] });
        const ns = space(b.namespace);
        for (const v of vectors) {
          if (typeof v.id !== 'string' || !Array.isArray(v.values))
            return send(res, 400, { code: 3, message: 'Invalid vector', details: [] });
          ns.set(v.id, { id: v.id, values: v.values, metadata: v.metadata });
        }
        return send(res, 200, { upsertedCount: vectors.length });
      }
      if (req.method === 'POST' && path === '/query') {
        const vector = b.vector as number[] | undefined;
        const topK = Number(b.topK);
        if (!Array.isArray(vector) || !Number.isInteger(topK) || topK < 1 || topK > 10000) {
          return send(res, 400, {
            code: 3,
            message: 'Invalid query: vector and topK (1-10000) are required',
            details: [],
          });
        }
        const matches = [...space(b.namespace).values()]
          .map((r) => ({
            id: r.id,
            score: cosine(vector, r.values),
            values: b.includeValues ? r.values : [],
            ...(b.includeMetadata && r.metadata ? { metadata: r.metadata } : {}),
          }))
          .sort((x, y) => y.score - x.score)
          .slice(0, topK);
        return send(res, 200, {
          results: [],
          matches,
          namespace: typeof b.namespace === 'string' ? b.namespace : '',
          usage: { readUnits: 5 },
        });
      }
      if (req.method === 'POST' && path === '/vectors/delete') {
        const ns = space(b.namespace);
        if (b.deleteAll === true) ns.clear();
        for (const id of Array.isArray(b.ids) ? (b.ids as string[]) : []) ns.delete(id);
        return send(res, 200, {});
      }
      return send(res, 404, { code: 5, message: `Not found: ${req.method} ${path}`, details: [] });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    indexName,
    namespaces,
    requests,
    failNext(status, count = 1) {
      failures = { status, count };
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
