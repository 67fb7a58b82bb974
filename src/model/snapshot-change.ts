/**
 * What an incremental run changed in a connection's snapshot, handed with
 * the new snapshot to those that can patch what they hold instead of
 * rebuilding it from the whole (the store writes a delta, the directory view
 * patches its indexes). Whoever gets one may always ignore it and take the
 * new snapshot whole: the change only saves work, it never carries anything
 * the snapshot does not.
 */
import type { PrincipalRecord, Snapshot } from './principal.js';

export interface SnapshotChange {
  /** The snapshot the new one was derived from: the one served when the run started. */
  readonly previous: Snapshot;
  /** The new snapshot's records that are new or differ from `previous`'s, in the new snapshot's order. */
  readonly upserted: readonly PrincipalRecord[];
  /** Ids of `previous`'s records that the new snapshot no longer holds. */
  readonly removed: readonly string[];
}
