/**
 * The worker thread that builds large autocomplete indexes: the address half
 * first, then the name keys (build-autocomplete.ts says why, and what the
 * calling thread does meanwhile). Whatever the worker fails to deliver is
 * built on the calling thread instead, with one warning: the result is the
 * same.
 *
 * The worker is started when first needed, or ahead by warm() (a sync does
 * so when it starts reading), and stopped once it has no work left: an idle
 * isolate does not collect its garbage, and would hold what its last build
 * left until the next one.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../model/logger.js';
import {
  type AddressParts,
  type AutocompleteSources,
  buildAddresses,
  collectKeys,
  finishKeys,
  type KeyParts,
} from './index-halves.js';
import type { BuildReply, BuildRequest } from './worker-entry.js';

interface AutocompleteWorkerOptions {
  /** Where the worker's start, stop and failures are told. */
  readonly logger: Logger;
}

/** The halves a worker builds; neither promise fails for the worker's sake. */
interface WorkerHalves {
  readonly addresses: Promise<AddressParts>;
  readonly names: Promise<KeyParts>;
}

interface Pending {
  readonly worker: Worker;
  readonly addresses: PromiseWithResolvers<AddressParts>;
  readonly names: PromiseWithResolvers<KeyParts>;
}

function nameKeysHere(sources: AutocompleteSources, addresses: AddressParts): KeyParts {
  return finishKeys(collectKeys(sources.keys, addresses.owners, ['names']));
}

export class AutocompleteWorker {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextJob = 0;
  private closed = false;

  constructor(private readonly options: AutocompleteWorkerOptions) {}

  /**
   * For buildAutocomplete only: the address half and the name keys of
   * `sources`, from the worker, or from this thread once closed.
   */
  halves(sources: AutocompleteSources): WorkerHalves {
    if (this.closed) return this.halvesHere(sources);
    let pending: Pending;
    try {
      pending = this.post(sources);
    } catch (err) {
      this.warn(err);
      return this.halvesHere(sources);
    }
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
    void this.stop(worker);
  }

  /** Stops the worker; builds after this run on the calling thread. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (worker) await this.stop(worker);
  }

  private halvesHere(sources: AutocompleteSources): WorkerHalves {
    const addresses = buildAddresses(sources.addresses);
    return {
      addresses: Promise.resolve(addresses),
      names: Promise.resolve(nameKeysHere(sources, addresses)),
    };
  }

  private post(sources: AutocompleteSources): Pending {
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
    const worker = startWorker();
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
    this.options.logger.debug({}, 'autocomplete worker started');
    return worker;
  }

  private async stop(worker: Worker): Promise<void> {
    this.worker = null;
    this.options.logger.debug({}, 'autocomplete worker stopped');
    await worker.terminate();
  }

  private warn(err: unknown): void {
    this.options.logger.warn(
      { err: err instanceof Error ? err.message : String(err) },
      'autocomplete worker failed; building on the main thread',
    );
  }
}

// The worker runs the same sources as this module: from TypeScript through
// worker-entry-tsx.mjs, which registers tsx in the worker (npm start, the
// tests), or as JavaScript as it is.
const here = fileURLToPath(import.meta.url);
const workerEntry = new URL(`./worker-entry${path.extname(here)}`, import.meta.url);
const tsxStarter = new URL('./worker-entry-tsx.mjs', import.meta.url);

function startWorker(): Worker {
  return workerEntry.pathname.endsWith('.ts')
    ? new Worker(tsxStarter, { workerData: { entry: workerEntry.href } })
    : new Worker(workerEntry);
}
