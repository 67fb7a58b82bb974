/**
 * Applies what an incremental read found (changed entries, deleted ids) to
 * the snapshot it started from, giving the snapshot a full read of the
 * directory as it is now would build, and what the run changed, as
 * diffSnapshots would list it. Pure. Cost: a record (addresses, flags) per
 * changed entry, one pass over the previous records (kept by reference when
 * untouched), and a DN index only when a changed group has members to
 * resolve; unchanged records are never recomputed.
 *
 * The rules, and why each gives what a full build gives:
 * - A changed entry replaces the record of the same id, wherever it is: a
 *   rename or a move keeps the id (objectGUID, entryUUID) and changes the
 *   DN. An entry new to the snapshot is appended, in change-set order. An
 *   object moved out of the search base, or that no longer matches the read
 *   filter, must come as a deletion (the reader's job): the applier never
 *   sees it as a change. A guid both changed and deleted is deleted (the
 *   deletion is the later read: the id comparison, or a tombstone). Of two
 *   entries with one guid, the last one counts.
 * - A deleted id's record goes; no group holds it any more. In AD member
 *   values are links that vanish with their target; on other servers the
 *   member DN stays but names nothing, which a full build drops as well.
 * - A changed group's member DNs are resolved against the DNs of the NEW
 *   snapshot, exactly as SnapshotBuilder resolves them (same resolver): a
 *   renamed object's old DN no longer resolves.
 * - An unchanged group keeps its member ids, minus the deleted ones, and,
 *   for LITERAL member values, minus the ids of objects that were renamed.
 *   Why it depends on the server: in Active Directory `member` is a linked
 *   attribute (memberValues LINKED): the value is a reference to the target
 *   and reads back as the target's current DN, so a rename changes what every
 *   group lists without changing the group (its uSNChanged does not move,
 *   DirSync does not return it), and a full build of the new state resolves
 *   the new DN to the same id: keeping the id is exact. On OpenLDAP or 389-ds
 *   (LITERAL) a member value is a DN string: without a referential-integrity
 *   overlay a rename leaves groups naming the old DN, which a full build no
 *   longer resolves, so the id goes; with the overlay the group is rewritten
 *   and so changed, and comes in the change set anyway.
 * - What a previous snapshot cannot know: a group whose member value named
 *   nothing in it (an object outside the base, filtered out, or, LITERAL, a
 *   DN that did not exist) resolves it once an object with that DN arrives —
 *   moved into the base, come to match the filter, or renamed to it —
 *   without the group changing. The snapshot keeps ids, not DNs, so those
 *   DNs are returned as `rereadGroupsNaming`: the caller reads the groups
 *   whose `member` holds any of them and applies again, from the same
 *   previous snapshot, with those groups added to `changed`. One re-read is
 *   enough (re-read groups are complete entries; a new group among them
 *   that another unchanged group lists would be a change the change read
 *   missed). The list is empty when nothing was added (and, LITERAL, renamed).
 * Records keep the previous snapshot's order, new ones after: the directory
 * view orders everything it serves itself, so order carries no meaning.
 * Assumes, as LDAP does, that no two objects' DNs are equal under dnKey.
 */
import type { RawEntry } from '../../ldap/types.js';
import { dnKey } from '../../model/dn.js';
import {
  type PrincipalRecord,
  principalId,
  type Snapshot,
  type SnapshotCounts,
  type SnapshotMeta,
} from '../../model/principal.js';
import type { RunChanges } from '../../model/run.js';
import type { SnapshotChange } from '../../model/snapshot-change.js';
import { type BuildingRecord, memberResolver, recordOf, resolveMemberIds } from '../snapshot-builder.js';
import { CHANGE_LIST_LIMIT, sameRecord } from '../snapshot-diff.js';

/**
 * How the server keeps group members: LINKED (Active Directory: a reference
 * that follows renames) or LITERAL (other LDAP servers: the DN as written).
 */
export type MemberValues = 'LINKED' | 'LITERAL';

/**
 * What an incremental read gives the applier: a ChangeSet (src/ldap/changes/types.ts) without its
 * watermark, which a ChangeSet is as it is.
 */
export interface ChangesToApply {
  /** Entries added or changed, decoded as a full read decodes them (members whole). */
  readonly changed: readonly RawEntry[];
  /** Ids (RawEntry.guid form) of objects deleted, moved out of the base or no longer matching the filter. */
  readonly deletedGuids: readonly string[];
}

export interface ApplyOptions {
  readonly memberValues: MemberValues;
  /**
   * The previous snapshot's id of the record with exactly this DN, where the
   * caller keeps such a lookup (snapshot-index.ts): changed groups' members
   * are then resolved without a DN table of the whole new snapshot, which is
   * built only should a member DN not be found as spelled.
   */
  readonly previousIdOfDn?: ((dn: string) => string | undefined) | undefined;
}

export interface AppliedChanges {
  readonly snapshot: Snapshot;
  /** What the run changed against the previous snapshot, as diffSnapshots lists it. */
  readonly changes: RunChanges;
  /**
   * DNs that unchanged groups may name and now resolve (see the module
   * header): read the groups whose `member` holds one of them and apply
   * again with those groups in `changed`. Empty: the result is final.
   */
  readonly rereadGroupsNaming: readonly string[];
  /** Member DNs of the changed groups that named nothing in the new snapshot. */
  readonly unresolvedMembers: number;
  /** The same changes whole (not capped), for the store's delta and the view's patch. */
  readonly change: SnapshotChange;
}

type Counts = { -readonly [K in keyof SnapshotCounts]: SnapshotCounts[K] };

function tally(counts: Counts, p: PrincipalRecord, sign: 1 | -1): void {
  if (p.kind === 'USER') counts.users += sign;
  else if (p.kind === 'GROUP') counts.groups += sign;
  else counts.contacts += sign;
  counts.addresses += sign * p.emails.length;
}

/**
 * The new snapshot's DN → id as memberResolver over its whole DN table would
 * answer it, from the previous snapshot's exact lookup and the changed
 * records: a DN of a changed or added record is its; another one is the
 * previous record's unless that was deleted or changed (a changed record
 * that kept its DN is found among the changed). Only a DN not found as
 * spelled builds the whole table, for memberResolver's other tiers.
 */
function changedStateResolver(
  principals: readonly PrincipalRecord[],
  latest: ReadonlyMap<string, RawEntry>,
  deleted: ReadonlySet<string>,
  previousIdOfDn: ((dn: string) => string | undefined) | undefined,
): (dn: string) => string | undefined {
  const changedByDn = new Map<string, string>();
  for (const [id, e] of latest) changedByDn.set(e.dn, id);
  let tiers: ((dn: string) => string | undefined) | null = null;
  const whole = (): ((dn: string) => string | undefined) => {
    const idByDn = new Map<string, string>();
    for (const p of principals) idByDn.set(p.dn, p.id);
    return memberResolver(idByDn);
  };
  return (dn) => {
    const changed = changedByDn.get(dn);
    if (changed !== undefined) return changed;
    const id = previousIdOfDn?.(dn);
    if (id !== undefined && !deleted.has(id) && !latest.has(id)) return id;
    tiers ??= whole();
    return tiers(dn);
  };
}

export function applyChanges(
  previous: Snapshot,
  changes: ChangesToApply,
  meta: Omit<SnapshotMeta, 'counts'>,
  options: ApplyOptions,
): AppliedChanges {
  const connectionId = meta.connectionId;
  const literal = options.memberValues === 'LITERAL';
  const deleted = new Set<string>();
  for (const guid of changes.deletedGuids) deleted.add(principalId(connectionId, guid));

  // The last entry of each changed id, unless deleted.
  const latest = new Map<string, RawEntry>();
  for (const e of changes.changed) {
    const id = principalId(connectionId, e.guid);
    if (!deleted.has(id)) latest.set(id, e);
  }
  const fresh = new Map<string, BuildingRecord>();
  let groupsToResolve = false;
  for (const [id, e] of latest) {
    fresh.set(id, recordOf(connectionId, id, e));
    if (e.kind === 'GROUP' && e.memberDns.length > 0) groupsToResolve = true;
  }
  const records = new Map(fresh);

  // The one pass over the previous records. The new snapshot's DN table is built in it only when
  // changed groups have members to resolve and no lookup of the previous DNs was given.
  const idByDn = groupsToResolve && !options.previousIdOfDn ? new Map<string, string>() : null;
  const principals: PrincipalRecord[] = [];
  const removed: PrincipalRecord[] = [];
  /** Positions whose record may differ from the one before it (replaced, or a group losing members), and that one. */
  const touched: { index: number; before: PrincipalRecord }[] = [];
  /** Unchanged groups with members: positions. */
  const unchangedGroups: number[] = [];
  const gone = new Set<string>();
  const reread: string[] = [];
  for (const p of previous.principals) {
    if (deleted.has(p.id)) {
      removed.push(p);
      gone.add(p.id);
      continue;
    }
    let record: PrincipalRecord = p;
    const next = fresh.get(p.id);
    if (next !== undefined) {
      fresh.delete(p.id);
      touched.push({ index: principals.length, before: p });
      if (literal && p.dn !== next.dn && dnKey(p.dn) !== dnKey(next.dn)) {
        gone.add(p.id);
        reread.push(next.dn);
      }
      record = next;
    } else if (p.kind === 'GROUP' && p.memberIds.length > 0) {
      unchangedGroups.push(principals.length);
    }
    idByDn?.set(record.dn, record.id);
    principals.push(record);
  }
  const added: PrincipalRecord[] = [];
  for (const record of fresh.values()) {
    idByDn?.set(record.dn, record.id);
    principals.push(record);
    added.push(record);
    reread.push(record.dn);
  }

  let unresolvedMembers = 0;
  if (groupsToResolve) {
    const resolve = idByDn
      ? memberResolver(idByDn)
      : changedStateResolver(principals, latest, deleted, options.previousIdOfDn);
    for (const [id, e] of latest) {
      if (e.kind !== 'GROUP' || e.memberDns.length === 0) continue;
      const { ids, unresolved } = resolveMemberIds(e.memberDns, resolve);
      (records.get(id) as BuildingRecord).memberIds = ids;
      unresolvedMembers += unresolved;
    }
  }

  if (gone.size > 0) {
    for (const index of unchangedGroups) {
      const group = principals[index] as PrincipalRecord;
      if (!group.memberIds.some((m) => gone.has(m))) continue;
      principals[index] = { ...group, memberIds: group.memberIds.filter((m) => !gone.has(m)) };
      touched.push({ index, before: group });
    }
    // Updates are listed in snapshot order, as diffSnapshots lists them.
    touched.sort((a, b) => a.index - b.index);
  }

  const counts: Counts = { ...previous.meta.counts };
  for (const p of removed) tally(counts, p, -1);
  for (const p of added) tally(counts, p, 1);
  const updated: string[] = [];
  let updatedCount = 0;
  const upserted: PrincipalRecord[] = [];
  for (const { index, before } of touched) {
    const after = principals[index] as PrincipalRecord;
    tally(counts, before, -1);
    tally(counts, after, 1);
    if (sameRecord(before, after)) continue;
    upserted.push(after);
    if (updatedCount++ < CHANGE_LIST_LIMIT) updated.push(after.id);
  }
  for (const p of added) upserted.push(p);

  const listedRemoved = removed.slice(0, CHANGE_LIST_LIMIT);
  return {
    snapshot: { meta: { ...meta, counts }, principals },
    changes: {
      added: added.slice(0, CHANGE_LIST_LIMIT).map((p) => p.id),
      updated,
      removed: listedRemoved.map((p) => p.id),
      removedObjects: listedRemoved.map((p) => ({ id: p.id, kind: p.kind, name: p.displayName || p.dn })),
      addedCount: added.length,
      updatedCount,
      removedCount: removed.length,
    },
    rereadGroupsNaming: reread,
    unresolvedMembers,
    change: { previous, upserted, removed: removed.map((p) => p.id) },
  };
}
