import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback BigPanDA that speaks the real monitor's URLs and JSON shapes: the demo mode serves
 * it in-process, and the test fake (test/fakes/bigpanda.ts) extends it with faults.
 */

/** A log file: its size as the file browser lists it, and its content (generated on demand). */
export interface LogFileSource {
  size: number;
  /** Chunks of the file; a generator so multi-GB logs are never held in memory. */
  content: () => Iterable<string | Buffer> | AsyncIterable<string | Buffer>;
}

export interface MonitorJob {
  job: Record<string, unknown>;
  files: Array<Record<string, unknown>>;
  /** undefined: no log tarball at all. */
  logs?: Record<string, LogFileSource>;
  /** File browser problem to report instead of the listing (e.g. the tarball is not there yet). */
  logError?: string;
}

export interface MonitorTask {
  task: Record<string, unknown>;
  taskparams: Record<string, unknown>;
  datasets: Array<Record<string, unknown>>;
  jobStateCount: Record<string, number>;
  jobs: Array<Record<string, unknown>>;
  errsByCount: Array<Record<string, unknown>>;
  errsBySite: Array<Record<string, unknown>>;
}

export interface MonitorData {
  jobs: Map<number, MonitorJob>;
  tasks: Map<number, MonitorTask>;
}

/** Returns true when it answered the request itself (fault injection in tests). */
export type Intercept = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;

export interface RunningMonitor {
  url: string;
  server: Server;
  /** Paths requested so far (for request-count assertions). */
  requests: string[];
  close(): Promise<void>;
}

const HTML_NOT_FOUND = (what: string) =>
  `<!DOCTYPE html><html><head><title>PanDA monitor</title></head><body><div class="alert">${what} not found. It may be older than the monitor's time window.</div></body></html>`;

export async function startMonitorServer(data: MonitorData, intercept?: Intercept): Promise<RunningMonitor> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(url.pathname + url.search);
    void (async () => {
      try {
        if (intercept && (await intercept(req, res, url))) return;
        await route(data, req, res, url);
      } catch {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error');
      }
    })();
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function wantsJson(req: IncomingMessage, url: URL): boolean {
  const accept = req.headers.accept ?? '';
  return url.searchParams.has('json') || accept === 'application/json' || accept === 'text/json';
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function html(res: ServerResponse, what: string): void {
  const text = HTML_NOT_FOUND(what);
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function idParam(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  return raw && /^\d{1,15}$/.test(raw) ? Number(raw) : undefined;
}

async function route(data: MonitorData, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const path = url.pathname;
  const asJson = wantsJson(req, url);

  let m: RegExpExecArray | null;
  if (path === '/job' || path === '/job/' || (m = /^\/job\/(\d+)\/?$/.exec(path))) {
    const pandaid = idParam(url, 'pandaid') ?? (/^\/job\/(\d+)/.exec(path) ? Number(/^\/job\/(\d+)/.exec(path)![1]) : undefined);
    const job = pandaid === undefined ? undefined : data.jobs.get(pandaid);
    if (!job || !asJson) return html(res, `Job ${pandaid ?? ''}`);
    return json(res, 200, { job: job.job, files: job.files, dsfiles: [] });
  }
  if (path === '/jobs/' || path === '/jobs') {
    const taskid = idParam(url, 'jeditaskid');
    const task = taskid === undefined ? undefined : data.tasks.get(taskid);
    if (!asJson) return html(res, 'Jobs page');
    const fields = url.searchParams.get('fields')?.split(',');
    const jobs = (task?.jobs ?? []).map((j) => (fields ? Object.fromEntries(fields.filter((f) => f in j).map((f) => [f, j[f]])) : j));
    return json(res, 200, { selectionsummary: [], jobs, errsByCount: task?.errsByCount ?? [] });
  }
  if ((m = /^\/task\/(\d+)\/?$/.exec(path))) {
    const task = data.tasks.get(Number(m[1]));
    if (!task || !asJson) return html(res, `Task ${m[1]}`);
    return json(res, 200, { task: task.task, taskparams: task.taskparams, datasets: task.datasets });
  }
  if (path === '/tasks/' || path === '/tasks') {
    if (!asJson) return html(res, 'Tasks page');
    const taskid = idParam(url, 'jeditaskid');
    const task = taskid === undefined ? undefined : data.tasks.get(taskid);
    if (!task) return json(res, 200, []);
    const entry: Record<string, unknown> = { ...task.task, datasets: task.datasets };
    if ((url.searchParams.get('extra') ?? '').includes('jobstatecount')) entry.job_state_count = task.jobStateCount;
    return json(res, 200, [entry]);
  }
  if (path === '/errors/' || path === '/errors') {
    if (!asJson) return html(res, 'Errors page');
    const taskid = idParam(url, 'jeditaskid');
    const task = taskid === undefined ? undefined : data.tasks.get(taskid);
    return json(res, 200, { jobSummary: [], errsByCount: task?.errsByCount ?? [], errsBySite: task?.errsBySite ?? [], errsByUser: [], errsByTask: [] });
  }
  if (path === '/filebrowser/' || path === '/filebrowser') {
    const pandaid = idParam(url, 'pandaid');
    const job = pandaid === undefined ? undefined : data.jobs.get(pandaid);
    if (!job) return json(res, 400, { error: `rucio: no log tarball registered for PandaID=${pandaid ?? ''}` });
    const filename = url.searchParams.get('filename');
    const dir = `tarball_PandaJob_${pandaid}_${String(job.job.computingsite ?? 'SITE')}`;
    if (filename) {
      const file = job.logs?.[filename];
      if (!file) return json(res, 404, { error: 'No such log file found in tarball' });
      res.writeHead(301, { location: `/media/filebrowser/${pandaid}/${dir}/${encodeURIComponent(filename)}` });
      return void res.end();
    }
    if (job.logError || !job.logs) return json(res, 200, { error: job.logError ?? 'rucio: log tarball not found', files: [] });
    const files = Object.entries(job.logs).map(([name, f]) => ({ name, dirname: dir, size: f.size, modification: String(job.job.endtime ?? '') }));
    return json(res, 200, { error: '', files });
  }
  if ((m = /^\/media\/filebrowser\/(\d+)\/[^/]+\/([^/]+)$/.exec(path))) {
    const file = data.jobs.get(Number(m[1]))?.logs?.[decodeURIComponent(m[2]!)];
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return void res.end('not found');
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': file.size });
    await writeStream(res, file.content());
    return void res.end();
  }
  return html(res, 'Page');
}

/** Writes chunks with backpressure; stops quietly if the client went away. */
async function writeStream(res: ServerResponse, chunks: Iterable<string | Buffer> | AsyncIterable<string | Buffer>): Promise<void> {
  let batch: Array<string | Buffer> = [];
  let batchBytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const body = Buffer.concat(batch.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
    batch = [];
    batchBytes = 0;
    if (!res.write(body)) await new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.once('drain', done);
      res.once('close', done);
    });
  };
  for await (const chunk of chunks as AsyncIterable<string | Buffer>) {
    if (res.destroyed) return;
    batch.push(chunk);
    batchBytes += chunk.length;
    if (batchBytes >= 256 * 1024) await flush();
  }
  await flush();
}
