import { Command } from 'commander';
import { runConsole } from '../adapters/console.ts';
import { PlatformStartError, startPlatforms, type RunningPlatform } from '../adapters/platforms.ts';
import { CHAT_PLATFORMS, configuredPlatforms } from '../adapters/registry.ts';
import { addHealthRoutes, monitorCheck, type ReadinessCheck } from '../server/health.ts';
import { HttpServer } from '../http/server.ts';
import { addMcpRoute } from '../server/mcp.ts';
import { addOpenAiRoutes } from '../server/openai-api.ts';
import { addWebChatRoutes } from '../server/web-chat.ts';
import { describeStoreUri } from '../storage/store.ts';
import { storeUri } from '../storage/open-store.ts';
import { startApp } from './context.ts';
import { serveBanner } from './serve-banner.ts';

/** SIGTERM to exit: platforms stop taking events, answers in progress get this long, then the store closes. */
const SHUTDOWN_GRACE_MS = 8_000;
/** The process exits by then whatever still runs (orchestrators send SIGKILL soon after). */
const SHUTDOWN_DEADLINE_MS = 10_000;

const chatPlatformTitles = CHAT_PLATFORMS.map((p) => p.title).join(', ');

export function serveCommand(): Command {
  return new Command('serve')
    .description(
      [
        "Run askpanda: the HTTP server on ASKPANDA_PORT (/healthz, /readyz, /metrics, the chat platforms' callbacks,",
        'MCP at /mcp with ASKPANDA_MCP_TOKEN, the OpenAI-compatible /v1 for Open WebUI, the web chat at /),',
        `the configured chat platforms (${chatPlatformTitles}) and the digest scheduler. ` +
          'Without a chat platform it chats in the terminal (the demo on a fresh machine).',
      ].join('\n'),
    )
    .action(async () => {
      // A chat platform needs its claims and histories kept; the terminal demo can answer without.
      const { app, demo } = await startApp({ needsStore: ({ config }) => configuredPlatforms(config).length > 0 });
      for (const line of app.banners) process.stderr.write(`${line}\n`);
      const say = (line: string) => process.stderr.write(`askpanda: ${line}\n`);
      let scheduler: { stop(): Promise<void> } | undefined;
      let platforms: RunningPlatform[] = [];

      const server = new HttpServer(app.logger);
      const store = app.store;
      const checks = (): ReadinessCheck[] => [
        {
          name: 'store',
          check: async () =>
            await store
              .ns('meta')
              .get('readyz')
              .then(
                () => undefined,
                (err: unknown) =>
                  `the state store does not answer (${err instanceof Error ? err.message : String(err)})`,
              ),
        },
        ...platforms.map((p) => ({
          name: p.name,
          check: () => (p.connected() ? undefined : `${p.name} is not connected (reconnecting)`),
        })),
        monitorCheck(),
      ];
      addHealthRoutes(server, checks);
      // MCP, the OpenAI-compatible API and the web chat ask through the conversation core, within its limits.
      addMcpRoute(server, app);
      addOpenAiRoutes(server, app);
      if (app.config.web.enabled) addWebChatRoutes(server, app, { demo });
      let port: number;
      try {
        port = await server.listen(app.config.port);
      } catch (err) {
        const inUse = (err as { code?: unknown }).code === 'EADDRINUSE';
        say(
          inUse
            ? `port ${app.config.port} is already in use: set ASKPANDA_PORT to a free port`
            : `cannot listen on port ${app.config.port}: ${err instanceof Error ? err.message : String(err)}`,
        );
        await app.close();
        process.exit(1);
      }

      try {
        platforms = await startPlatforms(app, { server, receive: true });
      } catch (err) {
        if (!(err instanceof PlatformStartError)) throw err;
        say(`${err.platform} did not start: ${err.message}`);
        await server.close(0);
        await app.close();
        process.exit(1);
      }

      const base = (app.config.publicUrl || `http://localhost:${port}`).replace(/\/+$/, '');
      const unavailable = store.kind === 'memory' ? ' (unavailable: answering from memory, nothing is saved)' : '';
      const storeLine = `${describeStoreUri(storeUri(app.config))}${unavailable}`;
      for (const line of serveBanner({ config: app.config, port, base, platforms, store: storeLine, demo })) say(line);

      if (!app.config.digest.scheduler) {
        say('digests: the scheduler is off (digest.scheduler: false); run `askpanda digest run` from cron instead');
      } else if (platforms.length === 0) {
        say('digests: no chat platform to post to, so no scheduler runs');
      } else {
        const { digestPosters } = await import('../digest/wiring.ts');
        const { startDigestScheduler } = await import('../digest/service.ts');
        scheduler = startDigestScheduler(app, await digestPosters(app), { expression: app.config.digest.tick });
        const tick =
          app.config.digest.tick === '* * * * *' ? 'every minute' : `on the tick "${app.config.digest.tick}"`;
        say(`digests: checking subscriptions ${tick}, posting to ${platforms.map((p) => p.name).join(' and ')}`);
      }
      app.logger.info(
        { port, platforms: platforms.map((p) => p.name), store: store.kind, models: app.config.llm.chain, demo },
        'askpanda serving',
      );

      let stopping = false;
      const shutdown = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        app.logger.info({ signal }, 'shutting down');
        setTimeout(() => process.exit(0), SHUTDOWN_DEADLINE_MS).unref();
        // Stop taking events first, then let the answers in progress finish, then close the store.
        await scheduler?.stop().catch(() => undefined);
        for (const platform of platforms) await platform.stop().catch(() => undefined);
        await app.conversation.stop(SHUTDOWN_GRACE_MS);
        await server.close(1_000);
        await app.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void shutdown('SIGINT'));
      process.once('SIGTERM', () => void shutdown('SIGTERM'));

      if (platforms.length === 0) {
        const browser = app.config.web.enabled ? ` and in the browser at ${base}/` : '';
        say(
          `no chat platform is configured (see README: ${chatPlatformTitles}); chatting in the terminal${browser}. ` +
            `The HTTP server keeps running on port ${port}.`,
        );
        await runConsole(app.conversation, {
          input: process.stdin,
          output: process.stdout,
          status: process.stderr,
          prompt: process.stdin.isTTY === true,
        });
        if (!stopping)
          say(`the terminal chat ended; still serving HTTP on port ${port} until Ctrl-C (SIGINT) or SIGTERM.`);
      }
    });
}
