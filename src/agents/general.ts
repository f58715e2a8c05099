import { emptyDraft, type AnswerDraft } from '../bot/answer.ts';
import type { Agent, AgentContext } from './agent.ts';

/**
 * Questions with no job, task or documentation cue. Offline it says what it can do instead of
 * guessing; with a model it answers PanDA questions without tools (the LLM issue).
 */
export class GeneralAgent implements Agent {
  readonly kind = 'general' as const;

  async handle(context: AgentContext): Promise<AnswerDraft> {
    const draft = emptyDraft(
      'general',
      'I could not tell which PanDA job, task or topic you mean. Give me a job id ("why did job 6802258254 fail?"), a task id ("what is happening with task 46374283?") or ask about a PanDA concept ("what is a pilot?").',
      context.model.id,
    );
    draft.followUps.push(
      { question: 'help', why: 'lists everything I can answer and the commands I know' },
      { question: 'What is a PanDA pilot?', why: 'a documentation question I can answer with sources' },
    );
    return draft;
  }
}
