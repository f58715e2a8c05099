import { z } from 'zod';

/**
 * zod schema of one PanDA queue in CRIC's queue dump (GET /api/atlas/pandaqueue/query/?json: an
 * object keyed by queue name). Lenient on purpose: CRIC adds fields over time and editors leave
 * nulls and numeric strings behind, so unknown fields are kept, nulls become absent, numbers may
 * come as strings. A record whose known fields have the wrong kind (a status that is a number,
 * a memory limit that is text) is skipped and counted instead of failing the whole dump.
 * Units as CRIC has them: maxrss/minrss, maxinputsize, maxwdir in MB; maxtime/mintime in seconds.
 */

// `.nullish()` rather than a union with z.null(), values of nested objects unchecked: a third less
// validation time over a 1,000-queue dump (bench/queues.bench.ts), same leniency.
const numeric = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^\s*-?\d+(?:\.\d+)?\s*$/)
      .transform(Number),
  ])
  .nullish();
const text = z.string().nullish();
const object = z.record(z.string(), z.unknown()).nullish();

/** The fields askpanda reads; every other field of a record is kept as CRIC sent it, unchecked. */
export const QueueFieldsSchema = z.object({
  name: text,
  status: text,
  state: text,
  atlas_site: text,
  rc_site: text,
  panda_site: text,
  cloud: text,
  country: text,
  tier: text,
  resource_type: text,
  type: text,
  capability: text,
  corecount: numeric,
  maxrss: numeric,
  minrss: numeric,
  maxtime: numeric,
  maxinputsize: numeric,
  maxwdir: numeric,
  copytools: object,
  last_modified: text,
  state_comment: text,
  description: text,
  pilot_manager: text,
  harvester: text,
});
const FIELD_NAMES = Object.keys(QueueFieldsSchema.shape) as Array<keyof z.infer<typeof QueueFieldsSchema>>;

type Fields = z.infer<typeof QueueFieldsSchema>;
/** A queue record: the read fields typed (null read as absent), unknown fields kept. */
export type QueueRecord = { [K in keyof Fields]?: Exclude<Fields[K], null> } & {
  name: string;
  [other: string]: unknown;
};

/**
 * One record: the known fields are picked out and validated (a loose schema over all ~90 fields
 * costs several times as much on a 1,000-queue dump, measured in bench/queues.bench.ts), then
 * laid over the record as sent, so unknown fields stay.
 */
function parseRecord(name: string, value: unknown): { ok: true; record: QueueRecord } | { ok: false; problem: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, problem: 'record: expected an object' };
  const raw = value as Record<string, unknown>;
  const picked: Record<string, unknown> = {};
  for (const field of FIELD_NAMES) if (raw[field] !== undefined) picked[field] = raw[field];
  const parsed = QueueFieldsSchema.safeParse(picked);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, problem: `${issue?.path.join('.') || 'record'}: ${issue?.message ?? 'invalid'}` };
  }
  const record: Record<string, unknown> = { ...raw };
  for (const field of FIELD_NAMES) {
    const v = (parsed.data as Record<string, unknown>)[field];
    if (v === null || v === undefined) delete record[field];
    else record[field] = v;
  }
  // CRIC keys the dump by queue name; the key wins over a stale "name" inside the record.
  record.name = name;
  return { ok: true, record: record as QueueRecord };
}

export interface ParsedQueueDump {
  queues: QueueRecord[];
  /** Records that were not usable (not an object, or a known field of the wrong kind). */
  skipped: number;
  /** The first few reasons, "queue X: maxrss: …", for logs and the answer's facts. */
  problems: string[];
}

const MAX_PROBLEMS = 5;

/** A queue dump as CRIC serves it (or as ASKPANDA_CRIC_FILE holds it) → validated records, sorted by name. */
export function parseQueueDump(raw: unknown): ParsedQueueDump {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new Error('not a CRIC queue dump (expected a JSON object keyed by queue name)');
  }
  const queues: QueueRecord[] = [];
  const problems: string[] = [];
  let skipped = 0;
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const parsed = key.trim() === '' ? ({ ok: false, problem: 'empty name' } as const) : parseRecord(key, value);
    if (!parsed.ok) {
      skipped++;
      if (problems.length < MAX_PROBLEMS) problems.push(`queue ${JSON.stringify(key.slice(0, 80))}: ${parsed.problem}`);
      continue;
    }
    queues.push(parsed.record);
  }
  queues.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { queues, skipped, problems };
}
