/**
 * The cluster node table. Each node writes its own row (its connections'
 * states and its duplicate findings) into the shared settings store, on a
 * heartbeat and after every change; every node reads all rows from there.
 */

import type { Logger } from '../model/logger.js';
import type { NodeRow } from '../model/node.js';
import { SerialQueue } from '../model/serial-queue.js';
import type { SettingsStore } from '../store/settings-store.js';
import type { SyncEngine } from '../sync/sync-engine.js';
import type { LiveDirectory } from './live-directory.js';

export interface NodeTableDeps {
  readonly nodeName: string;
  readonly settings: SettingsStore;
  readonly engine: SyncEngine;
  readonly directory: LiveDirectory;
  readonly logger: Logger;
  /** How often the row is rewritten even without changes (default 15 s). */
  readonly heartbeatMs?: number;
}

export class NodeTable {
  private timer: NodeJS.Timeout | null = null;
  private readonly writes = new SerialQueue();

  constructor(private readonly deps: NodeTableDeps) {}

  /** This node's row as it is now. */
  ownRow(): NodeRow {
    return {
      name: this.deps.nodeName,
      lastSeenAt: new Date().toISOString(),
      connections: this.deps.engine.allStates(),
      findings: this.deps.directory.findings(),
      orphanedConnections: this.deps.engine.orphanedConnections(),
      // node-schedule fires cron expressions in the process's own zone: this one.
      timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    };
  }

  /** Every node's row; this node's from memory, so it is never stale here. */
  async rows(): Promise<NodeRow[]> {
    const own = this.ownRow();
    const others = (await this.deps.settings.listNodes()).filter((r) => r.name !== own.name);
    return [own, ...others].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Writes this node's row; writes are serialized so an older row never overwrites a newer one. */
  publish(): Promise<void> {
    return this.writes
      .run(() => this.deps.settings.putNode(this.ownRow()))
      .catch((err: unknown) => {
        this.deps.logger.warn({ err: (err as Error).message }, 'could not publish the node row');
      });
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.publish(), this.deps.heartbeatMs ?? 15_000);
    this.timer.unref();
    void this.publish();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.writes.idle();
  }
}
