/**
 * Terminal output: aligned tables, a progress bar on a TTY, a few colours when they are wanted,
 * and the one rule for text that came from elsewhere (a directory, the API, the data folder):
 * it reaches the terminal only through `clean`, so a name, DN or server error text cannot move
 * the cursor, retitle the window, rewrite the line or reorder what is shown. `paint`, `line`,
 * `table` and `fields` clean every text they are given; only this module's own styling and the
 * commands' literal text (template strings of `line`) carry control characters.
 */
import { outputSettings } from '../config/environment.js';

/**
 * What a terminal would act on rather than show: escape sequences (CSI, OSC, DCS and the other
 * string sequences, two-character ESC sequences) whole, the 8-bit CSI and OSC forms, every other
 * C0 control but newline and tab (so also CR and backspace, which overwrite what was shown),
 * DEL, the C1 controls, and the bidirectional overrides and isolates (U+202A–202E, U+2066–2069),
 * which make text read in another order than it is stored.
 */
const TERMINAL_CONTROL = new RegExp(
  [
    '\\u001b\\[[0-?]*[ -/]*[@-~]', // CSI … final byte
    '\\u001b\\][^\\u0007\\u001b\\u009c]*(?:\\u0007|\\u001b\\\\|\\u009c)', // OSC … BEL or ST
    '\\u001b[PX^_][^\\u001b\\u009c]*(?:\\u001b\\\\|\\u009c)', // DCS, SOS, PM, APC … ST
    '\\u001b[ -/]*[0-~]', // other ESC sequences (and an unterminated string sequence's introducer)
    '\\u009b[0-?]*[ -/]*[@-~]', // 8-bit CSI
    '\\u009d[^\\u0007\\u009c]*(?:\\u0007|\\u009c)', // 8-bit OSC
    '[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069]', // what is left
  ].join('|'),
  'g',
);

/**
 * Outside text made safe for a terminal (see TERMINAL_CONTROL). `inline`: for one line of a
 * table or a field, newlines and tabs become spaces too.
 */
export function clean(text: string, options: { readonly inline?: boolean } = {}): string {
  const safe = text.replace(TERMINAL_CONTROL, '');
  return options.inline ? safe.replace(/[\n\t]/g, ' ') : safe;
}

/** Output this module built (its colour codes included), safe to write as it is. */
export class Styled {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** A value for `line`, `table` or `fields`: strings and numbers are cleaned, Styled kept. */
export type Text = Styled | string | number | null | undefined;

function safeText(value: Text, inline: boolean): string {
  if (value instanceof Styled) return value.text;
  if (value === null || value === undefined) return '';
  return clean(String(value), { inline });
}

/**
 * A line of output: the template's literal parts as written, every interpolated value cleaned
 * (Styled values kept). `line\`${c.bold(name)} failed: ${error}\``
 */
export function line(strings: TemplateStringsArray, ...values: readonly Text[]): Styled {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += safeText(value, false) + (strings[i + 1] ?? '');
  });
  return new Styled(out);
}

/** Writes lines (each Styled, from this module) to the stream, one per line. */
export function print(stream: NodeJS.WritableStream, ...lines: readonly Styled[]): void {
  if (lines.length) stream.write(`${lines.map((l) => l.text).join('\n')}\n`);
}

/**
 * JSON for scripts: what the API said, unchanged in value. JSON.stringify escapes C0 controls
 * (ESC included); DEL, the C1 controls and the bidi controls are escaped here too (\uXXXX), so
 * that JSON shown on a terminal is as inert as a table.
 */
export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2).replace(
    /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )}\n`;
}

const colourWanted = (stream: NodeJS.WriteStream): boolean => {
  const output = outputSettings();
  return stream.isTTY === true && !output.noColor && !output.dumbTerminal;
};

export function paint(stream: NodeJS.WriteStream) {
  const on = colourWanted(stream);
  const wrap =
    (code: string) =>
    (text: Text): Styled => {
      const safe = safeText(text, false);
      return new Styled(on ? `\u001b[${code}m${safe}\u001b[0m` : safe);
    };
  return { bold: wrap('1'), dim: wrap('2'), red: wrap('31'), green: wrap('32'), yellow: wrap('33') };
}

/** Visible width of a string that may hold colour codes. */
function width(text: string): number {
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}

/** A plain, aligned table: a header row, then one row per item; right-aligns columns given. */
export function table(
  headers: readonly string[],
  rows: readonly (readonly Text[])[],
  right: readonly number[] = [],
): Styled {
  const cells = rows.map((r) => r.map((cell) => safeText(cell, true)));
  const widths = headers.map((h, i) => Math.max(width(h), ...cells.map((r) => width(r[i] ?? ''))));
  const format = (row: readonly string[]) =>
    row
      .map((cell, i) => {
        const pad = ' '.repeat(Math.max(0, (widths[i] ?? 0) - width(cell)));
        return right.includes(i) ? pad + cell : i === row.length - 1 ? cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  return new Styled([format(headers), ...cells.map(format)].join('\n'));
}

/** Settings as aligned `label  value` lines, indented; rows with a null value are left out. */
export function fields(rows: readonly (readonly [string, Text])[], indent = '  '): Styled {
  const shown = rows.filter(([, value]) => value !== null && value !== undefined);
  const labelWidth = Math.max(0, ...shown.map(([label]) => label.length));
  return new Styled(
    shown
      .map(([label, value]) => `${indent}${label.padEnd(labelWidth)}  ${safeText(value, true)}`)
      .join('\n'),
  );
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** "3 min ago", or the date for anything older than a day. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  return iso.slice(0, 16).replace('T', ' ');
}

/**
 * A one-line progress display on stderr, redrawn in place on a terminal; on
 * anything else it prints a line only when the phase changes (logs stay clean).
 */
export class Progress {
  private lastLine = '';
  private lastPhase = '';
  private readonly tty: boolean;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = stream.isTTY === true;
  }

  /** `expected`: the previous run's total, for a percentage; null when unknown. */
  update(label: string, phase: string, done: number, expected: number | null, elapsedMs: number): void {
    const barWidth = 24;
    let bar: string;
    if (phase === 'DONE') bar = '='.repeat(barWidth);
    else if (expected && expected > 0) {
      const share = Math.min(1, done / expected);
      const filled = Math.round(share * barWidth);
      bar =
        '='.repeat(filled) + (filled < barWidth ? '>' : '') + ' '.repeat(Math.max(0, barWidth - filled - 1));
    } else {
      // Unknown total: a bouncing block.
      const pos = Math.floor(elapsedMs / 120) % (2 * (barWidth - 3));
      const at = pos < barWidth - 3 ? pos : 2 * (barWidth - 3) - pos;
      bar = `${' '.repeat(at)}<=>${' '.repeat(barWidth - 3 - at)}`;
    }
    const pct = expected && phase !== 'DONE' ? ` ${Math.min(99, Math.floor((done / expected) * 100))}%` : '';
    // The label is a connection's name: outside text.
    const name = clean(label, { inline: true });
    const shown = `${name} [${bar}]${pct} ${phase.toLowerCase()} · ${done} entries · ${formatDuration(elapsedMs)}`;
    if (this.tty) {
      if (shown !== this.lastLine) this.stream.write(`\r\u001b[2K${shown}`);
      this.lastLine = shown;
    } else if (phase !== this.lastPhase) {
      this.stream.write(`${name}: ${phase.toLowerCase()} (${done} entries, ${formatDuration(elapsedMs)})\n`);
    }
    this.lastPhase = phase;
  }

  /** Ends the in-place line so that what follows starts on its own line. */
  end(): void {
    if (this.tty && this.lastLine) this.stream.write('\n');
    this.lastLine = '';
    this.lastPhase = '';
  }
}
