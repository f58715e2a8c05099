import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/load-config.ts';
import { HttpServer } from '../../src/http/server.ts';
import { addMcpRoute } from '../../src/server/mcp.ts';
import { addOpenAiRoutes } from '../../src/server/openai-api.ts';
import { addWebChatRoutes } from '../../src/server/web-chat.ts';
import { silentLogger } from '../../src/util/log.ts';

export interface HttpApp {
  app: App;
  server: HttpServer;
  /** http://127.0.0.1:<port> */
  base: string;
  close(): Promise<void>;
}

/**
 * The app with the HTTP surfaces `askpanda serve` mounts (MCP, /v1, the web chat) on a loopback
 * port, on the demo monitor unless the environment points elsewhere.
 */
export async function startHttpApp(
  env: Record<string, string> = {},
  options: { demo?: boolean } = {},
): Promise<HttpApp> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'askpanda-http-'));
  const demo = options.demo ?? true;
  const config = loadConfig({
    env: { ASKPANDA_DATA_DIR: dataDir, ASKPANDA_LOG_LEVEL: 'silent', ...(demo ? { ASKPANDA_DEMO: '1' } : {}), ...env },
  });
  const app = await createApp(config, { demo, logger: silentLogger });
  const server = new HttpServer(silentLogger);
  addMcpRoute(server, app);
  addOpenAiRoutes(server, app);
  if (config.web.enabled) addWebChatRoutes(server, app, { demo });
  const port = await server.listen(0, '127.0.0.1');
  return {
    app,
    server,
    base: `http://127.0.0.1:${port}`,
    async close() {
      await server.close(0);
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
