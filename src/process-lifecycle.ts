/**
 * The process's signals, from its first moment to its exit (RUNTIME.md,
 * "Signals"): SIGTERM or SIGINT in any state ends the process with exit 0
 * within 10 seconds.
 *
 * It is made before anything slow is loaded, so that a signal during
 * start-up is ours to handle: without a listener, the default action kills
 * the process by signal. A signal during start-up aborts `startup` (the
 * gateway stops at its next step); once serving, it runs the stop that
 * `serving` was given. Later signals are ignored: a terminal's Ctrl-C
 * reaches the process twice when a launcher forwards it as well.
 */
import type { Writable } from 'node:stream';

/** The part of a pino logger used here; a plain stderr writer until the real logger exists. */
export interface LifecycleLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;
const EARLY_SIGNALS = Symbol.for('dirgate.earlySignals');

export interface LifecycleOptions {
  /** The longest a stop may take before the process exits anyway (default 9 s: inside the contract's 10). */
  readonly budgetMs?: number;
  readonly exit?: (code: number) => void;
  readonly stderr?: Writable;
  /** Where signals come from (tests give an emitter of their own). */
  readonly source?: Pick<NodeJS.EventEmitter, 'on' | 'off'>;
  /** What the early-signal preload recorded (default: what bin/early-signals.mjs left). */
  readonly early?: { takeOver(): NodeJS.Signals[] } | undefined;
}

export class ProcessLifecycle {
  private readonly startup = new AbortController();
  private signalled: NodeJS.Signals | null = null;
  private stop: (() => Promise<void>) | null = null;
  private stopping: Promise<void> | null = null;
  private logger: LifecycleLogger;
  private readonly budgetMs: number;
  private readonly exit: (code: number) => void;
  private readonly source: Pick<NodeJS.EventEmitter, 'on' | 'off'>;
  private readonly onSignal = (signal: NodeJS.Signals) => this.handle(signal);

  constructor(options: LifecycleOptions = {}) {
    this.budgetMs = options.budgetMs ?? 9_000;
    this.exit = options.exit ?? ((code) => process.exit(code));
    const stderr = options.stderr ?? process.stderr;
    const write = (obj: object, msg: string) => {
      stderr.write(`dirgate: ${msg} ${JSON.stringify(obj)}\n`);
    };
    this.logger = { info: write, error: write };
    this.source = options.source ?? process;
    for (const signal of STOP_SIGNALS) this.source.on(signal, this.onSignal);
    // Signals recorded by bin/early-signals.mjs while the modules before this one loaded.
    const early =
      'early' in options
        ? options.early
        : (globalThis as { [EARLY_SIGNALS]?: { takeOver(): NodeJS.Signals[] } })[EARLY_SIGNALS];
    const first = early?.takeOver()[0];
    if (first) this.handle(first);
  }

  /** Aborted by the first signal. */
  get startupSignal(): AbortSignal {
    return this.startup.signal;
  }

  get signal(): NodeJS.Signals | null {
    return this.signalled;
  }

  useLogger(logger: LifecycleLogger): void {
    this.logger = logger;
  }

  /** From now on a signal runs `stop`, then exits 0; if a signal already came, that happens now. */
  serving(stop: () => Promise<void>): void {
    this.stop = stop;
    if (this.signalled) this.runStop();
  }

  /** Start-up gave up because of a signal: nothing is serving, so the process just ends. */
  startupStopped(): void {
    this.logger.info({ signal: this.signalled }, 'stopped during start-up');
    this.exit(0);
  }

  /** Stops listening (tests build several in one process). */
  dispose(): void {
    for (const signal of STOP_SIGNALS) this.source.off(signal, this.onSignal);
  }

  private handle(signal: NodeJS.Signals): void {
    if (this.signalled) return;
    this.signalled = signal;
    this.logger.info({ signal }, 'stopping');
    // The data is safe whenever the process ends (every write is atomic and durable), but a
    // service manager kills a process that outlives its grace period: end first, say why.
    setTimeout(() => {
      this.logger.error({ budgetMs: this.budgetMs }, 'shutdown took too long; exiting');
      this.exit(1);
    }, this.budgetMs).unref();
    this.startup.abort();
    if (this.stop) this.runStop();
  }

  private runStop(): void {
    const stop = this.stop;
    if (!stop || this.stopping) return;
    this.stopping = stop().then(
      () => {
        this.logger.info({}, 'stopped');
        this.exit(0);
      },
      (err: unknown) => {
        this.logger.error({ err }, 'shutdown failed');
        this.exit(1);
      },
    );
  }
}
