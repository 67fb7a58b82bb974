/**
 * Keeps this node in line with the settings store: each reconcile reads
 * the listing, lets the engine follow it (new connections tracked, deleted
 * ones removed, lost ones kept as orphans) and the scheduler too. Local
 * changes, other nodes' change events and a timer all reconcile, one at a
 * time and in order, so that an older listing never undoes what a newer
 * one set up.
 */

import type { Logger } from '../model/logger.js';
import { SerialQueue } from '../model/serial-queue.js';
import type { SettingsStore } from '../store/settings-store.js';
import type { Scheduler } from './scheduler.js';
import type { SyncEngine } from './sync-engine.js';

export interface SettingsFollowerDeps {
  readonly settings: SettingsStore;
  readonly engine: SyncEngine;
  /** Null when schedules are off (DIRGATE_SCHEDULER=false). */
  readonly scheduler: Scheduler | null;
  readonly logger: Logger;
  /** This node's name: its own change events were reconciled when they were made. */
  readonly nodeName: string;
  /** How often the listing is read even without a change event (default 10 s). */
  readonly intervalMs?: number;
  /** After every reconcile (the node table publishes this node's row). */
  readonly onReconciled: () => void;
}

export class SettingsFollower {
  private readonly queue = new SerialQueue();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly deps: SettingsFollowerDeps) {}

  /** Reconciles now (queued behind any reconcile in progress); `startup` also starts stale caches' runs. */
  reconcile(startup = false): Promise<void> {
    return this.queue.run(async () => {
      if (this.stopped) return;
      const listing = await this.deps.settings.listing();
      await this.deps.engine.applyListing(listing);
      this.deps.scheduler?.reconcile(listing.connections, startup);
      this.deps.onReconciled();
    });
  }

  /** Reconciles on the timer and on every change another node announces, from now on. */
  follow(changes: AsyncIterable<{ readonly node: string }>): void {
    this.timer = setInterval(() => void this.reconcileLogged(), this.deps.intervalMs ?? 10_000);
    this.timer.unref();
    void (async () => {
      for await (const change of changes) {
        if (this.stopped) return;
        if (change.node !== this.deps.nodeName) await this.reconcileLogged();
      }
    })();
  }

  /** A reconcile whose failure (the settings store unreachable) is logged; the next one tries again. */
  reconcileLogged(): Promise<void> {
    return this.reconcile().catch((err: unknown) => {
      this.deps.logger.warn({ err: (err as Error).message }, 'reconcile failed');
    });
  }

  /** No reconcile or scheduled run starts after this; resolves once the reconcile in progress has ended. */
  stop(): Promise<void> {
    this.stopped = true;
    this.deps.scheduler?.stop();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return this.queue.idle();
  }
}
