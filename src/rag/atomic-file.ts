import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';

/**
 * Durable index files: the body is written to a new file, fsynced, renamed over the old one and the
 * folder fsynced, so a crash leaves the old file or the new one, never a mix. The first line holds
 * the body's length and SHA-256, checked on load, so a torn or edited file is detected instead of
 * being half-read (the seed's ChromaDB corruption).
 */
const MAGIC = 'askpanda-index';

export class CorruptIndexError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(
      `The index file ${file} is damaged (${reason}); it will be rebuilt. Run \`askpanda ingest\` to re-add your own documents.`,
    );
    this.name = 'CorruptIndexError';
  }
}

export async function writeFileAtomic(file: string, body: string | Buffer): Promise<void> {
  const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const header = Buffer.from(
    `${MAGIC} v1 bytes=${data.length} sha256=${createHash('sha256').update(data).digest('hex')}\n`,
    'utf8',
  );
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await fs.open(temp, 'wx', 0o600);
  try {
    await handle.writev([header, data]);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fs.rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  // Makes the rename itself durable; some file systems refuse to open folders, which is harmless.
  const handle = await fs.open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  await handle.sync().catch(() => undefined);
  await handle.close();
}

/** The verified body, or undefined when the file does not exist. Throws CorruptIndexError. */
export async function readFileChecked(file: string): Promise<Buffer | undefined> {
  let raw: Buffer;
  try {
    raw = await fs.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const newline = raw.indexOf(0x0a);
  const header = newline > 0 && newline < 200 ? raw.subarray(0, newline).toString('utf8') : '';
  const m = new RegExp(`^${MAGIC} v1 bytes=(\\d+) sha256=([0-9a-f]{64})$`).exec(header);
  if (!m) throw new CorruptIndexError(file, 'no valid header');
  const body = raw.subarray(newline + 1);
  if (body.length !== Number(m[1])) throw new CorruptIndexError(file, `expected ${m[1]} bytes, found ${body.length}`);
  if (createHash('sha256').update(body).digest('hex') !== m[2]) throw new CorruptIndexError(file, 'checksum mismatch');
  return body;
}

/** Keeps a damaged file for inspection instead of silently overwriting it. */
export async function quarantine(file: string): Promise<string> {
  const aside = `${file}.corrupt-${Date.now()}`;
  await fs.rename(file, aside).catch(() => undefined);
  return aside;
}

/** Temp files left by a writer that was killed mid-way. */
export async function removeStaleTemps(file: string): Promise<void> {
  const dir = path.dirname(file);
  const prefix = `.${path.basename(file)}.`;
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  await Promise.all(
    names
      .filter((n) => n.startsWith(prefix) && n.endsWith('.tmp'))
      .filter((n) => {
        const pid = Number(n.slice(prefix.length).split('.')[0]);
        return !isAlive(pid);
      })
      .map((n) => fs.rm(path.join(dir, n), { force: true })),
  );
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Opens a durable JSON index file: stale temps removed, checksum verified, content validated.
 * Returns undefined for a missing file, and also for a damaged one, which is set aside and
 * reported through onDamaged so the caller starts empty instead of half-reading it.
 */
export async function readJsonIndex<T>(
  file: string,
  schema: z.ZodType<T>,
  onDamaged?: (err: CorruptIndexError) => void,
): Promise<T | undefined> {
  await removeStaleTemps(file);
  let body: Buffer | undefined;
  try {
    body = await readFileChecked(file);
  } catch (err) {
    if (!(err instanceof CorruptIndexError)) throw err;
    onDamaged?.(err);
    await quarantine(file);
    return undefined;
  }
  if (!body) return undefined;
  let parsed: z.ZodSafeParseResult<T> | undefined;
  try {
    parsed = schema.safeParse(JSON.parse(body.toString('utf8')));
  } catch {
    parsed = undefined;
  }
  if (!parsed?.success) {
    onDamaged?.(new CorruptIndexError(file, 'unexpected content'));
    await quarantine(file);
    return undefined;
  }
  return parsed.data;
}
