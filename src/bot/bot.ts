import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Agent, AgentContext, Route, Selector } from '../agents/agent.ts';
import { selectFast } from '../agents/selection.ts';
import type { ChatModel } from '../llm/chat-model.ts';
import { AskPandaError } from '../core/errors.ts';
import { echo } from '../util/echo.ts';
import { silentLogger } from '../util/log.ts';
import { emptyDraft, errorDraft, type Answer, type AnswerDraft } from '../core/answer.ts';
import { CommandRegistry, parseCommand } from './commands.ts';
import type { Turn } from '../core/turn.ts';
import { IncomingSchema, SURFACE_NAME, threadKey, type Incoming } from '../core/incoming.ts';
import { answerSeconds, questionsTotal, storeErrorsTotal } from '../core/metrics.ts';
import { stripMention } from './mention.ts';
import { toAnswer } from './render.ts';
import type { ThreadHistory } from './thread-history.ts';
import { helpCommand } from './help.ts';
import { forgetCommand } from './forget.ts';

export interface BotDeps {
  config: Pick<Config, 'bot'>;
  history: ThreadHistory;
  model: ChatModel;
  agents: Partial<Record<Route['agent'], Agent>>;
  commands?: CommandRegistry;
  selector?: Selector;
  logger?: Logger;
  /** Platform user ids of the bot itself, stripped like its @name. */
  botUserIds?: string[];
  /**
   * Told once per process when thread history cannot be read or written (a locked or full store):
   * the terminal surfaces say so instead of failing, platform surfaces only log it.
   */
  onStoreProblem?: (message: string) => void;
}

export interface HandleOptions {
  /** "is looking up job 6802258254…": shown by adapters as the thinking status. */
  progress?: (status: string) => void;
  /** The answer's markdown so far while a model streams it (Slack/Mattermost update a message). */
  onPartialText?: (markdown: string) => void;
  signal?: AbortSignal;
  /**
   * The message starts a new thread (a top-level Slack message, keyed by its own ts): no history
   * can exist for it yet, so none is read.
   */
  newThread?: boolean;
  /**
   * Receives the thread-history save instead of handle() waiting for it, so an adapter can post the
   * answer while the store writes. The promise rejects when the store refused the write: the
   * receiver decides (`ask --thread` exits 2, chat surfaces log it).
   */
  deferHistorySave?: (saved: Promise<void>) => void;
  /** false: the thread is never asked about again (one-shot `ask`), so no history is written. */
  remember?: boolean;
}

/** The platform-neutral core: one Incoming in, one Answer out, thread history kept in between. */
export class Bot {
  readonly commands: CommandRegistry;
  private readonly logger: Logger;
  private readonly botUserIds: string[];
  private storeProblemReported = false;
  private readonly botNames: string[] = [];

  constructor(private readonly deps: BotDeps) {
    this.commands = deps.commands ?? new CommandRegistry();
    if (!this.commands.get('help')) this.commands.register(helpCommand(deps.config.bot.name));
    if (!this.commands.get('forget')) this.commands.register(forgetCommand(deps.history));
    this.logger = deps.logger ?? silentLogger;
    this.botUserIds = [...(deps.botUserIds ?? [])];
  }

  /** Adapters learn the bot's platform user id at connect time (Slack auth.test); only it is stripped. */
  addBotUserId(id: string): void {
    if (!this.botUserIds.includes(id)) this.botUserIds.push(id);
  }

  /** Platform usernames of the bot besides `bot.name` (a Mattermost bot account's username). */
  addBotName(name: string): void {
    if (!this.botNames.includes(name)) this.botNames.push(name);
  }

  /** The question without the bot's own mentions (its @names and platform user ids). */
  stripMention(text: string): string {
    let out = stripMention(text, this.deps.config.bot.name, this.botUserIds);
    for (const name of this.botNames) out = stripMention(out, name, this.botUserIds);
    return out;
  }

  get model(): ChatModel {
    return this.deps.model;
  }

  async handle(raw: Incoming, options: HandleOptions = {}): Promise<Answer> {
    return this.counted(raw, () => this.answer(raw, options));
  }

  /**
   * One agent on a route the caller chose (an MCP tool that names the job or task it wants): no
   * routing, no commands, no thread history read or written. Failures come back as error answers,
   * exactly as from handle().
   */
  async handleRoute(
    raw: Incoming,
    route: Route,
    options: Pick<HandleOptions, 'progress' | 'onPartialText' | 'signal'> = {},
  ): Promise<Answer> {
    return this.counted(raw, async () => {
      const parsed = IncomingSchema.safeParse(raw);
      if (!parsed.success)
        return toAnswer(
          errorDraft('general', 'bad_input', 'I could not read that request. Please send it again as plain text.'),
        );
      const progress = options.progress ?? (() => undefined);
      progress(statusFor(route));
      return rendered(
        await this.runAgent(route, {
          question: parsed.data.text,
          incoming: parsed.data,
          history: [],
          progress,
          onPartialText: options.onPartialText,
          signal: options.signal,
        }),
      );
    });
  }

  private async counted(raw: Incoming, work: () => Promise<Answer>): Promise<Answer> {
    const started = performance.now();
    const answer = await work();
    const platform = typeof raw?.platform === 'string' && SURFACE_NAME.test(raw.platform) ? raw.platform : 'unknown';
    questionsTotal.inc({
      platform,
      agent: answer.agent,
      outcome: answer.error?.kind ?? (failedAnswers.has(answer) ? 'failed' : 'answered'),
    });
    answerSeconds.observe({ platform, agent: answer.agent }, (performance.now() - started) / 1000);
    return answer;
  }

  private async runAgent(route: Route, context: Omit<AgentContext, 'route' | 'model'>): Promise<AnswerDraft> {
    const agent = this.deps.agents[route.agent] ?? this.deps.agents.general;
    if (!agent) return emptyDraft('general', 'I cannot answer that kind of question yet.');
    return agent
      .handle({ ...context, route, model: this.deps.model })
      .catch((err: unknown) => this.failure(route.agent, err));
  }

  private async answer(raw: Incoming, options: HandleOptions): Promise<Answer> {
    const parsed = IncomingSchema.safeParse(raw);
    if (!parsed.success) {
      return toAnswer(
        errorDraft('general', 'bad_input', 'I could not read that message. Please send it again as plain text.'),
      );
    }
    const incoming = parsed.data;
    const progress = options.progress ?? (() => undefined);
    const question = this.stripMention(incoming.text);

    const problem = this.checkInput(question);
    if (problem) return toAnswer(errorDraft('general', 'bad_input', problem));

    const command = parseCommand(question, this.commands);
    if (command.kind === 'unknown') {
      const names = this.commands
        .list()
        .map((c) => `\`${c.name}\``)
        .join(', ');
      return toAnswer(
        errorDraft(
          'command',
          'bad_input',
          `I do not know the command \`${echo(command.name, 40)}\`. Commands I know: ${names}. ` +
            `Or just ask a question, e.g. "why did job 6802258254 fail?"`,
        ),
      );
    }
    if (command.kind === 'command') {
      const draft = await command.command
        .run({ incoming, args: command.args, registry: this.commands })
        .catch((err: unknown) => this.failure('command', err));
      return rendered(draft);
    }

    const key = threadKey(incoming);
    const history = options.newThread
      ? []
      : await this.deps.history.load(key).catch((err: unknown) => {
          this.reportStoreProblem('read', err);
          return [];
        });
    const fast = selectFast(question, history);
    if ('problem' in fast) {
      return toAnswer(
        errorDraft(
          'general',
          'bad_input',
          `${fast.problem}. Ask e.g. "why did job 6802258254 fail?" or "what is happening with task 46374283?"`,
        ),
      );
    }
    let route = fast.route;
    if (!fast.confident && this.deps.selector) {
      route = await this.deps.selector(question, history, route).catch((err: unknown) => {
        this.logger.warn({ err: String(err) }, 'model selection failed; using the fast path');
        return fast.route;
      });
    }
    this.logger.debug({ route }, 'routed');
    progress(statusFor(route));

    const draft = await this.runAgent(route, {
      question,
      incoming,
      history,
      progress,
      onPartialText: options.onPartialText,
      signal: options.signal,
    });
    const answer = rendered(draft);
    if (options.remember === false) return answer;
    if (options.deferHistorySave) {
      // SQLite writes synchronously on this thread: started after the answer's post has gone out
      // (setImmediate runs once pending I/O is written), it is no longer in the reply's latency.
      const saved = new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
        this.remember(key, history, question, answer, route),
      );
      saved.catch((err: unknown) => this.reportStoreProblem('write', err));
      options.deferHistorySave(saved);
    } else {
      await this.remember(key, history, question, answer, route).catch((err: unknown) =>
        this.reportStoreProblem('write', err),
      );
    }
    return answer;
  }

  private reportStoreProblem(what: 'read' | 'write', err: unknown): void {
    storeErrorsTotal.inc();
    const message =
      `thread history could not be ${what === 'read' ? 'read' : 'saved'} ` +
      `(${err instanceof Error ? err.message : String(err)})`;
    this.logger.warn({ err: message }, 'thread history unavailable');
    if (this.storeProblemReported) return;
    this.storeProblemReported = true;
    this.deps.onStoreProblem?.(message);
  }

  private checkInput(question: string): string | undefined {
    const max = this.deps.config.bot.maxMessageChars;
    if (question.trim() === '')
      return (
        'Your message was empty. Ask me about a PanDA job or task ("why did job 6802258254 fail?") ' +
        'or a PanDA concept ("what is a pilot?"), or say `help`.'
      );
    if (question.length > max)
      return (
        `Your message has ${question.length.toLocaleString('en-US')} characters; ` +
        `I read at most ${max.toLocaleString('en-US')}. ` +
        `Please ask a shorter question; paste a job or task id rather than a whole log.`
      );
    if (question.includes('\uFFFD'))
      return 'Your message contains bytes that are not valid UTF-8 text. Please send plain text.';
    return undefined;
  }

  private failure(agent: AnswerDraft['agent'], err: unknown): AnswerDraft {
    if (err instanceof AskPandaError) return errorDraft(agent, err.kind, err.message);
    this.logger.error(
      { err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) },
      'agent failed',
    );
    const draft = emptyDraft(
      agent,
      'Something went wrong on my side while answering. ' +
        'Please try again in a minute; if it keeps happening, tell the askpanda maintainers.',
    );
    failedDrafts.add(draft);
    return draft;
  }

  private async remember(key: string, history: Turn[], question: string, answer: Answer, route: Route): Promise<void> {
    const ids = {
      pandaid: numberOr(answer.facts.pandaid, route.pandaid),
      jeditaskid: numberOr(answer.facts.jeditaskid, route.jeditaskid),
    };
    const now = Date.now();
    const turnIds = answer.error
      ? {}
      : route.agent === 'job'
        ? ids
        : route.agent === 'task'
          ? { jeditaskid: ids.jeditaskid }
          : {};
    // The history loaded for this question is extended, not read again: one read, one write per answer.
    await this.deps.history.save(key, [
      ...history,
      { role: 'user', text: question, at: now, ...turnIds },
      { role: 'assistant', text: clipAssistantTurn(answer.text), agent: answer.agent, at: now, ...turnIds },
    ]);
  }
}

/** Answers that stand for a crash of an agent (counted as `failed` in the metrics). */
const failedDrafts = new WeakSet<AnswerDraft>();
const failedAnswers = new WeakSet<Answer>();
function rendered(draft: AnswerDraft): Answer {
  const answer = toAnswer(draft);
  if (failedDrafts.has(draft)) failedAnswers.add(answer);
  return answer;
}

/**
 * A long answer (a 12k-character job analysis) would push every earlier turn out of the history
 * budget; its opening (summary and first sections) is what a follow-up needs.
 */
const MAX_ASSISTANT_TURN_CHARS = 3_000;
function clipAssistantTurn(text: string): string {
  return text.length <= MAX_ASSISTANT_TURN_CHARS ? text : `${text.slice(0, MAX_ASSISTANT_TURN_CHARS)}…`;
}

function numberOr(value: unknown, fallback: number | undefined): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return Number(value);
  return fallback;
}

function statusFor(route: Route): string {
  switch (route.agent) {
    case 'job':
      return `is looking up job ${route.pandaid}…`;
    case 'task':
      return `is looking up task ${route.jeditaskid}…`;
    case 'queue':
      return 'is looking up queues in CRIC…';
    case 'documents':
      return 'is searching the documentation…';
    case 'error_code':
      return `is looking up ${route.errorCode?.component ?? 'error'} code ${route.errorCode?.code ?? ''}…`.replace(
        ' …',
        '…',
      );
    default:
      return 'is thinking…';
  }
}
