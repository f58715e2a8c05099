import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { ServerDeps } from './server-deps.ts';
import { handbookPaths } from '../rag/docs-index.ts';
import { clientAddress, hasBearer } from './bearer.ts';
import { HttpError, sendJson, type HttpServer } from '../http/server.ts';
import { AnswerSchema } from '../core/answer.ts';
import { runTool, TOOLS } from './mcp/tools.ts';
import type { ToolCall, ToolOutput } from './mcp/tool.ts';

export const MCP_PATH = '/mcp';
/** A JSON-RPC request to /mcp is small; a batch of tool calls stays well under this. */
const MAX_MCP_BODY_BYTES = 256 * 1024;
/** A tool call that reads a large log may take a while; nothing takes longer than this. */
const MCP_REQUEST_TIMEOUT_MS = 300_000;
const VERSION = '0.1.0';

const INSTRUCTIONS = [
  'askpanda answers questions about PanDA, the ATLAS workload management system,',
  'from the BigPanDA monitor, CRIC and the PanDA documentation.',
  'Use panda_job_log_analysis for "why did job N fail?", panda_task_status and panda_task_failures for tasks,',
  'panda_error_code for what an error code means,',
  'panda_queue_info for sites and queues, panda_docs_search for concepts; askpanda_ask returns a finished chat answer.',
  'Job ids (pandaid) and task ids (jeditaskid) are integers.',
].join(' ');

export interface McpSurface {
  transport: 'stdio' | 'http';
  /** Who is asking, for the limits: "stdio" or the client's address. */
  client: string;
}

/**
 * One MCP server with askpanda's tools and the handbook pages as resources. stdio keeps one for
 * the process; HTTP builds one per request (stateless streamable HTTP: any replica can answer any
 * request, no session to lose).
 */
export function createMcpServer(app: ServerDeps, surface: McpSurface): McpServer {
  const server = new McpServer(
    { name: 'askpanda', title: 'askpanda (PanDA)', version: VERSION },
    { instructions: INSTRUCTIONS, capabilities: { logging: {} } },
  );
  for (const tool of TOOLS) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.input,
        ...(tool.returnsAnswer ? { outputSchema: AnswerSchema } : {}),
        annotations: { readOnlyHint: tool.readOnly, openWorldHint: tool.openWorld },
      },
      async (args: unknown, extra: RequestHandlerExtra<ServerRequest, ServerNotification>) => {
        const token = extra._meta?.progressToken;
        let step = 0;
        const call: ToolCall = {
          app,
          transport: surface.transport,
          client: surface.client,
          signal: extra.signal,
          // "is reading pilotlog.txt of job …" as MCP progress, when the client asked for it.
          progress: (status) => {
            if (token === undefined) return;
            step += 1;
            void extra
              .sendNotification({
                method: 'notifications/progress',
                params: { progressToken: token, progress: step, message: `askpanda ${status}` },
              })
              .catch(() => undefined);
          },
        };
        return toResult(await runTool(tool, args, call));
      },
    );
  }
  for (const page of handbookPages(app)) {
    server.registerResource(
      page.name,
      page.uri,
      { title: page.title, description: `PanDA handbook page: ${page.title}`, mimeType: 'text/markdown' },
      async (uri) => ({
        contents: [{ uri: uri.href, mimeType: 'text/markdown', text: await readFile(page.file, 'utf8') }],
      }),
    );
  }
  return server;
}

function toResult(output: ToolOutput): CallToolResult {
  return {
    content: [{ type: 'text', text: output.text }],
    structuredContent: output.structured,
    ...(output.error ? { isError: true } : {}),
  };
}

interface HandbookPage {
  name: string;
  uri: string;
  title: string;
  file: string;
}

/** The handbook's Markdown and text files (rag.docs), each as `askpanda://handbook/<file>`. */
export function handbookPages(app: Pick<ServerDeps, 'config'>): HandbookPage[] {
  const pages: HandbookPage[] = [];
  const seen = new Set<string>();
  const add = (file: string) => {
    if (!/\.(md|markdown|txt)$/i.test(file)) return;
    const name = path.basename(file);
    if (seen.has(name)) return;
    seen.add(name);
    const heading = /^#\s+(.+)$/m.exec(readFileSync(file, 'utf8').slice(0, 4000));
    pages.push({
      name,
      uri: `askpanda://handbook/${encodeURIComponent(name)}`,
      title: heading?.[1]?.trim() ?? name,
      file,
    });
  };
  for (const entry of handbookPaths(app.config)) {
    try {
      if (statSync(entry).isDirectory()) for (const name of readdirSync(entry).sort()) add(path.join(entry, name));
      else add(entry);
    } catch {
      // A configured path that is gone is reported by the docs index; the other pages are still served.
    }
  }
  return pages;
}

/**
 * POST /mcp: MCP streamable HTTP, stateless, behind `ASKPANDA_MCP_TOKEN` (compared in constant
 * time). Without a token configured the endpoint is off and says how to turn it on.
 */
export function addMcpRoute(server: HttpServer, app: ServerDeps): void {
  const token = app.config.mcp.token;
  server.add({
    method: ['POST', 'GET', 'DELETE'],
    path: MCP_PATH,
    maxBodyBytes: MAX_MCP_BODY_BYTES,
    timeoutMs: MCP_REQUEST_TIMEOUT_MS,
    handler: async ({ req, res, body }) => {
      if (!token)
        throw new HttpError(
          404,
          'MCP over HTTP is off on this server: set ASKPANDA_MCP_TOKEN to turn it on (or run `askpanda mcp` for stdio)',
        );
      if (!hasBearer(req, token))
        throw new HttpError(401, 'send the MCP token as "Authorization: Bearer <ASKPANDA_MCP_TOKEN>"', {
          'www-authenticate': 'Bearer realm="askpanda-mcp"',
        });
      if (req.method !== 'POST') {
        // Stateless: no server-initiated stream to open (GET) and no session to end (DELETE).
        sendJson(
          res,
          405,
          {
            jsonrpc: '2.0',
            error: {
              code: -32000,
              message: `${req.method} is not supported: this MCP endpoint is stateless, send requests with POST`,
            },
            id: null,
          },
          { allow: 'POST' },
        );
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse((await body()).toString('utf8'));
      } catch (err) {
        if (err instanceof HttpError) throw err;
        sendJson(res, 400, {
          jsonrpc: '2.0',
          error: { code: -32700, message: 'Parse error: the request body is not JSON' },
          id: null,
        });
        return;
      }
      const mcp = createMcpServer(app, { transport: 'http', client: clientAddress(req) });
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.once('close', () => {
        void transport.close().catch(() => undefined);
        void mcp.close().catch(() => undefined);
      });
      await mcp.connect(transport);
      await transport.handleRequest(req, res, parsed);
    },
  });
}
