/**
 * Sync runs as recorded: one type per status, so that what a run holds in
 * each (an end time once ended, counts once built, a reason when it failed
 * or was held) is written in the type, and the transitions between them
 * are the only way from one to the next.
 */
import type { PrincipalKind, SnapshotCounts } from './principal.js';

export type SyncStatus = 'NEVER' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'HELD';
export type SyncTrigger = 'SCHEDULE' | 'MANUAL' | 'STARTUP';
/** FULL reads every object; INCREMENTAL reads what changed since the served snapshot's watermark. */
export type SyncMode = 'FULL' | 'INCREMENTAL';
/**
 * Why a run asked to be incremental became a full one. The first three are
 * the gateway's own reasons; the rest are the directory's refusal of the
 * watermark (src/ldap/changes/errors.ts ChangeRefusal).
 */
export type IncrementalFallback =
  /** No snapshot yet, or one without a watermark (written before, or by a server that tracks none). */
  | 'NO_WATERMARK'
  /** The search base, a filter or what is read changed since the snapshot: its watermark says nothing of the new read. */
  | 'SETTINGS_CHANGED'
  /** The served snapshot is older than the mass-deletion hold it would be compared with (a held run waits). */
  | 'RUN_HELD'
  | 'NOT_SUPPORTED'
  | 'OTHER_SERVER'
  | 'INVOCATION_ID_CHANGED'
  | 'USN_WENT_BACKWARDS'
  | 'KIND_CHANGED'
  | 'COOKIE_REFUSED'
  | 'TOMBSTONE_LIFETIME_PASSED'
  /** Anything else the directory refused. */
  | 'REFUSED';
/** How an incremental run found deletions (src/ldap/changes/deletions.ts). */
export type DeletionCheck = 'TOMBSTONES' | 'CHANGE_LOG' | 'ID_COMPARISON';
export type SyncPhase = 'CONNECTING' | 'READING' | 'BUILDING' | 'SAVING' | 'DETECTING' | 'DONE';
/** The phases of a run in progress. */
export type ActivePhase = Exclude<SyncPhase, 'DONE'>;

/** An object a run removed, as it was before: once removed, the served view no longer names it. */
export interface ChangedObject {
  readonly id: string;
  readonly kind: PrincipalKind;
  /** Its display name, or its DN when it has none. */
  readonly name: string;
}

/** What a run changed, by principal id. Lists are capped; the counts are exact. */
export interface RunChanges {
  readonly added: readonly string[];
  readonly updated: readonly string[];
  readonly removed: readonly string[];
  /** The `removed` objects with their kind and name, in the same order. Absent from runs recorded before it was kept. */
  readonly removedObjects?: readonly ChangedObject[];
  readonly addedCount: number;
  readonly updatedCount: number;
  readonly removedCount: number;
}

interface RunFields {
  readonly id: string;
  readonly connectionId: string;
  readonly node: string;
  readonly trigger: SyncTrigger;
  readonly startedAt: string;
  /** The server it bound to, once bound. */
  readonly server: string | null;
  /** Entries read so far, for progress events. */
  readonly progress: number;
  /** Known once the snapshot is built. */
  readonly counts: SnapshotCounts | null;
  readonly changes: RunChanges | null;
  /** Absent from runs recorded before incremental runs existed: those were FULL. */
  readonly mode?: SyncMode;
  /** Asked for INCREMENTAL and run FULL: why (with `fallbackMessage`, the directory's words). */
  readonly fallback?: IncrementalFallback;
  readonly fallbackMessage?: string;
  /** INCREMENTAL runs, once their changes are read: how deletions were found. */
  readonly deletionCheck?: DeletionCheck;
  /**
   * INCREMENTAL runs: entries read for their id alone (ids stamped since the watermark,
   * tombstones, access-log entries, or every id when ids were compared), besides `progress`.
   */
  readonly idsRead?: number;
}

export interface RunningRun extends RunFields {
  readonly status: 'RUNNING';
  readonly phase: ActivePhase;
  readonly finishedAt: null;
  readonly error: null;
}

export interface SucceededRun extends RunFields {
  readonly status: 'SUCCEEDED';
  readonly phase: 'DONE';
  readonly finishedAt: string;
  readonly counts: SnapshotCounts;
  readonly error: null;
}

/** Would have removed more than the allowed share of the cache: staged, not served, until confirmed. */
export interface HeldRun extends RunFields {
  readonly status: 'HELD';
  readonly phase: 'DONE';
  readonly finishedAt: string;
  readonly counts: SnapshotCounts;
  readonly changes: RunChanges;
  readonly error: string;
}

export interface FailedRun extends RunFields {
  readonly status: 'FAILED';
  readonly phase: 'DONE';
  readonly finishedAt: string;
  readonly error: string;
  /**
   * The phase the run was in when it failed: what a reader is told instead
   * of the error's text. Absent from runs recorded before it was kept.
   */
  readonly failedPhase?: ActivePhase;
}

export type SyncRunRecord = RunningRun | SucceededRun | HeldRun | FailedRun;
export type EndedRun = Exclude<SyncRunRecord, RunningRun>;

export function startedRun(fields: {
  readonly id: string;
  readonly connectionId: string;
  readonly node: string;
  readonly trigger: SyncTrigger;
  readonly startedAt: string;
  readonly mode: SyncMode;
}): RunningRun {
  return {
    ...fields,
    status: 'RUNNING',
    phase: 'CONNECTING',
    finishedAt: null,
    server: null,
    counts: null,
    error: null,
    changes: null,
    progress: 0,
  };
}

/** A run in progress, further on. */
export function advanced(
  run: RunningRun,
  patch: Partial<
    Pick<
      RunningRun,
      | 'phase'
      | 'server'
      | 'progress'
      | 'counts'
      | 'changes'
      | 'mode'
      | 'fallback'
      | 'fallbackMessage'
      | 'deletionCheck'
      | 'idsRead'
    >
  >,
): RunningRun {
  return { ...run, ...patch };
}

const now = () => new Date().toISOString();

export function succeeded(run: SyncRunRecord, counts: SnapshotCounts, finishedAt = now()): SucceededRun {
  return { ...run, status: 'SUCCEEDED', phase: 'DONE', finishedAt, counts, error: null };
}

export function failed(run: SyncRunRecord, error: string, finishedAt = now()): FailedRun {
  const failedPhase =
    run.status === 'RUNNING' ? run.phase : run.status === 'FAILED' ? run.failedPhase : undefined;
  return {
    ...run,
    status: 'FAILED',
    phase: 'DONE',
    finishedAt,
    error,
    ...(failedPhase ? { failedPhase } : {}),
  };
}

export function held(
  run: SyncRunRecord,
  counts: SnapshotCounts,
  changes: RunChanges,
  error: string,
  finishedAt = now(),
): HeldRun {
  return { ...run, status: 'HELD', phase: 'DONE', finishedAt, counts, changes, error };
}
