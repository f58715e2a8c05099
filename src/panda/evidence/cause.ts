import type { LogMatch, ScanResult } from '../log-scan.ts';
import { patternMeta, type EvidencePattern, type EvidenceRole } from './map.ts';

/**
 * The causal line of a scanned file: the first cause of the incident the strongest hit belongs to,
 * not the last line of the cascade it set off. The transform does the same for a core dump: it
 * reports the abnormal lines just before it (athena trfValidation.py moreDetails, 50 lines back).
 */

export interface CauseLine {
  source: string;
  /** 1-based line in the file (for jobReport.json: in the lines askpanda made of it). */
  line: number;
  text: string;
  /** Pattern id (evidence map) or label. */
  label: string;
  weight: number;
  role: EvidenceRole;
  kind?: string;
  /** Where the pattern comes from (evidence map `source`). */
  patternSource?: string;
}

/** Hits of one cascade are at most this many lines apart (a crash report header is ~25 lines). */
const CHAIN_GAP = 30;
/** Weakest hit that can be a first cause (a generic ERROR line is 5). */
const MIN_CAUSE_WEIGHT = 5;

/**
 * A hit's role and kind from the evidence map: its own pattern's, or (for a curated or diag pattern,
 * which carry none) the heaviest evidence-map pattern that the line matches too.
 */
function describe(source: string, m: LogMatch, evidence: readonly EvidencePattern[]): CauseLine {
  let meta = patternMeta(m.label);
  if (!meta) for (const p of evidence) if ((!meta || p.weight > meta.weight) && p.regex.test(m.text)) meta = p;
  return {
    source,
    line: m.line,
    text: m.text,
    label: m.label,
    weight: m.weight,
    role: meta?.role ?? 'cause',
    ...(meta ? { kind: meta.kind, patternSource: meta.source } : {}),
  };
}

/**
 * Walks back from the scanner's best hit through the hits before it that are at most CHAIN_GAP lines
 * apart. A precursor there (a Frontier time-out, a failed allocation, ROOT read errors) is the first
 * cause; when the best hit is only a symptom (a crash, an exit), an earlier cause in the chain is too.
 */
export function firstCause(
  source: string,
  result: ScanResult,
  evidence: readonly EvidencePattern[] = [],
): CauseLine | undefined {
  const best = result.best?.match;
  if (!best) return undefined;
  const anchor = describe(source, best, evidence);
  const hits = [...result.matches].sort((a, b) => a.line - b.line);
  let chainLine = best.line;
  let first: CauseLine | undefined;
  for (let i = hits.length - 1; i >= 0; i--) {
    const hit = hits[i]!;
    if (hit.line >= best.line) continue;
    if (chainLine - hit.line > CHAIN_GAP) break;
    chainLine = hit.line;
    const d = describe(source, hit, evidence);
    if (d.weight < MIN_CAUSE_WEIGHT) continue;
    if (d.role === 'precursor' || (anchor.role === 'symptom' && d.role === 'cause')) first = d;
  }
  return first ?? anchor;
}

/** A cause that explains the failure by itself: no further file needs to be read for it. */
export function explains(cause: CauseLine | undefined): boolean {
  return Boolean(cause && cause.role !== 'symptom' && cause.weight >= 7);
}

/** Picks the cause to state among the files read: causes over symptoms, then weight, then reading order. */
export function strongestCause(causes: readonly CauseLine[]): CauseLine | undefined {
  const rank = (c: CauseLine) =>
    (c.role === 'symptom' ? 0 : 100) + c.weight - (c.source === 'jobReport.json' && c.role === 'symptom' ? 2 : 0);
  let best: CauseLine | undefined;
  for (const c of causes) if (!best || rank(c) > rank(best)) best = c;
  return best;
}

/** Plain words for each kind of cause line in the evidence map. */
const CAUSE_NAMES: Record<string, string> = {
  'out-of-memory': 'the payload ran out of memory (a memory allocation failed)',
  segfault: 'the payload crashed (a fatal signal such as a segmentation fault)',
  frontier: 'the conditions database could not be reached through Frontier',
  database: 'a database connection (CORAL/Oracle) failed',
  xrootd: 'an input file could not be read over the network (xrootd)',
  'input-corrupt': 'an input file is corrupt or could not be read',
  'root-error': 'ROOT reported an error reading or writing data',
  generator: 'the event generator aborted',
  geant4: 'Geant4 raised a fatal exception during simulation',
  'python-exception': 'a Python exception stopped the job',
  'athena-error': 'an Athena component reported an error',
  'payload-error': 'the payload reported an error',
  'payload-exit': 'the payload exited with a non-zero code',
  'bad-arguments': 'the transform got arguments it does not recognise',
  'user-code-missing': 'the user code tarball could not be fetched',
  'sqlite-lock': 'an SQLite database on NFS was locked',
  'missing-output': 'an output file is missing or empty',
  setup: 'the software setup failed',
  'memory-limit': "the payload's memory use went over the queue's limit",
  'memory-monitor': "the memory monitor's output could not be read",
  'time-limit': "the job reached the batch system's time limit",
  looping: 'the payload stopped writing output (looping job)',
  'kill-signal': 'the job was killed by a signal',
  'server-kill': 'the PanDA server asked for the job to be killed',
  transfer: 'a file transfer failed',
  'transfer-timeout': 'a file transfer timed out',
  'stage-in': 'an input file could not be staged in',
  'stage-out': 'an output file could not be staged out',
  checksum: 'a transferred file has the wrong checksum',
  'missing-input': 'an input file is missing',
  network: 'the network was unreachable',
  rucio: 'Rucio could not list the replicas of an input file',
  authentication: 'authentication with the storage failed',
  'remote-open': 'an input file could not be opened remotely',
  'no-space': 'a disk ran out of space',
  'output-size': 'an output file is too large',
  disk: 'the job used more disk than allowed, or the local disk was full',
  container: 'the container (Apptainer/Singularity) could not be started',
  proxy: 'the grid proxy or certificate was missing or expired',
  service: 'a service (Rucio, PanDA) was not available',
  queue: 'the queue configuration is bad',
  'event-service': 'an event-service error',
  'pilot-internal': 'an internal pilot problem',
};

export function causeName(kind: string | undefined): string | undefined {
  return kind ? CAUSE_NAMES[kind] : undefined;
}

export const CAUSE_KINDS: readonly string[] = Object.keys(CAUSE_NAMES);
