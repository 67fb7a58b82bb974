import { describe, expect, it } from 'vitest';
import { DirectoryView } from '../../src/directory/directory-view.js';
import { ValidationError } from '../../src/model/errors.js';
import type { PrincipalRecord, Snapshot } from '../../src/model/principal.js';
import { principal as record, snapshotOf } from '../support/principals.js';

function principal(connectionId: string, guid: string, fields: Partial<PrincipalRecord>): PrincipalRecord {
  return record({ connectionId, guid, ...fields });
}

function snapshot(connectionId: string, netbiosName: string | null, principals: PrincipalRecord[]): Snapshot {
  return snapshotOf(connectionId, principals, { netbiosName });
}

const c1 = [
  principal('c1', 'anna', {
    displayName: 'Anna Müller',
    emails: ['anna@corp.test', 'info@corp.test'],
    samAccountName: 'amueller',
    userPrincipalName: 'amueller@corp.test',
  }),
  principal('c1', 'bob', { displayName: 'Bob Stone', emails: ['bob@corp.test'], samAccountName: 'bob' }),
  principal('c1', 'off', { displayName: 'Old Account', emails: ['old@corp.test'], enabled: false }),
  principal('c1', 'sales', {
    kind: 'GROUP',
    displayName: 'Sales',
    emails: ['sales@corp.test'],
    memberIds: ['c1:anna', 'c1:emea'],
  }),
  principal('c1', 'emea', {
    kind: 'GROUP',
    displayName: 'EMEA',
    emails: [],
    memberIds: ['c1:bob', 'c1:sales'],
  }),
  principal('c1', 'ext', {
    kind: 'CONTACT',
    displayName: 'External Partner',
    emails: ['partner@ext.example'],
  }),
];
const c2 = [
  principal('c2', 'anna2', {
    displayName: 'anna müller',
    emails: ['INFO@corp.test'],
    samAccountName: 'amueller',
  }),
  principal('c2', 'zed', { displayName: 'Zed', emails: ['zed@other.test'] }),
];
const view = await DirectoryView.create({
  snapshots: [snapshot('c1', 'CORP', c1), snapshot('c2', 'OTHER', c2)],
  connectionDomains: new Map([
    ['c1', 'corp.test'],
    ['c2', 'other.test'],
  ]),
});

describe('directory view lookups', () => {
  it('finds principals by id and by address', () => {
    expect(view.byId('c1:bob')?.displayName).toBe('Bob Stone');
    expect(view.byId('c1:nobody')).toBeNull();
    expect(view.byEmail('BOB@corp.test').map((p) => p.id)).toEqual(['c1:bob']);
    expect(
      view
        .byEmail('info@CORP.test')
        .map((p) => p.id)
        .sort(),
    ).toEqual(['c1:anna', 'c2:anna2']);
    expect(view.byEmail('none@corp.test')).toEqual([]);
  });

  it('counts per connection', () => {
    expect(view.counts('c1')).toEqual({ users: 3, groups: 2, contacts: 1, addresses: 6 });
    expect(view.counts('c2')).toEqual({ users: 2, groups: 0, contacts: 0, addresses: 2 });
    expect(view.counts('c9')).toEqual({ users: 0, groups: 0, contacts: 0, addresses: 0 });
    expect(view.connectionIds().sort()).toEqual(['c1', 'c2']);
    expect(view.snapshotMeta('c1')?.netbiosName).toBe('CORP');
    expect(view.size).toBe(8);
  });

  it('autocompletes with domain and kind scope', () => {
    expect(view.autocomplete('a', { domain: 'corp.test' }).map((s) => s.address)).toEqual([
      'anna@corp.test', // address prefix
      'old@corp.test', // "Old Account": name-word prefix, primary address of a disabled user
      'info@corp.test', // "Anna Müller": name-word prefix, an alias; c2's INFO@ is in another domain
    ]);
    expect(view.autocomplete('s', { kinds: ['GROUP'] }).map((s) => s.address)).toEqual(['sales@corp.test']);
  });
});

describe('directory view membership', () => {
  it('answers memberOf and members, nested and through the sales/emea cycle', () => {
    expect(view.memberOf('c1:bob').map((p) => p.id)).toEqual(['c1:emea']);
    expect(view.memberOf('c1:bob', true).map((p) => p.id)).toEqual(['c1:emea', 'c1:sales']);
    expect(view.memberOf('c1:nobody', true)).toEqual([]);
    const members = view.members('c1:sales', true);
    expect(members.nodes.map((p) => p.id)).toEqual(['c1:anna', 'c1:bob', 'c1:emea']);
    expect(members.totalCount).toBe(3);
    expect(view.members('c1:sales').nodes.map((p) => p.id)).toEqual(['c1:anna', 'c1:emea']);
    expect(view.members('c1:bob').totalCount).toBe(0);
  });

  it('pages members', () => {
    const first = view.members('c1:sales', true, 2);
    expect(first.nodes.map((p) => p.id)).toEqual(['c1:anna', 'c1:bob']);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = view.members('c1:sales', true, 2, first.pageInfo.endCursor);
    expect(second.nodes.map((p) => p.id)).toEqual(['c1:emea']);
    expect(second.pageInfo.hasNextPage).toBe(false);
  });

  it('answers isMember by address, for any owner of the address', () => {
    expect(view.isMember('bob@corp.test', 'c1:sales')).toBe(true);
    expect(view.isMember('BOB@CORP.TEST', 'c1:emea')).toBe(true);
    expect(view.isMember('anna@corp.test', 'c1:emea')).toBe(true);
    // info@ belongs to anna (a member) and anna2 (not): any owner counts.
    expect(view.isMember('info@corp.test', 'c1:sales')).toBe(true);
    expect(view.isMember('zed@other.test', 'c1:sales')).toBe(false);
    expect(view.isMember('sales@corp.test', 'c1:sales')).toBe(false);
    expect(view.isMember('bob@corp.test', 'c1:missing')).toBe(false);
  });
});

describe('directory view lists', () => {
  it('lists one kind in display order, per connection too', () => {
    expect(view.list('USER').nodes.map((p) => p.id)).toEqual([
      'c1:anna',
      'c2:anna2',
      'c1:bob',
      'c1:off',
      'c2:zed',
    ]);
    expect(view.list('USER', { connectionId: 'c2' }).nodes.map((p) => p.id)).toEqual(['c2:anna2', 'c2:zed']);
    expect(view.list('GROUP').totalCount).toBe(2);
    expect(view.list('CONTACT', { connectionId: 'c2' }).totalCount).toBe(0);
  });

  it('searches name, address and account as a case-insensitive substring', () => {
    const ids = (search: string) => view.list('USER', { search }).nodes.map((p) => p.id);
    expect(ids('MUELLER')).toEqual(['c1:anna', 'c2:anna2']);
    expect(ids('Mu\u0308ll')).toEqual(['c1:anna', 'c2:anna2']);
    expect(ids('stone')).toEqual(['c1:bob']);
    expect(ids('@other')).toEqual(['c2:zed']);
    expect(ids('nothing')).toEqual([]);
    expect(view.list('USER', { search: '  ' }).totalCount).toBe(5);
  });

  it('returns every object exactly once across pages', async () => {
    const many: PrincipalRecord[] = [];
    for (let i = 0; i < 257; i++) {
      // Repeated names make the id the tie-breaker.
      many.push(principal('c1', `u${i}`, { displayName: `User ${i % 17}`, emails: [`u${i}@corp.test`] }));
    }
    const big = await DirectoryView.create({
      snapshots: [snapshot('c1', 'CORP', many)],
      connectionDomains: new Map(),
    });
    for (const search of [undefined, 'user 1']) {
      const seen: string[] = [];
      let after: string | null = null;
      let pages = 0;
      for (;;) {
        const page = big.list('USER', { first: 10, after, search });
        seen.push(...page.nodes.map((p) => p.id));
        pages++;
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      const total = big.list('USER', { search, first: 0 }).totalCount;
      expect(seen).toHaveLength(total);
      expect(new Set(seen).size).toBe(total);
      expect(pages).toBe(Math.max(1, Math.ceil(total / 10)));
    }
  });

  it('keeps paging across a snapshot swap without repeats', async () => {
    const before = view.list('USER', { first: 2 });
    const swapped = await DirectoryView.create({
      snapshots: [
        snapshot(
          'c1',
          'CORP',
          c1.filter((p) => p.id !== 'c1:anna'),
        ),
        snapshot('c2', 'OTHER', c2),
      ],
      connectionDomains: new Map(),
    });
    const next = swapped.list('USER', { first: 10, after: before.pageInfo.endCursor });
    expect(next.nodes.map((p) => p.id)).toEqual(['c1:bob', 'c1:off', 'c2:zed']);
  });

  it('rejects malformed cursors and page sizes', () => {
    expect(() => view.list('USER', { after: 'garbage' })).toThrow(ValidationError);
    expect(() => view.list('USER', { first: -1 })).toThrow(ValidationError);
    expect(() => view.members('c1:sales', true, 1.5)).toThrow(ValidationError);
  });
});

describe('directory view duplicates', () => {
  it('finds duplicates across connections and shows their consequences', () => {
    expect(view.findings.map((f) => f.kind)).toEqual(['USER_NAME', 'EMAIL_ADDRESS']);
    expect(view.findingsFor({ kind: 'EMAIL_ADDRESS' })[0]?.principalIds).toEqual(['c1:anna', 'c2:anna2']);
    expect(view.findingsFor({ connectionId: 'c2' })).toHaveLength(2);
    expect(view.findingsFor({ kind: 'GROUP_NAME' })).toEqual([]);
    expect(view.consequencesFor('c2:anna2')).toEqual({
      spoofingProtection: false,
      personalBackupAllowed: false,
      personalListsAllowed: false,
    });
    expect(view.consequencesFor('c1:bob').spoofingProtection).toBe(true);
  });

  it('describes an address', () => {
    expect(view.addressInfo('Info@corp.test')).toMatchObject({
      address: 'Info@corp.test',
      duplicated: true,
      personalBackupAllowed: false,
      personalListsAllowed: false,
    });
    expect(view.addressInfo('bob@corp.test')).toMatchObject({
      duplicated: false,
      personalBackupAllowed: true,
    });
    expect(view.addressInfo('bob@corp.test')?.principals.map((p) => p.id)).toEqual(['c1:bob']);
    expect(view.addressInfo('nobody@corp.test')).toBeNull();
  });

  it('finds NTLM duplicates only within one NetBIOS domain', async () => {
    const same = await DirectoryView.create({
      snapshots: [
        snapshot('c1', 'CORP', [c1[1] as PrincipalRecord]),
        snapshot('c3', 'CORP', [principal('c3', 'b', { samAccountName: 'BOB' })]),
      ],
      connectionDomains: new Map(),
    });
    expect(same.findings.map((f) => f.kind)).toEqual(['NTLM_NAME']);
    const apart = await DirectoryView.create({
      snapshots: [
        snapshot('c1', 'CORP', [c1[1] as PrincipalRecord]),
        snapshot('c3', 'EAST', [principal('c3', 'b', { samAccountName: 'BOB' })]),
      ],
      connectionDomains: new Map(),
    });
    expect(apart.findings).toEqual([]);
  });
});

describe('empty view', () => {
  it('answers everything with nothing', () => {
    const e = DirectoryView.empty();
    expect(e.size).toBe(0);
    expect(e.autocomplete('a')).toEqual([]);
    expect(e.list('USER')).toEqual({
      nodes: [],
      pageInfo: { endCursor: null, hasNextPage: false },
      totalCount: 0,
    });
    expect(e.findings).toEqual([]);
    expect(e.isMember('a@b', 'x')).toBe(false);
    expect(DirectoryView.empty()).toBe(e);
  });

  it('answers as the view built of no snapshots', async () => {
    const built = await DirectoryView.create({ snapshots: [], connectionDomains: new Map() });
    const answers = (v: DirectoryView) => [
      v.size,
      v.connectionIds(),
      v.counts('c1'),
      v.byId('c1:anna'),
      v.byEmail('anna@corp.test'),
      v.autocomplete('a'),
      v.list('USER'),
      v.list('GROUP', { search: 'a' }),
      v.members('c1:sales'),
      v.memberOf('c1:anna', true),
      v.findings,
      v.addressInfo('anna@corp.test'),
      v.consequencesFor('c1:anna'),
    ];
    expect(answers(DirectoryView.empty())).toEqual(answers(built));
  });
});
