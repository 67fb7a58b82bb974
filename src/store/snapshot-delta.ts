/**
 * The stored form of what an incremental run changed (a delta), and how a
 * base snapshot and the deltas on top of it give the snapshot back.
 *
 * A delta holds the upserted records as rows (snapshot-codec.ts) whose
 * members are GUIDs rather than positions (positions move as records come
 * and go; a member is always a record of the same snapshot, so its GUID
 * names it), and the GUIDs of the removed records. Applying one to the
 * records it was derived from gives the new snapshot in its own order
 * (SnapshotChange): a changed record replaced in place, removed ones
 * dropped, new ones appended in upserted order.
 *
 * encodeDelta checks that the change does give the snapshot (one pass over
 * the records, comparing references) before anything is written: a change
 * that does not is refused (null) and the caller writes the whole snapshot,
 * so a delta never stores other records than the run serves.
 */
import { type PrincipalRecord, principalId, sameRecord } from '../model/principal.js';
import type { SnapshotChange } from '../model/snapshot-change.js';
import { decodeRow, encodeRow, rowId, SnapshotDecodeError } from './snapshot-codec.js';

export interface StoredDelta {
  /** The run whose snapshot this delta applies to. */
  readonly on: string;
  /** The upserted records' rows, members as GUIDs, in the new snapshot's order. */
  readonly rows: readonly unknown[];
  /** GUIDs of the records removed. */
  readonly removed: readonly string[];
}

/** Whether two records store the same row: what a delta may leave out. */
function sameStored(a: PrincipalRecord, b: PrincipalRecord): boolean {
  return a.id === b.id && a.connectionId === b.connectionId && a.guid === b.guid && sameRecord(a, b);
}

/**
 * The delta that turns `change.previous` (the snapshot of run `on`) into
 * `principals`, or null when the change does not give exactly those records
 * in that order (or names members or records of another connection). Cost:
 * one pass over the previous records (a Set and a Map lookup and a
 * reference comparison each), plus the upserted records' rows.
 */
export function encodeDelta(
  connectionId: string,
  principals: readonly PrincipalRecord[],
  change: SnapshotChange,
  on: string,
): StoredDelta | null {
  const prefix = `${connectionId}:`;
  const upserted = new Map<string, PrincipalRecord>();
  /** Member ids the upserted groups name: each must be a record of the new snapshot. */
  const wanted = new Set<string>();
  for (const u of change.upserted) {
    if (upserted.has(u.id) || u.connectionId !== connectionId || u.id !== principalId(connectionId, u.guid))
      return null;
    upserted.set(u.id, u);
    for (const m of u.memberIds) wanted.add(m);
  }
  const removed = new Set(change.removed);
  if (removed.size !== change.removed.length) return null;
  for (const id of removed) if (!id.startsWith(prefix) || upserted.has(id)) return null;

  const replaced = new Set<string>();
  let removedSeen = 0;
  let j = 0;
  const previous = change.previous.principals;
  for (let i = 0; i < previous.length; i++) {
    const p = previous[i] as PrincipalRecord;
    if (removed.has(p.id)) {
      removedSeen++;
      continue;
    }
    const r = principals[j++];
    if (r === undefined) return null;
    const u = upserted.get(p.id);
    if (u !== undefined) {
      if (!sameStored(r, u)) return null;
      replaced.add(p.id);
    } else if (!sameStored(r, p)) return null;
    if (wanted.size > 0) wanted.delete(r.id);
  }
  if (removedSeen !== removed.size) return null;
  for (const u of change.upserted) {
    if (replaced.has(u.id)) continue;
    const r = principals[j++];
    if (r === undefined || !sameStored(r, u)) return null;
    if (wanted.size > 0) wanted.delete(r.id);
  }
  if (j !== principals.length || wanted.size > 0) return null;

  const rows = change.upserted.map((u) =>
    encodeRow(
      u,
      u.memberIds.map((m) => m.slice(prefix.length)),
    ),
  );
  return { on, rows, removed: change.removed.map((id) => id.slice(prefix.length)) };
}

/** Whether a stored value has a delta's shape (a damaged key does not). */
export function isStoredDelta(value: unknown): value is StoredDelta {
  const d = value as StoredDelta | null | undefined;
  return (
    typeof d === 'object' &&
    d !== null &&
    typeof d.on === 'string' &&
    Array.isArray(d.rows) &&
    d.rows.every((row) => Array.isArray(row)) &&
    Array.isArray(d.removed) &&
    d.removed.every((g) => typeof g === 'string')
  );
}

/**
 * `base` (a snapshot's records, consumed: the array is reused) with each
 * delta applied in turn, as SnapshotChange orders them. One position index
 * over the whole is built once for all the deltas; removed records leave a
 * hole until the end, which keeps everyone else's position. Throws
 * SnapshotDecodeError when a delta removes or names a record that is not
 * there, or holds a malformed row.
 */
export function applyDeltas(
  connectionId: string,
  base: PrincipalRecord[],
  deltas: readonly StoredDelta[],
): PrincipalRecord[] {
  if (deltas.length === 0) return base;
  const slots: (PrincipalRecord | null)[] = base;
  /** The id string of each slot's record: members refer to it rather than to a copy. */
  const ids: string[] = new Array(slots.length);
  const at = new Map<string, number>();
  for (let i = 0; i < slots.length; i++) {
    const id = (slots[i] as PrincipalRecord).id;
    ids[i] = id;
    at.set(id, i);
  }
  let holes = 0;
  const member = (guid: unknown): string | undefined => {
    if (typeof guid !== 'string') return undefined;
    const position = at.get(principalId(connectionId, guid));
    return position === undefined ? undefined : ids[position];
  };
  for (const [d, delta] of deltas.entries()) {
    for (const guid of delta.removed) {
      const id = principalId(connectionId, guid);
      const position = at.get(id);
      if (position === undefined)
        throw new SnapshotDecodeError(`delta ${d} removes ${id}, which the snapshot does not hold`);
      slots[position] = null;
      at.delete(id);
      holes++;
    }
    // Every row is placed before any member is resolved: a group may name a record the same delta adds.
    const positions: number[] = new Array(delta.rows.length);
    for (const [i, row] of delta.rows.entries()) {
      const id = rowId(connectionId, row, i);
      let position = at.get(id);
      if (position === undefined) {
        position = slots.length;
        slots.push(null);
        ids.push(id);
        at.set(id, position);
      }
      positions[i] = position;
    }
    for (const [i, row] of delta.rows.entries()) {
      const position = positions[i] as number;
      slots[position] = decodeRow(connectionId, row, i, ids[position] as string, member);
    }
  }
  if (holes === 0) return slots as PrincipalRecord[];
  const out: PrincipalRecord[] = new Array(slots.length - holes);
  let k = 0;
  for (const r of slots) if (r !== null) out[k++] = r;
  return out;
}
