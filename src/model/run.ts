/** Sync runs as recorded. */
import type { SnapshotCounts } from './principal.js';

export type SyncStatus = 'NEVER' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'HELD';
export type SyncTrigger = 'SCHEDULE' | 'MANUAL' | 'STARTUP';
export type SyncPhase = 'CONNECTING' | 'READING' | 'BUILDING' | 'SAVING' | 'DETECTING' | 'DONE';

/** What a run changed, by principal id. Lists are capped; the counts are exact. */
export interface RunChanges {
  readonly added: readonly string[];
  readonly updated: readonly string[];
  readonly removed: readonly string[];
  readonly addedCount: number;
  readonly updatedCount: number;
  readonly removedCount: number;
}

export interface SyncRunRecord {
  readonly id: string;
  readonly connectionId: string;
  readonly node: string;
  readonly trigger: SyncTrigger;
  readonly status: SyncStatus;
  readonly phase: SyncPhase;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly server: string | null;
  readonly counts: SnapshotCounts | null;
  readonly error: string | null;
  readonly changes: RunChanges | null;
  /** Entries read so far, for progress events. */
  readonly progress: number;
}
