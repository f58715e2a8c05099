import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeBigPanda, type FakeBigPanda } from '../fakes/bigpanda.ts';
import { startHttpApp, type HttpApp } from '../support/http-app.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TOKEN = 'mcp-test-token-0123456789abcdef';
const TOOLS = [
  'askpanda_ask',
  'panda_docs_search',
  'panda_error_code',
  'panda_job_log_analysis',
  'panda_job_status',
  'panda_queue_info',
  'panda_task_failures',
  'panda_task_status',
];

function stdioClient(env: Record<string, string>): { client: Client; transport: StdioClientTransport } {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [path.join(ROOT, 'bin/askpanda.js'), 'mcp'],
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ASKPANDA_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'askpanda-mcp-')),
      ASKPANDA_LOG_LEVEL: 'silent',
      ...env,
    },
    stderr: 'pipe',
  });
  return { client: new Client({ name: 'askpanda-test', version: '1.0.0' }), transport };
}

async function call(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<CallToolResult & { text: string; data: Record<string, unknown> }> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
  return { ...result, text, data: (result.structuredContent ?? {}) as Record<string, unknown> };
}

describe('askpanda mcp over stdio (demo monitor)', () => {
  let client: Client;
  let stderr = '';
  beforeAll(async () => {
    const made = stdioClient({ ASKPANDA_DEMO: '1' });
    client = made.client;
    made.transport.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    await client.connect(made.transport);
  }, 30_000);
  afterAll(() => client.close());

  it('lists every tool with a description and an input schema', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);
    for (const tool of tools) {
      expect(tool.description!.length).toBeGreaterThan(80);
      expect(tool.inputSchema.type).toBe('object');
    }
    const jobStatus = tools.find((t) => t.name === 'panda_job_status')!;
    expect(jobStatus.inputSchema.required).toEqual(['pandaid']);
    expect((jobStatus.inputSchema.properties as Record<string, { type: string }>).pandaid!.type).toBe('integer');
    const failures = tools.find((t) => t.name === 'panda_task_failures')!;
    expect(Object.keys(failures.inputSchema.properties!).sort()).toEqual(['jeditaskid', 'since', 'until']);
    expect(failures.inputSchema.required).toEqual(['jeditaskid']);
    expect(client.getInstructions()).toMatch(/PanDA/);
    expect(stderr).toContain('MCP server on stdio ready');
  });

  it('panda_job_status: the metadata summary with the error codes and links', async () => {
    const r = await call(client, 'panda_job_status', { pandaid: 6800730400 });
    expect(r.isError).toBeFalsy();
    expect(r.text).toMatch(/\*\*Job 6800730400\*\* is \*\*failed\*\* at BNL_PROD_MCORE, attempt 2 of 3/);
    expect(r.data).toMatchObject({
      pandaid: 6800730400,
      jobstatus: 'failed',
      jeditaskid: 46374283,
      computingsite: 'BNL_PROD_MCORE',
    });
    expect(r.data.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ component: 'pilot', code: 1235, name: 'PAYLOADEXCEEDMAXMEM' }),
      ]),
    );
    expect(r.data.links).toEqual(
      expect.arrayContaining([{ title: 'Job 6800730400', url: 'https://bigpanda.cern.ch/job?pandaid=6800730400' }]),
    );
  });

  it('panda_job_log_analysis: the diagnosis with pilotlog.txt evidence, bounded', async () => {
    const r = await call(client, 'panda_job_log_analysis', { pandaid: 6800730400 });
    expect(r.isError).toBeFalsy();
    expect(r.text).toMatch(/maxPSS 6\.0 GiB/);
    const answer = r.data as {
      agent: string;
      evidence: Array<{ source: string; lines: string[] }>;
      links: Array<{ url: string }>;
      followUps: unknown[];
    };
    expect(answer.agent).toBe('job');
    const log = answer.evidence.find((e) => e.source === 'pilotlog.txt')!;
    expect(log.lines.length).toBeGreaterThan(3);
    expect(log.lines.length).toBeLessThanOrEqual(61);
    expect(log.lines.every((l) => l.length <= 501)).toBe(true);
    expect(log.lines.join('\n')).toMatch(/maxPSS|memory/i);
    expect(answer.links.map((l) => l.url)).toContain('https://bigpanda.cern.ch/job?pandaid=6800730400');
    expect(answer.followUps.length).toBeGreaterThanOrEqual(2);
  });

  it('panda_task_status and panda_task_failures in a window', async () => {
    const status = await call(client, 'panda_task_status', { jeditaskid: 46374283 });
    expect(status.isError).toBeFalsy();
    expect(status.text).toMatch(/Task 46374283 is \*\*running\*\*/);
    expect((status.data as { agent: string }).agent).toBe('task');

    const failures = await call(client, 'panda_task_failures', {
      jeditaskid: 46374283,
      since: '2025-09-01',
      until: '2025-09-10T00:00:00Z',
    });
    expect(failures.isError).toBeFalsy();
    expect(failures.data.window).toEqual({ since: '2025-09-01T00:00:00Z', until: '2025-09-10T00:00:00Z' });
    const byCode = failures.data.byCode as Array<{
      error: string;
      count: number;
      examplePandaid?: number;
      exampleJobUrl?: string;
    }>;
    const payload = byCode.find((g) => g.error === 'pilot:1305')!;
    expect(payload.count).toBe(29);
    expect(payload.examplePandaid).toBe(6802258254);
    expect(payload.exampleJobUrl).toBe('https://bigpanda.cern.ch/job?pandaid=6802258254');
    expect(failures.data.failedJobs).toBe(47);
    expect((failures.data.bySite as Array<{ site: string }>)[0]!.site).toBe('ANALY_MWT2_UCORE');
    expect(failures.text).toMatch(/47 failed jobs/);
    expect(failures.text).toMatch(/Left out as companions of the codes above: transform:134/);

    const empty = await call(client, 'panda_task_failures', {
      jeditaskid: 46374283,
      since: '2024-01-01',
      until: '2024-01-02',
    });
    expect(empty.isError).toBeFalsy();
    expect(empty.text).toMatch(/No failed jobs of task 46374283 between 2024-01-01T00:00:00Z and 2024-01-02T00:00:00Z/);
  });

  it('panda_error_code, panda_docs_search and panda_queue_info answer offline', async () => {
    const code = await call(client, 'panda_error_code', { component: 'pilot', code: 1213 });
    expect(code.isError).toBeFalsy();
    expect(code.text).toMatch(/^\*\*Pilot error 1213 \(REACHEDMAXTIME\)\*\*: /);
    expect(code.text).toContain('Reached batch system time limit');
    expect(code.data).toMatchObject({
      agent: 'error_code',
      facts: { component: 'pilot', code: 1213, name: 'REACHEDMAXTIME', curated: true },
    });
    const exe = await call(client, 'panda_error_code', { component: 'exe', code: 65 });
    expect(exe.text).toMatch(/^\*\*Executor error 65 \(TRF_EXEC_FAIL\)\*\*/);
    const ddm = await call(client, 'panda_error_code', { component: 'DDM', code: 200 });
    expect(ddm.data.facts).toMatchObject({ component: 'dataservice', code: 200 });

    const docs = await call(client, 'panda_docs_search', {
      query: 'how do I retry the failed jobs of my task',
      limit: 3,
    });
    expect(docs.isError).toBeFalsy();
    const passages = docs.data.passages as Array<{ title: string; source: string; text: string }>;
    expect(passages.length).toBeGreaterThan(0);
    expect(passages.length).toBeLessThanOrEqual(3);
    expect(passages[0]!.source).toBe('config/bot-handbook/howto-retry-kill.md');
    expect(passages[0]!.text).toMatch(/retry/);

    const queue = await call(client, 'panda_queue_info', { queue: 'AGLT2' });
    expect(queue.isError).toBeFalsy();
    expect(queue.data).toMatchObject({
      kind: 'queue',
      queue: 'AGLT2',
      status: 'online',
      memoryMb: 48000,
      cores: 8,
      walltimeSeconds: 258000,
    });
    expect(queue.text).toMatch(/48,000 MB per 8-core slot/);
    const site = await call(client, 'panda_queue_info', { queue: 'GreatLakesT2' });
    expect(site.data.kind).toBe('site');
    const unknown = await call(client, 'panda_queue_info', { queue: 'AGLT3' });
    expect(unknown.isError).toBe(true);
    expect(unknown.text).toMatch(/^CRIC has no queue or site called AGLT3\. Closest names: .*AGLT2/);
    expect(unknown.data.error).toMatchObject({ kind: 'not_found' });
  });

  it('askpanda_ask: a finished answer, and a follow-up in the same thread knows the job', async () => {
    const first = await call(client, 'askpanda_ask', { question: 'why did job 6800730400 fail?', thread: 'claude-1' });
    expect(first.isError).toBeFalsy();
    expect((first.data as { agent: string }).agent).toBe('job');
    const followUp = await call(client, 'askpanda_ask', { question: 'how can I fix it?', thread: 'claude-1' });
    expect(followUp.data as { agent: string; facts: { pandaid: number } }).toMatchObject({
      agent: 'job',
      facts: { pandaid: 6800730400 },
    });
    expect(followUp.text).toMatch(/^To fix job 6800730400:/);
    // Without a thread nothing is remembered.
    const alone = await call(client, 'askpanda_ask', { question: 'how can I fix it?' });
    expect((alone.data as { agent: string }).agent).not.toBe('job');
  });

  it('bad arguments are tool errors naming the argument', async () => {
    const text = await call(client, 'panda_job_status', { pandaid: '6800730400' });
    expect(text.isError).toBe(true);
    expect(text.text).toMatch(/expected a PanDA job id, a whole number such as 6802258254 at pandaid/);
    const fraction = await call(client, 'panda_task_status', { jeditaskid: 4637.5 });
    expect(fraction.isError).toBe(true);
    expect(fraction.text).toMatch(/jeditaskid/);
    const missing = await call(client, 'panda_job_log_analysis', {});
    expect(missing.isError).toBe(true);
    expect(missing.text).toMatch(/pandaid/);
    const date = await call(client, 'panda_task_failures', { jeditaskid: 46374283, since: 'yesterday' });
    expect(date.isError).toBe(true);
    expect(date.text).toMatch(/since as an ISO-8601 time/);
    const order = await call(client, 'panda_task_failures', {
      jeditaskid: 46374283,
      since: '2025-09-10',
      until: '2025-09-01',
    });
    expect(order.isError).toBe(true);
    expect(order.data.error).toEqual({
      kind: 'bad_input',
      message: 'since (2025-09-10T00:00:00Z) must be before until (2025-09-01T00:00:00Z).',
    });
    const wide = await call(client, 'panda_task_failures', {
      jeditaskid: 46374283,
      since: '2025-01-01',
      until: '2025-09-01',
    });
    expect(wide.text).toMatch(/longer than 31 days/);
    const component = await call(client, 'panda_error_code', { component: 'weather', code: 1 });
    expect(component.isError).toBe(true);
    expect(component.text).toMatch(/"weather" is not a PanDA job error component\. Use one of: pilot, .*\bexe\b/);
    const code = await call(client, 'panda_error_code', { component: 'pilot', code: 99999 });
    expect(code.data.error).toMatchObject({ kind: 'not_found' });
  });

  it('an unknown job is a not_found tool error with the sentence users see', async () => {
    const r = await call(client, 'panda_job_log_analysis', { pandaid: 6899999999 });
    expect(r.isError).toBe(true);
    expect(r.data.error).toMatchObject({ kind: 'not_found' });
    expect(r.text).toMatch(/^The monitor does not know job 6899999999/);
    const status = await call(client, 'panda_job_status', { pandaid: 6899999999 });
    expect(status.text).toBe(r.text);
  });

  it('serves the handbook pages as resources', async () => {
    const { resources } = await client.listResources();
    const uris = resources.map((r) => r.uri);
    expect(uris).toContain('askpanda://handbook/glossary.md');
    expect(resources.length).toBeGreaterThanOrEqual(8);
    const glossary = await client.readResource({ uri: 'askpanda://handbook/glossary.md' });
    const content = glossary.contents[0] as { text: string; mimeType: string };
    expect(content.mimeType).toBe('text/markdown');
    expect(content.text).toMatch(/pilot/i);
  });
});

describe('askpanda mcp with the monitor down', () => {
  let fake: FakeBigPanda;
  let client: Client;
  beforeAll(async () => {
    fake = await startFakeBigPanda();
    fake.setDown(true);
    const made = stdioClient({ ASKPANDA_DEMO: '0', PANDA_MONITOR_URL: fake.url, ASKPANDA_MONITOR_RETRIES: '0' });
    client = made.client;
    await client.connect(made.transport);
  }, 30_000);
  afterAll(async () => {
    await client.close();
    await fake.close();
  });

  it('gives monitor_unavailable tool errors with the user-facing message', async () => {
    for (const [name, args] of [
      ['panda_job_status', { pandaid: 6800730400 }],
      ['panda_job_log_analysis', { pandaid: 6800730400 }],
      ['panda_task_failures', { jeditaskid: 46374283 }],
    ] as const) {
      const r = await call(client, name, args);
      expect(r.isError, name).toBe(true);
      expect(r.data.error, name).toMatchObject({ kind: 'monitor_unavailable' });
      expect(r.text, name).toMatch(/monitor/i);
      expect(r.text, name).toMatch(/Try again|Open https:\/\/bigpanda|open https:\/\/bigpanda/);
    }
    // The knowledge base needs no monitor.
    expect((await call(client, 'panda_error_code', { component: 'pilot', code: 1305 })).isError).toBeFalsy();
  });
});

describe('MCP over streamable HTTP at /mcp', () => {
  let http: HttpApp;
  beforeAll(async () => {
    http = await startHttpApp({ ASKPANDA_MCP_TOKEN: TOKEN });
  });
  afterAll(() => http.close());

  const connect = async (token?: string) => {
    const client = new Client({ name: 'askpanda-http-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(
      new URL(`${http.base}/mcp`),
      token ? { requestInit: { headers: { Authorization: `Bearer ${token}` } } } : {},
    );
    await client.connect(transport);
    return client;
  };

  it('lists and calls the tools with the bearer token', async () => {
    const client = await connect(TOKEN);
    try {
      expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(TOOLS);
      const status = await call(client, 'panda_job_status', { pandaid: 6802258254 });
      expect(status.isError).toBeFalsy();
      expect(status.data).toMatchObject({ pandaid: 6802258254, jobstatus: 'failed' });
      const progress: string[] = [];
      const analysis = (await client.callTool(
        { name: 'panda_job_log_analysis', arguments: { pandaid: 6802258254 } },
        undefined,
        { onprogress: (p) => progress.push(p.message ?? '') },
      )) as CallToolResult;
      expect(analysis.isError).toBeFalsy();
      expect(
        (analysis.structuredContent as { evidence: Array<{ source: string }> }).evidence.map((e) => e.source),
      ).toContain('payload.stdout');
      expect(progress).toContain('askpanda is reading payload.stdout of job 6802258254…');
      const bad = await call(client, 'panda_task_status', { jeditaskid: 'abc' });
      expect(bad.isError).toBe(true);
      expect(bad.text).toMatch(/jeditaskid/);
    } finally {
      await client.close();
    }
  });

  it('refuses a missing or wrong token with 401', async () => {
    // The SDK's client reports the status and the server's sentence.
    await expect(connect()).rejects.toMatchObject({
      code: 401,
      message: expect.stringContaining('send the MCP token as'),
    });
    await expect(connect('wrong-token-0123456789abcdef')).rejects.toMatchObject({ code: 401 });
    const raw = await fetch(`${http.base}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{}',
    });
    expect(raw.status).toBe(401);
    expect(raw.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await raw.json()).toEqual({ error: 'send the MCP token as "Authorization: Bearer <ASKPANDA_MCP_TOKEN>"' });
  });

  it('answers a body that is not JSON with a JSON-RPC parse error, and GET with 405', async () => {
    const headers = {
      authorization: `Bearer ${TOKEN}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    const broken = await fetch(`${http.base}/mcp`, { method: 'POST', headers, body: '{"jsonrpc": "2.0", ' });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: { code: number } }).error.code).toBe(-32700);
    const get = await fetch(`${http.base}/mcp`, { headers });
    expect(get.status).toBe(405);
  });
});

describe('/mcp without ASKPANDA_MCP_TOKEN', () => {
  let http: HttpApp;
  beforeAll(async () => {
    http = await startHttpApp();
  });
  afterAll(() => http.close());

  it('is off and says how to turn it on', async () => {
    const res = await fetch(`${http.base}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer anything-at-all-0123456789' },
      body: '{}',
    });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toMatch(/set ASKPANDA_MCP_TOKEN/);
  });
});
