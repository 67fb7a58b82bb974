/** Terminal output: aligned tables, a progress bar on a TTY, a few colours when they are wanted. */
import { outputSettings } from '../config/environment.js';

const colourWanted = (stream: NodeJS.WriteStream): boolean => {
  const output = outputSettings();
  return stream.isTTY === true && !output.noColor && !output.dumbTerminal;
};

export function paint(stream: NodeJS.WriteStream) {
  const on = colourWanted(stream);
  const wrap = (code: string) => (text: string) => (on ? `\u001b[${code}m${text}\u001b[0m` : text);
  return { bold: wrap('1'), dim: wrap('2'), red: wrap('31'), green: wrap('32'), yellow: wrap('33') };
}

/** Visible width of a string that may hold colour codes. */
function width(text: string): number {
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}

/** A plain, aligned table: a header row, then one row per item; right-aligns columns given. */
export function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  right: readonly number[] = [],
): string {
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => {
        const pad = ' '.repeat(Math.max(0, (widths[i] ?? 0) - width(cell)));
        return right.includes(i) ? pad + cell : i === cells.length - 1 ? cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
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
    const line = `${label} [${bar}]${pct} ${phase.toLowerCase()} · ${done} entries · ${formatDuration(elapsedMs)}`;
    if (this.tty) {
      if (line !== this.lastLine) this.stream.write(`\r\u001b[2K${line}`);
      this.lastLine = line;
    } else if (phase !== this.lastPhase) {
      this.stream.write(`${label}: ${phase.toLowerCase()} (${done} entries, ${formatDuration(elapsedMs)})\n`);
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
