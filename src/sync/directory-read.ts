/**
 * One run's reading: opens a session on the first server that binds, then
 * reads either everything (FULL) or what changed since the served
 * snapshot's watermark (INCREMENTAL), and hands back the new snapshot. The
 * session is closed before the snapshot is handed back.
 *
 * FULL: users, groups and (when asked) contacts concurrently, each kind on
 * its own connection to that same server, the snapshot built as pages
 * arrive. The server's watermark is read first, so that whatever is
 * committed during the read comes again in the next incremental run
 * instead of being missed.
 *
 * INCREMENTAL: the changes and deletions since the watermark, applied to
 * the served snapshot (incremental/apply-changes.ts). When that cannot be
 * done (no watermark, other settings, or the directory refuses the
 * watermark: another DC, a DC restored from backup, a refused cookie) the
 * same session reads in full, and the run says why (onFallback).
 */
import {
  type DirectoryFlavour,
  type DirectorySession,
  type LdapLimits,
  type LdapSettings,
  openSession,
  WatermarkRefusedError,
} from '../ldap/index.js';
import { type PrincipalKind, principalId, type Snapshot, type SnapshotMeta } from '../model/principal.js';
import type { DeletionCheck, IncrementalFallback, RunChanges, SyncMode } from '../model/run.js';
import type { SnapshotChange } from '../model/snapshot-change.js';
import { type AppliedChanges, applyChanges } from './incremental/apply-changes.js';
import { SnapshotBuilder } from './snapshot-builder.js';
import { SnapshotIndex } from './snapshot-index.js';

export interface DirectoryReadOptions {
  readonly connectionId: string;
  readonly runId: string;
  readonly settings: LdapSettings;
  readonly limits: LdapLimits;
  readonly signal: AbortSignal;
  /** What the run was asked to be. */
  readonly mode: SyncMode;
  /** The snapshot served now: where an incremental read starts. */
  readonly previous: Snapshot | null;
  /** The settings' readKey (read-key.ts): a snapshot with another one says nothing of this read. */
  readonly readKey: string;
  /** Called once the session is bound, before reading. */
  readonly onBound: (server: string, flavour: DirectoryFlavour) => void;
  /** Called with what the run's log should warn about (SRV targets refused as outside the domain). */
  readonly onWarning?: (message: string) => void;
  /** Asked for INCREMENTAL, reading in full: why. Called before the full read starts. */
  readonly onFallback?: (reason: IncrementalFallback, message: string) => void;
  /** Called with the number of entries read, at most every `progressIntervalMs`. */
  readonly onProgress: (entries: number) => void;
  readonly progressIntervalMs: number;
  /** Called once everything is read, before the snapshot is built. */
  readonly onRead: (stats: ReadTotals) => void;
}

interface ReadTotals {
  readonly entries: number;
  readonly skipped: number;
  readonly rangedRequests: number;
}

/** What an incremental read found, applied: the run takes its changes from here, not from a diff. */
export interface IncrementalResult {
  readonly changes: RunChanges;
  readonly change: SnapshotChange;
  readonly deletionCheck: DeletionCheck;
  /** Entries read for their id alone, where the reader counted them. */
  readonly idsRead: number | null;
  /** Why every id was compared, when the read would rather not have. */
  readonly comparedBecause: string | null;
}

export interface DirectoryReadResult {
  readonly snapshot: Snapshot;
  readonly server: string;
  /** Member DNs that named nothing the snapshot holds (outside the search base, or filtered out). */
  readonly unresolvedMembers: number;
  /** What was run: FULL, or INCREMENTAL with what it changed. */
  readonly incremental: IncrementalResult | null;
}

type SnapshotIdentity = Omit<SnapshotMeta, 'counts'>;

export async function readDirectory(options: DirectoryReadOptions): Promise<DirectoryReadResult> {
  const { settings, limits, signal } = options;
  const session = await openSession(settings, limits, signal);
  try {
    for (const warning of session.warnings) options.onWarning?.(warning);
    options.onBound(session.server, session.flavour);
    const kinds: PrincipalKind[] = ['USER', 'GROUP'];
    if (settings.includeContacts) kinds.push('CONTACT');
    if (options.mode === 'INCREMENTAL') {
      const start = incrementalStart(options);
      if (start.ok) {
        try {
          return await readIncrement(session, options, kinds, start.previous, start.since);
        } catch (err) {
          if (!(err instanceof WatermarkRefusedError)) throw err;
          options.onFallback?.(err.reason, err.message);
        }
      } else options.onFallback?.(start.reason, start.message);
    }
    return await readEverything(session, options, kinds);
  } finally {
    await session.close().catch(() => {});
  }
}

type IncrementalStart =
  | { readonly ok: true; readonly previous: Snapshot; readonly since: NonNullable<SnapshotMeta['watermark']> }
  | { readonly ok: false; readonly reason: IncrementalFallback; readonly message: string };

/** Whether the served snapshot can be the start of an incremental read with these settings. */
function incrementalStart(options: DirectoryReadOptions): IncrementalStart {
  const { previous } = options;
  const since = previous?.meta.watermark;
  if (!previous || !since) {
    return {
      ok: false,
      reason: 'NO_WATERMARK',
      message: previous
        ? 'the served snapshot has no watermark (read before incremental runs existed, or from a server that tracks no changes)'
        : 'there is no snapshot yet',
    };
  }
  if (previous.meta.readKey !== options.readKey) {
    return {
      ok: false,
      reason: 'SETTINGS_CHANGED',
      message:
        'the search base, a filter, an attribute or includeContacts changed since the served snapshot was read',
    };
  }
  return { ok: true, previous, since };
}

async function readIncrement(
  session: DirectorySession,
  options: DirectoryReadOptions,
  kinds: readonly PrincipalKind[],
  previous: Snapshot,
  since: NonNullable<SnapshotMeta['watermark']>,
): Promise<DirectoryReadResult> {
  const { signal } = options;
  // Kept from the run before (snapshot-index.ts): no table of the whole snapshot per run.
  const index = SnapshotIndex.of(previous);
  const read = await session.readChanges({
    since,
    kinds,
    knownGuids: index,
    records: previous.principals,
    guidOfDn: (dn) => index.guidOfDn(dn),
    signal,
  });
  const { changeSet } = read;
  const meta: SnapshotIdentity = {
    ...identity(options, session),
    watermark: changeSet.watermark,
  };
  const apply = {
    memberValues: session.flavour === 'ACTIVE_DIRECTORY' ? ('LINKED' as const) : ('LITERAL' as const),
    previousIdOfDn: (dn: string) => {
      const guid = index.guidOfDn(dn);
      return guid === undefined ? undefined : principalId(options.connectionId, guid);
    },
  };
  let changed = changeSet.changed;
  let applied: AppliedChanges = applyChanges(previous, changeSet, meta, apply);
  if (applied.rereadGroupsNaming.length > 0) {
    // Objects that entered the read (or, LITERAL, were renamed) may be named by groups that did not
    // change: those groups are read once and applied again, from the same previous snapshot.
    const groups = await session.readGroupsNaming(applied.rereadGroupsNaming, signal);
    if (groups.length > 0) {
      changed = [...changed, ...groups];
      applied = applyChanges(previous, { ...changeSet, changed }, meta, apply);
    }
  }
  SnapshotIndex.derive(applied.snapshot, applied.change);
  options.onRead({ entries: changed.length, skipped: 0, rangedRequests: read.rangedRequests });
  return {
    snapshot: applied.snapshot,
    server: session.server,
    unresolvedMembers: applied.unresolvedMembers,
    incremental: {
      changes: applied.changes,
      change: applied.change,
      deletionCheck: read.deletions,
      idsRead: read.idsRead ?? null,
      comparedBecause: read.comparedBecause ?? null,
    },
  };
}

async function readEverything(
  session: DirectorySession,
  options: DirectoryReadOptions,
  kinds: readonly PrincipalKind[],
): Promise<DirectoryReadResult> {
  const { signal } = options;
  // Before the read: a change committed while it runs is read again next time, never missed.
  const tracking = await session.tracking(options.previous?.meta.watermark ?? null, kinds, signal);
  const builder = new SnapshotBuilder(options.connectionId);
  let lastProgress = Date.now();
  const results = await Promise.all(
    kinds.map((kind) =>
      session.read(
        kind,
        (entries) => {
          builder.add(entries);
          if (Date.now() - lastProgress >= options.progressIntervalMs) {
            lastProgress = Date.now();
            options.onProgress(builder.size);
          }
        },
        signal,
      ),
    ),
  );
  options.onRead({
    entries: builder.size,
    skipped: results.reduce((n, r) => n + r.skipped, 0),
    rangedRequests: results.reduce((n, r) => n + r.rangedRequests, 0),
  });
  const snapshot = builder.build({
    ...identity(options, session),
    watermark: tracking.supported ? tracking.watermark : null,
  });
  return {
    snapshot,
    server: session.server,
    unresolvedMembers: builder.unresolvedMembers,
    incremental: null,
  };
}

function identity(options: DirectoryReadOptions, session: DirectorySession): SnapshotIdentity {
  return {
    connectionId: options.connectionId,
    runId: options.runId,
    createdAt: new Date().toISOString(),
    netbiosName: session.netbiosName,
    readKey: options.readKey,
  };
}
