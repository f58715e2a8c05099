// First: everything imported after this that writes to the console writes to stderr.
import './console-to-stderr.ts';
import { Command, CommanderError } from 'commander';
import { askCommand } from './ask.ts';
import { chatCommand } from './chat.ts';
import { serveCommand } from './serve.ts';
import { ingestCommand } from './ingest.ts';
import { digestCommand } from './digest.ts';
import { mcpCommand } from './mcp.ts';

/**
 * `askpanda` — every subcommand is one file in src/cli; each loads the configuration itself so
 * `--help` works with a broken or empty configuration.
 */
const program = new Command()
  .name('askpanda')
  .description(
    'Chat bot for PanDA users: explains job and task failures and answers PanDA documentation questions.\n' +
      'Configuration: config/default.yaml, overridden by environment variables (see README).',
  )
  .version(
    `0.1.0 (${process.env.ASKPANDA_RUNTIME === 'compiled' ? 'compiled code from dist/' : 'TypeScript sources through tsx'})`,
  )
  .exitOverride()
  // Options belong to the command they follow (`digest --json` and `digest run --json` differ).
  .enablePositionalOptions()
  .showHelpAfterError('(run askpanda --help for usage)');

program.addCommand(serveCommand());
program.addCommand(chatCommand());
program.addCommand(askCommand());
program.addCommand(ingestCommand());
program.addCommand(digestCommand());
program.addCommand(mcpCommand());
// addCommand() does not copy these settings; every subcommand reports usage errors the same way.
for (const command of program.commands)
  command.exitOverride().showHelpAfterError(`(run askpanda ${command.name()} --help for usage)`);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version exit 0; usage errors 2 (the message was already printed by commander).
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    throw err;
  }
}
