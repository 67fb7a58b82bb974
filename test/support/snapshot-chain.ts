/**
 * Random chains of incremental changes to a snapshot, for the store's delta
 * tests: each step derives the next snapshot from the previous one as
 * applyChanges orders it (src/sync/incremental/apply-changes.ts) and lists
 * the SnapshotChange it is, so that what the store loads back can be
 * compared with the snapshot in memory, order included.
 */
import fc from 'fast-check';
import type { PrincipalRecord, Snapshot } from '../../src/model/principal.js';
import type { SnapshotChange } from '../../src/model/snapshot-change.js';
import type { Watermark } from '../../src/model/watermark.js';
import { principal, snapshotOf } from './principals.js';

export type Op = readonly ['add' | 'update' | 'remove' | 'members', number];

export interface Step {
  /** A full run: the store gets no change and writes the whole snapshot. */
  readonly full: boolean;
  readonly ops: readonly Op[];
  /** Whether the store is closed and opened again (a restart) after this step's promotion. */
  readonly reopen: boolean;
}

export const stepArb: fc.Arbitrary<Step> = fc.record({
  full: fc.nat(9).map((n) => n < 2),
  ops: fc.array(fc.tuple(fc.constantFrom('add', 'update', 'remove', 'members'), fc.nat()), {
    maxLength: 10,
  }),
  reopen: fc.nat(9).map((n) => n < 2),
}) as fc.Arbitrary<Step>;

/** A first snapshot of `size` records, every third a group naming some earlier ones. */
export function firstSnapshot(connectionId: string, runId: string, size: number): Snapshot {
  const records: PrincipalRecord[] = [];
  for (let i = 0; i < size; i++) {
    const guid = `first-${i}`;
    const group = i % 3 === 2;
    records.push(
      principal({
        connectionId,
        guid,
        kind: group ? 'GROUP' : i % 5 === 4 ? 'CONTACT' : 'USER',
        emails: [`${guid}@corp.test`],
        samAccountName: group ? null : guid,
        memberIds: group ? records.filter((_, k) => (k + i) % 4 === 0).map((r) => r.id) : [],
      }),
    );
  }
  return snapshotOf(connectionId, records, { runId });
}

/**
 * The snapshot of `runId` that `ops` make of `previous`, and the change. Ops
 * pick their record by number among those alive; a group naming a removed
 * record loses it (and is upserted), as applyChanges does.
 */
export function nextSnapshot(
  previous: Snapshot,
  ops: readonly Op[],
  runId: string,
  watermark?: Watermark,
): { snapshot: Snapshot; change: SnapshotChange } {
  const c = previous.meta.connectionId;
  const current = new Map<string, PrincipalRecord>(previous.principals.map((p) => [p.id, p]));
  const changed = new Map<string, PrincipalRecord>();
  const added = new Map<string, PrincipalRecord>();
  const removed = new Set<string>();
  let serial = 0;
  const alive = (): PrincipalRecord[] => [...current.values()];
  const put = (r: PrincipalRecord): void => {
    current.set(r.id, r);
    if (added.has(r.id)) added.set(r.id, r);
    else changed.set(r.id, r);
  };
  for (const [op, n] of ops) {
    const records = alive();
    const pick = records.length > 0 ? (records[n % records.length] as PrincipalRecord) : null;
    if (op === 'add' || pick === null) {
      const guid = `${runId}-${serial++}`;
      const group = n % 3 === 0;
      const r = principal({
        connectionId: c,
        guid,
        kind: group ? 'GROUP' : 'USER',
        emails: n % 2 === 0 ? [`${guid}@corp.test`, `${guid}@alias.test`] : [],
        samAccountName: group ? null : guid,
        // A group may name itself: members are any record of the same snapshot.
        memberIds: group ? [...records.filter((_, k) => (k + n) % 3 === 0).map((p) => p.id)] : [],
      });
      current.set(r.id, r);
      added.set(r.id, r);
    } else if (op === 'update') {
      put({
        ...pick,
        displayName: `${pick.displayName}'`,
        dn: `CN=${pick.guid}-${n},OU=Moved,DC=corp,DC=test`,
        enabled: n % 2 === 0,
        emails: n % 3 === 0 ? [] : [`${pick.guid}.${n}@corp.test`, ...pick.emails].slice(0, 3),
        primaryEmail: n % 3 === 0 ? null : `${pick.guid}.${n}@corp.test`,
      });
    } else if (op === 'remove') {
      current.delete(pick.id);
      if (added.has(pick.id)) added.delete(pick.id);
      else {
        changed.delete(pick.id);
        removed.add(pick.id);
      }
      for (const r of current.values()) {
        if (r.memberIds.includes(pick.id)) put({ ...r, memberIds: r.memberIds.filter((m) => m !== pick.id) });
      }
    } else {
      const group = records.find((r, k) => r.kind === 'GROUP' && k >= n % records.length) ?? pick;
      if (group.kind !== 'GROUP') continue;
      put({ ...group, memberIds: records.filter((_, k) => (k * 7 + n) % 5 === 0).map((r) => r.id) });
    }
  }
  const principals: PrincipalRecord[] = [];
  const upserted: PrincipalRecord[] = [];
  for (const p of previous.principals) {
    if (removed.has(p.id)) continue;
    const r = changed.get(p.id);
    principals.push(r ?? p);
    if (r) upserted.push(r);
  }
  for (const r of added.values()) {
    principals.push(r);
    upserted.push(r);
  }
  return {
    snapshot: snapshotOf(c, principals, watermark ? { runId, watermark } : { runId }),
    change: { previous, upserted, removed: [...removed] },
  };
}
