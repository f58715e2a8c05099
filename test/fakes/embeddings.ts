import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { terms } from '../../src/rag/terms.ts';

/**
 * A loopback embeddings server speaking the four providers' wire formats (OpenAI and Mistral
 * /v1/embeddings, Ollama /api/embed, Gemini :batchEmbedContents). Its vectors are a lexical
 * hashing embedding: stemmed words and character trigrams hashed into `dims` buckets. Texts that
 * share words or word pieces are close; it knows no synonyms, so it is a fair stand-in for
 * plumbing and fusion tests, not a semantic model.
 */
export function hashingEmbedding(text: string, dims = 256): number[] {
  const v = new Array<number>(dims).fill(0);
  const add = (feature: string, weight: number) => {
    const h = createHash('md5').update(feature).digest();
    const bucket = h.readUInt32LE(0) % dims;
    v[bucket]! += (h[4]! & 1 ? 1 : -1) * weight;
  };
  const counts = new Map<string, number>();
  for (const term of terms(text)) counts.set(term, (counts.get(term) ?? 0) + 1);
  for (const [term, count] of counts) {
    const weight = 1 + Math.log(count); // sublinear: a word repeated in a listing does not dominate
    add(`w:${term}`, weight);
    const padded = `^${term}$`;
    for (let i = 0; i + 3 <= padded.length; i++) add(`t:${padded.slice(i, i + 3)}`, 0.2 * weight);
  }
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => x / norm);
}

export interface FakeEmbeddingRequest {
  path: string;
  authorization?: string;
  apiKeyHeader?: string;
  body: unknown;
}

export interface FakeEmbeddings {
  url: string;
  requests: FakeEmbeddingRequest[];
  /** The next N requests answer this status (429 carries Retry-After: 0). */
  failNext(status: number, count?: number): void;
  close(): Promise<void>;
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      try {
        const text = Buffer.concat(parts).toString('utf8');
        resolve(text ? JSON.parse(text) : undefined);
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

export async function startFakeEmbeddings(options: { dims?: number; apiKey?: string } = {}): Promise<FakeEmbeddings> {
  const dims = options.dims ?? 256;
  const apiKey = options.apiKey ?? 'test-key';
  const requests: FakeEmbeddingRequest[] = [];
  let failures: { status: number; count: number } | undefined;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0]!;
      const body = (await readJson(req).catch(() => undefined)) as Record<string, unknown> | undefined;
      requests.push({
        path,
        authorization: req.headers.authorization,
        apiKeyHeader: req.headers['x-goog-api-key'] as string | undefined,
        body,
      });
      if (failures && failures.count > 0) {
        failures.count--;
        return send(
          res,
          failures.status,
          { error: { message: 'fake failure', type: 'server_error' } },
          failures.status === 429 ? { 'retry-after': '0' } : {},
        );
      }
      const bearerOk = req.headers.authorization === `Bearer ${apiKey}`;
      if (path === '/v1/embeddings') {
        if (!bearerOk)
          return send(res, 401, {
            error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' },
          });
        const input = body?.input;
        const texts = typeof input === 'string' ? [input] : Array.isArray(input) ? (input as string[]) : [];
        const model = String(body?.model ?? '');
        return send(res, 200, {
          id: `embd-${requests.length}`,
          object: 'list',
          model,
          data: texts.map((t, index) => ({ object: 'embedding', index, embedding: hashingEmbedding(t, dims) })),
          usage: { prompt_tokens: texts.join(' ').length, total_tokens: texts.join(' ').length, completion_tokens: 0 },
        });
      }
      if (path === '/api/embed') {
        const input = body?.input;
        const texts = typeof input === 'string' ? [input] : Array.isArray(input) ? (input as string[]) : [];
        return send(res, 200, {
          model: body?.model,
          embeddings: texts.map((t) => hashingEmbedding(t, dims)),
          total_duration: 1000,
          load_duration: 10,
          prompt_eval_count: texts.length,
        });
      }
      const gemini = /^\/v1beta\/models\/([^:]+):batchEmbedContents$/.exec(path);
      if (gemini) {
        if (req.headers['x-goog-api-key'] !== apiKey)
          return send(res, 400, {
            error: {
              code: 400,
              message: 'API key not valid. Please pass a valid API key.',
              status: 'INVALID_ARGUMENT',
            },
          });
        const list = Array.isArray(body?.requests)
          ? (body.requests as Array<{ content?: { parts?: Array<{ text?: string }> } }>)
          : [];
        return send(res, 200, {
          embeddings: list.map((r) => ({
            values: hashingEmbedding((r.content?.parts ?? []).map((p) => p.text ?? '').join(' '), dims),
          })),
        });
      }
      return send(res, 404, { error: { message: `no route ${req.method} ${path}` } });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    failNext(status, count = 1) {
      failures = { status, count };
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
