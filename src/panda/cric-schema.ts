import { z } from 'zod';

/**
 * zod schema of one PanDA queue in CRIC's queue dump (GET /api/atlas/pandaqueue/query/?json: an
 * object keyed by queue name). Lenient on purpose: CRIC adds fields over time and editors leave
 * nulls and numeric strings behind, so unknown fields are kept, nulls become absent, numbers may
 * come as strings. A record whose known fields have the wrong kind (a status that is a number,
 * a memory limit that is text) is skipped and counted instead of failing the whole dump.
 * Units as CRIC has them: maxrss/minrss, maxinputsize, maxwdir in MB; maxtime/mintime in seconds.
 */

const numeric = z
  .union([z.number(), z.string().regex(/^\s*-?\d+(?:\.\d+)?\s*$/).transform(Number), z.null()])
  .optional()
  .transform((v) => (v === null ? undefined : v));
const text = z
  .union([z.string(), z.null()])
  .optional()
  .transform((v) => (v === null ? undefined : v));
const objectOrNull = <T extends z.ZodType>(value: T) =>
  z
    .union([z.record(z.string(), value), z.null()])
    .optional()
    .transform((v) => (v === null ? undefined : v));

export const QueueRecordSchema = z.looseObject({
  name: text,
  status: text,
  state: text,
  atlas_site: text,
  rc_site: text,
  panda_site: text,
  site: text,
  cloud: text,
  country: text,
  tier: text,
  tier_level: numeric,
  resource_type: text,
  type: text,
  capability: text,
  corecount: numeric,
  maxrss: numeric,
  minrss: numeric,
  maxtime: numeric,
  mintime: numeric,
  maxinputsize: numeric,
  maxwdir: numeric,
  copytools: objectOrNull(z.unknown()),
  acopytools: objectOrNull(z.array(z.string())),
  last_modified: text,
  state_update: text,
  state_comment: text,
  description: text,
  comment: text,
  pilot_manager: text,
  harvester: text,
  container_type: text,
  vo_name: text,
  params: objectOrNull(z.unknown()),
});
export type QueueRecord = z.infer<typeof QueueRecordSchema> & { name: string };

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
    const parsed = QueueRecordSchema.safeParse(value);
    if (!parsed.success || key.trim() === '') {
      skipped++;
      if (problems.length < MAX_PROBLEMS) {
        const issue = parsed.success ? undefined : parsed.error.issues[0];
        problems.push(`queue ${JSON.stringify(key.slice(0, 80))}: ${issue ? `${issue.path.join('.') || 'record'}: ${issue.message}` : 'empty name'}`);
      }
      continue;
    }
    // CRIC keys the dump by queue name; the key wins over a stale "name" inside the record.
    queues.push({ ...parsed.data, name: key });
  }
  queues.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { queues, skipped, problems };
}
