import { Command } from 'commander';
import type { AdmissionLimits } from '../bot/admission.ts';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createMcpServer } from '../server/mcp.ts';
import { TOOL_INPUTS } from '../server/mcp-tools.ts';
import { QuestionGate } from '../server/question-gate.ts';
import { startApp } from './context.ts';

/**
 * `askpanda mcp`: askpanda's tools for one MCP client (Claude Desktop, an IDE, an agent) over
 * stdio. stdout carries JSON-RPC only; banners and logs go to stderr. Ends when the client closes
 * stdin, or on SIGINT/SIGTERM.
 */
export function mcpCommand(): Command {
  return new Command('mcp')
    .description(
      "Serve askpanda's PanDA tools to an MCP client over stdio (for Claude Desktop, IDEs, agents). " +
        'For MCP over HTTP, run `askpanda serve` with ASKPANDA_MCP_TOKEN set: /mcp.',
    )
    .addHelpText(
      'after',
      '\nClient configuration (Claude Desktop, claude_desktop_config.json):\n' +
        '  { "mcpServers": { "askpanda": { "command": "npx", "args": ["askpanda", "mcp"], "cwd": "/path/to/askpanda" } } }',
    )
    .action(async () => {
      const { app } = await startApp({ interactive: true });
      for (const line of app.banners) process.stderr.write(`${line}\n`);
      const server = createMcpServer(app, {
        transport: 'stdio',
        client: 'stdio',
        gate: new QuestionGate(stdioLimits(app.config.limits)),
      });
      const transport = new StdioServerTransport();
      let closing = false;
      const close = async () => {
        if (closing) return;
        closing = true;
        await server.close().catch(() => undefined);
        await app.close();
        process.exit(0);
      };
      transport.onclose = () => void close();
      process.stdin.once('end', () => void close());
      process.once('SIGINT', () => void close());
      process.once('SIGTERM', () => void close());
      await server.connect(transport);
      process.stderr.write(`askpanda: MCP server on stdio ready (tools: ${Object.keys(TOOL_INPUTS).join(', ')})\n`);
    });
}

/**
 * Over stdio there is one client, the local agent, which may well call tools in quick loops: only the
 * process-wide limits apply, not the per-person ones meant for a shared chat channel.
 */
function stdioLimits(limits: AdmissionLimits): AdmissionLimits {
  return {
    ...limits,
    perUserInFlight: Math.max(limits.perUserInFlight, limits.maxConcurrent + limits.maxQueued),
    perUserPerMinute: Math.max(limits.perUserPerMinute, limits.perMinute),
  };
}
