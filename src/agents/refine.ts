import type { AnswerDraft } from '../bot/answer.ts';
import type { ChatMessage } from '../llm/chat-model.ts';
import type { AgentContext } from './agent.ts';

/**
 * Turns an agent's offline draft into a model-written one: the model gets `messages` (built by the
 * agent's prompt builder, evidence already redacted and fenced as untrusted) and must return the
 * structured sections. Junk from the model, or no model, leaves the offline draft standing.
 * (The LLM issue implements the model call; until then the offline draft is the answer.)
 */
export async function refineWithModel(context: AgentContext, _messages: ChatMessage[], offline: AnswerDraft): Promise<AnswerDraft> {
  if (context.model.offline) return offline;
  return offline;
}
