/** A row of the cluster node table, as each node publishes it. */

import type { DuplicateKind } from './finding.js';
import type { SnapshotCounts } from './principal.js';
import type { SyncRunRecord, SyncStatus } from './run.js';

/** One connection's state on one node. */
export interface ConnectionState {
  readonly connectionId: string;
  readonly status: SyncStatus;
  readonly activeServer: string | null;
  readonly lastRun: SyncRunRecord | null;
  readonly lastSuccessfulRun: SyncRunRecord | null;
  readonly counts: SnapshotCounts;
  /** A run held because it would remove too much of the cache, awaiting confirmation. */
  readonly heldRunId: string | null;
}

export interface FindingRecord {
  readonly id: string;
  readonly kind: DuplicateKind;
  readonly value: string;
  readonly principalIds: readonly string[];
  readonly connectionIds: readonly string[];
  readonly detectedAt: string;
  /**
   * Two or more of the principals are one directory object read through
   * connections whose search bases overlap. Absent in findings stored or
   * published by versions that predate it: false.
   */
  readonly sameObject?: boolean;
}

export interface NodeRow {
  readonly name: string;
  readonly lastSeenAt: string;
  readonly connections: readonly ConnectionState[];
  readonly findings: readonly FindingRecord[];
  /**
   * Connections whose cache the node keeps serving though the settings store
   * lost them (no tombstone): a warning in the node table. Absent in rows of
   * nodes that predate it.
   */
  readonly orphanedConnections?: readonly string[];
  /**
   * The node's IANA time zone, the one its schedules fire in. Absent in rows of nodes that
   * predate it.
   */
  readonly timeZone?: string;
}
