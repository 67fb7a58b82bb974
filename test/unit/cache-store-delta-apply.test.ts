/**
 * The store and the real producer of its changes (#18): what applyChanges
 * gives for random change sets of a small directory (users added, readdressed,
 * renamed and deleted, groups' members added and removed, LINKED and LITERAL
 * member values) is written as a delta, never refused as INCONSISTENT, and
 * loads back as the snapshot applyChanges built, over chains of runs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RawEntry } from '../../src/ldap/types.js';
import type { Snapshot, SnapshotMeta } from '../../src/model/principal.js';
import { CacheStore } from '../../src/store/cache-store.js';
import { openKvStore } from '../../src/store/kv-store.js';
import { applyChanges, type MemberValues } from '../../src/sync/incremental/apply-changes.js';
import { SnapshotBuilder } from '../../src/sync/snapshot-builder.js';

const C = 'c0ffee00-0000-4000-8000-0000000000ap';
const meta = (runId: string): Omit<SnapshotMeta, 'counts'> => ({
  connectionId: C,
  runId,
  createdAt: '2025-01-01T00:00:00.000Z',
  netbiosName: 'CORP',
});

type Op = readonly ['add' | 'addGroup' | 'mail' | 'rename' | 'delete' | 'memberAdd' | 'memberRemove', number];
const opArb: fc.Arbitrary<Op> = fc.tuple(
  fc.constantFrom('add', 'addGroup', 'mail', 'rename', 'delete', 'memberAdd', 'memberRemove'),
  fc.nat(),
) as fc.Arbitrary<Op>;

/** A directory as its server holds it, and what a change read since the last run returns. */
class Directory {
  readonly entries = new Map<string, RawEntry>();
  private changed = new Set<string>();
  private deleted: string[] = [];
  private serial = 0;

  constructor(private readonly memberValues: MemberValues) {}

  private put(e: RawEntry, changed = true): void {
    this.entries.set(e.guid, e);
    if (changed) this.changed.add(e.guid);
  }

  private pick(n: number, kind?: RawEntry['kind']): RawEntry | undefined {
    const all = [...this.entries.values()].filter((e) => kind === undefined || e.kind === kind);
    return all[n % Math.max(1, all.length)];
  }

  apply([op, n]: Op): void {
    const user = this.pick(n, 'USER');
    const group = this.pick(n, 'GROUP');
    if (op === 'add' || op === 'addGroup') {
      const guid = `g${++this.serial}-${n}`;
      const isGroup = op === 'addGroup';
      const members = isGroup
        ? [...this.entries.values()].filter((_, k) => (k + n) % 3 === 0).map((e) => e.dn)
        : [];
      this.put({
        kind: isGroup ? 'GROUP' : 'USER',
        guid,
        dn: `CN=${guid},OU=In,DC=corp,DC=test`,
        displayName: guid,
        mail: isGroup ? null : `${guid}@corp.test`,
        proxyAddresses: n % 2 === 0 ? [`smtp:${guid}@alias.test`] : [],
        samAccountName: isGroup ? null : guid,
        userPrincipalName: null,
        userAccountControl: isGroup ? null : 512,
        memberDns: members,
      });
    } else if (op === 'mail' && user) {
      this.put({ ...user, mail: `${user.guid}.${n}@corp.test` });
    } else if (op === 'rename' && user) {
      const dn = `CN=${user.guid}-r${++this.serial},OU=In,DC=corp,DC=test`;
      this.put({ ...user, dn });
      // LINKED (AD): every group's value follows the target, the groups themselves unchanged.
      if (this.memberValues === 'LINKED') this.relink(user.dn, dn);
    } else if (op === 'delete' && user) {
      this.entries.delete(user.guid);
      this.changed.delete(user.guid);
      this.deleted.push(user.guid);
      if (this.memberValues === 'LINKED') this.relink(user.dn, null);
    } else if (op === 'memberAdd' && group && user && !group.memberDns.includes(user.dn)) {
      this.put({ ...group, memberDns: [...group.memberDns, user.dn] });
    } else if (op === 'memberRemove' && group && group.memberDns.length > 0) {
      this.put({ ...group, memberDns: group.memberDns.filter((_, k) => k !== n % group.memberDns.length) });
    }
  }

  private relink(from: string, to: string | null): void {
    for (const e of this.entries.values()) {
      if (!e.memberDns.includes(from)) continue;
      const memberDns =
        to === null ? e.memberDns.filter((m) => m !== from) : e.memberDns.map((m) => (m === from ? to : m));
      this.put({ ...e, memberDns }, false);
    }
  }

  /** The change read since the last call, and a fresh start for the next. */
  takeChanges(): { changed: RawEntry[]; deletedGuids: string[] } {
    const changed = [...this.changed].flatMap((g) => this.entries.get(g) ?? []);
    const out = { changed, deletedGuids: [...this.deleted] };
    this.changed = new Set();
    this.deleted = [];
    return out;
  }

  groupsNaming(dns: readonly string[]): RawEntry[] {
    const wanted = new Set(dns.map((d) => d.toLowerCase()));
    return [...this.entries.values()].filter(
      (e) => e.kind === 'GROUP' && e.memberDns.some((m) => wanted.has(m.toLowerCase())),
    );
  }
}

/** applyChanges as the run calls it: once, and again with the re-read groups when it asks. */
function incremental(d: Directory, previous: Snapshot, runId: string, memberValues: MemberValues) {
  const changes = d.takeChanges();
  const first = applyChanges(previous, changes, meta(runId), { memberValues });
  const groups = d.groupsNaming(first.rereadGroupsNaming);
  if (groups.length === 0) return first;
  return applyChanges(
    previous,
    { changed: [...changes.changed, ...groups], deletedGuids: changes.deletedGuids },
    meta(runId),
    { memberValues },
  );
}

describe.each<MemberValues>(['LINKED', 'LITERAL'])(
  'the store given applyChanges changes (%s)',
  (memberValues) => {
    it('writes each as a delta and loads the snapshot applyChanges built', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(opArb, { maxLength: 12 }),
          fc.array(fc.array(opArb, { maxLength: 6 }), { minLength: 1, maxLength: 5 }),
          async (initial, runs) => {
            const dir = await mkdtemp(path.join(tmpdir(), 'dirgate-delta-apply-'));
            const cache = new CacheStore(
              await openKvStore(`sqlite://${path.join(dir, 'cache.sqlite')}`, 'ns'),
            );
            try {
              const d = new Directory(memberValues);
              for (const o of initial) d.apply(o);
              d.takeChanges();
              const builder = new SnapshotBuilder(C);
              builder.add([...d.entries.values()]);
              let served = builder.build(meta('run-0'));
              await cache.beginStaging(served);
              await cache.writeStaging(served);
              await cache.promoteStaged(C, 'run-0');
              for (const [i, ops] of runs.entries()) {
                for (const o of ops) d.apply(o);
                const runId = `run-${i + 1}`;
                const result = incremental(d, served, runId, memberValues);
                await cache.beginStaging(result.snapshot);
                const written = await cache.writeStaging(result.snapshot, result.change);
                expect(written.form).toBe('DELTA');
                await cache.promoteStaged(C, runId);
                expect(await cache.loadSnapshot(C)).toEqual(result.snapshot);
                served = result.snapshot;
              }
            } finally {
              await cache.close();
              await rm(dir, { recursive: true, force: true });
            }
          },
        ),
        { numRuns: 25 },
      );
    }, 30_000);
  },
);
