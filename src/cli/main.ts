/**
 * The `dirgate` command (bin/dirgate.mjs runs this under the project's
 * Node 24 through tsx): serve, sync, test-connection, connections, token.
 */
import '../config/production-mode.js';
import { type Command, cliName, helpText, parseCommand, UsageError } from './command.js';
import { connectionsCommand } from './commands/connections.js';
import { serveCommand } from './commands/serve.js';
import { syncCommand } from './commands/sync.js';
import { testConnectionCommand } from './commands/test-connection.js';
import { tokenCommand } from './commands/token.js';

export const COMMANDS: readonly Command[] = [
  serveCommand,
  syncCommand,
  testConnectionCommand,
  connectionsCommand,
  tokenCommand,
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `Usage: ${cliName()} <command> [options]`,
    '',
    'dirgate: a GraphQL gateway caching an Active Directory / LDAP directory for a mail gateway.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
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
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`${cliName()}: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    const { values, positionals, help } = parseCommand(command, rest);
    if (help) {
      process.stdout.write(helpText(command));
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    return await command.run(values, positionals);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${cliName()} ${command.name}: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(
      `${cliName()} ${command.name}: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return 1;
  }
}

runCli(process.argv.slice(2)).then(
  (code) => {
    // Stores and sockets may keep the loop alive; the command is done.
    process.exitCode = code;
    setTimeout(() => process.exit(code), 100).unref();
  },
  (err: unknown) => {
    process.stderr.write(`${cliName()}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
