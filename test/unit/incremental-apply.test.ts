/**
 * applyChanges against the real SnapshotBuilder: applying what an
 * incremental read reports to the snapshot of the directory before must give
 * what a full build of the directory after gives, record for record, and the
 * same RunChanges as diffSnapshots. The directory is a small model of one
 * (objects inside and outside the search base, groups naming members),
 * changed at random the way AD (LINKED: member values follow their target)
 * or OpenLDAP without refint (LITERAL: member values are DN strings) change.
 */
import fc from 'fast-check';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChangeSet } from '../../src/ldap/changes/types.js';
import * as ldap from '../../src/ldap/index.js';
import type { RawEntry } from '../../src/ldap/types.js';
import * as dn from '../../src/model/dn.js';
import type { Snapshot } from '../../src/model/principal.js';
import {
  applyChanges,
  type ChangesToApply,
  type MemberValues,
} from '../../src/sync/incremental/apply-changes.js';
import { SnapshotBuilder } from '../../src/sync/snapshot-builder.js';
import { CHANGE_LIST_LIMIT, diffSnapshots } from '../../src/sync/snapshot-diff.js';
import { SnapshotIndex } from '../../src/sync/snapshot-index.js';

// Counted, not replaced: the cost tests read how often addresses and DN keys were computed.
vi.mock('../../src/ldap/index.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/ldap/index.js')>();
  return { ...actual, computeEmails: vi.fn(actual.computeEmails) };
});
vi.mock('../../src/model/dn.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/model/dn.js')>();
  return { ...actual, dnKey: vi.fn(actual.dnKey) };
});

const CONN = 'c1';
const BEFORE_META = {
  connectionId: CONN,
  runId: 'run-1',
  createdAt: '2025-01-01T00:00:00.000Z',
  netbiosName: 'CORP',
};
const AFTER_META = { ...BEFORE_META, runId: 'run-2', createdAt: '2025-01-01T00:01:00.000Z' };

function build(entries: readonly RawEntry[], meta = AFTER_META): Snapshot {
  const builder = new SnapshotBuilder(CONN);
  // In pages, as a read feeds it.
  for (let i = 0; i < entries.length; i += 7) builder.add(entries.slice(i, i + 7));
  return builder.build(meta);
}

// ---------------------------------------------------------------- the model

type Ou = 'Staff' | 'Sales' | 'Outside';
type Kind = RawEntry['kind'];
interface Attrs {
  displayName: string;
  mail: string | null;
  proxyAddresses: string[];
  samAccountName: string | null;
  userPrincipalName: string | null;
  userAccountControl: number | null;
}
interface Obj extends Attrs {
  readonly guid: string;
  readonly kind: Kind;
  name: string;
  ou: Ou;
  /** LINKED: guids of members; LITERAL: member DNs as written. */
  members: string[];
}

const NAMES = ['Ann', 'Bob Smith', 'Doe\\, Jane', 'Zoë', 'O\\+Brien'];

function dnOf(name: string, ou: Ou): string {
  return ou === 'Outside'
    ? `CN=${name},OU=Outside,DC=corp,DC=test`
    : `CN=${name},OU=${ou},OU=In,DC=corp,DC=test`;
}

/** The same DN as another server, or person, spells it. */
function spelled(d: string, spelling: number): string {
  if (spelling === 1) return d.toLowerCase();
  if (spelling === 2) return d.toUpperCase().replace(/\\,/g, '\\2C');
  return d;
}

class Directory {
  private readonly objects: Obj[] = [];
  private counter = 0;
  private freed: { name: string; ou: Ou }[] = [];
  /** Guids whose entry a change read returns: their own attributes (member values included) changed. */
  readonly changed = new Set<string>();

  constructor(readonly memberValues: MemberValues) {}

  private uniqueName(pool: number): string {
    return `${NAMES[pool % NAMES.length]} ${++this.counter}`;
  }

  private inUse(name: string, ou: Ou): boolean {
    const key = dn.dnKey(dnOf(name, ou));
    return this.objects.some((o) => dn.dnKey(dnOf(o.name, o.ou)) === key);
  }

  /** A freed DN (deleted or renamed away from), if any is free now; else a new one. */
  private place(pool: number, reuse: number | null, ou: Ou): { name: string; ou: Ou } {
    if (reuse !== null) {
      const free = this.freed.filter((f) => !this.inUse(f.name, f.ou));
      if (free.length > 0) return free[reuse % free.length] as { name: string; ou: Ou };
    }
    return { name: this.uniqueName(pool), ou };
  }

  dnOfObj(o: Obj): string {
    return dnOf(o.name, o.ou);
  }

  pick(n: number): Obj | undefined {
    return this.objects.length === 0 ? undefined : this.objects[n % this.objects.length];
  }

  add(spec: ObjSpec): void {
    const { name, ou } = this.place(spec.name, spec.reuse, spec.ou);
    const o: Obj = {
      ...spec.attrs,
      proxyAddresses: [...spec.attrs.proxyAddresses],
      guid: `g${++this.counter}`,
      kind: spec.kind,
      name,
      ou,
      members: [],
    };
    if (o.kind !== 'USER') o.userAccountControl = null;
    this.objects.push(o);
    this.changed.add(o.guid);
    if (o.kind === 'GROUP') for (const m of spec.members) this.addMember(o, m.pick, m.spelling);
  }

  addMember(group: Obj, pick: number, spelling: number): void {
    const target = this.pick(pick);
    if (target === undefined || target === group) return;
    if (this.memberValues === 'LINKED') {
      if (group.members.includes(target.guid)) return; // AD refuses a value twice
      group.members.push(target.guid);
    } else if (spelling === 3) {
      // A DN that names nothing (yet): plain LDAP servers accept it.
      group.members.push(dnOf(this.uniqueName(pick), 'Staff'));
    } else {
      group.members.push(spelled(this.dnOfObj(target), spelling));
    }
    this.changed.add(group.guid);
  }

  apply(op: Op): void {
    if (op.type === 'add') {
      this.add(op.spec);
      return;
    }
    const o = this.pick(op.pick);
    if (o === undefined) return;
    switch (op.type) {
      case 'modify':
        Object.assign(o, op.attrs);
        if (o.kind !== 'USER') o.userAccountControl = null;
        break;
      case 'rename':
      case 'move': {
        this.freed.push({ name: o.name, ou: o.ou });
        const to = this.place(op.name, op.reuse, op.type === 'move' ? op.ou : o.ou);
        o.name = to.name;
        o.ou = to.ou;
        // LINKED member values follow by reference; LITERAL ones keep naming the old DN.
        break;
      }
      case 'delete':
        this.freed.push({ name: o.name, ou: o.ou });
        this.objects.splice(this.objects.indexOf(o), 1);
        // AD drops the links to a deleted object; the groups' uSNChanged stays.
        if (this.memberValues === 'LINKED')
          for (const g of this.objects) g.members = g.members.filter((m) => m !== o.guid);
        return;
      case 'memberAdd':
        if (o.kind === 'GROUP') this.addMember(o, op.member, op.spelling);
        return;
      case 'memberRemove':
        if (o.kind !== 'GROUP' || o.members.length === 0) return;
        o.members.splice(op.index % o.members.length, 1);
        break;
      case 'touch':
        // Returned by the change read though nothing the gateway keeps changed (another attribute did).
        break;
    }
    this.changed.add(o.guid);
  }

  private entry(o: Obj): RawEntry {
    const byGuid = new Map(this.objects.map((x) => [x.guid, x]));
    const memberDns =
      o.kind !== 'GROUP'
        ? []
        : this.memberValues === 'LINKED'
          ? o.members.map((g) => this.dnOfObj(byGuid.get(g) as Obj))
          : [...o.members];
    return {
      kind: o.kind,
      guid: o.guid,
      dn: this.dnOfObj(o),
      displayName: o.displayName,
      mail: o.mail,
      proxyAddresses: [...o.proxyAddresses],
      samAccountName: o.samAccountName,
      userPrincipalName: o.userPrincipalName,
      userAccountControl: o.userAccountControl,
      memberDns,
    };
  }

  /** What a full read of the search base returns, in directory order. */
  read(): RawEntry[] {
    return this.objects.filter((o) => o.ou !== 'Outside').map((o) => this.entry(o));
  }

  /** The groups in the base a `(member=DN)` search for any of `dns` returns (DN matching ignores case and escaping). */
  groupsNaming(dns: readonly string[]): RawEntry[] {
    const keys = new Set(dns.map((d) => dn.dnKey(d)));
    return this.read().filter((e) => e.kind === 'GROUP' && e.memberDns.some((m) => keys.has(dn.dnKey(m))));
  }
}

// ------------------------------------------------------------ generators

const ou = fc.constantFrom<Ou>('Staff', 'Sales', 'Outside');
const attrsModel = {
  displayName: fc.constantFrom('', 'Ann', 'Bob Smith', 'Doe, Jane', 'Zoë'),
  mail: fc.option(fc.constantFrom('ann@corp.test', 'Ann@Corp.TEST', 'bob@corp.test', 'shared@corp.test'), {
    nil: null,
  }),
  proxyAddresses: fc.subarray([
    'SMTP:ann@corp.test',
    'smtp:alias@corp.test',
    'smtp:SHARED@corp.test',
    'X500:/o=Corp/cn=ann',
    'sip:ann@corp.test',
  ]),
  samAccountName: fc.option(fc.constantFrom('ann', 'bob'), { nil: null }),
  userPrincipalName: fc.option(fc.constantFrom('ann@corp.test', 'bob@corp.test'), { nil: null }),
  userAccountControl: fc.constantFrom(null, 512, 514, 66048, 66050),
};
const attrs = fc.record(attrsModel);
const objSpec = fc.record({
  kind: fc.constantFrom<Kind>('USER', 'USER', 'GROUP', 'GROUP', 'CONTACT'),
  ou,
  name: fc.nat(9),
  reuse: fc.option(fc.nat(), { nil: null }),
  attrs,
  members: fc.array(fc.record({ pick: fc.nat(), spelling: fc.nat(3) }), { maxLength: 5 }),
});
type ObjSpec = typeof objSpec extends fc.Arbitrary<infer T> ? T : never;

const op = fc.oneof(
  fc.record({ type: fc.constant('add' as const), spec: objSpec }),
  // Any subset of the attributes, each to any value.
  fc.record({
    type: fc.constant('modify' as const),
    pick: fc.nat(),
    attrs: fc.record(attrsModel, { requiredKeys: [] }),
  }),
  fc.record({
    type: fc.constant('rename' as const),
    pick: fc.nat(),
    name: fc.nat(9),
    reuse: fc.option(fc.nat(), { nil: null }),
  }),
  fc.record({
    type: fc.constant('move' as const),
    pick: fc.nat(),
    name: fc.nat(9),
    reuse: fc.option(fc.nat(), { nil: null }),
    ou,
  }),
  fc.record({ type: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({
    type: fc.constant('memberAdd' as const),
    pick: fc.nat(),
    member: fc.nat(),
    spelling: fc.nat(3),
  }),
  fc.record({ type: fc.constant('memberRemove' as const), pick: fc.nat(), index: fc.nat() }),
  fc.record({ type: fc.constant('touch' as const), pick: fc.nat() }),
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

const scenario = fc.record({
  initial: fc.array(objSpec, { maxLength: 14 }),
  ops: fc.array(op, { maxLength: 12 }),
  /** A reader may report the deletion of an id the snapshot never held (it was created and deleted between runs). */
  unknownDeletion: fc.boolean(),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

interface Played {
  readonly before: Snapshot;
  readonly changeSet: ChangesToApply;
  /** A full read of the directory after, in the order the applier keeps: the previous records', new ones after. */
  readonly after: readonly RawEntry[];
  readonly directory: Directory;
}

function play(memberValues: MemberValues, s: Scenario): Played {
  const directory = new Directory(memberValues);
  for (const spec of s.initial) directory.add(spec);
  directory.changed.clear();
  const beforeEntries = directory.read();
  const before = build(beforeEntries, BEFORE_META);
  for (const o of s.ops) directory.apply(o);
  const now = directory.read();
  const nowByGuid = new Map(now.map((e) => [e.guid, e]));
  const beforeGuids = new Set(beforeEntries.map((e) => e.guid));
  // What a change read returns: entries whose own values changed, and those that entered the base.
  const changed = now.filter((e) => directory.changed.has(e.guid) || !beforeGuids.has(e.guid));
  const deletedGuids = beforeEntries.filter((e) => !nowByGuid.has(e.guid)).map((e) => e.guid);
  if (s.unknownDeletion) deletedGuids.push('g-never-seen');
  const after = [
    ...beforeEntries.flatMap((e) => nowByGuid.get(e.guid) ?? []),
    ...changed.filter((e) => !beforeGuids.has(e.guid)),
  ];
  return { before, changeSet: { changed, deletedGuids }, after, directory };
}

/**
 * applyChanges as the wiring calls it: once, and again with the re-read groups when it asks;
 * with `indexed`, resolving members through the previous snapshot's SnapshotIndex as the run does.
 */
function incremental(memberValues: MemberValues, p: Played, indexed = false) {
  const index = SnapshotIndex.of(p.before);
  const options = {
    memberValues,
    ...(indexed
      ? {
          previousIdOfDn: (d: string) => {
            const guid = index.guidOfDn(d);
            return guid === undefined ? undefined : `${CONN}:${guid}`;
          },
        }
      : {}),
  };
  const first = applyChanges(p.before, p.changeSet, AFTER_META, options);
  const groups = p.directory.groupsNaming(first.rereadGroupsNaming);
  if (groups.length === 0) return first;
  const changed = [...p.changeSet.changed, ...groups];
  return applyChanges(p.before, { changed, deletedGuids: p.changeSet.deletedGuids }, AFTER_META, options);
}

/** Every answer of an index over `snapshot`'s records, and of a few ids and DNs it does not hold. */
function indexAnswers(index: SnapshotIndex, snapshot: Snapshot, others: readonly Snapshot[]) {
  const guids = new Set([...snapshot.principals, ...others.flatMap((o) => o.principals)].map((r) => r.guid));
  const dns = new Set([...snapshot.principals, ...others.flatMap((o) => o.principals)].map((r) => r.dn));
  guids.add('g-never-seen');
  return {
    ids: [...index],
    byGuid: [...guids].sort().map((g) => [g, index.has(g), index.dnOf(g)]),
    byDn: [...dns].sort().map((d) => [d, index.guidOfDn(d)]),
  };
}

describe.each<MemberValues>(['LINKED', 'LITERAL'])(
  'applyChanges equals a full build (%s member values)',
  (memberValues) => {
    it.each([false, true])(
      'for random directories and random change sets (members by the index: %s)',
      (indexed) => {
        fc.assert(
          fc.property(scenario, (s) => {
            const p = play(memberValues, s);
            const full = build(p.after);
            const result = incremental(memberValues, p, indexed);
            expect(result.snapshot).toStrictEqual(full);
            expect(result.changes).toStrictEqual(diffSnapshots(p.before.principals, full.principals));
            if (indexed) {
              // The index derived for the new snapshot answers as one made of it afresh.
              SnapshotIndex.of(p.before).has('g-never-seen'); // its tables built, as a run's reads build them
              const derived = SnapshotIndex.derive(result.snapshot, result.change);
              const fresh = SnapshotIndex.of({ ...result.snapshot });
              expect(indexAnswers(derived, result.snapshot, [p.before])).toStrictEqual(
                indexAnswers(fresh, result.snapshot, [p.before]),
              );
            }
          }),
          { numRuns: 400 },
        );
      },
    );
  },
);

// ------------------------------------------------------- hand-written cases

function entry(e: Partial<RawEntry> & Pick<RawEntry, 'guid' | 'dn'>): RawEntry {
  return {
    kind: 'USER',
    displayName: e.guid,
    mail: null,
    proxyAddresses: [],
    samAccountName: null,
    userPrincipalName: null,
    userAccountControl: 512,
    memberDns: [],
    ...e,
  };
}

const BASE = 'OU=In,DC=corp,DC=test';
const ann = entry({ guid: 'ann', dn: `CN=Ann,${BASE}`, displayName: 'Ann', mail: 'ann@corp.test' });
const bob = entry({
  guid: 'bob',
  dn: `CN=Bob,${BASE}`,
  displayName: 'Bob',
  proxyAddresses: ['SMTP:bob@corp.test'],
});
const inner = entry({
  guid: 'inner',
  kind: 'GROUP',
  dn: `CN=Inner,${BASE}`,
  userAccountControl: null,
  memberDns: [ann.dn],
});
const outer = entry({
  guid: 'outer',
  kind: 'GROUP',
  dn: `CN=Outer,${BASE}`,
  userAccountControl: null,
  memberDns: [inner.dn, bob.dn],
});
const DIRECTORY = [ann, bob, inner, outer];
const id = (guid: string) => `${CONN}:${guid}`;

function applied(
  changes: Partial<ChangesToApply>,
  memberValues: MemberValues = 'LINKED',
  before = DIRECTORY,
) {
  const previous = build(before, BEFORE_META);
  const result = applyChanges(previous, { changed: [], deletedGuids: [], ...changes }, AFTER_META, {
    memberValues,
  });
  return {
    previous,
    result,
    record: (guid: string) => result.snapshot.principals.find((p) => p.guid === guid),
  };
}

describe('applyChanges, one kind of change at a time', () => {
  it('adds a new user after the others, counted and listed as added', () => {
    const cat = entry({
      guid: 'cat',
      dn: `CN=Cat,${BASE}`,
      mail: 'cat@corp.test',
      proxyAddresses: ['smtp:c@corp.test'],
    });
    const { previous, result, record } = applied({ changed: [cat] });
    expect(result.snapshot.principals.at(-1)).toBe(record('cat'));
    expect(record('cat')?.emails).toEqual(['cat@corp.test', 'c@corp.test']);
    expect(result.snapshot.meta.counts).toEqual({ ...previous.meta.counts, users: 3, addresses: 4 });
    expect(result.changes).toMatchObject({ added: [id('cat')], updated: [], removed: [], addedCount: 1 });
    expect(result.snapshot).toStrictEqual(build([...DIRECTORY, cat]));
  });

  it('recomputes a changed address and lists only that user as updated', () => {
    const moved = { ...ann, mail: null, proxyAddresses: ['SMTP:ann.new@corp.test', 'smtp:ann@corp.test'] };
    const { result, record } = applied({ changed: [moved] });
    expect(record('ann')).toMatchObject({
      primaryEmail: 'ann.new@corp.test',
      emails: ['ann.new@corp.test', 'ann@corp.test'],
    });
    expect(result.changes).toMatchObject({ added: [], updated: [id('ann')], removed: [], updatedCount: 1 });
  });

  it('marks a user disabled by userAccountControl', () => {
    const { result, record } = applied({ changed: [{ ...bob, userAccountControl: 514 }] });
    expect(record('bob')?.enabled).toBe(false);
    expect(result.changes.updated).toEqual([id('bob')]);
  });

  it('adds a member to, and removes one from, a nested group; the group holding it is untouched', () => {
    const added = applied({ changed: [{ ...inner, memberDns: [ann.dn, bob.dn] }] });
    expect(added.record('inner')?.memberIds).toEqual([id('ann'), id('bob')]);
    expect(added.record('outer')).toBe(added.previous.principals.find((p) => p.guid === 'outer'));
    expect(added.result.changes.updated).toEqual([id('inner')]);
    const removed = applied({ changed: [{ ...outer, memberDns: [inner.dn] }] });
    expect(removed.record('outer')?.memberIds).toEqual([id('inner')]);
    expect(removed.result.changes.updated).toEqual([id('outer')]);
  });

  it('keeps a renamed member in unchanged groups where member values are links (AD)', () => {
    const { result, record } = applied(
      { changed: [{ ...ann, dn: `CN=Ann Smith,OU=Moved,${BASE}` }] },
      'LINKED',
    );
    expect(record('ann')?.dn).toBe(`CN=Ann Smith,OU=Moved,${BASE}`);
    expect(record('inner')?.memberIds).toEqual([id('ann')]);
    expect(result.changes.updated).toEqual([id('ann')]);
    expect(result.rereadGroupsNaming).toEqual([]);
  });

  it('drops a renamed member from unchanged groups where member values are DNs, and asks for the groups naming the new DN', () => {
    const renamed = `CN=Ann Smith,${BASE}`;
    const { result, record } = applied({ changed: [{ ...ann, dn: renamed }] }, 'LITERAL');
    expect(record('inner')?.memberIds).toEqual([]);
    expect(result.changes.updated).toEqual([id('ann'), id('inner')]);
    expect(result.rereadGroupsNaming).toEqual([renamed]);
  });

  it('resolves a changed group against the new DNs: a renamed member named by its old DN resolves to nothing', () => {
    const { result, record } = applied({
      changed: [
        { ...ann, dn: `CN=Ann Smith,${BASE}` },
        { ...inner, memberDns: [ann.dn, bob.dn] },
      ],
    });
    expect(record('inner')?.memberIds).toEqual([id('bob')]);
    expect(result.unresolvedMembers).toBe(1);
  });

  it('removes an object moved out of the base or deleted, from the snapshot and from the groups that held it', () => {
    const { previous, result, record } = applied({ deletedGuids: ['ann'] });
    expect(record('ann')).toBeUndefined();
    expect(record('inner')?.memberIds).toEqual([]);
    expect(result.snapshot.meta.counts).toEqual({ ...previous.meta.counts, users: 1, addresses: 1 });
    expect(result.changes).toMatchObject({
      removed: [id('ann')],
      removedObjects: [{ id: id('ann'), kind: 'USER', name: 'Ann' }],
      updated: [id('inner')],
      removedCount: 1,
    });
    expect(result.snapshot).toStrictEqual(build([bob, { ...inner, memberDns: [] }, outer]));
  });

  it('asks for the groups naming an object that entered the base, and resolves it once they are applied', () => {
    // Cat was outside the base, already a member of Outer; moving in changes Cat, not Outer.
    const catOutside = entry({ guid: 'cat', dn: 'CN=Cat,OU=Elsewhere,DC=corp,DC=test' });
    const outerWithCat = { ...outer, memberDns: [...outer.memberDns, `CN=Cat,${BASE}`] };
    const before = [ann, bob, inner, { ...outer, memberDns: [...outer.memberDns, catOutside.dn] }];
    const cat = { ...catOutside, dn: `CN=Cat,${BASE}` };
    const first = applied({ changed: [cat] }, 'LINKED', before);
    expect(first.record('outer')?.memberIds).toEqual([id('inner'), id('bob')]);
    expect(first.result.rereadGroupsNaming).toEqual([cat.dn]);
    const again = applyChanges(
      first.previous,
      { changed: [cat, outerWithCat], deletedGuids: [] },
      AFTER_META,
      {
        memberValues: 'LINKED',
      },
    );
    expect(again.snapshot).toStrictEqual(build([ann, bob, inner, outerWithCat, cat]));
    expect(again.changes).toMatchObject({ added: [id('cat')], updated: [id('outer')] });
  });

  it('lets a deletion win over a change of the same id, takes the last of two entries of one id, ignores unknown deletions', () => {
    const { result, record } = applied({
      changed: [
        { ...ann, displayName: 'Ann 2' },
        { ...bob, displayName: 'Bob 2' },
        { ...bob, displayName: 'Bob 3' },
      ],
      deletedGuids: ['ann', 'never-seen'],
    });
    expect(record('ann')).toBeUndefined();
    expect(record('bob')?.displayName).toBe('Bob 3');
    expect(result.changes).toMatchObject({
      removed: [id('ann')],
      updated: [id('bob'), id('inner')],
      added: [],
    });
  });

  it('takes a ChangeSet as the readers return it, watermark and all', () => {
    const changeSet: ChangeSet = {
      changed: [{ ...bob, displayName: 'Robert' }],
      deletedGuids: [],
      watermark: { kind: 'USN', server: 'dc1.corp.test', invocationId: 'inv', usn: '4242' },
    };
    const result = applyChanges(build(DIRECTORY, BEFORE_META), changeSet, AFTER_META, {
      memberValues: 'LINKED',
    });
    expect(result.changes.updated).toEqual([id('bob')]);
  });

  it('does not list an entry returned unchanged', () => {
    const { result } = applied({ changed: [ann, inner] });
    expect(result.changes).toMatchObject({ added: [], updated: [], removed: [], updatedCount: 0 });
  });

  it('caps the lists as diffSnapshots does and keeps the counts exact', () => {
    const many = Array.from({ length: CHANGE_LIST_LIMIT + 5 }, (_, i) =>
      entry({ guid: `n${i}`, dn: `CN=N${i},${BASE}` }),
    );
    const { previous, result } = applied({ changed: many });
    expect(result.changes.added).toHaveLength(CHANGE_LIST_LIMIT);
    expect(result.changes.addedCount).toBe(CHANGE_LIST_LIMIT + 5);
    expect(result.changes).toStrictEqual(
      diffSnapshots(previous.principals, build([...DIRECTORY, ...many]).principals),
    );
  });
});

describe('applyChanges cost', () => {
  const users = Array.from({ length: 2000 }, (_, i) =>
    entry({
      guid: `u${i}`,
      dn: `CN=User ${i},${BASE}`,
      mail: `u${i}@corp.test`,
      proxyAddresses: [`smtp:x${i}@corp.test`],
    }),
  );
  const groups = Array.from({ length: 20 }, (_, g) =>
    entry({
      guid: `grp${g}`,
      kind: 'GROUP',
      dn: `CN=Group ${g},${BASE}`,
      userAccountControl: null,
      memberDns: users.slice(g * 100, g * 100 + 100).map((u) => u.dn),
    }),
  );
  const computeEmails = vi.mocked(ldap.computeEmails);
  const dnKey = vi.mocked(dn.dnKey);
  let previous: Snapshot;
  beforeEach(() => {
    previous = build([...users, ...groups], BEFORE_META);
    computeEmails.mockClear();
    dnKey.mockClear();
  });

  it('computes a record only for each changed entry and keeps every other record as it was', () => {
    const changed = [
      { ...(users[5] as RawEntry), mail: 'new@corp.test' },
      entry({ guid: 'fresh', dn: `CN=Fresh,${BASE}` }),
      { ...(groups[3] as RawEntry), memberDns: [(users[0] as RawEntry).dn, `CN=Fresh,${BASE}`] },
    ];
    const result = applyChanges(previous, { changed, deletedGuids: ['u7'] }, AFTER_META, {
      memberValues: 'LINKED',
    });
    expect(computeEmails).toHaveBeenCalledTimes(changed.length);
    // Members spelled as their DNs resolve without keying any DN.
    expect(dnKey).not.toHaveBeenCalled();
    const before = new Set(previous.principals);
    const kept = result.snapshot.principals.filter((p) => before.has(p)).length;
    // All but the changed user, the changed group, the deleted user, and group 0 that lost it.
    expect(kept).toBe(previous.principals.length - 4);
    expect(result.changes).toMatchObject({ addedCount: 1, updatedCount: 3, removedCount: 1 });
  });
});
