import { z } from 'zod';
import type { AnswerDraft, FollowUp } from '../core/answer.ts';
import { ModelUnavailableError, type ChatMessage, type ChatResult } from '../llm/chat-model.ts';
import { loadPrompt } from '../llm/prompts.ts';
import type { AgentContext } from './agent.ts';
import { suggestFollowUps } from './follow-ups.ts';

/** Section titles the job and task answers use when the offline draft has none (docs/architecture.md, contracts). */
export const DEFAULT_SECTION_TITLES: Record<'job' | 'task' | 'other', string[]> = {
  job: ['Description', 'Non-expert guidance', 'Expert guidance'],
  task: ['Description', 'Non-expert guidance', 'Expert guidance'],
  other: ['Description'],
};

const looksLikeJson = (text: string) => /^\s*[[{]/.test(text) && /[\]}]\s*$/.test(text);

/** What the model must return; anything else is junk and never reaches the user. */
export const ModelAnswerSchema = z.object({
  summary: z.string().trim().min(1, 'summary is empty').max(1500, 'summary is too long'),
  sections: z
    .array(
      z.object({
        title: z.string().trim().min(1).max(100),
        body: z
          .string()
          .trim()
          .min(1, 'a section body is empty')
          .max(8000)
          .refine((b) => !looksLikeJson(b), 'a section body is JSON, not prose'),
      }),
    )
    .min(1, 'no sections')
    .max(8, 'too many sections'),
  followUps: z
    .array(z.object({ question: z.string(), why: z.string() }))
    .optional()
    .catch(undefined),
});
export type ModelAnswer = z.infer<typeof ModelAnswerSchema>;

export const UNAVAILABLE_NOTE =
  'No language model could answer just now, so this answer was built offline from the monitor data and the knowledge base.';

/** The JSON object in a reply, tolerating code fences and chatter around it. */
export function parseModelAnswer(text: string): { ok: true; value: ModelAnswer } | { ok: false; problem: string } {
  const unfenced = text.replace(/```(?:json)?/gi, '');
  const start = unfenced.indexOf('{');
  const end = unfenced.lastIndexOf('}');
  if (start < 0 || end <= start) return { ok: false, problem: 'there is no JSON object in it' };
  let raw: unknown;
  try {
    raw = JSON.parse(unfenced.slice(start, end + 1));
  } catch (err) {
    return {
      ok: false,
      problem: `it is not valid JSON (${err instanceof Error ? err.message.slice(0, 80) : 'parse error'})`,
    };
  }
  const parsed = ModelAnswerSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, problem: `${issue?.path.join('.') || 'the object'}: ${issue?.message ?? 'does not match'}` };
  }
  return { ok: true, value: parsed.data };
}

/** The messages refineWithModel sends: the agent's prompt plus the answer-format contract. */
export function withContract(messages: ChatMessage[], titles: string[]): ChatMessage[] {
  const contract: ChatMessage = {
    role: 'system',
    content: loadPrompt('refine', { sections: titles.map((t) => `"${t}"`).join(', ') }),
  };
  const firstNonSystem = messages.findIndex((m) => m.role !== 'system');
  const at = firstNonSystem < 0 ? messages.length : firstNonSystem;
  return [...messages.slice(0, at), contract, ...messages.slice(at)];
}

/**
 * The "summary" string of a JSON reply still being written, decoded so far; undefined until the
 * model has started it. Lets a chat surface show the opening line while the sections are written.
 */
export function partialSummary(json: string): string | undefined {
  const match = /"summary"\s*:\s*"((?:[^"\\]|\\.)*)(\\?)/.exec(json);
  if (!match) return undefined;
  // Drop an escape cut in half ("\\u00" …) rather than show its pieces.
  const body = match[1]!.replace(/\\u[0-9a-fA-F]{0,3}$/, '');
  try {
    return JSON.parse(`"${body}"`) as string;
  } catch {
    return undefined;
  }
}

/** Streams the JSON reply, passing the summary so far to the surface; resolves like `complete`. */
async function streamShowingSummary(context: AgentContext, messages: ChatMessage[]): Promise<ChatResult> {
  let text = '';
  let shown = '';
  for await (const event of context.model.stream({ messages, json: true, signal: context.signal })) {
    if (event.type === 'done') return event.result;
    text += event.text;
    const summary = partialSummary(text);
    if (summary && summary !== shown) {
      shown = summary;
      context.onPartialText?.(summary);
    }
  }
  throw new ModelUnavailableError('the stream ended without a final event', context.model.id);
}

/** The offline draft, saying in its summary that no model could answer. */
export function offlineBecauseUnavailable(offline: AnswerDraft): AnswerDraft {
  if (offline.summary.includes(UNAVAILABLE_NOTE)) return offline;
  return { ...offline, summary: `${offline.summary.trim()}\n\n_${UNAVAILABLE_NOTE}_`, model: 'offline' };
}

/**
 * Turns an agent's offline draft into a model-written one: the model gets `messages` (built by the
 * agent's prompt builder, evidence already fenced as untrusted; the chain redacts and budgets) and
 * must return the structured sections as JSON. Junk gets one repair round, then the offline draft
 * stands; no model at all leaves the offline draft, saying so. Facts, evidence and links always
 * come from the offline draft: they are data, not model output.
 */
export async function refineWithModel(
  context: AgentContext,
  messages: ChatMessage[],
  offline: AnswerDraft,
): Promise<AnswerDraft> {
  if (context.model.offline) return { ...offline, model: 'offline' };
  const titles = offline.sections.length
    ? offline.sections.map((s) => s.title)
    : DEFAULT_SECTION_TITLES[offline.agent === 'job' || offline.agent === 'task' ? offline.agent : 'other'];
  const request = withContract(messages, titles);
  context.progress('is writing the answer…');
  try {
    const first = context.onPartialText
      ? await streamShowingSummary(context, request)
      : await context.model.complete({ messages: request, json: true, signal: context.signal });
    let parsed = parseModelAnswer(first.text);
    let answeredBy = first.model;
    if (!parsed.ok) {
      const repair = await context.model.complete({
        messages: [
          ...request,
          { role: 'assistant', content: first.text.slice(0, 2000) },
          {
            role: 'user',
            content: `That reply cannot be used: ${parsed.problem}. Reply again with only the JSON object described above.`,
          },
        ],
        json: true,
        signal: context.signal,
      });
      parsed = parseModelAnswer(repair.text);
      answeredBy = repair.model;
    }
    if (!parsed.ok) return { ...offline, model: 'offline' };
    const refined: AnswerDraft = {
      ...offline,
      summary: parsed.value.summary,
      sections: parsed.value.sections,
      followUps: [],
      model: answeredBy,
    };
    refined.followUps = suggestFollowUps(refined, context, (parsed.value.followUps ?? []) as FollowUp[]);
    return refined;
  } catch (err) {
    if (context.signal?.aborted) throw err;
    if (err instanceof ModelUnavailableError) return offlineBecauseUnavailable(offline);
    return { ...offline, model: 'offline' };
  }
}
