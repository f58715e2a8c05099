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
  /** The snapshot's error summary: what `/errors/` answers for a relative window (`hours=`). */
  errsByCount: Array<Record<string, unknown>>;
  errsBySite: Array<Record<string, unknown>>;
  /**
   * Failed (and holding, closed) jobs with their error codes, oldest first: `/errors/` with
   * `date_from`/`date_to` summarises the ones modified in that window the way the monitor does.
   */
  failures?: FailedJobRecord[];
}

/** One job as the error summary reads it (the monitor's errorSummaryDict fields). */
export interface FailedJobRecord {
  pandaid: number;
  jobstatus: 'failed' | 'holding' | 'closed' | 'cancelled';
  computingsite: string;
  /** `YYYY-MM-DD HH:MM:SS`, UTC */
  modificationtime: string;
  /** Every non-zero component code of the job, e.g. pilot:1305 and transform:65 together. */
  errors: Array<{ component: string; code: number; diag: string }>;
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
  `<!DOCTYPE html><html><head><title>PanDA monitor</title></head><body><div class="alert">${what} not ` +
  `found. It may be older than the monitor's time window.</div></body></html>`;

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

/** `jeditaskid=A|B|C` (the monitor also takes commas). */
function idListParam(url: URL, name: string): number[] {
  const raw = url.searchParams.get(name) ?? '';
  return raw
    .split(/[|,]/)
    .filter((part) => /^\d{1,15}$/.test(part))
    .map(Number);
}

/** date_from / date_to as the monitor reads them (dateutil: with or without seconds, UTC). */
function timeParam(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  if (!raw) return undefined;
  const m = raw.match(/^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(?::(\d{2}))?)?$/);
  if (!m) return Number.NaN;
  return Date.parse(`${m[1]}T${m[2] ?? '00:00'}:${m[3] ?? '00'}Z`);
}

const COMPONENT_FIELDS: Record<string, string> = {
  brokerage: 'brokerageerrorcode',
  dataservice: 'ddmerrorcode',
  executor: 'exeerrorcode',
  jobdispatcher: 'jobdispatchererrorcode',
  pilot: 'piloterrorcode',
  taskbuffer: 'taskbuffererrorcode',
  transform: 'transexitcode',
  supervisor: 'superrorcode',
};

/**
 * The monitor's error summary (core/pandajob/summary_error.py errorSummaryDict) over the failed and
 * holding jobs modified in [from, to]: every component code of a job counts once in errsByCount
 * (so `count` counts codes, not jobs), the first job seen is the example, and toterrjobs counts
 * failed jobs per site and task.
 */
export function summariseErrors(
  taskid: number,
  failures: readonly FailedJobRecord[],
  from: number,
  to: number,
): Record<string, unknown> {
  type Entry = {
    error: string;
    codename: string;
    codeval: number;
    diag: string;
    desc: string;
    example_pandaid: number;
    count: number;
  };
  const byCount = new Map<string, Entry>();
  const bySite = new Map<string, { name: string; errors: Map<string, Entry>; toterrors: number; toterrjobs: number }>();
  const byTask = { name: taskid, errors: new Map<string, Entry>(), toterrors: 0, toterrjobs: 0 };
  const entry = (code: string, e: FailedJobRecord['errors'][number], pandaid: number): Entry => ({
    error: code,
    codename: COMPONENT_FIELDS[e.component] ?? '',
    codeval: e.code,
    diag: e.diag,
    desc: '',
    example_pandaid: pandaid,
    count: 0,
  });
  for (const job of failures) {
    if (job.jobstatus !== 'failed' && job.jobstatus !== 'holding') continue;
    const at = Date.parse(job.modificationtime.replace(' ', 'T') + 'Z');
    if (at < from || at > to) continue;
    let site = bySite.get(job.computingsite);
    if (!site)
      bySite.set(
        job.computingsite,
        (site = { name: job.computingsite, errors: new Map(), toterrors: 0, toterrjobs: 0 }),
      );
    for (const e of job.errors) {
      if (!e.code) continue;
      const code = `${e.component}:${e.code}`;
      for (const map of [byCount, site.errors, byTask.errors]) {
        let item = map.get(code);
        if (!item) map.set(code, (item = entry(code, e, job.pandaid)));
        item.count++;
      }
      site.toterrors++;
      byTask.toterrors++;
    }
    if (job.jobstatus === 'failed') {
      site.toterrjobs++;
      byTask.toterrjobs++;
    }
  }
  const sorted = (entries: Iterable<Entry>) => [...entries].sort((a, b) => b.count - a.count);
  const group = (g: { name: string | number; errors: Map<string, Entry>; toterrors: number; toterrjobs: number }) => ({
    name: g.name,
    errors: Object.fromEntries(g.errors),
    toterrors: g.toterrors,
    toterrjobs: g.toterrjobs,
    errorlist: sorted(g.errors.values()),
  });
  return {
    errsByCount: sorted(byCount.values()),
    errsBySite: [...bySite.values()].sort((a, b) => b.toterrors - a.toterrors).map(group),
    errsByTask: byTask.toterrors ? [group(byTask)] : [],
  };
}

async function route(data: MonitorData, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const path = url.pathname;
  const asJson = wantsJson(req, url);

  let m: RegExpExecArray | null;
  if (path === '/job' || path === '/job/' || (m = /^\/job\/(\d+)\/?$/.exec(path))) {
    const pandaid =
      idParam(url, 'pandaid') ?? (/^\/job\/(\d+)/.exec(path) ? Number(/^\/job\/(\d+)/.exec(path)![1]) : undefined);
    const job = pandaid === undefined ? undefined : data.jobs.get(pandaid);
    if (!job || !asJson) return html(res, `Job ${pandaid ?? ''}`);
    return json(res, 200, { job: job.job, files: job.files, dsfiles: [] });
  }
  if (path === '/jobs/' || path === '/jobs') {
    const taskid = idParam(url, 'jeditaskid');
    const task = taskid === undefined ? undefined : data.tasks.get(taskid);
    if (!asJson) return html(res, 'Jobs page');
    const fields = url.searchParams.get('fields')?.split(',');
    const jobs = (task?.jobs ?? []).map((j) =>
      fields ? Object.fromEntries(fields.filter((f) => f in j).map((f) => [f, j[f]])) : j,
    );
    return json(res, 200, { selectionsummary: [], jobs, errsByCount: task?.errsByCount ?? [] });
  }
  if ((m = /^\/task\/(\d+)\/?$/.exec(path))) {
    const task = data.tasks.get(Number(m[1]));
    if (!task || !asJson) return html(res, `Task ${m[1]}`);
    return json(res, 200, { task: task.task, taskparams: task.taskparams, datasets: task.datasets });
  }
  if (path === '/tasks/' || path === '/tasks') {
    if (!asJson) return html(res, 'Tasks page');
    const withCounts = (url.searchParams.get('extra') ?? '').includes('jobstatecount');
    const rows = idListParam(url, 'jeditaskid').flatMap((taskid) => {
      const task = data.tasks.get(taskid);
      if (!task) return [];
      const entry: Record<string, unknown> = { ...task.task, datasets: task.datasets };
      if (withCounts) entry.job_state_count = task.jobStateCount;
      return [entry];
    });
    return json(res, 200, rows);
  }
  if (path === '/errors/' || path === '/errors') {
    if (!asJson) return html(res, 'Errors page');
    const taskids = idListParam(url, 'jeditaskid');
    const from = timeParam(url, 'date_from');
    const to = timeParam(url, 'date_to');
    if (Number.isNaN(from) || Number.isNaN(to)) {
      return json(res, 400, {
        message:
          `Illegal value '${url.searchParams.get(Number.isNaN(from) ? 'date_from' : 'date_to')}' for ` +
          `${Number.isNaN(from) ? 'date_from' : 'date_to'}, expected YYYY-MM-DD`,
      });
    }
    const fields = url.searchParams.get('fields')?.split(',');
    const pick = (body: Record<string, unknown>) =>
      fields ? Object.fromEntries(Object.entries(body).filter(([k]) => fields.includes(k))) : body;
    if (from !== undefined || to !== undefined) {
      // An absolute window: summarised from the job records, as the monitor does from its tables.
      const merged = taskids.flatMap((id) => (data.tasks.get(id)?.failures ?? []).map((f) => ({ id, f })));
      const summary =
        taskids.length === 1
          ? summariseErrors(
              taskids[0]!,
              merged.map((m) => m.f),
              from ?? 0,
              to ?? Number.MAX_SAFE_INTEGER,
            )
          : summariseMany(data, taskids, from ?? 0, to ?? Number.MAX_SAFE_INTEGER);
      return json(res, 200, pick({ jobSummary: [], ...summary, errsByUser: [] }));
    }
    // A relative window (hours=): the demo is a snapshot, so it answers the snapshot's summary.
    const task = taskids.length ? data.tasks.get(taskids[0]!) : undefined;
    return json(
      res,
      200,
      pick({
        jobSummary: [],
        errsByCount: task?.errsByCount ?? [],
        errsBySite: task?.errsBySite ?? [],
        errsByUser: [],
        errsByTask: [],
      }),
    );
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
    if (job.logError || !job.logs)
      return json(res, 200, { error: job.logError ?? 'rucio: log tarball not found', files: [] });
    const files = Object.entries(job.logs).map(([name, f]) => ({
      name,
      dirname: dir,
      size: f.size,
      modification: String(job.job.endtime ?? ''),
    }));
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

/** Several tasks in one /errors/ request: the per-task summaries side by side in errsByTask. */
function summariseMany(
  data: MonitorData,
  taskids: readonly number[],
  from: number,
  to: number,
): Record<string, unknown> {
  const all = taskids
    .flatMap((id) => data.tasks.get(id)?.failures ?? [])
    .sort((a, b) => a.modificationtime.localeCompare(b.modificationtime));
  const combined = summariseErrors(0, all, from, to);
  const perTask = taskids.flatMap(
    (id) => summariseErrors(id, data.tasks.get(id)?.failures ?? [], from, to).errsByTask as unknown[],
  );
  return { ...combined, errsByTask: perTask };
}

/** Writes chunks with backpressure; stops quietly if the client went away. */
async function writeStream(
  res: ServerResponse,
  chunks: Iterable<string | Buffer> | AsyncIterable<string | Buffer>,
): Promise<void> {
  let batch: Array<string | Buffer> = [];
  let batchBytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    // One big chunk (a file read 256 KiB at a time) goes out as it is: no copy per batch.
    const only = batch.length === 1 ? batch[0]! : undefined;
    const body =
      only !== undefined && typeof only !== 'string'
        ? only
        : Buffer.concat(batch.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
    batch = [];
    batchBytes = 0;
    if (!res.write(body))
      await new Promise<void>((resolve) => {
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
