/**
 * The directory as served right now: the current DirectoryView, rebuilt
 * whenever a connection's snapshot is swapped in or removed, and the
 * duplicate findings that came with it. Findings are persisted with the
 * time each was first detected and pushed as added/resolved to listeners.
 */
import { EventEmitter } from 'node:events';
import type { FindingRecord } from '../model/node.js';
import type { Snapshot } from '../model/principal.js';
import type { CacheStore } from '../store/cache-store.js';
import type { Logger } from '../sync/logger.js';
import type { SnapshotSet } from '../sync/snapshot-set.js';
import { type AutocompleteBuilder, inThreadBuilder } from './autocomplete-builder.js';
import { DirectoryView, emptyView } from './directory-view.js';
import { type DuplicateFinding, diffFindings } from './duplicate-detection.js';

export interface FindingsChange {
  /** The connection whose sync (or deletion) caused the change. */
  readonly connectionId: string;
  readonly added: readonly FindingRecord[];
  readonly resolved: readonly string[];
}

export interface LiveDirectoryEvents {
  findings: [FindingsChange];
  view: [DirectoryView];
}

export interface LiveDirectoryDeps {
  readonly snapshots: SnapshotSet;
  readonly cache: CacheStore;
  /** The mail domain of every connection, read when a view is built. */
  readonly connectionDomains: () => Promise<ReadonlyMap<string, string>>;
  readonly logger: Logger;
  /** Where autocomplete indexes are built (default: on this thread). */
  readonly autocomplete?: AutocompleteBuilder;
}

export class LiveDirectory extends EventEmitter<LiveDirectoryEvents> {
  private current: DirectoryView = emptyView();
  private detectedAt = new Map<string, string>();
  private queue: Promise<void> = Promise.resolve();

  private readonly builder: AutocompleteBuilder;

  constructor(private readonly deps: LiveDirectoryDeps) {
    super();
    this.builder = deps.autocomplete ?? inThreadBuilder;
  }

  /** The view a request should hold for its whole duration. */
  get view(): DirectoryView {
    return this.current;
  }

  /** Builds the first view from the loaded snapshots, keeping the persisted detection times. */
  async load(): Promise<void> {
    for (const f of await this.deps.cache.getFindings()) this.detectedAt.set(f.id, f.detectedAt);
    await this.rebuild(null);
  }

  /** Rebuilds after a swap; rebuilds run one after another in the order asked. */
  rebuild(connectionId: string | null): Promise<void> {
    const next = this.queue.then(() => this.build(connectionId));
    this.queue = next.catch(() => {});
    return next;
  }

  /** The findings of a view (the current one by default), with the time each was first detected. */
  findings(view: DirectoryView = this.current): FindingRecord[] {
    return view.findings.map((f) => this.record(f, view));
  }

  private record(f: DuplicateFinding, view: DirectoryView = this.current): FindingRecord {
    const connectionIds = new Set<string>();
    for (const id of f.principalIds) {
      const p = view.byId(id);
      if (p) connectionIds.add(p.connectionId);
    }
    return {
      id: f.id,
      kind: f.kind,
      value: f.value,
      principalIds: f.principalIds,
      connectionIds: [...connectionIds].sort(),
      detectedAt: this.detectedAt.get(f.id) ?? new Date().toISOString(),
    };
  }

  /**
   * Builds the view that will serve once `snapshot` replaces the
   * connection's current one, without serving it yet: the sync engine does
   * this while the snapshot is being written to disk. The returned commit
   * installs it (or rebuilds, if other snapshots changed meanwhile).
   */
  async prepare(connectionId: string, snapshot: Snapshot): Promise<() => Promise<void>> {
    const base = new Map(this.deps.snapshots.current);
    base.set(connectionId, snapshot);
    const view = await DirectoryView.create(
      { snapshots: [...base.values()], connectionDomains: await this.deps.connectionDomains() },
      this.builder,
    );
    return () => {
      const next = this.queue.then(() => {
        const current = this.deps.snapshots.current;
        const unchanged = current.size === base.size && [...base].every(([id, s]) => current.get(id) === s);
        return unchanged ? this.install(connectionId, view) : this.build(connectionId);
      });
      this.queue = next.catch(() => {});
      return next;
    };
  }

  private async build(connectionId: string | null): Promise<void> {
    const view = await DirectoryView.create(
      {
        snapshots: [...this.deps.snapshots.current.values()],
        connectionDomains: await this.deps.connectionDomains(),
      },
      this.builder,
    );
    await this.install(connectionId, view);
  }

  private async install(connectionId: string | null, view: DirectoryView): Promise<void> {
    const before = this.current.findings;
    this.current = view;
    this.emit('view', view);
    const now = new Date().toISOString();
    const live = new Map<string, string>();
    for (const f of view.findings) live.set(f.id, this.detectedAt.get(f.id) ?? now);
    this.detectedAt = live;
    const records = this.findings();
    await this.deps.cache.putFindings(records);
    this.deps.logger.info(
      {
        connectionId,
        principals: view.size,
        findings: records.length,
        ...view.timings,
      },
      'directory view built',
    );
    if (connectionId !== null) {
      const { added, resolved } = diffFindings(before, view.findings);
      if (added.length > 0 || resolved.length > 0) {
        this.emit('findings', { connectionId, added: added.map((f) => this.record(f)), resolved });
      }
    }
  }
}
