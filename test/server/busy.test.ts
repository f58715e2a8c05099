import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpApp, type HttpApp } from '../support/http-app.ts';

const TOKEN = 'busy-test-mcp-token-0123456789';
const BUSY =
  /^I am busy right now \(you asked 1 question in the last minute \(the limit is 1\)\)\. Please ask again in about \d+ s\.$/;

/**
 * Over its limits each HTTP surface refuses in its own protocol: the web chat with a 429 and
 * Retry-After before any line, MCP with a busy tool error. The limits count per client and
 * endpoint, so one client's refusal on one endpoint holds up nobody else.
 */
describe('the HTTP surfaces over the per-user limits', () => {
  let http: HttpApp;
  beforeAll(async () => {
    http = await startHttpApp({ ASKPANDA_LIMITS_PER_USER_PER_MINUTE: '1', ASKPANDA_MCP_TOKEN: TOKEN });
  });
  afterAll(() => http.close());

  const askWeb = (thread: string) =>
    fetch(`${http.base}/web/ask`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ question: 'what is a pilot?', thread }),
    });

  it('the web chat answers 429 with Retry-After and the busy sentence', async () => {
    const first = await askWeb('tab-busy-1');
    expect(first.status).toBe(200);
    const lines = (await first.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(lines.at(-1)!.type).toBe('answer');
    const refused = await askWeb('tab-busy-2');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused.json()) as { error: string }).error).toMatch(BUSY);
  });

  it('MCP answers a busy tool error, askpanda_ask and the data tools alike', async () => {
    const client = new Client({ name: 'askpanda-busy-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${http.base}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
      }),
    );
    try {
      const call = async (name: string, args: Record<string, unknown>) =>
        (await client.callTool({ name, arguments: args })) as CallToolResult;
      expect((await call('panda_error_code', { component: 'pilot', code: 1213 })).isError).toBeFalsy();
      for (const [name, args] of [
        ['askpanda_ask', { question: 'what is a pilot?' }],
        ['panda_job_status', { pandaid: 6800730400 }],
      ] as const) {
        const refused = await call(name, args);
        expect(refused.isError, name).toBe(true);
        expect(refused.structuredContent, name).toEqual({
          error: { kind: 'busy', message: expect.stringMatching(BUSY) },
        });
      }
    } finally {
      await client.close();
    }
  });
});
