import { describe, expect, it } from 'vitest';
import type { PrincipalRecord } from '../../src/model/principal.js';
import { CHANGE_LIST_LIMIT, diffSnapshots } from '../../src/sync/snapshot-diff.js';
import { principal } from '../support/principals.js';

/** A user of connection `c` with one address and both account names, `over` on top. */
const rec = (guid: string, over: Partial<PrincipalRecord> = {}): PrincipalRecord =>
  principal({
    connectionId: 'c',
    guid,
    emails: [`${guid}@corp.test`],
    samAccountName: guid,
    userPrincipalName: `${guid}@corp.test`,
    ...over,
  });

const many = (prefix: string, n: number): PrincipalRecord[] =>
  Array.from({ length: n }, (_, i) => rec(`${prefix}${i}`));

describe('diffSnapshots', () => {
  it('reports nothing for identical snapshots', () => {
    const before = [rec('a'), rec('b', { kind: 'GROUP', memberIds: ['c:a'] })];
    const after = before.map((p) => ({ ...p, emails: [...p.emails], memberIds: [...p.memberIds] }));
    expect(diffSnapshots(before, after)).toEqual({
      added: [],
      updated: [],
      removed: [],
      removedObjects: [],
      addedCount: 0,
      updatedCount: 0,
      removedCount: 0,
    });
  });

  it('sorts objects into added, updated and removed by id', () => {
    const before = [rec('keep'), rec('change'), rec('gone')];
    const after = [rec('keep'), rec('change', { displayName: 'Changed' }), rec('new')];
    expect(diffSnapshots(before, after)).toEqual({
      added: ['c:new'],
      updated: ['c:change'],
      removed: ['c:gone'],
      removedObjects: [{ id: 'c:gone', kind: 'USER', name: 'gone' }],
      addedCount: 1,
      updatedCount: 1,
      removedCount: 1,
    });
  });

  it('names each removed object as it was, by display name or else by DN, with its kind', () => {
    const before = [
      rec('u', { displayName: 'Ada Lovelace' }),
      rec('g', { kind: 'GROUP', displayName: 'Sales' }),
      rec('n', { kind: 'CONTACT', displayName: '', dn: 'CN=n,OU=Contacts,DC=corp,DC=test' }),
      rec('stays', { displayName: 'Stays' }),
    ];
    const changes = diffSnapshots(before, [rec('stays', { displayName: 'Stays' })]);
    expect(changes.removedObjects).toEqual([
      { id: 'c:u', kind: 'USER', name: 'Ada Lovelace' },
      { id: 'c:g', kind: 'GROUP', name: 'Sales' },
      { id: 'c:n', kind: 'CONTACT', name: 'CN=n,OU=Contacts,DC=corp,DC=test' },
    ]);
    expect(changes.removedObjects?.map((o) => o.id)).toEqual(changes.removed);
  });

  it('reads a rename (new DN, same id) as an update, not a removal and an addition', () => {
    const changes = diffSnapshots([rec('a')], [rec('a', { dn: 'CN=a,OU=Moved,DC=corp' })]);
    expect(changes.updated).toEqual(['c:a']);
    expect(changes.addedCount + changes.removedCount).toBe(0);
  });

  it.each<[string, Partial<PrincipalRecord>]>([
    ['displayName', { displayName: 'x' }],
    ['primaryEmail', { primaryEmail: null }],
    ['emails added', { emails: ['a@corp.test', 'b@corp.test'] }],
    ['emails changed', { emails: ['z@corp.test'] }],
    ['samAccountName', { samAccountName: 'other' }],
    ['userPrincipalName', { userPrincipalName: null }],
    ['enabled', { enabled: false }],
    ['kind', { kind: 'CONTACT' }],
    ['memberIds', { memberIds: ['c:x'] }],
  ])('counts a change of %s as an update', (_what, change) => {
    const changes = diffSnapshots([rec('a')], [rec('a', change)]);
    expect(changes.updated).toEqual(['c:a']);
    expect(changes.updatedCount).toBe(1);
  });

  it('counts a change in member order as an update', () => {
    const before = [rec('g', { kind: 'GROUP', memberIds: ['c:1', 'c:2'] })];
    const after = [rec('g', { kind: 'GROUP', memberIds: ['c:2', 'c:1'] })];
    expect(diffSnapshots(before, after).updatedCount).toBe(1);
  });

  it('caps each list at CHANGE_LIST_LIMIT but keeps the counts exact', () => {
    const n = CHANGE_LIST_LIMIT + 7;
    const removed = many('r', n);
    const updatedBefore = many('u', n);
    const updatedAfter = updatedBefore.map((p) => ({ ...p, displayName: `${p.displayName}!` }));
    const added = many('a', n);
    const changes = diffSnapshots([...removed, ...updatedBefore], [...updatedAfter, ...added]);

    expect(changes.addedCount).toBe(n);
    expect(changes.updatedCount).toBe(n);
    expect(changes.removedCount).toBe(n);
    expect(changes.added).toHaveLength(CHANGE_LIST_LIMIT);
    expect(changes.updated).toHaveLength(CHANGE_LIST_LIMIT);
    expect(changes.removed).toHaveLength(CHANGE_LIST_LIMIT);
    expect(changes.added[0]).toBe('c:a0');
    expect(changes.updated.at(-1)).toBe(`c:u${CHANGE_LIST_LIMIT - 1}`);
    expect(new Set(changes.removed).size).toBe(CHANGE_LIST_LIMIT);
    expect(changes.removed.every((id) => id.startsWith('c:r'))).toBe(true);
    // The names follow the same cap and the same order as the ids.
    expect(changes.removedObjects).toHaveLength(CHANGE_LIST_LIMIT);
    expect(changes.removedObjects?.map((o) => o.id)).toEqual(changes.removed);
  });

  it('lists everything when exactly at the limit', () => {
    const changes = diffSnapshots([], many('a', CHANGE_LIST_LIMIT));
    expect(changes.added).toHaveLength(CHANGE_LIST_LIMIT);
    expect(changes.addedCount).toBe(CHANGE_LIST_LIMIT);
  });

  it('reads an empty new snapshot as everything removed', () => {
    const changes = diffSnapshots(many('x', 3), []);
    expect([...changes.removed].sort()).toEqual(['c:x0', 'c:x1', 'c:x2']);
    expect(changes.removedCount).toBe(3);
  });
});
