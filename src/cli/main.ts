/**
 * The `dirgate` command (bin/dirgate.mjs runs this under the project's
 * Node 24 through tsx): serve, sync, test-connection, connections (list,
 * add, update, show, delete), runs, findings, confirm, discard, token.
 */
import '../config/production-mode.js';
import { type Command, cliName, helpText, parseCommand, UsageError } from './command.js';
import { confirmCommand, discardCommand } from './commands/confirm.js';
import { connectionsCommand } from './commands/connections.js';
import { findingsCommand } from './commands/findings.js';
import { runsCommand } from './commands/runs.js';
import { serveCommand } from './commands/serve.js';
import { syncCommand } from './commands/sync.js';
import { testConnectionCommand } from './commands/test-connection.js';
import { tokenCommand } from './commands/token.js';
import { clean } from './output.js';

export const COMMANDS: readonly Command[] = [
  serveCommand,
  syncCommand,
  testConnectionCommand,
  connectionsCommand,
  runsCommand,
  findingsCommand,
  confirmCommand,
  discardCommand,
  tokenCommand,
];

function usage(): string {
  const width = Math.max(...COMMANDS.flatMap((c) => [c, ...(c.subcommands ?? [])]).map((c) => c.name.length));
  return [
    `Usage: ${cliName()} <command> [options]`,
    '',
    'dirgate: a GraphQL gateway caching an Active Directory / LDAP directory for a mail gateway.',
    '',
    'Commands:',
    ...COMMANDS.flatMap((c) => [c, ...(c.subcommands ?? [])]).map(
      (c) => `  ${c.name.padEnd(width)}  ${c.summary}`,
    ),
    '',
    `Run \`${cliName()} <command> --help\` for a command's options. Settings come from the`,
    'environment (PORT, HOST, DIRGATE_DATA_DIR, …), as for the service; see the README.',
    '',
  ].join('\n');
}

export async function runCli(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    process.stdout.write(topic ? helpText(topic) : usage());
    return name === undefined ? 2 : 0;
  }
  const top = COMMANDS.find((c) => c.name === name);
  if (!top) {
    process.stderr.write(`${cliName()}: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  // `connections add …`: the first argument names a subcommand when the command has some.
  const sub = top.subcommands?.find((c) => c.name === `${top.name} ${rest[0]}`);
  const command = sub ?? top;
  const args = sub ? rest.slice(1) : rest;
  try {
    const { values, positionals, help } = parseCommand(command, args);
    if (help) {
      process.stdout.write(helpText(command));
      return 0;
    }
    if (positionals.length > 0 && !command.arguments) {
      throw new UsageError(
        command.subcommands
          ? `unknown command "${command.name} ${positionals[0]}" (see: ${cliName()} ${command.name} --help)`
          : `unexpected argument "${positionals[0]}"`,
      );
    }
    return await command.run(values, positionals);
  } catch (err) {
    // Messages may carry a server's text (an LDAP error, an API message): cleaned like all output.
    const message = clean(err instanceof Error ? err.message : String(err));
    process.stderr.write(`${cliName()} ${command.name}: ${message}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

runCli(process.argv.slice(2)).then(
  (code) => {
    // Stores and sockets may keep the loop alive; the command is done.
    process.exitCode = code;
    setTimeout(() => process.exit(code), 100).unref();
  },
  (err: unknown) => {
    process.stderr.write(`${cliName()}: ${clean(err instanceof Error ? err.message : String(err))}\n`);
    process.exit(1);
  },
);
