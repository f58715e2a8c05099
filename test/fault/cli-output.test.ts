import { sleep } from '../support/time.ts';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKES, raw, type LlmFake } from '../fakes/llm/index.ts';
import { cliEnv, REPO_ROOT, runCli } from '../support/cli.ts';

/**
 * Standard output is the answer (`ask --json`: one JSON object) or the protocol (`mcp`: JSON-RPC
 * lines), whatever a library prints. The ollama client writes "Getting text from response" with
 * console.log when a server answers an error page: it must land on stderr.
 */

let ollama: LlmFake;
beforeAll(async () => {
  ollama = await FAKES.ollama().start();
  ollama.responder = () =>
    raw(500, '<html><body><h1>500 Internal Server Error</h1></body></html>', { 'content-type': 'text/html' });
});
afterAll(() => ollama.close());

const env = () =>
  cliEnv({
    ASKPANDA_DEMO: '1',
    ASKPANDA_LLM: 'ollama,offline',
    OLLAMA_HOST: ollama.origin,
    ASKPANDA_OLLAMA_MODEL: 'llama3.1',
    ASKPANDA_LLM_TIMEOUT_MS: '3000',
  });

describe('stdout carries only the answer', () => {
  it('ask --json prints exactly one JSON object while the model library writes to the console', async () => {
    const before = ollama.requests.length;
    const result = await runCli(['ask', '--json', 'why did job 6802258254 fail?'], {
      env: { ...env(), ASKPANDA_LOG_LEVEL: 'info' },
    });
    expect(result.code).toBe(0);
    // The library did write (so the test shows what it claims) ...
    expect(ollama.requests.length).toBeGreaterThan(before);
    expect(result.stderr).toContain('Getting text from response');
    // ... and stdout is one line, one Answer: the offline one, saying why.
    const lines = result.stdout.split('\n').filter((l) => l !== '');
    expect(lines, result.stdout.slice(0, 500)).toHaveLength(1);
    const answer = JSON.parse(lines[0]!) as { agent: string; model: string; text: string };
    expect(answer).toMatchObject({ agent: 'job', model: 'offline' });
    expect(answer.text).toContain('No language model could answer just now');
  });

  it('mcp over stdio writes nothing but JSON-RPC to stdout', { timeout: 30_000 }, async () => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/askpanda.js'), 'mcp'], {
      cwd: REPO_ROOT,
      env: env(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const send = (message: Record<string, unknown>) =>
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
    const replyTo = async (id: number) => {
      const until = Date.now() + 25_000;
      while (Date.now() < until) {
        const found = stdout.split('\n').find((l) => l.includes(`"id":${id}`));
        if (found) return found;
        await sleep(20);
      }
      throw new Error(`no reply to ${id}; stderr: ${stderr.slice(-500)}`);
    };
    try {
      send({
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'fault-suite', version: '1' } },
      });
      await replyTo(1);
      send({ method: 'notifications/initialized' });
      send({
        id: 2,
        method: 'tools/call',
        params: { name: 'askpanda_ask', arguments: { question: 'why did job 6802258254 fail?' } },
      });
      const reply = JSON.parse(await replyTo(2)) as { result?: { content?: Array<{ text?: string }> } };
      expect(JSON.stringify(reply.result)).toContain('6802258254');
      expect(stderr).toContain('Getting text from response');
      for (const line of stdout.split('\n').filter((l) => l.trim() !== '')) {
        expect(() => JSON.parse(line), line.slice(0, 200)).not.toThrow();
        expect((JSON.parse(line) as { jsonrpc?: string }).jsonrpc, line.slice(0, 200)).toBe('2.0');
      }
    } finally {
      child.kill('SIGKILL');
    }
  });
});
