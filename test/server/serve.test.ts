import { sleep } from '../support/time.ts';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MCP_TOKEN = 'serve-mcp-token-0123456789abcdef';
const OPENAI_KEY = 'sk-serve-openai-key-0123456789';

function serve(env: Record<string, string>) {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/askpanda.js'), 'serve'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ASKPANDA_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'askpanda-serve-http-')),
      ASKPANDA_DEMO: '1',
      ASKPANDA_PORT: '0',
      ...env,
    },
    // The terminal chat's input ends at once; serve keeps serving HTTP.
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ready = async (): Promise<string> => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (stderr.includes('still serving HTTP'))
        return (
          /web chat: (http:\/\/localhost:\d+)\//.exec(stderr)?.[1] ?? /HTTP server on port (\d+)/.exec(stderr)![1]!
        );
      await sleep(50);
    }
    throw new Error(`serve did not start: ${stderr}`);
  };
  return { child, exited, ready, stderr: () => stderr };
}

describe('askpanda serve mounts MCP, /v1 and the web chat on its one port', () => {
  it('says what runs, serves all three, and exits 0 on SIGTERM without printing a secret', async () => {
    const run = serve({ ASKPANDA_MCP_TOKEN: MCP_TOKEN, ASKPANDA_OPENAI_KEY: OPENAI_KEY });
    try {
      const base = (await run.ready()).replace('localhost', '127.0.0.1');
      const stderr = run.stderr();
      expect(stderr).toMatch(
        /HTTP server on port \d+: \/healthz \/readyz \/metrics \/mcp \/v1\/models \/v1\/chat\/completions \//,
      );
      expect(stderr).toMatch(
        /MCP \(streamable HTTP\): http:\/\/localhost:\d+\/mcp, bearer token ASKPANDA_MCP_TOKEN required/,
      );
      expect(stderr).toMatch(
        /OpenAI-compatible API \(Open WebUI\): http:\/\/localhost:\d+\/v1, model askpanda, key required \(ASKPANDA_OPENAI_KEY\)/,
      );

      const page = await fetch(`${base}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>askpanda');

      const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: OPENAI_KEY, maxRetries: 0 });
      const completion = await openai.chat.completions.create({
        model: 'askpanda',
        messages: [{ role: 'user', content: 'why did job 6802258254 fail?' }],
      });
      expect(completion.choices[0]!.message.content).toMatch(/6802258254/);

      const mcp = new Client({ name: 'serve-test', version: '1.0.0' });
      await mcp.connect(
        new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
          requestInit: { headers: { Authorization: `Bearer ${MCP_TOKEN}` } },
        }),
      );
      expect((await mcp.listTools()).tools.length).toBe(8);
      await mcp.close();

      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/askpanda_questions_total\{platform="http",agent="job",outcome="answered"\} 1/);
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
    expect(run.stderr()).not.toContain(MCP_TOKEN);
    expect(run.stderr()).not.toContain(OPENAI_KEY);
  }, 60_000);

  it('without the settings: /mcp is off and /v1 is open, the web chat turned off, and serve says so', async () => {
    const run = serve({ ASKPANDA_WEB_ENABLED: '0' });
    try {
      const base = `http://127.0.0.1:${await run.ready()}`;
      expect(run.stderr()).toContain('askpanda: web chat is off (web.enabled: false)');
      expect((await fetch(`${base}/`)).status).toBe(404);
      expect(run.stderr()).toContain('askpanda: /mcp is off: set ASKPANDA_MCP_TOKEN to serve MCP over HTTP');
      expect(run.stderr()).toContain('open: set ASKPANDA_OPENAI_KEY to require a key');
      expect((await fetch(`${base}/v1/models`)).status).toBe(200);
      expect((await fetch(`${base}/mcp`, { method: 'POST', body: '{}' })).status).toBe(404);
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
  }, 60_000);
});
