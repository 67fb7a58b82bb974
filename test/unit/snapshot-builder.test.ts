import { describe, expect, it } from 'vitest';
import type { RawEntry } from '../../src/ldap/types.js';
import type { PrincipalRecord, Snapshot } from '../../src/model/principal.js';
import { SnapshotBuilder } from '../../src/sync/snapshot-builder.js';

const CONN = 'conn-1';
const META = {
  connectionId: CONN,
  runId: 'run-1',
  createdAt: '2025-01-01T00:00:00.000Z',
  netbiosName: 'CORP',
};

function entry(e: Partial<RawEntry> & Pick<RawEntry, 'guid' | 'dn'>): RawEntry {
  return {
    kind: 'USER',
    displayName: e.guid,
    mail: null,
    proxyAddresses: [],
    samAccountName: null,
    userPrincipalName: null,
    userAccountControl: null,
    memberDns: [],
    ...e,
  };
}

function build(...pages: RawEntry[][]): { snapshot: Snapshot; builder: SnapshotBuilder } {
  const builder = new SnapshotBuilder(CONN);
  for (const page of pages) builder.add(page);
  return { snapshot: builder.build(META), builder };
}

function byGuid(snapshot: Snapshot, guid: string): PrincipalRecord {
  const p = snapshot.principals.find((x) => x.guid === guid);
  if (!p) throw new Error(`no principal ${guid}`);
  return p;
}

describe('SnapshotBuilder addresses', () => {
  it('takes mail as primary and adds every smtp proxy address, X500 and sip ignored', () => {
    const { snapshot } = build([
      entry({
        guid: 'u1',
        dn: 'CN=Jane,DC=corp',
        mail: 'Jane.Doe@corp.test',
        proxyAddresses: [
          'SMTP:jane.doe@corp.test',
          'smtp:jdoe@corp.test',
          'X500:/o=Corp/ou=Exchange/cn=Recipients/cn=jdoe',
          'sip:jane@corp.test',
          'smtp:JDOE@corp.test',
        ],
      }),
    ]);
    const jane = byGuid(snapshot, 'u1');
    expect(jane.primaryEmail).toBe('Jane.Doe@corp.test');
    expect(jane.emails).toEqual(['Jane.Doe@corp.test', 'jdoe@corp.test']);
  });

  it('uses the SMTP: proxy address as primary when mail is not set', () => {
    const { snapshot } = build([
      entry({
        guid: 'u1',
        dn: 'CN=Joe,DC=corp',
        proxyAddresses: ['smtp:joe.alias@corp.test', 'SMTP:joe@corp.test'],
      }),
    ]);
    const joe = byGuid(snapshot, 'u1');
    expect(joe.primaryEmail).toBe('joe@corp.test');
    expect(joe.emails).toEqual(['joe.alias@corp.test', 'joe@corp.test']);
  });

  it('leaves an object without addresses with none', () => {
    const { snapshot } = build([entry({ guid: 'u1', dn: 'CN=x,DC=corp', proxyAddresses: ['X500:/o=x'] })]);
    expect(byGuid(snapshot, 'u1').primaryEmail).toBeNull();
    expect(byGuid(snapshot, 'u1').emails).toEqual([]);
  });
});

describe('SnapshotBuilder records', () => {
  it('scopes ids to the connection and keeps what the directory said', () => {
    const { snapshot } = build([
      entry({
        guid: 'u1',
        dn: 'CN=Jane,DC=corp',
        displayName: 'Jane Doe',
        samAccountName: 'jdoe',
        userPrincipalName: 'jdoe@corp.test',
      }),
    ]);
    expect(snapshot.principals).toEqual([
      {
        id: 'conn-1:u1',
        connectionId: CONN,
        guid: 'u1',
        kind: 'USER',
        dn: 'CN=Jane,DC=corp',
        displayName: 'Jane Doe',
        primaryEmail: null,
        emails: [],
        samAccountName: 'jdoe',
        userPrincipalName: 'jdoe@corp.test',
        enabled: true,
        memberIds: [],
      },
    ]);
  });

  it.each([
    [512, true],
    [514, false],
    [0x2, false],
    [66048, true],
    [66050, false],
    [null, true],
  ])('marks a user with userAccountControl %s as enabled=%s', (uac, enabled) => {
    const { snapshot } = build([entry({ guid: 'u1', dn: 'CN=a,DC=corp', userAccountControl: uac })]);
    expect(byGuid(snapshot, 'u1').enabled).toBe(enabled);
  });

  it('never marks groups or contacts disabled', () => {
    const { snapshot } = build([
      entry({ guid: 'g1', dn: 'CN=g,DC=corp', kind: 'GROUP', userAccountControl: 2 }),
      entry({ guid: 'c1', dn: 'CN=c,DC=corp', kind: 'CONTACT', userAccountControl: 2 }),
    ]);
    expect(byGuid(snapshot, 'g1').enabled).toBe(true);
    expect(byGuid(snapshot, 'c1').enabled).toBe(true);
  });

  it('drops a second entry with an id already seen and counts it', () => {
    const { snapshot, builder } = build(
      [entry({ guid: 'u1', dn: 'CN=first,DC=corp', displayName: 'First' })],
      [entry({ guid: 'u1', dn: 'CN=second,DC=corp', displayName: 'Second' })],
    );
    expect(snapshot.principals.map((p) => p.displayName)).toEqual(['First']);
    expect(builder.duplicateIds).toBe(1);
    expect(builder.size).toBe(1);
  });
});

describe('SnapshotBuilder membership', () => {
  it('resolves member DNs to ids whatever their case and spacing, across pages', () => {
    const { snapshot, builder } = build(
      [
        entry({
          guid: 'g1',
          dn: 'CN=Staff,OU=Groups,DC=corp,DC=test',
          kind: 'GROUP',
          memberDns: [
            'cn=jane doe, ou=people, dc=corp, dc=test',
            'CN=Admins,OU=Groups,DC=corp,DC=test',
            'CN=Partner\\2C Inc,OU=Contacts,DC=corp,DC=test',
          ],
        }),
      ],
      [
        entry({ guid: 'u1', dn: 'CN=Jane Doe,OU=People,DC=corp,DC=test' }),
        entry({ guid: 'g2', dn: 'CN=Admins,OU=Groups,DC=corp,DC=test', kind: 'GROUP' }),
        entry({ guid: 'c1', dn: 'CN=Partner\\, Inc,OU=Contacts,DC=corp,DC=test', kind: 'CONTACT' }),
      ],
    );
    expect(byGuid(snapshot, 'g1').memberIds).toEqual(['conn-1:u1', 'conn-1:g2', 'conn-1:c1']);
    expect(builder.unresolvedMembers).toBe(0);
  });

  it('resolves a member written with UTF-8 hex escapes to an entry spelled with the letters, and back', () => {
    const { snapshot, builder } = build([
      entry({
        guid: 'g1',
        dn: 'CN=Team,DC=corp',
        kind: 'GROUP',
        memberDns: ['CN=J\\C3\\BCrgen,DC=corp', 'CN=Zoë,DC=corp', 'CN=Team,DC=corp'],
      }),
      entry({ guid: 'u1', dn: 'CN=Jürgen,DC=corp' }),
      entry({ guid: 'u2', dn: 'CN=Zo\\C3\\AB,DC=corp' }),
    ]);
    expect(byGuid(snapshot, 'g1').memberIds).toEqual(['conn-1:u1', 'conn-1:u2', 'conn-1:g1']);
    expect(builder.unresolvedMembers).toBe(0);
  });

  it('counts members the snapshot does not hold and lists each resolved member once', () => {
    const { snapshot, builder } = build([
      entry({
        guid: 'g1',
        dn: 'CN=All,DC=corp',
        kind: 'GROUP',
        memberDns: ['CN=Jane,DC=corp', 'cn=JANE,dc=corp', 'CN=Outside,DC=other', 'CN=Gone,DC=corp'],
      }),
      entry({ guid: 'u1', dn: 'CN=Jane,DC=corp' }),
    ]);
    expect(byGuid(snapshot, 'g1').memberIds).toEqual(['conn-1:u1']);
    expect(builder.unresolvedMembers).toBe(2);
  });

  it('ignores member values on objects that are not groups', () => {
    const { snapshot } = build([
      entry({ guid: 'u1', dn: 'CN=Jane,DC=corp', memberDns: ['CN=Joe,DC=corp'] }),
      entry({ guid: 'u2', dn: 'CN=Joe,DC=corp' }),
    ]);
    expect(byGuid(snapshot, 'u1').memberIds).toEqual([]);
  });
});

describe('SnapshotBuilder counts', () => {
  it('counts users, groups, contacts and addresses and keeps the meta', () => {
    const { snapshot } = build([
      entry({ guid: 'u1', dn: 'CN=a,DC=corp', mail: 'a@corp.test', proxyAddresses: ['smtp:a2@corp.test'] }),
      entry({ guid: 'u2', dn: 'CN=b,DC=corp', userAccountControl: 514 }),
      entry({ guid: 'g1', dn: 'CN=g,DC=corp', kind: 'GROUP', mail: 'g@corp.test' }),
      entry({ guid: 'c1', dn: 'CN=c,DC=corp', kind: 'CONTACT', proxyAddresses: ['SMTP:c@partner.test'] }),
      entry({ guid: 'c2', dn: 'CN=d,DC=corp', kind: 'CONTACT' }),
    ]);
    expect(snapshot.meta).toEqual({ ...META, counts: { users: 2, groups: 1, contacts: 2, addresses: 4 } });
    expect(snapshot.principals).toHaveLength(5);
  });

  it('builds an empty snapshot from nothing', () => {
    const { snapshot } = build([]);
    expect(snapshot.principals).toEqual([]);
    expect(snapshot.meta.counts).toEqual({ users: 0, groups: 0, contacts: 0, addresses: 0 });
  });
});
