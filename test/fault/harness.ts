import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/load-config.ts';
import { silentLogger, type Logger } from '../../src/util/log.ts';
import { startFakeBigPanda, type FakeBigPanda, type FakeOptions } from '../fakes/bigpanda.ts';
import { startFakeCric, type FakeCric } from '../fakes/cric.ts';
import { startFakePandaServer, type FakePandaServer } from '../fakes/panda-server.ts';
import { startTrap } from './helpers.ts';

/**
 * The real app (every agent, offline model unless told otherwise) against loopback fakes of every
 * outside service it may call: BigPanDA (with its fault cases), CRIC and the PanDA server, plus a
 * trap server that stands for "another host" (the fake monitor's redirect faults point at it and
 * fuzz messages link to it: it must see no request). Time-outs are short so fault cases stay cheap.
 */
export interface FakeWorld {
  monitor: FakeBigPanda;
  cric: FakeCric;
  pandaServer: FakePandaServer;
  trap: Awaited<ReturnType<typeof startTrap>>;
  /** Ports of the services the app is configured to contact. */
  allowedPorts: Set<number>;
  /** Environment pointing askpanda at the fakes. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startFakeWorld(options: Pick<FakeOptions, 'tasks'> = {}): Promise<FakeWorld> {
  const trap = await startTrap();
  const [monitor, cric, pandaServer] = await Promise.all([
    startFakeBigPanda({
      hugeLogBytes: 1024 * 1024,
      hugeJsonBytes: 2 * 1024 * 1024,
      trickleEveryMs: 50,
      foreignUrl: trap.url,
      ...options,
    }),
    startFakeCric(),
    startFakePandaServer(),
  ]);
  const port = (url: string) => Number(new URL(url).port);
  return {
    monitor,
    cric,
    pandaServer,
    trap,
    allowedPorts: new Set([port(monitor.url), port(cric.url), port(pandaServer.url)]),
    env: {
      ASKPANDA_DEMO: '0',
      PANDA_MONITOR_URL: monitor.url,
      CRIC_URL: cric.url,
      PANDA_SERVER_URL: pandaServer.url,
      ASKPANDA_LLM: 'offline',
      ASKPANDA_LOG_LEVEL: 'silent',
      ASKPANDA_MONITOR_TIMEOUT_MS: '500',
      ASKPANDA_MONITOR_RETRIES: '0',
      ASKPANDA_MONITOR_MAX_RETRY_AFTER_SECONDS: '1',
      ASKPANDA_MONITOR_MAX_JSON_BYTES: String(1024 * 1024),
      ASKPANDA_MONITOR_LOG_READ_TIMEOUT_MS: '1000',
      ASKPANDA_CRIC_TIMEOUT_MS: '1000',
      ASKPANDA_CRIC_RETRIES: '0',
      ASKPANDA_PANDA_SERVER_TIMEOUT_MS: '1000',
    },
    async close() {
      await Promise.all([monitor.close(), cric.close(), pandaServer.close(), trap.close()]);
    },
  };
}

/** The app on the fakes, with its own data dir (removed by `close`). */
export async function startFakeApp(
  world: FakeWorld,
  env: Record<string, string> = {},
  logger: Logger = silentLogger,
): Promise<App & { dataDir: string }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'askpanda-fault-'));
  const app = await createApp(loadConfig({ env: { ...world.env, ASKPANDA_DATA_DIR: dataDir, ...env } }), {
    logger,
    demo: false,
  });
  const closeApp = app.close.bind(app);
  return Object.assign(app, {
    dataDir,
    async close() {
      await closeApp();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}
