import { Console } from 'node:console';

/**
 * Standard output belongs to what the command prints: the answer of `askpanda ask` (one JSON object
 * with --json), the MCP protocol of `askpanda mcp`. Libraries write to the console on their own
 * (the ollama client logs "Getting text from response" with console.log when a server answers an
 * error page), so every console method writes to standard error in the CLI. Imported first by main.ts.
 */
const toStderr = new Console({ stdout: process.stderr, stderr: process.stderr });
for (const method of [
  'log',
  'info',
  'debug',
  'trace',
  'dir',
  'dirxml',
  'table',
  'group',
  'groupCollapsed',
  'groupEnd',
  'count',
  'countReset',
  'time',
  'timeLog',
  'timeEnd',
] as const) {
  console[method] = toStderr[method].bind(toStderr) as never;
}
