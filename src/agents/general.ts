import { emptyDraft, type AnswerDraft } from '../core/answer.ts';
import type { Turn } from '../core/turn.ts';
import { ModelUnavailableError, type ChatMessage } from '../llm/chat-model.ts';
import { loadPrompt } from '../llm/prompts.ts';
import { anyOf, wordRegex } from '../util/word-pattern.ts';
import type { Agent, AgentContext } from './agent.ts';
import { suggestFollowUps } from './follow-ups.ts';
import { selectFast } from './selection.ts';
import { offlineBecauseUnavailable } from './refine.ts';
import { ACKNOWLEDGEMENTS, FRIENDLY_EMOJI, GOODBYES, GREETINGS, THANKS, THANKS_EMOJI } from './small-talk-words.ts';

/** Earlier turns the general agent shows the model: enough for "and what about Harvester?". */
const HISTORY_TURNS = 6;
const TURN_CHARS = 1500;

export function historyMessages(history: readonly Turn[], turns = HISTORY_TURNS): ChatMessage[] {
  return history.slice(-turns).map((turn) => ({
    role: turn.role,
    content: turn.text.length > TURN_CHARS ? `${turn.text.slice(0, TURN_CHARS)}…` : turn.text,
  }));
}

/** What askpanda can do, with a question of each kind that works as typed. */
export const CAPABILITIES = [
  'why a job failed, from its logs: "why did job 6802258254 fail?"',
  'how a task is doing: "what is happening with task 46374283?"',
  'what an error code means: "what does pilot error 1213 mean?" or "exit code 65 of a transform"',
  'PanDA questions from the documentation, with sources: "how do I retry my failed jobs?"',
];

const THANKS_SAID = new RegExp(String.raw`\b${anyOf(THANKS)}\b|${anyOf(THANKS_EMOJI)}`, 'i');
const GREETING = new RegExp(String.raw`^${anyOf(GREETINGS)}\b`, 'i');
const GOODBYE = wordRegex(GOODBYES);
const ACKNOWLEDGEMENT = new RegExp(String.raw`^${anyOf([...ACKNOWLEDGEMENTS, ...FRIENDLY_EMOJI])}\b`, 'i');

/** The offline reply to small talk: friendly, short, and it says what the bot can do. */
export function smallTalkReply(question: string): string {
  const q = question.trim();
  const can = `I can explain:\n${CAPABILITIES.map((c) => `- ${c}`).join('\n')}`;
  if (THANKS_SAID.test(q)) return `You're welcome! Ask again any time. ${can}`;
  if (GOODBYE.test(q)) return 'Bye! Mention me again whenever a job or task needs explaining.';
  if (ACKNOWLEDGEMENT.test(q) && !GREETING.test(q)) return `👍 Anything else? ${can}`;
  if (GREETING.test(q) && !/\b(?:who|what|can|help)\b/i.test(q))
    return `Hello! I'm askpanda, a helper for PanDA users. ${can}`;
  return `I'm askpanda, a helper for PanDA users in ATLAS. ${can}\nSay \`help\` for the commands I know (subscriptions, digests).`;
}

/** Small talk the offline reply covers; anything else offline is a question for the documents. */
function isSmallTalk(question: string): boolean {
  const route = selectFast(question, []);
  return 'route' in route && route.route.agent === 'general';
}

export interface GeneralAgentOptions {
  /** Offline, a question that is not small talk is answered from the documentation rather than dead-ending. */
  documents?: Agent;
}

/**
 * Small talk and questions with no job, task, code or documentation cue. With a model it answers
 * PanDA questions from general knowledge (no tools) and declines unrelated topics politely,
 * streaming as it writes. Offline it replies to small talk with what it can do, and hands any
 * other question to the documents agent: the indexed documents may well answer it.
 */
export class GeneralAgent implements Agent {
  readonly kind = 'general' as const;

  constructor(private readonly options: GeneralAgentOptions = {}) {}

  async handle(context: AgentContext): Promise<AnswerDraft> {
    if (context.model.offline) return this.offline(context);
    const messages: ChatMessage[] = [
      { role: 'system', content: loadPrompt('general') },
      ...historyMessages(context.history),
      { role: 'user', content: context.question },
    ];
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
      if (err instanceof ModelUnavailableError) return offlineBecauseUnavailable(await this.offline(context));
      throw err;
    }
  }

  private async offline(context: AgentContext): Promise<AnswerDraft> {
    const documents = this.options.documents;
    if (documents && !isSmallTalk(context.question)) {
      return documents.handle({
        ...context,
        route: { agent: 'documents', reason: `${context.route.reason}; offline, so the documentation is searched` },
      });
    }
    const draft = emptyDraft('general', smallTalkReply(context.question), 'offline');
    draft.followUps.push(
      { question: 'What does pilot error 1213 mean?', why: 'an error code I can explain without a job' },
      { question: 'What is a PanDA pilot?', why: 'a documentation question I can answer with sources' },
      { question: 'help', why: 'lists the commands I know' },
    );
    return draft;
  }
}
