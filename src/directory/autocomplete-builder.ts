/**
 * Where an autocomplete index is built (autocomplete-build.ts). A large one
 * on a worker thread: at 100,000 users it is half of a view build, and this
 * thread meanwhile does the other half (display order, membership, duplicate
 * detection) and, during a sync, writes the snapshot. A small one, or any
 * when the worker cannot serve, on the calling thread: the result is the
 * same.
 *
 * The worker is started when first needed, or ahead by warm() (a sync does
 * so when it starts reading), and stopped once it has no work left: an idle
 * isolate does not collect its garbage, and would hold the build's 150 MB
 * until the next sync.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../sync/logger.js';
import { type AutocompleteHalves, type AutocompleteSources, buildHalves } from './autocomplete-build.js';
import type { BuildReply, BuildRequest } from './autocomplete-worker.js';

export interface AutocompleteBuilder {
  /** Both halves of the index of these sources; never fails for a worker's sake. */
  build(sources: AutocompleteSources): Promise<AutocompleteHalves>;
}

/** Builds on the calling thread. */
export const inThreadBuilder: AutocompleteBuilder = {
  build: async (sources) => buildHalves(sources),
};

/**
 * Below this many principals a build takes about 30 ms: posting it to a
 * worker and back would cost about as much as it saves.
 */
export const WORKER_MIN_PRINCIPALS = 5000;

export interface WorkerBuilderOptions {
  readonly logger: Logger;
  /** Smaller sources are built on the calling thread (tests lower it). */
  readonly minPrincipals?: number;
  /** The worker's script (tests give one that fails); autocomplete-worker by default. */
  readonly entry?: URL;
}

interface Pending {
  readonly worker: Worker;
  readonly resolve: (halves: AutocompleteHalves) => void;
  readonly reject: (error: Error) => void;
}

export class WorkerAutocompleteBuilder implements AutocompleteBuilder {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextJob = 0;
  private closed = false;

  constructor(private readonly options: WorkerBuilderOptions) {}

  async build(sources: AutocompleteSources): Promise<AutocompleteHalves> {
    if (
      this.closed ||
      sources.addresses.enabled.length < (this.options.minPrincipals ?? WORKER_MIN_PRINCIPALS)
    ) {
      return buildHalves(sources);
    }
    try {
      return await this.inWorker(sources);
    } catch (err) {
      this.options.logger.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'autocomplete worker failed; building on the main thread',
      );
      return buildHalves(sources);
    }
  }

  /** Whether a worker thread is running (started, or building). */
  get running(): boolean {
    return this.worker !== null;
  }

  /** Starts the worker ahead of a build. */
  warm(): void {
    if (this.closed || this.worker) return;
    try {
      this.spawn();
    } catch (err) {
      this.options.logger.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'autocomplete worker did not start',
      );
    }
  }

  /** Stops the worker; builds after this run on the calling thread. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
  }

  private inWorker(sources: AutocompleteSources): Promise<AutocompleteHalves> {
    const worker = this.spawn();
    const job = this.nextJob++;
    const done = new Promise<AutocompleteHalves>((resolve, reject) =>
      this.pending.set(job, { worker, resolve, reject }),
    );
    // While a job is out, the worker keeps the process alive: its caller is waiting for it.
    worker.ref();
    const request: BuildRequest = { job, sources: { addresses: sources.addresses, keys: sources.keys } };
    worker.postMessage(request);
    return done.finally(() => {
      this.pending.delete(job);
      this.stopIdle();
    });
  }

  /**
   * Stops the worker unless it has a job. After each build, and after a sync
   * that warmed it but failed before its view build.
   */
  stopIdle(): void {
    const worker = this.worker;
    if (worker === null || [...this.pending.values()].some((p) => p.worker === worker)) return;
    this.worker = null;
    void worker.terminate();
  }

  private spawn(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.options.entry ?? workerEntry, { execArgv: workerExecArgv });
    // A warmed worker waiting for its first job must not hold the process.
    worker.unref();
    worker.on('message', (reply: BuildReply) => {
      const pending = this.pending.get(reply.job);
      if (!pending) return;
      if ('halves' in reply) pending.resolve(reply.halves);
      else pending.reject(new Error(reply.error));
    });
    const fail = (error: Error): void => {
      if (this.worker === worker) this.worker = null;
      // Only this worker's jobs: a stopped worker reports its exit after the next one has started.
      for (const pending of this.pending.values()) if (pending.worker === worker) pending.reject(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`autocomplete worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }
}

// The worker runs the same sources as this module: TypeScript through tsx
// when this file is TypeScript (npm start, tests), JavaScript otherwise. The
// loader is given by path: the working directory may not see this project.
const here = fileURLToPath(import.meta.url);
const workerEntry = new URL(`./autocomplete-worker${path.extname(here)}`, import.meta.url);
const workerExecArgv =
  path.extname(here) === '.ts'
    ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href]
    : [];
