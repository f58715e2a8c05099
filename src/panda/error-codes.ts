import { z } from 'zod';
import componentsData from './knowledge/error-components.json' with { type: 'json' };
import groupsData from './knowledge/pilot-code-groups.json' with { type: 'json' };
import transformData from './knowledge/transform-exit-codes.json' with { type: 'json' };
import {
  ALL_PILOT_CODES,
  CURATED_GUIDANCE,
  errorComponent,
  guidanceFor,
  isRecoverablePutError,
  pilotCode,
  type ErrorComponent,
  type Guidance,
} from './knowledge.ts';

/**
 * One lookup for every job error component: pilot codes (official table, families, curated
 * guidance), transform/payload exit codes (askpanda's own table), and what is known of the server
 * components (ddm, taskbuffer, …). `lookupCode` answers only from these tables: a code that is not
 * in them is unknown, never guessed.
 */

export const COMPONENT_NAMES = [
  'pilot',
  'transform',
  'executor',
  'dataservice',
  'taskbuffer',
  'brokerage',
  'jobdispatcher',
  'supervisor',
] as const;
export type ComponentName = (typeof COMPONENT_NAMES)[number];

export type Owner = 'user' | 'site' | 'system' | 'mixed';

const CategorySchema = z.object({ id: z.number().int(), name: z.string(), description: z.string() });
export type ErrorCategory = z.infer<typeof CategorySchema>;

const extras = z
  .object({
    categories: z.array(CategorySchema),
    lowPriority: z.array(z.object({ component: z.enum(COMPONENT_NAMES), code: z.number().int() })),
  })
  .parse(componentsData);

const OwnerSchema = z.enum(['user', 'site', 'system', 'mixed']);
const groups = z
  .object({
    groups: z.array(
      z.object({
        name: z.string(),
        category: z.number().int(),
        owner: OwnerSchema,
        meaning: z.string(),
        advice: z.string(),
        codes: z.array(z.number().int()),
      }),
    ),
  })
  .parse(groupsData).groups;
const transformCodes = z
  .object({
    codes: z.array(
      z.object({
        code: z.number().int(),
        name: z.string(),
        message: z.string(),
        owner: OwnerSchema,
        meaning: z.string(),
        advice: z.string(),
        signal: z.string().optional(),
      }),
    ),
  })
  .parse(transformData).codes;

const groupOf = new Map(groups.flatMap((g) => g.codes.map((code) => [code, g] as const)));
const transformByCode = new Map(transformCodes.map((c) => [c.code, c]));
const categoryById = new Map(extras.categories.map((c) => [c.id, c]));

export interface CodeInfo {
  component: ComponentName;
  code: number;
  /** The acronym: STAGEINFAILED, TRF_EXEC_FAIL, TRF_SIG_SIGKILL. */
  name?: string;
  /** The official one-line message. */
  message?: string;
  /** What it means, in plain words. */
  meaning: string;
  advice: string[];
  owner?: Owner;
  category?: ErrorCategory;
  /** The family of pilot codes it belongs to ("stage-in"). */
  family?: string;
  note?: string;
  guidance?: Guidance;
  /** A stage-out error the pilot counts as recoverable (another attempt is expected to work). */
  recoverable?: boolean;
  /** The monitor's error summary hides it when the job has another error. */
  lowPriority?: boolean;
  /** The signal behind a 128+N exit code. */
  signal?: string;
}

/** What askpanda knows of code N of component C, or undefined when it does not know the code. */
export function lookupCode(component: ComponentName, code: number): CodeInfo | undefined {
  if (component === 'pilot') return pilotInfo(code);
  if (component === 'transform' || component === 'executor') return transformInfo(component, code);
  const guidance = guidanceFor(component, code);
  if (guidance) {
    return {
      component,
      code,
      meaning: guidance.problem,
      advice: guidance.recommendations,
      owner: guidance.owner,
      guidance,
    };
  }
  return undefined;
}

function pilotInfo(code: number): CodeInfo | undefined {
  const official = pilotCode(code);
  if (!official) return undefined;
  const guidance = guidanceFor('pilot', code);
  const group = groupOf.get(code);
  return {
    component: 'pilot',
    code,
    name: official.name,
    message: official.message,
    meaning: guidance?.problem ?? group?.meaning ?? official.message,
    advice: guidance?.recommendations ?? (group ? [group.advice] : []),
    owner: guidance?.owner ?? group?.owner,
    category: group ? categoryById.get(group.category) : undefined,
    family: group?.name,
    note: official.note,
    guidance,
    recoverable: isRecoverablePutError(code) || undefined,
  };
}

function transformInfo(component: 'transform' | 'executor', code: number): CodeInfo | undefined {
  const entry = transformByCode.get(code);
  if (!entry) return undefined;
  const guidance = guidanceFor(component, code);
  return {
    component,
    code,
    name: entry.name,
    message: entry.message,
    meaning: guidance?.problem ?? entry.meaning,
    advice: guidance?.recommendations ?? [entry.advice],
    owner: guidance?.owner ?? entry.owner,
    guidance,
    ...(entry.signal ? { signal: entry.signal, category: categoryById.get(4) } : {}),
  };
}

/** A known code that the monitor treats as secondary, with no meaning of its own in our tables. */
export function isLowPriority(component: ComponentName, code: number): boolean {
  return extras.lowPriority.some((c) => c.component === component && c.code === code);
}

export function componentInfo(component: ComponentName): ErrorComponent | undefined {
  return errorComponent(component);
}

/** Codes askpanda can explain for a component, ascending. */
export function knownCodes(component: ComponentName): number[] {
  if (component === 'pilot') return ALL_PILOT_CODES.map((c) => c.code);
  if (component === 'transform' || component === 'executor')
    return transformCodes.map((c) => c.code).sort((a, b) => a - b);
  return CURATED_GUIDANCE.filter((g) => g.component === component)
    .map((g) => g.code)
    .sort((a, b) => a - b);
}

/** The known codes just below and above `code` (the "what is the next one" follow-up). */
export function neighbours(component: ComponentName, code: number): number[] {
  const codes = knownCodes(component).filter((c) => c !== code);
  const below = codes.filter((c) => c < code).at(-1);
  const above = codes.find((c) => c > code);
  return [below, above].filter((c): c is number => c !== undefined);
}

/** Pilot and transform codes by acronym ("STAGEINFAILED", "TRF_EXEC_FAIL"), for questions that name one. */
const byName = new Map<string, { component: ComponentName; code: number }>([
  ...ALL_PILOT_CODES.map((c) => [c.name, { component: 'pilot' as const, code: c.code }] as const),
  ...transformCodes.map((c) => [c.name, { component: 'transform' as const, code: c.code }] as const),
]);

export function codeByName(name: string): { component: ComponentName; code: number } | undefined {
  return byName.get(name.toUpperCase());
}

export const ERROR_CATEGORIES: readonly ErrorCategory[] = extras.categories;
