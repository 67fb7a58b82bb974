/**
 * The cached shape of directory objects. This module sits underneath every
 * layer (ldap produces raw entries, sync turns them into these records,
 * store persists them, directory indexes them, graphql serves them), so it
 * holds types and pure functions only.
 */
import type { Watermark } from './watermark.js';

export const PRINCIPAL_KINDS = ['USER', 'GROUP', 'CONTACT'] as const;
export type PrincipalKind = (typeof PRINCIPAL_KINDS)[number];

/** One user, group or contact as kept in a snapshot. */
export interface PrincipalRecord {
  /** `${connectionId}:${guid}`: stable across syncs and renames, scoped to its connection. */
  readonly id: string;
  readonly connectionId: string;
  /** objectGUID in Active Directory's string form, or entryUUID. */
  readonly guid: string;
  readonly kind: PrincipalKind;
  readonly dn: string;
  readonly displayName: string;
  /** The `mail` attribute or, without it, the primary `SMTP:` proxy address. */
  readonly primaryEmail: string | null;
  /** mail plus every smtp: proxy address, first-seen spelling kept, without case-insensitive duplicates. */
  readonly emails: readonly string[];
  readonly samAccountName: string | null;
  readonly userPrincipalName: string | null;
  /** False for users whose userAccountControl has the ACCOUNTDISABLE bit (2). */
  readonly enabled: boolean;
  /** Groups only: ids of direct members that the same snapshot holds. */
  readonly memberIds: readonly string[];
}

/** Everything one successful sync of one connection produced. */
export interface SnapshotMeta {
  readonly connectionId: string;
  readonly runId: string;
  readonly createdAt: string;
  /** The domain's NetBIOS name as the directory states it (AD), used for NTLM names. */
  readonly netbiosName: string | null;
  readonly counts: SnapshotCounts;
  /**
   * Where the next incremental read starts: read from the directory before
   * this snapshot's own read began, so that nothing committed meanwhile is
   * missed, and stored with it in the same pointer write. Absent from
   * snapshots of servers that track no changes, and from snapshots written
   * before incremental runs existed.
   */
  readonly watermark?: Watermark | null;
  /**
   * What was read, as a key (the search base, the filters, the attributes,
   * whether contacts): a watermark says nothing of a read with other
   * settings, so an incremental run from a snapshot with another key runs in full.
   */
  readonly readKey?: string;
}

export interface SnapshotCounts {
  readonly users: number;
  readonly groups: number;
  readonly contacts: number;
  readonly addresses: number;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly principals: readonly PrincipalRecord[];
}

/**
 * `${connectionId}:${guid}` as one flat string. A concatenation would stay a
 * rope of V8 nodes for as long as the id lives, and ids live as long as their
 * snapshot. Array join writes its result flat, and more cheaply than a copy
 * through a Buffer.
 */
export function principalId(connectionId: string, guid: string): string {
  return [connectionId, guid].join(':');
}

export function countSnapshot(principals: readonly PrincipalRecord[]): SnapshotCounts {
  let users = 0;
  let groups = 0;
  let contacts = 0;
  let addresses = 0;
  for (const p of principals) {
    if (p.kind === 'USER') users++;
    else if (p.kind === 'GROUP') groups++;
    else contacts++;
    addresses += p.emails.length;
  }
  return { users, groups, contacts, addresses };
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Whether two versions of one record (the same id) are alike in every field
 * a run reports as an update and the store writes: what a diff does not list
 * and a delta may leave out.
 */
export function sameRecord(a: PrincipalRecord, b: PrincipalRecord): boolean {
  return (
    a === b ||
    (a.dn === b.dn &&
      a.displayName === b.displayName &&
      a.primaryEmail === b.primaryEmail &&
      a.samAccountName === b.samAccountName &&
      a.userPrincipalName === b.userPrincipalName &&
      a.enabled === b.enabled &&
      a.kind === b.kind &&
      sameStrings(a.emails, b.emails) &&
      sameStrings(a.memberIds, b.memberIds))
  );
}

/** NETBIOS\samAccountName, where both are known. */
export function ntlmName(p: PrincipalRecord, netbiosName: string | null): string | null {
  if (p.kind !== 'USER' || !p.samAccountName || !netbiosName) return null;
  return `${netbiosName}\\${p.samAccountName}`;
}
