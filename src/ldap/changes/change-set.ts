/**
 * One incremental read, whole: the changed entries since a USN or TIMESTAMP
 * watermark, then what was deleted or left the read, as the ChangeSet an
 * applier takes, at the cost of the change wherever the server allows:
 *
 * 1. the server's next watermark (and, on AD, the tombstone lifetime check);
 * 2. how deletions will be seen: AD tombstones when this account sees them,
 *    else OpenLDAP's access log when it is trusted for the window, else a
 *    read of every id (ID_COMPARISON, the only way that needs no help);
 * 3. unless ids are compared, the ids stamped since the watermark in the
 *    whole naming context (stamped-ids.ts): read BEFORE the changed entries,
 *    so that any of them still under the base as one of the kinds is among
 *    the changed entries, and a known one that is not has left the read;
 * 4. the changed entries, each kind through the full read's own reader;
 * 5. the deletions, by the way chosen (falling back to comparing ids when a
 *    tombstone read is refused or the log cannot name a deletion).
 *
 * An object both read as changed and found deleted (deleted between the two
 * reads) counts as deleted: the deletion is the later news.
 */

import type { ChangeLogState } from '../../model/watermark.js';
import type { KnownIds } from '../types.js';
import { changeLogState, type LogTrust, logTrust, readLoggedDeletions } from './access-log.js';
import { compareIds, type DeletionMethod, readTombstones, tombstonesVisible } from './deletions.js';
import {
  type ChangedEntries,
  nextWatermark,
  type ReadChangesOptions,
  readChangedEntries,
} from './read-changes.js';
import { readStampedIds, type StampedIds } from './stamped-ids.js';
import { assertWithinTombstoneLifetime } from './tombstone-lifetime.js';
import type { ChangeSet, Watermark } from './types.js';
import { formatGeneralizedTime, parseGeneralizedTime, TIMESTAMP_OVERLAP_SECONDS } from './watermark.js';

export interface ReadChangeSetOptions extends ReadChangesOptions {
  /** Every id of the snapshot the watermark belongs to, of the kinds read. */
  readonly knownGuids: KnownIds;
  /**
   * The snapshot's id of the object it holds at this DN (any spelling of it), or undefined.
   * Used with OpenLDAP's access log when the directory's ids are not its entryUUIDs (the log
   * names a deleted entry by DN and entryUUID). Without it, such a deletion under the base
   * makes the read compare ids.
   */
  readonly idOfDn?: ((dn: string) => string | undefined) | undefined;
}

export interface ChangeSetRead {
  readonly changeSet: ChangeSet;
  readonly deletions: DeletionMethod;
  readonly rangedRequests: number;
  /** Entries read whole: the changed objects. */
  readonly entriesRead?: number;
  /** Entries read for their id alone: stamped ids, tombstones, access log entries, or every id when compared. */
  readonly idsRead?: number;
  /** Why ids were compared when the read wanted not to (no tombstones visible, a log not trusted, …). */
  readonly comparedBecause?: string;
}

type Plan =
  | { readonly method: 'TOMBSTONES'; readonly usn: string }
  | { readonly method: 'CHANGE_LOG'; readonly log: ChangeLogState; readonly since: string }
  | { readonly method: 'ID_COMPARISON'; readonly because: string };

/** The start of the window a TIMESTAMP watermark's read covers: its time less the overlap. */
function windowStart(time: string): string {
  const date = parseGeneralizedTime(time);
  if (!date) throw new RangeError(`not a generalized time: ${time}`);
  return formatGeneralizedTime(new Date(date.getTime() - TIMESTAMP_OVERLAP_SECONDS * 1000));
}

async function plan(options: ReadChangeSetOptions, next: Watermark): Promise<Plan> {
  const { connection, rootDse, watermark: stored, signal } = options;
  if (stored.kind === 'USN') {
    if (await tombstonesVisible(connection, rootDse, signal))
      return { method: 'TOMBSTONES', usn: stored.usn };
    return { method: 'ID_COMPARISON', because: 'this account sees no tombstones' };
  }
  if (stored.kind !== 'TIMESTAMP') return { method: 'ID_COMPARISON', because: 'no change log' };
  // The log as the next watermark recorded it, read before anything else.
  const current = next.kind === 'TIMESTAMP' ? next.changeLog : undefined;
  if (!current) return { method: 'ID_COMPARISON', because: 'the server has no readable access log' };
  const since = windowStart(stored.time);
  const trust: LogTrust = await logTrust({ connection, recorded: stored.changeLog, current, since, signal });
  if (!trust.trusted) return { method: 'ID_COMPARISON', because: trust.reason };
  return { method: 'CHANGE_LOG', log: current, since };
}

interface Found {
  readonly deletedGuids: readonly string[];
  readonly idsRead: number;
}

/** Deletions by the plan; null when it cannot say (then ids are compared), with why. */
async function deletionsByPlan(
  options: ReadChangeSetOptions,
  chosen: Exclude<Plan, { method: 'ID_COMPARISON' }>,
  stamped: StampedIds,
  read: ChangedEntries,
): Promise<Found | string> {
  const { connection, rootDse, signal } = options;
  if (chosen.method === 'TOMBSTONES') {
    const ids = await readTombstones({ connection, rootDse, usn: chosen.usn, signal });
    if (ids === null) return 'the tombstone read was refused';
    return { deletedGuids: ids, idsRead: ids.length };
  }
  const alive = new Map(stamped.ids);
  for (const entry of read.changed) alive.set(entry.guid, entry.dn);
  const logged = await readLoggedDeletions({
    connection,
    log: chosen.log,
    limits: options.limits,
    searchBase: options.searchBase,
    since: chosen.since,
    knownGuids: options.knownGuids,
    alive,
    idOfDn: options.idOfDn,
    signal,
  });
  if (!logged.ok) return logged.reason;
  // A purge while the log was read may have taken entries of the window: asked again after.
  const after = await changeLogState(connection, rootDse, options.searchBase, signal);
  if (!after) return `the access log ${chosen.log.base} is no longer readable`;
  if (after.minCsn !== chosen.log.minCsn) {
    const trust = await logTrust({
      connection,
      recorded: chosen.log,
      current: after,
      since: chosen.since,
      signal,
    });
    if (!trust.trusted) return trust.reason;
  }
  return { deletedGuids: logged.deletedGuids, idsRead: logged.entriesRead };
}

export async function readChangeSet(options: ReadChangeSetOptions): Promise<ChangeSetRead> {
  const { connection, rootDse, watermark: stored, knownGuids, signal } = options;
  const next = await nextWatermark(options);
  await assertWithinTombstoneLifetime(connection, rootDse, stored, { now: options.now, signal });
  let chosen = await plan(options, next);
  const stamped =
    chosen.method === 'ID_COMPARISON' ? null : await readStampedIds({ ...options, since: stored });
  if (chosen.method !== 'ID_COMPARISON' && stamped === null) {
    chosen = { method: 'ID_COMPARISON', because: 'no naming context holds the search base' };
  }
  const read = await readChangedEntries(options, next);

  let method: DeletionMethod = chosen.method;
  let comparedBecause = chosen.method === 'ID_COMPARISON' ? chosen.because : undefined;
  let idsRead = stamped?.entriesRead ?? 0;
  const deleted = new Set<string>();
  const found =
    chosen.method === 'ID_COMPARISON' || !stamped
      ? null
      : await deletionsByPlan(options, chosen, stamped, read);
  if (found !== null && typeof found !== 'string') {
    for (const id of found.deletedGuids) deleted.add(id);
    idsRead += found.idsRead;
    // Known, stamped since the watermark, yet not among the changed entries: left the read.
    const changedIds = new Set(read.changed.map((entry) => entry.guid));
    for (const id of stamped?.ids.keys() ?? [])
      if (knownGuids.has(id) && !changedIds.has(id)) deleted.add(id);
  } else {
    if (typeof found === 'string') comparedBecause = found;
    method = 'ID_COMPARISON';
    const compared = await compareIds({ ...options, knownGuids });
    for (const id of compared.deletedGuids) deleted.add(id);
    idsRead += compared.idsRead;
  }
  return {
    changeSet: {
      changed: read.changed.filter((entry) => !deleted.has(entry.guid)),
      deletedGuids: [...deleted],
      watermark: read.watermark,
    },
    deletions: method,
    rangedRequests: read.rangedRequests,
    entriesRead: read.changed.length,
    idsRead,
    ...(comparedBecause === undefined ? {} : { comparedBecause }),
  };
}
