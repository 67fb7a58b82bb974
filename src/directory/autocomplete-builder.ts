/**
 * Where the autocomplete index is built (autocomplete-build.ts). For a large
 * one, on a worker thread: at 100,000 users it is half of a view build, and
 * this thread meanwhile does the other half (display order, membership,
 * duplicate detection) and, during a sync, writes the snapshot. The worker
 * builds the address half and posts it, then the name keys; the account
 * keys are built by the caller from the address half (DirectoryView.create),
 * which keeps both threads busy until the end. A small index, or any when
 * the worker cannot serve, is built on the calling thread: the result is the
 * same.
 *
 * The worker is started when first needed, or ahead by warm() (a sync does
 * so when it starts reading), and stopped once it has no work left: an idle
 * isolate does not collect its garbage, and would hold the build's 150 MB
 * until the next sync.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../sync/logger.js';
import {
  type AddressParts,
  type AutocompleteSources,
  buildAddresses,
  collectKeys,
  finishKeys,
  type KeyParts,
} from './autocomplete-build.js';
import type { BuildReply, BuildRequest } from './autocomplete-worker.js';

/** An index under way; neither promise fails for a worker's sake. */
export interface AutocompleteJob {
  readonly addresses: Promise<AddressParts>;
  /** The name keys (the account keys are the caller's). */
  readonly names: Promise<KeyParts>;
}

export interface AutocompleteBuilder {
  build(sources: AutocompleteSources): AutocompleteJob;
}

function nameKeysHere(sources: AutocompleteSources, addresses: AddressParts): KeyParts {
  return finishKeys(collectKeys(sources.keys, addresses.owners, ['names']));
}

/** Builds on the calling thread. */
export const inThreadBuilder: AutocompleteBuilder = {
  build(sources) {
    const addresses = buildAddresses(sources.addresses);
    return {
      addresses: Promise.resolve(addresses),
      names: Promise.resolve(nameKeysHere(sources, addresses)),
    };
  },
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
  readonly addresses: PromiseWithResolvers<AddressParts>;
  readonly names: PromiseWithResolvers<KeyParts>;
}

export class WorkerAutocompleteBuilder implements AutocompleteBuilder {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextJob = 0;
  private closed = false;

  constructor(private readonly options: WorkerBuilderOptions) {}

  build(sources: AutocompleteSources): AutocompleteJob {
    if (
      this.closed ||
      sources.addresses.enabled.length < (this.options.minPrincipals ?? WORKER_MIN_PRINCIPALS)
    ) {
      return inThreadBuilder.build(sources);
    }
    let pending: Pending;
    try {
      pending = this.inWorker(sources);
    } catch (err) {
      this.warn(err);
      return inThreadBuilder.build(sources);
    }
    // Whatever the worker fails to deliver is built here, with one warning.
    let warned = false;
    const fallBack = (err: unknown): void => {
      if (!warned) this.warn(err);
      warned = true;
    };
    const addresses = pending.addresses.promise.catch((err: unknown) => {
      fallBack(err);
      return buildAddresses(sources.addresses);
    });
    const names = pending.names.promise.catch(async (err: unknown) => {
      fallBack(err);
      return nameKeysHere(sources, await addresses);
    });
    return { addresses, names };
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

  /** Stops the worker; builds after this run on the calling thread. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
  }

  private inWorker(sources: AutocompleteSources): Pending {
    const worker = this.spawn();
    const job = this.nextJob++;
    const pending: Pending = {
      worker,
      addresses: Promise.withResolvers<AddressParts>(),
      names: Promise.withResolvers<KeyParts>(),
    };
    this.pending.set(job, pending);
    // While a job is out, the worker keeps the process alive: its caller is waiting for it.
    worker.ref();
    worker.postMessage({ job, addresses: sources.addresses, keys: sources.keys } satisfies BuildRequest);
    return pending;
  }

  private settle(job: number): void {
    this.pending.delete(job);
    this.stopIdle();
  }

  private spawn(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker(this.options.entry ?? workerEntry);
    // A warmed worker waiting for its first job must not hold the process.
    worker.unref();
    worker.on('message', (reply: BuildReply) => {
      const pending = this.pending.get(reply.job);
      if (!pending) return;
      if ('addresses' in reply) {
        pending.addresses.resolve(reply.addresses);
        return;
      }
      if ('names' in reply) pending.names.resolve(reply.names);
      else fail(pending, new Error(reply.error));
      this.settle(reply.job);
    });
    // A promise already resolved ignores the rejection: only what is still owed fails.
    const fail = (pending: Pending, error: Error): void => {
      pending.addresses.reject(error);
      pending.names.reject(error);
    };
    const lost = (error: Error): void => {
      if (this.worker === worker) this.worker = null;
      // Only this worker's jobs: a stopped worker reports its exit after the next one has started.
      for (const [job, pending] of this.pending) {
        if (pending.worker !== worker) continue;
        fail(pending, error);
        this.pending.delete(job);
      }
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`autocomplete worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private warn(err: unknown): void {
    this.options.logger.warn(
      { err: err instanceof Error ? err.message : String(err) },
      'autocomplete worker failed; building on the main thread',
    );
  }
}

// The worker runs the same sources as this module: from TypeScript through
// autocomplete-worker-tsx.mjs, which registers tsx in the worker (npm start,
// the tests), or as JavaScript as it is.
const here = fileURLToPath(import.meta.url);
const workerEntry = new URL(`./autocomplete-worker${path.extname(here)}`, import.meta.url);
const tsxStarter = new URL('./autocomplete-worker-tsx.mjs', import.meta.url);

function startWorker(entry: URL): Worker {
  return entry.pathname.endsWith('.ts')
    ? new Worker(tsxStarter, { workerData: { entry: entry.href } })
    : new Worker(entry);
}
