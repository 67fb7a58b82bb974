/** What every subcommand has: a name, a one-line summary, its options (node:util parseArgs) and --help. */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { commandSettings } from '../config/environment.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & {
  /** Shown in --help: what the value is, e.g. `ID`. */
  readonly value?: string;
  readonly help: string;
};

export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Lines after the usage line in --help. */
  readonly description: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** The arguments it takes after its options, for --help (e.g. `ID|NAME`); none when absent. */
  readonly arguments?: string;
  /** `dirgate connections add …`: commands under this one, chosen by the first argument. */
  readonly subcommands?: readonly Command[];
  run(values: ParsedValues, positionals: readonly string[]): Promise<number>;
}

export type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Options every command takes. */
export const COMMON_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  'data-dir': {
    type: 'string',
    value: 'DIR',
    help: 'data folder (default: $DIRGATE_DATA_DIR or ./data)',
  },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export class UsageError extends Error {}

export function cliName(): string {
  return commandSettings().name;
}

export function helpText(command: Command): string {
  const options = { ...command.options, ...COMMON_OPTIONS };
  const rows = Object.entries(options).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.value ? ` ${spec.value}` : ''}`;
    return [flag, spec.help] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  const subcommands = command.subcommands ?? [];
  const subWidth = Math.max(0, ...subcommands.map((c) => c.name.length));
  return [
    `Usage: ${cliName()} ${command.name} [options]${command.arguments ? ` ${command.arguments}` : ''}`,
    ...subcommands.map((c) => `       ${cliName()} ${c.name} …`),
    '',
    command.summary,
    '',
    command.description.trim(),
    '',
    ...(subcommands.length
      ? [
          'Commands:',
          ...subcommands.map((c) => `  ${c.name.padEnd(subWidth)}  ${c.summary}`),
          `(\`${cliName()} ${command.name} <command> --help\` for each one's options)`,
          '',
        ]
      : []),
    'Options:',
    ...rows.map(([flag, help]) => `  ${flag.padEnd(width)}  ${help}`),
    '',
  ].join('\n');
}

/** Parses argv for `command` (--data-dir stays among the values: cliConfig makes it DIRGATE_DATA_DIR). */
export function parseCommand(
  command: Command,
  argv: readonly string[],
): { values: ParsedValues; positionals: string[]; help: boolean } {
  const options: ParseArgsConfig['options'] = {};
  for (const [name, spec] of Object.entries({ ...command.options, ...COMMON_OPTIONS })) {
    const { value: _value, help: _help, ...config } = spec;
    options[name] = config;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const values = parsed.values as ParsedValues;
  return { values, positionals: parsed.positionals, help: values.help === true };
}

export function stringOption(values: ParsedValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** The values of a repeatable string option (`multiple: true`). */
export function stringsOption(values: ParsedValues, name: string): string[] {
  const v = values[name];
  return (Array.isArray(v) ? v : []).filter((s): s is string => typeof s === 'string');
}

/** Two flags that say opposite things (--enabled, --disabled): true, false, or undefined for neither. */
export function switchOption(values: ParsedValues, on: string, off: string): boolean | undefined {
  if (values[on] === true && values[off] === true)
    throw new UsageError(`--${on} and --${off} exclude each other`);
  if (values[on] === true) return true;
  if (values[off] === true) return false;
  return undefined;
}

/** The one argument a command takes (an id, say): refuses none or more. */
export function oneArgument(positionals: readonly string[], what: string): string {
  if (positionals.length === 0) throw new UsageError(`give the ${what}`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  return positionals[0] ?? '';
}
