import { emptyDraft, type AnswerDraft } from '../bot/answer.ts';
import type { Turn } from '../bot/history.ts';
import { ModelUnavailableError, type ChatMessage } from '../llm/chat-model.ts';
import { loadPrompt } from '../llm/prompts.ts';
import type { Agent, AgentContext } from './agent.ts';
import { suggestFollowUps } from './follow-ups.ts';
import { offlineBecauseUnavailable } from './refine.ts';

/** Earlier turns the general agent shows the model: enough for "and what about Harvester?". */
const HISTORY_TURNS = 6;
const TURN_CHARS = 1500;

export function historyMessages(history: readonly Turn[], turns = HISTORY_TURNS): ChatMessage[] {
  return history.slice(-turns).map((turn) => ({ role: turn.role, content: turn.text.length > TURN_CHARS ? `${turn.text.slice(0, TURN_CHARS)}…` : turn.text }));
}

/**
 * Questions with no job, task or documentation cue. With a model it answers PanDA questions from
 * general knowledge (no tools) and declines unrelated topics politely, streaming as it writes.
 * Offline it says what it can do instead of guessing.
 */
export class GeneralAgent implements Agent {
  readonly kind = 'general' as const;

  async handle(context: AgentContext): Promise<AnswerDraft> {
    if (context.model.offline) return this.offline(context);
    const messages: ChatMessage[] = [{ role: 'system', content: loadPrompt('general') }, ...historyMessages(context.history), { role: 'user', content: context.question }];
    try {
      let text = '';
      for await (const event of context.model.stream({ messages, signal: context.signal })) {
        if (event.type === 'delta') {
          text += event.text;
          context.onPartialText?.(text);
        } else {
          const draft = emptyDraft('general', event.result.text.trim(), event.result.model);
          draft.followUps = suggestFollowUps(draft, context);
          return draft;
        }
      }
      return this.offline(context);
    } catch (err) {
      if (context.signal?.aborted) throw err;
      if (err instanceof ModelUnavailableError) return offlineBecauseUnavailable(this.offline(context));
      throw err;
    }
  }

  private offline(context: AgentContext): AnswerDraft {
    const draft = emptyDraft(
      'general',
      'I could not tell which PanDA job, task or topic you mean. Give me a job id ("why did job 6802258254 fail?"), a task id ("what is happening with task 46374283?") or ask about a PanDA concept ("what is a pilot?").',
      'offline',
    );
    draft.followUps.push(
      { question: 'help', why: 'lists everything I can answer and the commands I know' },
      { question: 'What is a PanDA pilot?', why: 'a documentation question I can answer with sources' },
    );
    void context;
    return draft;
  }
}
