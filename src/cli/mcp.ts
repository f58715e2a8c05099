import { Command } from 'commander';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createMcpServer } from '../server/mcp.ts';
import { TOOLS } from '../server/mcp/tools.ts';
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
      // One local client: the tools count against the process-wide limits only (see Requester.local).
      const server = createMcpServer(app, { transport: 'stdio', client: 'stdio' });
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
      process.stderr.write(`askpanda: MCP server on stdio ready (tools: ${TOOLS.map((t) => t.name).join(', ')})\n`);
    });
}
