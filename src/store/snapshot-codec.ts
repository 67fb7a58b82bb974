/**
 * The stored form of a snapshot's records. Each record is one JSON array
 * rather than an object, and a group's members are positions in the
 * snapshot rather than ids. Compared with the records' own JSON, this is
 * fewer bytes: less time to serialize a snapshot, less memory held by its
 * chunks while SQLite writes them (docs/performance.md). A loaded group also refers to its
 * members' own id strings instead of holding a copy of each.
 *
 * A row: [guid, kind, dn, displayName, primaryEmail, emails, samAccountName,
 * userPrincipalName, enabled, members]
 *  - guid: the id without the connection id (every record of a snapshot has
 *    the snapshot's; the id is `${connectionId}:${guid}`). Rows written
 *    earlier hold the whole id there, and still read;
 *  - kind: the position in PRINCIPAL_KINDS;
 *  - primaryEmail: its position in emails when it is one of them, else the
 *    string itself, or null;
 *  - enabled: 1 or 0;
 *  - members: positions in the whole snapshot (chunks are consecutive), so a
 *    snapshot decodes only as a whole.
 *
 * Snapshots written before this format stored the records themselves. A
 * record object is still read as it is, so a cache survives the upgrade.
 */
import {
  PRINCIPAL_KINDS,
  type PrincipalKind,
  type PrincipalRecord,
  principalId,
} from '../model/principal.js';

type Row = [
  guid: string,
  kind: number,
  dn: string,
  displayName: string,
  primaryEmail: number | string | null,
  emails: string[],
  samAccountName: string | null,
  userPrincipalName: string | null,
  enabled: 0 | 1,
  members: number[],
];

/** Shared by every record without members, as the snapshot builder does. */
const NONE: readonly string[] = Object.freeze([]);
const NO_POSITIONS: readonly number[] = Object.freeze([]);
const KIND_CODES: ReadonlyMap<PrincipalKind, number> = new Map(PRINCIPAL_KINDS.map((k, i) => [k, i]));

/** A stored row that cannot be a record: the chunk is damaged. */
export class SnapshotDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotDecodeError';
  }
}

/** Position of every record in the snapshot, by id: what member positions are taken from. */
export function positionsById(principals: readonly PrincipalRecord[]): Map<string, number> {
  const positions = new Map<string, number>();
  for (let i = 0; i < principals.length; i++) positions.set((principals[i] as PrincipalRecord).id, i);
  return positions;
}

/** The rows of `principals[from, to)`, ready for JSON. */
export function encodeRows(
  principals: readonly PrincipalRecord[],
  from: number,
  to: number,
  positions: ReadonlyMap<string, number>,
): Row[] {
  const rows: Row[] = new Array(Math.max(0, Math.min(to, principals.length) - from));
  for (let i = 0; i < rows.length; i++) {
    const p = principals[from + i] as PrincipalRecord;
    let members = NO_POSITIONS as number[];
    if (p.memberIds.length > 0) {
      members = new Array(p.memberIds.length);
      for (let m = 0; m < p.memberIds.length; m++) {
        const at = positions.get(p.memberIds[m] as string);
        // A builder invariant (members are ids the same snapshot holds); fail loudly rather than drop one.
        if (at === undefined) throw new Error(`member ${p.memberIds[m]} of ${p.id} is not in the snapshot`);
        members[m] = at;
      }
    }
    rows[i] = encodeRow(p, members);
  }
  return rows;
}

/**
 * One record's row, its members as given: positions in a whole snapshot's
 * rows, or (a delta, snapshot-delta.ts) member GUIDs.
 */
export function encodeRow(p: PrincipalRecord, members: number[] | string[]): Row {
  const primary = p.primaryEmail === null ? -1 : p.emails.indexOf(p.primaryEmail);
  return [
    p.guid,
    KIND_CODES.get(p.kind) as number,
    p.dn,
    p.displayName,
    primary >= 0 ? primary : p.primaryEmail,
    p.emails as string[],
    p.samAccountName,
    p.userPrincipalName,
    p.enabled ? 1 : 0,
    members as number[],
  ];
}

/**
 * The id of a stored row (`index` for messages): `${connectionId}:${guid}`,
 * or the whole id rows written earlier hold. Throws SnapshotDecodeError.
 */
export function rowId(connectionId: string, row: unknown, index: number): string {
  if (!Array.isArray(row)) {
    const id = (row as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') throw new SnapshotDecodeError(`record ${index} has no id`);
    return id;
  }
  const first: unknown = row[0];
  if (typeof first !== 'string' || first.length === 0)
    throw new SnapshotDecodeError(`record ${index} has no id`);
  // A GUID never holds a colon: with one, it is a whole id (an earlier row) or another connection's.
  if (first.startsWith(`${connectionId}:`)) return first;
  if (first.includes(':'))
    throw new SnapshotDecodeError(`record ${index} (${first}) belongs to another connection`);
  return principalId(connectionId, first);
}

/**
 * The record of a row whose id is `id` (rowId), its stored member values
 * turned into member ids by `member` (undefined: the row names a missing
 * member). Throws SnapshotDecodeError on a malformed row.
 */
export function decodeRow(
  connectionId: string,
  row: unknown,
  index: number,
  id: string,
  member: (value: unknown) => string | undefined,
): PrincipalRecord {
  if (!Array.isArray(row)) return row as PrincipalRecord; // written before this format
  const [, kindCode, dn, displayName, primary, emails, sam, upn, enabled, members] = row as Row;
  const kind = PRINCIPAL_KINDS[kindCode];
  if (
    kind === undefined ||
    typeof dn !== 'string' ||
    typeof displayName !== 'string' ||
    !Array.isArray(emails) ||
    !Array.isArray(members)
  ) {
    throw new SnapshotDecodeError(`record ${index} (${id}) is malformed`);
  }
  const primaryEmail = typeof primary === 'number' ? emails[primary] : primary;
  if (primaryEmail === undefined)
    throw new SnapshotDecodeError(`record ${index} (${id}) names a missing address`);
  let memberIds = NONE;
  if (members.length > 0) {
    const resolved: string[] = new Array(members.length);
    for (let m = 0; m < members.length; m++) {
      const memberId = member(members[m]);
      if (memberId === undefined)
        throw new SnapshotDecodeError(`record ${index} (${id}) names a missing member`);
      resolved[m] = memberId;
    }
    memberIds = resolved;
  }
  // Same property order as the snapshot builder's records: one hidden class for both.
  return {
    id,
    connectionId,
    guid: id.slice(connectionId.length + 1),
    kind,
    dn,
    displayName,
    primaryEmail,
    emails,
    samAccountName: sam,
    userPrincipalName: upn,
    enabled: enabled === 1,
    memberIds,
  };
}

/** Records from the rows of a whole snapshot, in order. Throws SnapshotDecodeError on a malformed row. */
export function decodeRows(connectionId: string, rows: readonly unknown[]): PrincipalRecord[] {
  const ids: string[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) ids[i] = rowId(connectionId, rows[i], i);
  const member = (position: unknown): string | undefined => ids[position as number];
  const out: PrincipalRecord[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++)
    out[i] = decodeRow(connectionId, rows[i], i, ids[i] as string, member);
  return out;
}
