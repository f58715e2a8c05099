import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PROMPT_NAMES = ['general', 'selector', 'refine'] as const;
export type PromptName = (typeof PROMPT_NAMES)[number];

const PROMPT_DIR = fileURLToPath(new URL('../../config/prompts/', import.meta.url));
const cache = new Map<PromptName, string>();

/**
 * A system prompt from config/prompts/<name>.md (files, so they can be reviewed and tuned without
 * touching code). `{{key}}` placeholders are filled from `values`.
 */
export function loadPrompt(name: PromptName, values: Record<string, string> = {}): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(`${PROMPT_DIR}${name}.md`, 'utf8').trim();
    cache.set(name, text);
  }
  return text.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);
}
