import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DirectoryView } from '../../src/directory/directory-view.js';
import type { ViewPatch } from '../../src/directory/directory-view-patch.js';
import {
  countSnapshot,
  type PrincipalRecord,
  principalId,
  type Snapshot,
} from '../../src/model/principal.js';
import type { SnapshotChange } from '../../src/model/snapshot-change.js';
import { principal, snapshotOf } from '../support/principals.js';
import { answers, probesOf } from '../support/view-answers.js';

const DOMAINS = new Map([
  ['c1', 'corp.test'],
  ['c2', 'corp.test'],
  ['c3', 'east.test'],
]);
const NETBIOS: Record<string, string> = { c1: 'CORP', c2: 'CORP', c3: 'EAST' };
const NAMES = [
  'Anna Müller',
  'anna müller',
  'Bob Stone',
  'Zoë',
  'ZOË',
  'Sales',
  'Sales Team',
  'Åsa',
  'b',
  'Anna',
];
const ADDRESSES = [
  'anna@corp.test',
  'ANNA@corp.test',
  'bob@corp.test',
  'info@corp.test',
  'sales@corp.test',
  'zoe@east.test',
  'x@east.test',
  'asa@corp.test',
  'b@corp.test',
];
const ACCOUNTS = ['anna', 'ANNA', 'bob', 'zoe', 'asa', null];

/** A small deterministic random source (mulberry32). */
function randomOf(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T;
  return { next, int, pick, chance: (p: number) => next() < p };
}
type Random = ReturnType<typeof randomOf>;

/** Guids are drawn from a small pool, so that connections share some (one object read twice) and groups name ghosts. */
function guidOf(i: number): string {
  return `o${i}`;
}

function fields(
  random: Random,
  connectionId: string,
  guid: string,
  memberPool: readonly string[],
): PrincipalRecord {
  const kind = random.pick(['USER', 'USER', 'USER', 'GROUP', 'CONTACT'] as const);
  const emails = [...new Set(Array.from({ length: random.int(3) }, () => random.pick(ADDRESSES)))];
  const members =
    kind === 'GROUP' ? Array.from({ length: random.int(5) }, () => random.pick(memberPool)) : [];
  return principal({
    connectionId,
    guid,
    kind,
    displayName: random.pick(NAMES),
    emails,
    primaryEmail: random.chance(0.8) ? (emails[0] ?? null) : null,
    samAccountName: kind === 'USER' ? random.pick(ACCOUNTS) : null,
    userPrincipalName:
      kind === 'USER' && random.chance(0.7) ? `${random.pick(ACCOUNTS) ?? 'u'}@corp.test` : null,
    enabled: random.chance(0.8),
    memberIds: [...new Set(members)],
  });
}

/** Ids groups may list: held ones, other connections' ones and ones nothing holds yet. */
function memberPool(connectionIds: readonly string[]): string[] {
  const pool: string[] = [];
  for (const c of connectionIds) for (let i = 0; i < 24; i++) pool.push(principalId(c, guidOf(i)));
  return pool;
}

function initialSnapshots(random: Random): Map<string, Snapshot> {
  const connectionIds = [...DOMAINS.keys()];
  const pool = memberPool(connectionIds);
  const snapshots = new Map<string, Snapshot>();
  for (const c of connectionIds) {
    const count = 4 + random.int(14);
    const guids = new Set<number>();
    while (guids.size < count) guids.add(random.int(20));
    const records = [...guids].map((g) => fields(random, c, guidOf(g), pool));
    snapshots.set(c, snapshotOf(c, records, { netbiosName: NETBIOS[c] ?? null }));
  }
  return snapshots;
}

/** A random change of one snapshot, applied as applyChanges applies one (the SnapshotChange contract). */
function randomChange(
  random: Random,
  previous: Snapshot,
  run: number,
  graveyard: string[],
): { next: Snapshot; change: SnapshotChange } {
  const c = previous.meta.connectionId;
  const pool = memberPool([...DOMAINS.keys()]);
  const replaced = new Map<string, PrincipalRecord>();
  const removed = new Set<string>();
  const added: PrincipalRecord[] = [];
  const held = new Set(previous.principals.map((p) => p.id));
  for (let op = 1 + random.int(6); op > 0; op--) {
    const roll = random.next();
    const target = previous.principals.length > 0 ? random.pick(previous.principals) : null;
    if (target && roll < 0.5) {
      const before = replaced.get(target.id) ?? target;
      const edit = random.int(6);
      const next: PrincipalRecord =
        edit === 0
          ? { ...before, displayName: random.pick(NAMES) }
          : edit === 1
            ? { ...before, emails: [random.pick(ADDRESSES)], primaryEmail: null }
            : edit === 2
              ? { ...before, enabled: !before.enabled }
              : edit === 3 && before.kind === 'GROUP'
                ? { ...before, memberIds: [...new Set([...before.memberIds.slice(1), random.pick(pool)])] }
                : edit === 4 && before.kind === 'USER'
                  ? {
                      ...before,
                      userPrincipalName: `${random.pick(ACCOUNTS) ?? 'v'}@corp.test`,
                      samAccountName: random.pick(ACCOUNTS),
                    }
                  : fields(random, c, before.guid, pool);
      if (!removed.has(target.id)) replaced.set(target.id, next);
    } else if (target && roll < 0.75) {
      removed.add(target.id);
      replaced.delete(target.id);
      graveyard.push(target.id);
    } else {
      // Often one removed before: groups that still list it must find it again.
      const buried = graveyard.filter((id) => id.startsWith(`${c}:`)).map((id) => id.slice(c.length + 1));
      const guid = buried.length > 0 && random.chance(0.6) ? random.pick(buried) : guidOf(random.int(30));
      const id = principalId(c, guid);
      if (!held.has(id) && !added.some((p) => p.id === id)) added.push(fields(random, c, guid, pool));
    }
  }
  const principals: PrincipalRecord[] = [];
  const upserted: PrincipalRecord[] = [];
  for (const p of previous.principals) {
    if (removed.has(p.id)) continue;
    const record = replaced.get(p.id) ?? p;
    if (record !== p) upserted.push(record);
    principals.push(record);
  }
  principals.push(...added);
  upserted.push(...added);
  const next: Snapshot = {
    meta: { ...previous.meta, runId: `run-${run}`, counts: countSnapshot(principals) },
    principals,
  };
  return { next, change: { previous, upserted, removed: [...removed] } };
}

async function wholeView(snapshots: ReadonlyMap<string, Snapshot>): Promise<DirectoryView> {
  return DirectoryView.create({ snapshots: [...snapshots.values()], connectionDomains: DOMAINS });
}

function everyRecord(history: readonly ReadonlyMap<string, Snapshot>[]): PrincipalRecord[] {
  return history.flatMap((s) => [...s.values()].flatMap((snapshot) => snapshot.principals));
}

describe('a patched directory view', () => {
  it('answers every question as a whole build of the same snapshots does, along chains of patches', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
        const random = randomOf(seed);
        let snapshots = initialSnapshots(random);
        const history = [snapshots];
        const graveyard: string[] = [];
        let view = await wholeView(snapshots);
        const steps: { snapshots: Map<string, Snapshot>; view: DirectoryView }[] = [];
        for (let step = 0; step < 5; step++) {
          const c = random.pick([...snapshots.keys()]);
          const { next, change } = randomChange(random, snapshots.get(c) as Snapshot, step, graveyard);
          const patch: ViewPatch = { connectionId: c, next, change, connectionDomains: DOMAINS };
          const patched = view.patched(patch);
          expect(patched, 'a small change patches').not.toBeNull();
          snapshots = new Map(snapshots);
          snapshots.set(c, next);
          history.push(snapshots);
          view = patched as DirectoryView;
          steps.push({ snapshots, view });
          // Searching builds the view's search texts, which the next patch then carries over.
          if (random.chance(0.5)) view.list('USER', { search: 'a' });
        }
        const probes = probesOf(everyRecord(history), [...DOMAINS.keys()], ['corp.test', 'EAST.test']);
        for (const { snapshots: served, view: patched } of steps) {
          expect(answers(patched, probes)).toEqual(answers(await wholeView(served), probes));
        }
      }),
      { numRuns: Number(process.env.RUNS ?? 30) },
    );
  }, 120_000);

  /** The view of the snapshots patched with `next` for c1's, and a whole build of them. */
  async function bothViews(
    before: Map<string, Snapshot>,
    next: Snapshot,
    change: SnapshotChange,
  ): Promise<[DirectoryView, DirectoryView]> {
    const patched = (await wholeView(before)).patched({
      connectionId: 'c1',
      next,
      change,
      connectionDomains: DOMAINS,
    });
    const after = new Map(before);
    after.set('c1', next);
    return [patched as DirectoryView, await wholeView(after)];
  }

  it('finds a member again that an unchanged group listed when it was removed, once it is back', async () => {
    const anna = principal({
      connectionId: 'c1',
      guid: 'anna',
      displayName: 'Anna',
      emails: ['anna@corp.test'],
    });
    const team = principal({
      connectionId: 'c1',
      guid: 'team',
      kind: 'GROUP',
      displayName: 'Team',
      memberIds: [anna.id],
    });
    const first = snapshotOf('c1', [anna, team]);
    const gone: Snapshot = { meta: { ...first.meta, runId: 'gone' }, principals: [team] };
    const patched = (await wholeView(new Map([['c1', first]]))).patched({
      connectionId: 'c1',
      next: gone,
      change: { previous: first, upserted: [], removed: [anna.id] },
      connectionDomains: DOMAINS,
    }) as DirectoryView;
    expect(patched.members(team.id).nodes).toEqual([]);
    const back: Snapshot = { meta: { ...first.meta, runId: 'back' }, principals: [team, anna] };
    const again = patched.patched({
      connectionId: 'c1',
      next: back,
      change: { previous: gone, upserted: [anna], removed: [] },
      connectionDomains: DOMAINS,
    }) as DirectoryView;
    expect(again.members(team.id).nodes.map((p) => p.id)).toEqual([anna.id]);
    expect(again.memberOf(anna.id).map((p) => p.id)).toEqual([team.id]);
  });

  it('resolves a member id an unchanged group listed before anything held it', async () => {
    const team = principal({
      connectionId: 'c1',
      guid: 'team',
      kind: 'GROUP',
      displayName: 'Team',
      memberIds: ['c1:later'],
    });
    const first = snapshotOf('c1', [team]);
    const later = principal({ connectionId: 'c1', guid: 'later', displayName: 'Later' });
    const next: Snapshot = { meta: { ...first.meta, runId: 'next' }, principals: [team, later] };
    const [patched, whole] = await bothViews(new Map([['c1', first]]), next, {
      previous: first,
      upserted: [later],
      removed: [],
    });
    expect(patched.members(team.id)).toEqual(whole.members(team.id));
    expect(patched.members(team.id).nodes.map((p) => p.id)).toEqual([later.id]);
  });

  it('moves a renamed record in every list, and its findings with it', async () => {
    const a = principal({
      connectionId: 'c1',
      guid: 'a',
      displayName: 'Anna',
      userPrincipalName: 'x@corp.test',
    });
    const b = principal({
      connectionId: 'c1',
      guid: 'b',
      displayName: 'Bob',
      userPrincipalName: 'X@corp.test',
    });
    const z = principal({ connectionId: 'c1', guid: 'z', displayName: 'Zed' });
    const first = snapshotOf('c1', [a, b, z]);
    const renamed = { ...b, displayName: 'Zed', userPrincipalName: 'b@corp.test' };
    const next: Snapshot = { meta: { ...first.meta, runId: 'next' }, principals: [a, renamed, z] };
    const [patched, whole] = await bothViews(new Map([['c1', first]]), next, {
      previous: first,
      upserted: [renamed],
      removed: [],
    });
    expect(patched.list('USER').nodes.map((p) => p.displayName)).toEqual(['Anna', 'Zed', 'Zed']);
    expect(patched.findings.map((f) => [f.kind, f.value])).toEqual([['USER_NAME', 'Zed']]);
    expect(patched.findings).toEqual(whole.findings);
  });

  it('is refused where a whole build must be made: a change of another snapshot, another NetBIOS name, other domains', async () => {
    const a = principal({ connectionId: 'c1', guid: 'a' });
    const first = snapshotOf('c1', [a], { netbiosName: 'CORP' });
    const view = await wholeView(new Map([['c1', first]]));
    const next: Snapshot = { meta: { ...first.meta, runId: 'next' }, principals: [] };
    const change = { previous: first, upserted: [], removed: [a.id] };
    expect(view.patched({ connectionId: 'c1', next, change, connectionDomains: DOMAINS })).not.toBeNull();
    const other = snapshotOf('c1', [a], { netbiosName: 'CORP' });
    expect(
      view.patched({
        connectionId: 'c1',
        next,
        change: { ...change, previous: other },
        connectionDomains: DOMAINS,
      }),
    ).toBeNull();
    const renamed: Snapshot = { meta: { ...next.meta, netbiosName: 'NEW' }, principals: [] };
    expect(
      view.patched({ connectionId: 'c1', next: renamed, change, connectionDomains: DOMAINS }),
    ).toBeNull();
    expect(
      view.patched({ connectionId: 'c1', next, change, connectionDomains: new Map([['c1', 'new.test']]) }),
    ).toBeNull();
  });

  it('is refused past the patch limit: so much changed that a whole build is due', async () => {
    const records = Array.from({ length: 200 }, (_, i) => principal({ connectionId: 'c1', guid: `r${i}` }));
    const first = snapshotOf('c1', records);
    const view = await wholeView(new Map([['c1', first]]));
    const patchRemoving = (count: number) => {
      const removed = records.slice(0, count).map((p) => p.id);
      const next: Snapshot = {
        meta: { ...first.meta, runId: `minus-${count}` },
        principals: records.slice(count),
      };
      return view.patched({
        connectionId: 'c1',
        next,
        change: { previous: first, upserted: [], removed },
        connectionDomains: DOMAINS,
      });
    };
    // At most a tenth of the view, but never fewer than 64 records.
    expect(patchRemoving(64)?.size).toBe(136);
    expect(patchRemoving(65)).toBeNull();
  });
});
