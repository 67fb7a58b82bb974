import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryView } from '../../src/directory/directory-view.js';
import { type FindingsChange, LiveDirectory } from '../../src/directory/live-directory.js';
import { silentLogger } from '../../src/model/logger.js';
import { countSnapshot, type PrincipalRecord, type Snapshot } from '../../src/model/principal.js';
import type { SnapshotChange } from '../../src/model/snapshot-change.js';
import { CacheStore } from '../../src/store/cache-store.js';
import { openKvStore } from '../../src/store/kv-store.js';
import { SnapshotSet } from '../../src/sync/snapshot-set.js';
import { principal, snapshotOf } from '../support/principals.js';
import { answers, probesOf } from '../support/view-answers.js';

const DOMAINS = new Map([
  ['c1', 'corp.test'],
  ['c2', 'other.test'],
]);

const anna = principal({ connectionId: 'c1', guid: 'anna', displayName: 'Anna', emails: ['anna@corp.test'] });
const bob = principal({ connectionId: 'c1', guid: 'bob', displayName: 'Bob', emails: ['bob@corp.test'] });
const sales = principal({
  connectionId: 'c1',
  guid: 'sales',
  kind: 'GROUP',
  displayName: 'Sales',
  emails: ['sales@corp.test'],
  memberIds: [anna.id, bob.id],
});
const zed = principal({ connectionId: 'c2', guid: 'zed', displayName: 'Zed', emails: ['zed@other.test'] });

/** The snapshot an incremental run makes of `previous`: records replaced in place, removed ones gone, new ones last. */
function incremental(
  previous: Snapshot,
  upserted: PrincipalRecord[],
  removed: string[] = [],
): { next: Snapshot; change: SnapshotChange } {
  const byId = new Map(upserted.map((p) => [p.id, p]));
  const kept = previous.principals.filter((p) => !removed.includes(p.id)).map((p) => byId.get(p.id) ?? p);
  const added = upserted.filter((p) => !previous.principals.some((q) => q.id === p.id));
  const principals = [...kept, ...added];
  return {
    next: {
      meta: { ...previous.meta, runId: `${previous.meta.runId}+`, counts: countSnapshot(principals) },
      principals,
    },
    change: { previous, upserted, removed },
  };
}

describe('the live directory after an incremental run', () => {
  let dir: string;
  let cache: CacheStore;
  let snapshots: SnapshotSet;
  let directory: LiveDirectory;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dirgate-live-'));
    cache = new CacheStore(await openKvStore(`sqlite://${path.join(dir, 'cache.sqlite')}`, 'live'));
    snapshots = new SnapshotSet();
    snapshots.replace(snapshotOf('c1', [anna, bob, sales]));
    snapshots.replace(snapshotOf('c2', [zed]));
    directory = new LiveDirectory({
      snapshots,
      cache,
      connectionDomains: async () => DOMAINS,
      logger: silentLogger,
    });
    await directory.load();
  });

  afterEach(async () => {
    await cache.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  /** Prepares the change, serves the snapshot as the engine does, then commits. */
  async function serve(connectionId: string, next: Snapshot, change?: SnapshotChange): Promise<void> {
    const prepared = await directory.prepare(connectionId, next, change);
    snapshots.replace(next);
    await prepared.commit();
  }

  async function expectServedAsWhole(records: readonly PrincipalRecord[]): Promise<void> {
    const whole = await DirectoryView.create({
      snapshots: [...snapshots.current.values()],
      connectionDomains: DOMAINS,
    });
    const probes = probesOf(records, ['c1', 'c2'], ['corp.test']);
    expect(answers(directory.view, probes)).toEqual(answers(whole, probes));
  }

  it('patches the served view with the change, and serves what a whole build would', async () => {
    const renamed = { ...bob, displayName: 'Anna', emails: ['anna@corp.test'] };
    const carla = principal({
      connectionId: 'c1',
      guid: 'carla',
      displayName: 'Carla',
      emails: ['c@corp.test'],
    });
    const findings: FindingsChange[] = [];
    directory.on('findings', (f) => findings.push(f));
    const { next, change } = incremental(snapshots.get('c1') as Snapshot, [renamed, carla]);
    await serve('c1', next, change);

    expect(directory.view.build).toBe('patched');
    await expectServedAsWhole([anna, bob, sales, zed, renamed, carla]);
    // The findings the patch made are announced as a whole build's would be.
    expect(findings.map((f) => f.added.map((a) => [a.kind, a.value]))).toEqual([
      [
        ['USER_NAME', 'Anna'],
        ['EMAIL_ADDRESS', 'anna@corp.test'],
      ],
    ]);
    expect(directory.findings().map((f) => f.kind)).toEqual(['USER_NAME', 'EMAIL_ADDRESS']);

    // And the next incremental run patches the patched view.
    const again = incremental(next, [], [renamed.id]);
    await serve('c1', again.next, again.change);
    expect(directory.view.build).toBe('patched');
    expect(directory.findings()).toEqual([]);
    await expectServedAsWhole([anna, bob, sales, zed, renamed, carla]);
  });

  it('builds whole without a change, or when the change is not of the snapshot served', async () => {
    const { next } = incremental(snapshots.get('c1') as Snapshot, [{ ...anna, displayName: 'Ann' }]);
    await serve('c1', next);
    expect(directory.view.build).toBe('whole');

    // A change derived from a snapshot no longer served.
    const stale = incremental(snapshotOf('c1', [anna]), [{ ...bob, displayName: 'Bo' }]);
    await serve('c1', stale.next, stale.change);
    expect(directory.view.build).toBe('whole');
    await expectServedAsWhole([anna, bob, sales, zed]);
  });

  it('patches the then-current view when another connection was served between prepare and commit', async () => {
    const { next, change } = incremental(snapshots.get('c1') as Snapshot, [{ ...anna, displayName: 'Zed' }]);
    const prepared = await directory.prepare('c1', next, change);
    // c2's run commits first: c1's preparation no longer holds what is served.
    const c2 = incremental(snapshots.get('c2') as Snapshot, [{ ...zed, emails: ['anna@corp.test'] }]);
    await serve('c2', c2.next, c2.change);
    snapshots.replace(next);
    await prepared.commit();

    expect(directory.view.build).toBe('patched');
    expect(directory.view.snapshotMeta('c2')).toBe(c2.next.meta);
    await expectServedAsWhole([anna, bob, sales, zed, { ...anna, displayName: 'Zed' }]);
  });
});
