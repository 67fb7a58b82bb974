/**
 * DirSync answers into a delta. The entries are shaped as ldapts handed
 * them over from Samba 4.17 here (test/integration/ldap-dirsync-samba.test.ts
 * reads the real ones): only changed attributes, requested-but-absent ones
 * as `[]`, member changes as `member;range=1-1` / `member;range=0-0`,
 * tombstones with isDeleted TRUE under CN=Deleted Objects.
 */
import type { Entry } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { dirSyncDelta } from '../../src/ldap/changes/dirsync-delta.js';
import { guidToBytes } from '../../src/ldap/guid.js';

const USER = '52e15aec-d598-394e-b8f1-f7af4ca7cebd';
const GROUP = '26e32471-6c6d-a540-ac7b-356cc7222747';
const USER_DN = 'CN=Explore User,OU=x,DC=corp,DC=test';
const GROUP_DN = 'CN=Explore Group,OU=x,DC=corp,DC=test';

/** What ldapts adds for every requested attribute the server did not send. */
const ABSENT = {
  objectClass: [],
  member: [],
  displayName: [],
  name: [],
  sAMAccountName: [],
  mail: [],
  isDeleted: [],
};

describe('dirSyncDelta', () => {
  it('keeps the changed attributes of new objects, without DirSync bookkeeping', () => {
    const delta = dirSyncDelta([
      {
        ...ABSENT,
        dn: USER_DN,
        parentGUID: guidToBytes('c2c87d48-9254-4eb2-9e83-7cb2183d9b9e'),
        mail: 'x@corp.test',
        sAMAccountName: 'expl1',
        userAccountControl: '514',
        objectGUID: guidToBytes(USER),
        name: 'Explore User',
        instanceType: '4',
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      },
    ]);
    expect(delta.deletedGuids).toEqual([]);
    expect(delta.changed).toHaveLength(1);
    const [user] = delta.changed;
    expect(user?.guid).toBe(USER);
    expect(user?.dn).toBe(USER_DN);
    expect(Object.fromEntries(user?.attributes ?? [])).toEqual({
      mail: ['x@corp.test'],
      samaccountname: ['expl1'],
      useraccountcontrol: ['514'],
      name: ['Explore User'],
      objectclass: ['top', 'person', 'organizationalPerson', 'user'],
    });
    expect(user?.membersAdded).toEqual([]);
    expect(user?.membersRemoved).toEqual([]);
    expect(user?.members).toBeNull();
  });

  it('reads incremental member values as added (range=1-1) and removed (range=0-0)', () => {
    const delta = dirSyncDelta([
      {
        ...ABSENT,
        dn: GROUP_DN,
        'member;range=1-1': [USER_DN, 'CN=B,DC=corp,DC=test'],
        'member;range=0-0': 'CN=C,DC=corp,DC=test',
        objectGUID: guidToBytes(GROUP),
        instanceType: '4',
      },
    ]);
    const [group] = delta.changed;
    expect(group?.membersAdded).toEqual([USER_DN, 'CN=B,DC=corp,DC=test']);
    expect(group?.membersRemoved).toEqual(['CN=C,DC=corp,DC=test']);
    expect(group?.members).toBeNull();
    // Nothing else changed: the empty `member` ldapts added is not a cleared member list.
    expect(group?.attributes.size).toBe(0);
  });

  it('takes whole member lists when they come whole, and only for member attributes', () => {
    const delta = dirSyncDelta(
      [
        {
          dn: GROUP_DN,
          uniqueMember: ['CN=A,DC=x', 'CN=B,DC=x'],
          'otherLink;range=1-1': 'CN=Z,DC=x',
          objectGUID: guidToBytes(GROUP),
        },
      ],
      ['uniqueMember'],
    );
    const [group] = delta.changed;
    expect(group?.members).toEqual(['CN=A,DC=x', 'CN=B,DC=x']);
    expect(group?.membersAdded).toEqual([]);
    expect(Object.fromEntries(group?.attributes ?? [])).toEqual({ 'otherlink;range=1-1': ['CN=Z,DC=x'] });
  });

  it('reports a tombstone by its objectGUID, not as a changed object', () => {
    const delta = dirSyncDelta([
      {
        ...ABSENT,
        dn: `CN=Explore User\\0ADEL:ec5ae152-98d5-4e39-b8f1-f7af4ca7cebd,CN=Deleted Objects,DC=corp,DC=test`,
        parentGUID: guidToBytes('d49dd9a0-8b39-4c94-9000-93df4c5c034f'),
        name: 'Explore User\nDEL:ec5ae152-98d5-4e39-b8f1-f7af4ca7cebd',
        isDeleted: 'TRUE',
        objectGUID: guidToBytes(USER),
        instanceType: '4',
      },
    ]);
    expect(delta.changed).toEqual([]);
    expect(delta.deletedGuids).toEqual([USER]);
  });

  it('keeps one report per object: the last one the server sent', () => {
    const changedThenDeleted = dirSyncDelta([
      { dn: USER_DN, mail: 'a@x', objectGUID: guidToBytes(USER) },
      { dn: 'CN=t,CN=Deleted Objects,DC=x', isDeleted: 'TRUE', objectGUID: guidToBytes(USER) },
    ]);
    expect(changedThenDeleted.changed).toEqual([]);
    expect(changedThenDeleted.deletedGuids).toEqual([USER]);
    const twice = dirSyncDelta([
      { dn: USER_DN, mail: 'a@x', objectGUID: guidToBytes(USER) },
      { dn: 'CN=Renamed,OU=x,DC=corp,DC=test', name: 'Renamed', objectGUID: guidToBytes(USER) },
    ]);
    expect(twice.changed.map((c) => c.dn)).toEqual(['CN=Renamed,OU=x,DC=corp,DC=test']);
  });

  it('counts entries without a usable objectGUID and reports nothing for them', () => {
    const entries: Entry[] = [
      { dn: USER_DN, mail: 'a@x' },
      { dn: USER_DN, objectGUID: Buffer.from('short') },
      { dn: USER_DN, objectGUID: [] },
    ];
    expect(dirSyncDelta(entries)).toEqual({ changed: [], deletedGuids: [], skipped: 3 });
  });

  it('does not read a member range chunk other than 0-0 and 1-1 as an incremental value', () => {
    const delta = dirSyncDelta([
      { dn: GROUP_DN, 'member;range=0-1499': ['CN=A,DC=x'], objectGUID: guidToBytes(GROUP) },
    ]);
    const [group] = delta.changed;
    expect(group?.membersAdded).toEqual([]);
    expect(group?.membersRemoved).toEqual([]);
  });
});
