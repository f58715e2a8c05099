import type { AnswerDraft } from '../core/answer.ts';
import type { Incoming } from '../core/incoming.ts';

export interface CommandContext {
  incoming: Incoming;
  /** The words after the command name. */
  args: string[];
  registry: CommandRegistry;
}

export interface Command {
  name: string;
  /** One line for `help`. */
  summary: string;
  /** e.g. "subscribe <task id> [daily|weekly]" */
  usage: string;
  /**
   * Whether a message starting with this command's name (without / or !) is this command rather
   * than a question that happens to start with the same word. Omitted: only when at most three
   * words follow the name ("help me understand why job 6802258254 failed" is a question).
   */
  accepts?(args: readonly string[]): boolean;
  run(context: CommandContext): Promise<AnswerDraft>;
}

/** Built-in commands by name; later features (subscribe, feedback …) register theirs. */
export class CommandRegistry {
  private readonly commands = new Map<string, Command>();

  register(command: Command): this {
    this.commands.set(command.name.toLowerCase(), command);
    return this;
  }

  get(name: string): Command | undefined {
    return this.commands.get(name.toLowerCase());
  }

  list(): Command[] {
    return [...this.commands.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}

export type ParsedCommand =
  { kind: 'command'; command: Command; args: string[] } | { kind: 'unknown'; name: string } | { kind: 'none' };

/**
 * A message is a command when its first word is a registered command name and the command accepts
 * the words after it ("help", "subscribe task 46374283 weekdays at 09:30 tz Europe/Zurich"), or
 * when it starts with / or ! ("/foo" is an unknown command, not a question).
 */
export function parseCommand(text: string, registry: CommandRegistry): ParsedCommand {
  const match = text.trim().match(/^([/!])?([A-Za-z][\w-]*)(?:\s+([\s\S]*))?$/);
  if (!match) return { kind: 'none' };
  const [, prefix, name = '', rest = ''] = match;
  const command = registry.get(name);
  const args = rest.split(/\s+/).filter(Boolean);
  if (command && (prefix || (command.accepts ? command.accepts(args) : args.length <= 3)))
    return { kind: 'command', command, args };
  if (prefix) return { kind: 'unknown', name };
  return { kind: 'none' };
}
