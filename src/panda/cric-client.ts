import { readFile, stat } from 'node:fs/promises';
import type Keyv from 'keyv';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../config/schema.ts';
import { AskPandaError } from '../core/errors.ts';
import { silentLogger } from '../util/log.ts';
import { redactSecrets } from '../util/redact.ts';
import { GetFailure, getWithRetries, seconds } from './bounded-get.ts';
import { parseQueueDump, type QueueRecord } from './cric-schema.ts';
import { QueueIndex, type QueueSnapshotMeta } from './queues.ts';

/** CRIC's queue dump: every PanDA queue with its configuration, keyed by queue name. */
export const CRIC_QUEUES_PATH = '/api/atlas/pandaqueue/query/?json';

export interface CricClientOptions {
  /** Where requests go (the demo or a test fake); defaults to config.cric.url. */
  baseUrl?: string;
  /** Where links for people point; defaults to config.cric.url. */
  publicUrl?: string;
  /** A local copy of the dump instead of CRIC; defaults to config.cric.file. */
  file?: string;
  /**
   * The store's cache namespace: the parsed snapshot is kept there, so a one-shot `ask` process
   * uses another process's copy instead of fetching it again, and an outage has a last copy.
   */
  persistent?: Keyv;
  /** Which CRIC the stored snapshot belongs to (default: its URL or file). */
  cacheScope?: string;
  logger?: Logger;
  backoffMs?: number;
  /** Clock, for tests of the freshness window. */
  now?: () => number;
}

/** The queues to answer from, and how old they are. */
export interface QueueData {
  index: QueueIndex;
  ageMs: number;
  /** CRIC could not be asked just now, so an older snapshot answers. */
  stale: boolean;
  /** What went wrong with CRIC, when stale. */
  staleReason?: string;
}

export interface CricStats {
  /** HTTP requests to CRIC (each retry counts) or reads of the dump file. */
  requests: number;
  retries: number;
  bytes: number;
}

/**
 * Version of the stored snapshot's records: bump it when QueueFieldsSchema changes. A snapshot of
 * this version was validated by parseQueueDump before it was stored, so its records are taken as
 * they are (validating 1,000 records again costs ~50 ms of a later process's answer); any other
 * version is ignored and CRIC is asked again.
 */
const SNAPSHOT_VERSION = 1;
const isStoredRecord = (v: unknown): v is QueueRecord =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { name?: unknown }).name === 'string';
const StoredSnapshotSchema = z.object({
  v: z.literal(SNAPSHOT_VERSION),
  meta: z.object({ fetchedAt: z.number(), source: z.string(), skipped: z.number(), problems: z.array(z.string()) }),
  /**
   * The records as one JSON string: keyv's deserializer runs a reviver over every value, which
   * over a 1,000-queue snapshot costs more than the plain JSON.parse of one string.
   */
  queues: z.string(),
});
const StoredQueuesSchema = z.array(z.custom<QueueRecord>(isStoredRecord, { error: 'not a stored queue record' }));
const StoredNamesSchema = z.object({ v: z.literal(1), names: z.array(z.string()) });

/**
 * The CRIC client: reads the queue dump from CRIC (or ASKPANDA_CRIC_FILE), validates it
 * leniently, and keeps the parsed snapshot in memory and in the store for `cric.ttlSeconds`. When
 * CRIC does not answer, the last snapshot (kept `cric.keepHours`) answers with its age; with no
 * snapshot at all the caller gets one clear "CRIC did not answer" error.
 */
export class CricClient {
  readonly stats: CricStats = { requests: 0, retries: 0, bytes: 0 };
  readonly publicUrl: string;
  private readonly baseUrl: string;
  private readonly file: string;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly scope: string;
  private current?: QueueIndex;
  private fileStamp?: string;
  private loading?: Promise<QueueData>;
  private credentials?: Promise<{ cert?: Buffer; key?: Buffer; ca?: Buffer }>;
  /** Cancels requests still in flight when the app closes (a job answer may have stopped waiting). */
  private readonly lifetime = new AbortController();

  constructor(
    private readonly config: Pick<Config, 'cric'>,
    private readonly options: CricClientOptions = {},
  ) {
    this.baseUrl = (options.baseUrl ?? config.cric.url).replace(/\/+$/, '');
    this.publicUrl = (options.publicUrl ?? config.cric.url).replace(/\/+$/, '');
    this.file = options.file ?? config.cric.file;
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.scope = options.cacheScope ?? (this.file ? `file:${this.file}` : this.baseUrl);
  }

  /** Where the queues come from, for answers: the dump file or the CRIC base URL. */
  get source(): string {
    return this.file || this.publicUrl;
  }

  get fromFile(): boolean {
    return this.file !== '';
  }

  queuePage(name: string): string {
    return `${this.publicUrl}/atlas/pandaqueue/detail/${encodeURIComponent(name)}/`;
  }

  listPage(): string {
    return `${this.publicUrl}/atlas/pandaqueue/list/`;
  }

  private get ttlMs(): number {
    return this.config.cric.ttlSeconds * 1000;
  }

  private key(what: 'queues' | 'names'): string {
    return `cric:${this.scope}:${what}`;
  }

  /** Queue and site names another process learned (cheap: one small store read), for routing. */
  async knownNames(): Promise<string[]> {
    if (!this.options.persistent) return [];
    const stored: unknown = await this.options.persistent.get(this.key('names')).catch(() => undefined);
    const parsed = StoredNamesSchema.safeParse(stored);
    return parsed.success ? parsed.data.names : [];
  }

  /** The queues, fresh within the TTL, else re-read; an older snapshot with its age when CRIC is down. */
  async queues(): Promise<QueueData> {
    if (this.current && !this.fromFile && this.age(this.current) < this.ttlMs)
      return { index: this.current, ageMs: this.age(this.current), stale: false };
    // One load at a time: concurrent questions share it.
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private age(index: QueueIndex): number {
    return Math.max(0, this.now() - index.meta.fetchedAt);
  }

  private async load(): Promise<QueueData> {
    if (this.fromFile) return this.loadFile();
    const stored = await this.readStored();
    if (stored && (!this.current || stored.meta.fetchedAt > this.current.meta.fetchedAt)) this.current = stored;
    if (this.current && this.age(this.current) < this.ttlMs)
      return { index: this.current, ageMs: this.age(this.current), stale: false };
    try {
      const index = await this.fetch();
      this.current = index;
      await this.persist(index);
      return { index, ageMs: this.age(index), stale: false };
    } catch (err) {
      if (!(err instanceof AskPandaError)) throw err;
      if (this.current) {
        this.logger.warn(
          { reason: err.message, ageSeconds: Math.round(this.age(this.current) / 1000) },
          'CRIC did not answer; using the last queue snapshot',
        );
        return { index: this.current, ageMs: this.age(this.current), stale: true, staleReason: err.message };
      }
      throw new AskPandaError(
        'monitor_unavailable',
        `${err.message} I have no earlier copy of its queue list. Try again in a few minutes, or look the queue up at ${this.listPage()}`,
      );
    }
  }

  private async fetch(): Promise<QueueIndex> {
    const url = this.baseUrl + CRIC_QUEUES_PATH;
    const { cert, key, ca } = await this.loadCredentials();
    let response;
    try {
      response = await getWithRetries(
        url,
        {
          timeoutMs: this.config.cric.timeoutMs,
          maxBytes: this.config.cric.maxBytes,
          headers: { accept: 'application/json' },
          cert,
          key,
          ca,
          signal: this.lifetime.signal,
        },
        {
          retries: this.config.cric.retries,
          backoffMs: this.options.backoffMs,
          maxRetryAfterSeconds: 60,
          onRetry: (attempt, failure) => {
            this.stats.retries++;
            this.logger.warn({ attempt, reason: failure.message }, 'CRIC request failed');
          },
        },
      );
    } catch (err) {
      const attempts = (err as { attempts?: number }).attempts ?? 1;
      this.stats.requests += attempts;
      if (err instanceof GetFailure) {
        const hint = /client certificate/.test(err.message)
          ? ' Set CRIC_CERT and CRIC_KEY to a certificate CRIC accepts.'
          : /not trusted/.test(err.message)
            ? ' Set ASKPANDA_CRIC_CA (or NODE_EXTRA_CA_CERTS) to the CA bundle that signed it.'
            : '';
        throw new AskPandaError(
          'monitor_unavailable',
          `CRIC did not answer (${err.message}${attempts > 1 ? `, ${attempts} attempts` : ''}).${hint}`,
        );
      }
      throw err;
    }
    this.stats.requests += response.attempts;
    this.stats.bytes += Buffer.byteLength(response.body);
    if (response.status === 401 || response.status === 403) {
      throw new AskPandaError(
        'monitor_unavailable',
        `CRIC refused the request (HTTP ${response.status}): this CRIC needs a client certificate it accepts (CRIC_CERT, CRIC_KEY).`,
      );
    }
    if (response.status >= 400)
      throw new AskPandaError(
        'monitor_unavailable',
        `CRIC answered HTTP ${response.status} for its queue list: check CRIC_URL (${redactSecrets(this.publicUrl)}).`,
      );
    const contentType = String(response.headers['content-type'] ?? '');
    if (/text\/html/i.test(contentType) || /^\s*</.test(response.body.slice(0, 64))) {
      throw new AskPandaError(
        'monitor_unavailable',
        'CRIC answered with a web page instead of its queue list (a login page?): check CRIC_URL, or set CRIC_CERT and CRIC_KEY.',
      );
    }
    return this.parse(response.body, url);
  }

  private parse(body: string, source: string): QueueIndex {
    let raw: unknown;
    try {
      raw = JSON.parse(body);
    } catch {
      throw new AskPandaError(
        'monitor_unavailable',
        `CRIC's queue list from ${redactSecrets(source)} is not valid JSON (cut off or broken).`,
      );
    }
    let dump;
    try {
      dump = parseQueueDump(raw);
    } catch (err) {
      throw new AskPandaError(
        'monitor_unavailable',
        `${redactSecrets(source)} is ${err instanceof Error ? err.message : 'not a queue dump'}.`,
      );
    }
    if (dump.queues.length === 0 && dump.skipped > 0) {
      throw new AskPandaError(
        'monitor_unavailable',
        `None of the ${dump.skipped} queues in CRIC's list from ${redactSecrets(source)} could be read ` +
          `(${dump.problems[0] ?? 'unexpected shape'}).`,
      );
    }
    if (dump.skipped > 0)
      this.logger.warn({ skipped: dump.skipped, problems: dump.problems }, 'CRIC queue records skipped');
    const meta: QueueSnapshotMeta = {
      fetchedAt: this.now(),
      source: this.file || this.publicUrl + CRIC_QUEUES_PATH,
      skipped: dump.skipped,
      problems: dump.problems,
    };
    return new QueueIndex(dump.queues, meta);
  }

  /** ASKPANDA_CRIC_FILE: re-read when its size or modification time changes. */
  private async loadFile(): Promise<QueueData> {
    const where = `ASKPANDA_CRIC_FILE=${this.file}`;
    let info;
    try {
      info = await stat(this.file);
    } catch (err) {
      return this.fileFailure(`${where} cannot be read (${(err as { code?: string }).code ?? 'error'}).`);
    }
    const stamp = `${info.size}:${info.mtimeMs}`;
    if (this.current && this.fileStamp === stamp)
      return { index: this.current, ageMs: Math.max(0, this.now() - info.mtimeMs), stale: false };
    if (info.size > this.config.cric.maxBytes)
      return this.fileFailure(
        `${where} is ${Math.round(info.size / 1024 / 1024)} MiB, more than cric.maxBytes allows.`,
      );
    try {
      this.stats.requests++;
      const body = await readFile(this.file, 'utf8');
      this.stats.bytes += info.size;
      const index = this.parse(body, this.file);
      // The file's age is what matters to a user: when the dump was written, not when it was read.
      index.meta.fetchedAt = info.mtimeMs;
      this.current = index;
      this.fileStamp = stamp;
      await this.persistNames(index);
      return { index, ageMs: Math.max(0, this.now() - info.mtimeMs), stale: false };
    } catch (err) {
      if (err instanceof AskPandaError) return this.fileFailure(err.message);
      return this.fileFailure(`${where} cannot be read (${(err as { code?: string }).code ?? 'error'}).`);
    }
  }

  private fileFailure(message: string): QueueData {
    if (this.current) return { index: this.current, ageMs: this.age(this.current), stale: true, staleReason: message };
    throw new AskPandaError(
      'monitor_unavailable',
      `${message} Fix the path or unset ASKPANDA_CRIC_FILE to ask CRIC itself.`,
    );
  }

  /** The client certificate, its key and extra CA certificates, read once (on the first request). */
  private loadCredentials(): Promise<{ cert?: Buffer; key?: Buffer; ca?: Buffer }> {
    const { cert, key, ca } = this.config.cric;
    if (!cert && !ca) return Promise.resolve({});
    this.credentials ??= (async () => {
      const read = async (file: string, what: string) => {
        try {
          return await readFile(file);
        } catch (err) {
          throw new AskPandaError(
            'monitor_unavailable',
            `${what}=${file} cannot be read (${(err as { code?: string }).code ?? 'error'}): give the path of a PEM file.`,
          );
        }
      };
      try {
        return {
          cert: cert ? await read(cert, 'CRIC_CERT') : undefined,
          key: cert ? await read(key || cert, key ? 'CRIC_KEY' : 'CRIC_CERT') : undefined,
          ca: ca ? await read(ca, 'ASKPANDA_CRIC_CA') : undefined,
        };
      } catch (err) {
        this.credentials = undefined;
        throw err;
      }
    })();
    return this.credentials;
  }

  private async readStored(): Promise<QueueIndex | undefined> {
    if (!this.options.persistent) return undefined;
    const stored: unknown = await this.options.persistent.get(this.key('queues')).catch(() => undefined);
    if (stored === undefined) return undefined;
    const envelope = StoredSnapshotSchema.safeParse(stored);
    if (!envelope.success) return undefined;
    let records: unknown;
    try {
      records = JSON.parse(envelope.data.queues);
    } catch {
      return undefined;
    }
    const queues = StoredQueuesSchema.safeParse(records);
    return queues.success ? new QueueIndex(queues.data, envelope.data.meta) : undefined;
  }

  private async persist(index: QueueIndex): Promise<void> {
    const store = this.options.persistent;
    if (!store) return;
    const keepMs = this.config.cric.keepHours * 3600 * 1000;
    await store
      .set(this.key('queues'), { v: SNAPSHOT_VERSION, meta: index.meta, queues: JSON.stringify(index.queues) }, keepMs)
      .catch((err: unknown) => this.logger.warn({ err: String(err) }, 'could not store the CRIC snapshot'));
    await this.persistNames(index);
  }

  private async persistNames(index: QueueIndex): Promise<void> {
    const keepMs = this.config.cric.keepHours * 3600 * 1000;
    await this.options.persistent
      ?.set(this.key('names'), { v: 1, names: index.routingNames() }, keepMs)
      .catch(() => undefined);
  }

  /** "fetched 3 min ago from https://atlas-cric.cern.ch" (or the file), for the answer's source line. */
  describe(data: QueueData): string {
    const what = this.fromFile ? `the CRIC queue dump ${this.file}` : `CRIC (${this.publicUrl})`;
    if (data.stale)
      return (
        `${data.staleReason ?? 'CRIC did not answer just now.'} This is the last copy of its queue list, ` +
        `${data.ageMs < 60_000 ? 'less than a minute' : humanAge(data.ageMs)} old.`
      );
    return `From ${what}, ${this.fromFile ? 'written' : 'read'} ${ago(data.ageMs)}.`;
  }

  /** Cancels requests in flight, so a one-shot `ask` exits right after its answer. */
  close(): void {
    this.lifetime.abort();
  }

  /** The request timeout, for messages. */
  get timeoutText(): string {
    return seconds(this.config.cric.timeoutMs);
  }
}

/** "just now", "3 min ago", "2 h ago". */
export function ago(ms: number): string {
  return ms < 5_000 ? 'just now' : `${humanAge(ms)} ago`;
}

/** "40 s", "3 min", "2 h", "3 days". */
export function humanAge(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} min`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h`;
  return `${Math.round(h / 24)} days`;
}

export function createCricClient(config: Config, options: CricClientOptions = {}): CricClient {
  return new CricClient(config, options);
}
