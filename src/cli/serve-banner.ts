import type { RunningPlatform } from '../adapters/platforms.ts';
import type { Config } from '../config/schema.ts';
import { MCP_PATH } from '../server/mcp.ts';

export interface ServeState {
  config: Pick<Config, 'web' | 'mcp' | 'openaiApi' | 'monitor' | 'llm'>;
  port: number;
  /** How others reach the server: ASKPANDA_PUBLIC_URL, else http://localhost:<port>. */
  base: string;
  platforms: readonly RunningPlatform[];
  /** The store as `describeStoreUri` names it, with what happens when it is unavailable. */
  store: string;
  demo: boolean;
}

/**
 * What `askpanda serve` says once it listens, one line each: the routes of the one HTTP server,
 * the web chat, MCP, the OpenAI-compatible API, each chat platform, the store, the monitor and the
 * models. It names only what runs.
 */
export function serveBanner({ config, port, base, platforms, store, demo }: ServeState): string[] {
  const routes = [
    '/healthz',
    '/readyz',
    '/metrics',
    ...platforms.flatMap((p) => p.routes),
    ...(config.mcp.token ? [MCP_PATH] : []),
    '/v1/models',
    '/v1/chat/completions',
    ...(config.web.enabled ? ['/'] : []),
  ];
  const openAiKey = config.openaiApi.apiKey
    ? 'key required (ASKPANDA_OPENAI_KEY)'
    : 'open: set ASKPANDA_OPENAI_KEY to require a key';
  return [
    `HTTP server on port ${port}: ${routes.join(' ')}`,
    config.web.enabled ? `web chat: ${base}/` : 'web chat is off (web.enabled: false)',
    config.mcp.token
      ? `MCP (streamable HTTP): ${base}${MCP_PATH}, bearer token ASKPANDA_MCP_TOKEN required`
      : `${MCP_PATH} is off: set ASKPANDA_MCP_TOKEN to serve MCP over HTTP (\`askpanda mcp\` serves it over stdio)`,
    `OpenAI-compatible API (Open WebUI): ${base}/v1, model ${config.openaiApi.model}, ${openAiKey}`,
    ...platforms.map((p) => p.summary),
    `store: ${store}`,
    `monitor: ${demo ? 'the embedded demo monitor' : config.monitor.url}`,
    `language models: ${config.llm.chain.join(' → ')}`,
  ];
}
