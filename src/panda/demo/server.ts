import { demoMonitorData } from './data.ts';
import { serveDemoGridServices } from './grid-services.ts';
import { startMonitorServer } from './monitor-server.ts';

/** Links in demo answers point at the real monitor, not at the loopback server. */
export const DEMO_PUBLIC_URL = 'https://bigpanda.cern.ch';

/**
 * The embedded demo monitor (ASKPANDA_DEMO=1): a loopback BigPanDA on 127.0.0.1 and a free port,
 * serving the demo task and jobs in the real JSON shapes, the file browser and its log files, and
 * next to them CRIC's queue dump and the PanDA server's liveness URL (grid-services.ts).
 */
export async function startDemoMonitor(): Promise<{ url: string; close(): Promise<void> }> {
  const running = await startMonitorServer(demoMonitorData(), serveDemoGridServices);
  return { url: running.url, close: running.close };
}
