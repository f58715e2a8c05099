import { z } from 'zod';
import pilotCodesData from './knowledge/pilot-error-codes.json' with { type: 'json' };
import curatedData from './knowledge/curated-guidance.json' with { type: 'json' };
import componentsData from './knowledge/error-components.json' with { type: 'json' };

/** The error-code knowledge base: official pilot codes, job error components, curated guidance. */

const PilotCodeSchema = z.object({
  code: z.number().int(),
  name: z.string(),
  message: z.string(),
  note: z.string().optional(),
});
export type PilotCode = z.infer<typeof PilotCodeSchema>;

const PatternSchema = z.object({ regex: z.string(), weight: z.number(), example: z.string() });
export type GuidancePattern = z.infer<typeof PatternSchema>;

const GuidanceSchema = z.object({
  component: z.enum(['pilot', 'taskbuffer', 'executor', 'dataservice', 'transform']),
  code: z.number().int(),
  owner: z.enum(['user', 'site', 'system', 'mixed']),
  log: z.enum(['pilotlog.txt', 'payload', 'none']),
  problem: z.string(),
  causes: z.array(z.string()).min(1),
  recommendations: z.array(z.string()).min(1),
  analysis: z.string(),
  investigation: z.array(z.string()).min(1),
  scenarios: z.array(z.string()).min(1),
  prevention: z.array(z.string()).min(1),
  patterns: z.array(PatternSchema),
});
export type Guidance = z.infer<typeof GuidanceSchema>;

const ComponentSchema = z.object({
  name: z.string(),
  codeField: z.string(),
  diagField: z.string().nullable(),
  title: z.string(),
  side: z.enum(['user', 'system', 'depends']),
  meaning: z.string(),
});
export type ErrorComponent = z.infer<typeof ComponentSchema>;

const pilotCodes = z
  .object({ putErrorCodes: z.array(z.number()), codes: z.array(PilotCodeSchema) })
  .parse(pilotCodesData);
const curated = z.object({ entries: z.array(GuidanceSchema) }).parse(curatedData);
const components = z
  .object({ components: z.array(ComponentSchema), userVersusSystem: z.array(z.string()) })
  .parse(componentsData);

const pilotByCode = new Map(pilotCodes.codes.map((c) => [c.code, c]));
const guidanceByKey = new Map(curated.entries.map((g) => [`${g.component}:${g.code}`, g]));

export const ALL_PILOT_CODES: readonly PilotCode[] = pilotCodes.codes;
export const CURATED_GUIDANCE: readonly Guidance[] = curated.entries;
export const ERROR_COMPONENTS: readonly ErrorComponent[] = components.components;
export const USER_VERSUS_SYSTEM: readonly string[] = components.userVersusSystem;

export function pilotCode(code: number): PilotCode | undefined {
  return pilotByCode.get(code);
}

export function isRecoverablePutError(code: number): boolean {
  return pilotCodes.putErrorCodes.includes(code);
}

export function guidanceFor(component: string, code: number): Guidance | undefined {
  return guidanceByKey.get(`${component}:${code}`);
}

export function errorComponent(name: string): ErrorComponent | undefined {
  return components.components.find((c) => c.name === name);
}

/** Compiled patterns of a curated entry; `m` so `^` anchors at line starts inside a chunk. */
export function compilePatterns(
  guidance: Guidance | undefined,
): Array<{ regex: RegExp; weight: number; label: string }> {
  return (guidance?.patterns ?? []).map((p) => ({ regex: new RegExp(p.regex, 'i'), weight: p.weight, label: p.regex }));
}
