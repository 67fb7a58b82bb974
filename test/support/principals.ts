/**
 * Cached principals and snapshots for tests that need records, not a
 * directory: one factory, every field overridable, so that a test states
 * only what it is about.
 */
import {
  countSnapshot,
  type PrincipalRecord,
  principalId,
  type Snapshot,
  type SnapshotMeta,
} from '../../src/model/principal.js';

let sequence = 0;

/**
 * A principal with nothing but what a record needs: a USER of connection
 * `c1`, enabled, named by its GUID, without addresses, account names or
 * members. Unless given, the GUID is the next of `g0001`, `g0002`… (so GUIDs
 * sort in creation order), the id is `connectionId:guid`, the DN is
 * `CN=<guid>,DC=corp,DC=test` and the primary address is the first of
 * `emails`.
 */
export function principal(fields: Partial<PrincipalRecord> = {}): PrincipalRecord {
  const connectionId = fields.connectionId ?? 'c1';
  const guid = fields.guid ?? `g${String(++sequence).padStart(4, '0')}`;
  return {
    id: principalId(connectionId, guid),
    connectionId,
    guid,
    kind: 'USER',
    dn: `CN=${guid},DC=corp,DC=test`,
    displayName: guid,
    primaryEmail: fields.emails?.[0] ?? null,
    emails: [],
    samAccountName: null,
    userPrincipalName: null,
    enabled: true,
    memberIds: [],
    ...fields,
  };
}

/** `count` principals, the i-th made of `fields(i)`. */
export function principals(
  count: number,
  fields: (i: number) => Partial<PrincipalRecord>,
): PrincipalRecord[] {
  return Array.from({ length: count }, (_, i) => principal(fields(i)));
}

/**
 * A snapshot of one connection holding `records`, its counts counted from
 * them; run `run-<connectionId>`, created 2025-01-01, no NetBIOS name,
 * unless `meta` says otherwise.
 */
export function snapshotOf(
  connectionId: string,
  records: readonly PrincipalRecord[],
  meta: Partial<Omit<SnapshotMeta, 'connectionId' | 'counts'>> = {},
): Snapshot {
  return {
    meta: {
      connectionId,
      runId: `run-${connectionId}`,
      createdAt: '2025-01-01T00:00:00.000Z',
      netbiosName: null,
      ...meta,
      counts: countSnapshot(records),
    },
    principals: records,
  };
}
