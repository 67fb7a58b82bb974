/**
 * The directory as served right now: the current DirectoryView, and the
 * duplicate findings that came with it. It is the sync engine's snapshot
 * consumer: the view that a change of a connection's snapshot will serve is
 * built while the change is committed to the store, and installed once it
 * is. Findings are persisted with the time each was first detected and
 * pushed as added/resolved to listeners.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../model/logger.js';
import type { FindingRecord } from '../model/node.js';
import type { Snapshot } from '../model/principal.js';
import { SerialQueue } from '../model/serial-queue.js';
import type { SnapshotChange } from '../model/snapshot-change.js';
import type { CacheStore } from '../store/cache-store.js';
import type { PreparedSnapshot, SnapshotConsumer } from '../sync/snapshot-consumer.js';
import type { SnapshotSet } from '../sync/snapshot-set.js';
import type { AutocompleteWorker } from './autocomplete/index.js';
import { DirectoryView } from './directory-view.js';
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
  /** The worker thread that builds large autocomplete indexes (default: none, all on this thread). */
  readonly autocomplete?: AutocompleteWorker;
}

export class LiveDirectory extends EventEmitter<LiveDirectoryEvents> implements SnapshotConsumer {
  private current: DirectoryView = DirectoryView.empty();
  /** The snapshots the current view was built from. */
  private currentSources: ReadonlyMap<string, Snapshot> = new Map();
  private detectedAt = new Map<string, string>();
  /** Views are installed one at a time, in the order their changes were committed. */
  private readonly installs = new SerialQueue();

  private readonly builder: AutocompleteWorker | undefined;

  constructor(private readonly deps: LiveDirectoryDeps) {
    super();
    this.builder = deps.autocomplete;
  }

  /** The view a request should hold for its whole duration. */
  get view(): DirectoryView {
    return this.current;
  }

  /** Builds the first view from the loaded snapshots, keeping the persisted detection times. */
  async load(): Promise<void> {
    for (const f of await this.deps.cache.getFindings()) this.detectedAt.set(f.id, f.detectedAt);
    const sources = new Map(this.deps.snapshots.current);
    const view = await this.build(sources);
    await this.installs.run(() => this.install(null, view, sources));
  }

  /**
   * Builds the view that will serve once `next` replaces the connection's
   * snapshot (or once the connection is gone, for null), from the snapshots
   * served now. Its commit installs it; if the served snapshots moved
   * meanwhile (another connection's change committed first), it builds
   * again from what they are then, so that no change is lost.
   *
   * With `change` (an incremental run), the view is the current one
   * patched (DirectoryView.patched), in a time that follows the change,
   * when the current view holds exactly the snapshots served but for
   * `change.previous` in the connection's place; else, and when the view
   * will not patch, it is built whole.
   */
  async prepare(
    connectionId: string,
    next: Snapshot | null,
    change?: SnapshotChange,
  ): Promise<PreparedSnapshot> {
    const base = new Map(this.deps.snapshots.current);
    if (next) base.set(connectionId, next);
    else base.delete(connectionId);
    const view = await this.viewOf(base, connectionId, next, change);
    return {
      commit: () =>
        this.installs.run(async () => {
          const served = new Map(this.deps.snapshots.current);
          const same = sameSnapshots(served, base);
          await this.install(
            connectionId,
            same ? view : await this.viewOf(served, connectionId, next, change),
            same ? base : served,
          );
        }),
    };
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
      sameObject: f.sameObject,
    };
  }

  /** The view of `target`: the current one patched with the change when it can be, else built whole. */
  private async viewOf(
    target: ReadonlyMap<string, Snapshot>,
    connectionId: string,
    next: Snapshot | null,
    change: SnapshotChange | undefined,
  ): Promise<DirectoryView> {
    const connectionDomains = await this.deps.connectionDomains();
    if (change && next && target.get(connectionId) === next) {
      const before = new Map(target);
      before.set(connectionId, change.previous);
      if (sameSnapshots(this.currentSources, before)) {
        const patched = this.current.patched({ connectionId, next, change, connectionDomains });
        if (patched !== null) return patched;
      }
    }
    return this.build(target, connectionDomains);
  }

  private async build(
    snapshots: ReadonlyMap<string, Snapshot>,
    domains?: ReadonlyMap<string, string>,
  ): Promise<DirectoryView> {
    return DirectoryView.create(
      {
        snapshots: [...snapshots.values()],
        connectionDomains: domains ?? (await this.deps.connectionDomains()),
      },
      this.builder,
    );
  }

  private async install(
    connectionId: string | null,
    view: DirectoryView,
    sources: ReadonlyMap<string, Snapshot>,
  ): Promise<void> {
    const before = this.current.findings;
    this.current = view;
    this.currentSources = sources;
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
        build: view.build,
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

/** Whether the two sets hold the very same snapshots, in the same order (a view lists connections in it). */
function sameSnapshots(a: ReadonlyMap<string, Snapshot>, b: ReadonlyMap<string, Snapshot>): boolean {
  if (a.size !== b.size) return false;
  const others = [...b];
  let i = 0;
  for (const [id, s] of a) {
    const [otherId, other] = others[i++] as [string, Snapshot];
    if (id !== otherId || s !== other) return false;
  }
  return true;
}
