import { z } from 'zod';
import mapData from './evidence-map.json' with { type: 'json' };
import type { ScanPattern } from '../log-scan.ts';

/**
 * The evidence map (evidence-map.json): for every pilot error code, the log-tarball files the pilot
 * decides it from and the texts it matches there, each pattern naming the pilot or transform source
 * line it was read from. A job answer reads the files in this order and ranks lines with these
 * patterns.
 */

const RoleSchema = z.enum(['cause', 'precursor', 'symptom']);
export type EvidenceRole = z.infer<typeof RoleSchema>;

const PatternSchema = z.object({
  id: z.string().regex(/^[a-z0-9-]+$/),
  regex: z.string().min(1),
  weight: z.number().int().min(1).max(10),
  role: RoleSchema,
  kind: z.string().min(1),
  in: z.array(z.string().min(1)).optional(),
  capture: z.number().int().min(1).max(20).optional(),
  /** Case-sensitive (a log level in capitals, as the transform matches it); default: any case. */
  case: z.boolean().optional(),
  /** A line of the kind the pattern is for, written in the source's format (the tests scan for it). */
  example: z.string().optional(),
  source: z.string().min(3),
});

const FamilySchema = z.object({
  name: z.string().min(1),
  codes: z.array(z.number().int()).min(1),
  why: z.string().min(1),
  files: z.array(z.string().min(1)).min(1),
  setupFiles: z.array(z.string().min(1)).optional(),
  patterns: z.array(PatternSchema),
});

const MapSchema = z.object({
  _source: z.string(),
  fileGroups: z.record(z.string(), z.array(z.string())),
  families: z.array(FamilySchema).min(1),
  payloadPatterns: z.object({ _why: z.string(), patterns: z.array(PatternSchema).min(1) }),
  transform: z.object({ _why: z.string(), files: z.array(z.string()).min(1) }),
});

export interface EvidencePattern {
  id: string;
  regex: RegExp;
  weight: number;
  role: EvidenceRole;
  /** What the line shows, e.g. "out-of-memory" (see CAUSE_NAMES in cause.ts). */
  kind: string;
  /** Files or file groups it is tested on; undefined: every file. */
  in?: string[];
  capture?: number;
  example?: string;
  /** Where the text comes from: "P pilot/user/atlas/diagnose.py:182" (P = pilot3, T = the ATLAS transform). */
  source: string;
}

export interface EvidenceFamily {
  name: string;
  codes: number[];
  why: string;
  files: string[];
  setupFiles?: string[];
  patterns: EvidencePattern[];
}

const parsed = MapSchema.parse(mapData);

function compile(p: z.infer<typeof PatternSchema>): EvidencePattern {
  return { ...p, regex: new RegExp(p.regex, p.case ? '' : 'i') };
}

export const EVIDENCE_SOURCE_NOTE = parsed._source;
export const FAMILIES: readonly EvidenceFamily[] = parsed.families.map((f) => ({
  ...f,
  patterns: f.patterns.map(compile),
}));
export const PAYLOAD_PATTERNS: readonly EvidencePattern[] = parsed.payloadPatterns.patterns.map(compile);
export const TRANSFORM_FILES: readonly string[] = parsed.transform.files;
const FILE_GROUPS = parsed.fileGroups;

const familyByCode = new Map(FAMILIES.flatMap((f) => f.codes.map((c) => [c, f] as const)));
/** Every pattern by id; an id used in two families has one definition (a test checks it). */
const patternById = new Map<string, EvidencePattern>(
  [...FAMILIES.flatMap((f) => f.patterns), ...PAYLOAD_PATTERNS].map((p) => [p.id, p]),
);

export function familyOf(code: number): EvidenceFamily | undefined {
  return familyByCode.get(code);
}

/** The family of SETUPFAILURE (1110): the texts of a failed setup, in setup.stdout/setup.stderr. */
const SETUP_FAMILY = familyByCode.get(1110);

export function patternMeta(id: string): EvidencePattern | undefined {
  return patternById.get(id);
}

/** `log.*` style names: a trailing `*` matches any rest of the name. */
export function fileMatches(glob: string, name: string): boolean {
  return glob.endsWith('*') ? name.startsWith(glob.slice(0, -1)) : glob === name;
}

/** Files the payload wrote (its output, the transform's substep logs, the setup's output). */
export function isPayloadFile(name: string): boolean {
  return (FILE_GROUPS.payload ?? []).some((g) => g !== 'jobReport.json' && fileMatches(g, name));
}

function appliesTo(pattern: EvidencePattern, file: string): boolean {
  if (!pattern.in) return true;
  return pattern.in.some((entry) => (FILE_GROUPS[entry] ?? [entry]).some((g) => fileMatches(g, file)));
}

/**
 * The patterns for one file of a job whose code is in `family`: the family's patterns that apply to
 * the file, then (for payload output and the job report) the Athena/ROOT payload patterns. A pattern
 * id is used once; the family's definition comes first.
 */
export function evidencePatternsFor(file: string, family: EvidenceFamily | undefined): EvidencePattern[] {
  const out = new Map<string, EvidencePattern>();
  for (const p of family?.patterns ?? []) if (appliesTo(p, file)) out.set(p.id, p);
  // The setup's own output holds the setup family's texts whatever code the setup failure became.
  if (file.startsWith('setup.')) for (const p of SETUP_FAMILY?.patterns ?? []) if (!out.has(p.id)) out.set(p.id, p);
  if (isPayloadFile(file) || file === 'jobReport.json')
    for (const p of PAYLOAD_PATTERNS) if (!out.has(p.id) && appliesTo(p, file)) out.set(p.id, p);
  return [...out.values()];
}

export function toScanPatterns(patterns: readonly EvidencePattern[]): ScanPattern[] {
  return patterns.map((p) => ({
    regex: p.regex,
    weight: p.weight,
    label: p.id,
    ...(p.capture ? { capture: p.capture } : {}),
  }));
}

/**
 * The files to read for a job's primary error, most telling first. A 1305 whose diag is about the
 * setup reads the setup's output first (the pilot verifies the setup before the payload and reports
 * its failure as a payload failure: pilot/control/payloads/generic.py:846-893).
 */
export function filesToRead(primary: { component: string; code: number; diag: string } | undefined): {
  family?: EvidenceFamily;
  files: string[];
} {
  if (!primary) return { files: ['pilotlog.txt', 'payload.stdout', 'jobReport.json'] };
  if (primary.component === 'transform' || primary.component === 'executor') {
    return { family: familyOf(1305), files: [...TRANSFORM_FILES] };
  }
  if (primary.component !== 'pilot') return { files: ['pilotlog.txt'] };
  const family = familyOf(primary.code);
  if (!family) return { files: ['pilotlog.txt', 'payload.stdout'] };
  const setupFirst = family.setupFiles && /\bsetup\b/i.test(primary.diag);
  return { family, files: setupFirst ? [...family.setupFiles!, ...family.files] : [...family.files] };
}
