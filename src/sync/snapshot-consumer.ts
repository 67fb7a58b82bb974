/**
 * The one seam between the sync engine and whatever serves snapshots (the
 * live directory). Every change of a connection's served snapshot — a run
 * that succeeded, a held run confirmed, a connection deleted — goes the
 * same way: the engine asks the consumer to prepare the connection's next
 * snapshot (or its removal) while it commits that change to the store, and
 * once the store has committed it, commits the preparation. What a client
 * reads after the run reports its end is therefore what the store holds.
 */
import type { Snapshot } from '../model/principal.js';
import type { SnapshotChange } from '../model/snapshot-change.js';

export interface PreparedSnapshot {
  /** Serves what was prepared (or what the served set has become since, if it moved meanwhile). */
  commit(): Promise<void>;
}

export interface SnapshotConsumer {
  /**
   * Builds what will serve once `next` replaces the connection's snapshot
   * (`null`: once the connection is gone), without serving it yet. The
   * engine drops a preparation whose store commit failed. `change`, given
   * for an incremental run, says how `next` differs from the snapshot the
   * run started from, so the consumer may patch what it holds instead of
   * rebuilding it; it may always ignore it and take `next` whole.
   */
  prepare(connectionId: string, next: Snapshot | null, change?: SnapshotChange): Promise<PreparedSnapshot>;
}
