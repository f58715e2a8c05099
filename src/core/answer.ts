import { z } from 'zod';

/**
 * The agents that can answer; `command` covers built-in commands such as `help`; `error_code`
 * explains a pilot, transform or server error code; `queue` answers from CRIC.
 */
export const AGENT_KINDS = ['job', 'task', 'queue', 'documents', 'error_code', 'general', 'command'] as const;
export type AgentKind = (typeof AGENT_KINDS)[number];

export const ERROR_KINDS = [
  'bad_input',
  'not_found',
  'monitor_unavailable',
  'llm_unavailable',
  'rate_limited',
  'busy',
  'forbidden',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export const SectionSchema = z.object({ title: z.string(), body: z.string() });
export const EvidenceSchema = z.object({
  source: z.string(), // "pilotlog.txt" | "payload.stdout" | "payload.stderr" | "metadata" | ...
  lines: z.array(z.string()),
});
export const FollowUpSchema = z.object({ question: z.string(), why: z.string() });
export const SourceSchema = z.object({ title: z.string(), url: z.string().optional() });
export const LinkSchema = z.object({ title: z.string(), url: z.string() });
export const AnswerErrorSchema = z.object({ kind: z.enum(ERROR_KINDS), message: z.string() });

/** The one structured result every agent produces; `ask --json` prints exactly this (docs/architecture.md, contracts). */
export const AnswerSchema = z.object({
  agent: z.enum(AGENT_KINDS),
  text: z.string(),
  sections: z.array(SectionSchema),
  facts: z.record(z.string(), z.unknown()),
  evidence: z.array(EvidenceSchema),
  followUps: z.array(FollowUpSchema),
  sources: z.array(SourceSchema),
  links: z.array(LinkSchema),
  model: z.string(),
  error: AnswerErrorSchema.optional(),
});

export type Section = z.infer<typeof SectionSchema>;
export type Evidence = z.infer<typeof EvidenceSchema>;
export type FollowUp = z.infer<typeof FollowUpSchema>;
export type Source = z.infer<typeof SourceSchema>;
export type Link = z.infer<typeof LinkSchema>;
export type AnswerError = z.infer<typeof AnswerErrorSchema>;
export type Answer = z.infer<typeof AnswerSchema>;

/**
 * What an agent returns: an Answer before rendering. `summary` is the opening line of the posted
 * text; the bot renders `text` from the draft so every surface shows the same structure.
 */
export interface AnswerDraft extends Omit<Answer, 'text'> {
  summary: string;
}

/** A draft with every list empty: agents fill what they found. */
export function emptyDraft(agent: AgentKind, summary: string, model = 'offline'): AnswerDraft {
  return { agent, summary, sections: [], facts: {}, evidence: [], followUps: [], sources: [], links: [], model };
}

export function errorDraft(
  agent: AgentKind,
  kind: ErrorKind,
  message: string,
  extra: Partial<AnswerDraft> = {},
): AnswerDraft {
  return { ...emptyDraft(agent, message), ...extra, error: { kind, message } };
}
