import type { Answer, AnswerDraft } from '../core/answer.ts';

/**
 * Answer → markdown, the one rendering every surface starts from (adapters only adapt it to their
 * limits and dialect). Order: summary, sections, evidence, links, sources, follow-ups, model note.
 */
export function renderMarkdown(draft: AnswerDraft): string {
  return [draft.summary.trim(), ...renderedBlocks(draft)].filter(Boolean).join('\n\n');
}

/** Everything after the summary, block by block, as renderMarkdown writes it. */
function renderedBlocks(draft: Omit<AnswerDraft, 'summary'>): string[] {
  const parts: string[] = [];
  for (const section of draft.sections) {
    if (section.body.trim()) parts.push(`**${section.title}**\n${section.body.trim()}`);
  }
  for (const evidence of draft.evidence) {
    if (evidence.lines.length === 0) continue;
    const fence = evidence.lines.some((l) => l.includes('```')) ? '~~~' : '```';
    parts.push(`**Evidence from ${evidence.source}**\n${fence}\n${evidence.lines.join('\n')}\n${fence}`);
  }
  if (draft.links.length) parts.push(`**Monitor:** ${draft.links.map((l) => `[${l.title}](${l.url})`).join(' · ')}`);
  if (draft.sources.length) {
    parts.push(
      `**Sources**\n${draft.sources.map((s, i) => `${i + 1}. ${s.url ? `[${s.title}](${s.url})` : s.title}`).join('\n')}`,
    );
  }
  if (draft.followUps.length) {
    parts.push(`**You could ask next**\n${draft.followUps.map((f) => `- ${f.question} _(${f.why})_`).join('\n')}`);
  }
  return parts.filter(Boolean);
}

/**
 * The opening of a rendered answer (its summary), for surfaces that show the sections, evidence
 * and links as their own blocks (the web chat): the text less what renderMarkdown put after it.
 */
export function answerSummary(answer: Answer): string {
  const rest = renderedBlocks(answer).join('\n\n');
  if (!rest) return answer.text.trim();
  return answer.text.endsWith(rest)
    ? answer.text.slice(0, answer.text.length - rest.length).trim()
    : answer.text.trim();
}

export function toAnswer(draft: AnswerDraft): Answer {
  const { summary: _summary, ...rest } = draft;
  return { ...rest, text: renderMarkdown(draft) };
}
