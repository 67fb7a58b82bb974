/**
 * The store's incremental writes (#18): a run given its SnapshotChange writes
 * a delta on top of the served snapshot instead of the whole, and every load
 * gives back exactly the snapshot the run built, through a real KvStore on
 * SQLite.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PrincipalRecord, Snapshot } from '../../src/model/principal.js';
import type { SnapshotChange } from '../../src/model/snapshot-change.js';
import {
  CacheStore,
  type Compaction,
  DEFAULT_COMPACTION,
  type StagedWrite,
} from '../../src/store/cache-store.js';
import { type KvStore, openKvStore, StoreError } from '../../src/store/kv-store.js';
import { principal } from '../support/principals.js';
import { firstSnapshot, nextSnapshot, type Step, stepArb } from '../support/snapshot-chain.js';

const NS = 'dirgate-cache';
const C = 'c0ffee00-0000-4000-8000-0000000000d1';

interface Opened {
  readonly dir: string;
  readonly uri: string;
  kv: KvStore;
  cache: CacheStore;
}

async function openStore(compaction: Compaction = DEFAULT_COMPACTION): Promise<Opened> {
  const dir = await mkdtemp(path.join(tmpdir(), 'dirgate-delta-'));
  const uri = `sqlite://${path.join(dir, 'cache.sqlite')}`;
  const kv = await openKvStore(uri, NS);
  return { dir, uri, kv, cache: new CacheStore(kv, compaction) };
}

async function reopen(o: Opened, compaction: Compaction = DEFAULT_COMPACTION): Promise<void> {
  await o.cache.close();
  o.kv = await openKvStore(o.uri, NS);
  o.cache = new CacheStore(o.kv, compaction);
}

async function closeStore(o: Opened): Promise<void> {
  await o.cache.close().catch(() => undefined);
  await rm(o.dir, { recursive: true, force: true });
}

/** A run's store steps up to the commit: begin, write (with the change, unless a full run), promote. */
async function runOnce(cache: CacheStore, s: Snapshot, change?: SnapshotChange): Promise<StagedWrite> {
  await cache.beginStaging(s);
  const written = await cache.writeStaging(s, change);
  await cache.promoteStaged(s.meta.connectionId, s.meta.runId);
  return written;
}

/** The snapshot with a USN watermark of `usn`: it must come back with the snapshot. */
function withWatermark(s: Snapshot, usn: number): Snapshot {
  return {
    ...s,
    meta: {
      ...s.meta,
      watermark: { kind: 'USN', server: 'dc1.corp.test', invocationId: 'inv-1', usn: String(usn) },
    },
  };
}

/** The chunk and delta keys, sorted. */
async function recordKeys(kv: KvStore): Promise<string[]> {
  return (await kv.keys()).filter((k) => k.startsWith('chunk:') || k.startsWith('delta:')).sort();
}

const compactionArb: fc.Arbitrary<Compaction> = fc.oneof(
  fc.constant(DEFAULT_COMPACTION),
  fc.record({
    maxDeltas: fc.integer({ min: 1, max: 4 }),
    ratio: fc.double({ min: 0, max: 1, noNaN: true }),
    floor: fc.nat(8),
  }),
);

describe('CacheStore deltas', () => {
  it('loads, after every promotion and restart, exactly the snapshot each run built (random chains of changes)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(30),
        fc.array(stepArb, { minLength: 1, maxLength: 8 }),
        compactionArb,
        async (size, steps: Step[], compaction) => {
          const o = await openStore(compaction);
          try {
            let served = firstSnapshot(C, 'run-0', size);
            expect((await runOnce(o.cache, served)).form).toBe('FULL');
            for (const [i, step] of steps.entries()) {
              const runId = `run-${i + 1}`;
              const next = nextSnapshot(served, step.ops, runId);
              const snapshot = withWatermark(next.snapshot, i + 1);
              await o.cache.beginStaging(snapshot);
              const written = await o.cache.writeStaging(snapshot, step.full ? undefined : next.change);
              if (step.full) expect(written).toMatchObject({ form: 'FULL', fullBecause: null });
              else if (compaction === DEFAULT_COMPACTION)
                expect(written).toMatchObject({
                  form: 'DELTA',
                  chunks: 0,
                  records: next.change.upserted.length,
                });
              else expect(written.form === 'DELTA' || written.fullBecause === 'COMPACTION').toBe(true);
              // Staged (as a held run is): loadable as the new snapshot, while the old one is served.
              expect(await o.cache.loadStagedSnapshot(C)).toEqual(snapshot);
              expect(await o.cache.loadSnapshot(C)).toEqual(served);
              await o.cache.promoteStaged(C, runId);
              if (step.reopen) await reopen(o, compaction);
              expect(await o.cache.loadSnapshot(C)).toEqual(snapshot);
              // Tidying deleted exactly what the new pointer no longer names.
              expect(await o.cache.sweep()).toBe(0);
              served = snapshot;
            }
          } finally {
            await closeStore(o);
          }
        },
      ),
      { numRuns: 30 },
    );
  }, 30_000);

  describe('on one store', () => {
    let o: Opened;
    beforeEach(async () => {
      o = await openStore();
    });
    afterEach(async () => {
      await closeStore(o);
    });

    it('writes a delta key, not chunks, and keeps the base chunks under the run that wrote them', async () => {
      const a = firstSnapshot(C, 'run-a', 12);
      await runOnce(o.cache, a);
      const b = nextSnapshot(
        a,
        [
          ['update', 3],
          ['add', 1],
          ['remove', 5],
        ],
        'run-b',
      );
      expect(await runOnce(o.cache, b.snapshot, b.change)).toEqual({
        form: 'DELTA',
        chunks: 0,
        records: b.change.upserted.length,
        fullBecause: null,
      });
      const c = nextSnapshot(b.snapshot, [['members', 2]], 'run-c');
      await runOnce(o.cache, c.snapshot, c.change);
      expect(await recordKeys(o.kv)).toEqual([`chunk:${C}:run-a:0`, `delta:${C}:run-b`, `delta:${C}:run-c`]);
      expect(await o.cache.loadSnapshot(C)).toEqual(c.snapshot);

      // A full run replaces the base and drops every delta.
      const d = nextSnapshot(c.snapshot, [['add', 4]], 'run-d');
      expect((await runOnce(o.cache, d.snapshot)).form).toBe('FULL');
      expect(await recordKeys(o.kv)).toEqual([`chunk:${C}:run-d:0`]);
      expect(await o.cache.loadSnapshot(C)).toEqual(d.snapshot);
    });

    it('writes no delta for a run that changed nothing, yet keeps its watermark', async () => {
      const a = firstSnapshot(C, 'run-a', 6);
      await runOnce(o.cache, a);
      const b = nextSnapshot(a, [['update', 1]], 'run-b');
      await runOnce(o.cache, b.snapshot, b.change);
      let served = b.snapshot;
      for (let i = 0; i < 3; i++) {
        const idle = nextSnapshot(served, [], `run-idle-${i}`);
        const snapshot = withWatermark(idle.snapshot, i);
        expect(await runOnce(o.cache, snapshot, idle.change)).toMatchObject({ form: 'DELTA', records: 0 });
        expect(await o.cache.loadSnapshot(C)).toEqual(snapshot);
        served = snapshot;
      }
      expect(await recordKeys(o.kv)).toEqual([`chunk:${C}:run-a:0`, `delta:${C}:run-b`]);
      // The next delta follows run-b's in the chain, though the served run was an idle one.
      const c = nextSnapshot(served, [['add', 1]], 'run-c');
      expect((await runOnce(o.cache, c.snapshot, c.change)).form).toBe('DELTA');
      await reopen(o);
      expect(await o.cache.loadSnapshot(C)).toEqual(c.snapshot);
      expect(await recordKeys(o.kv)).toEqual([`chunk:${C}:run-a:0`, `delta:${C}:run-b`, `delta:${C}:run-c`]);
    });

    it('writes the whole snapshot when the change is not against the served snapshot', async () => {
      const a = firstSnapshot(C, 'run-a', 6);
      const b = nextSnapshot(a, [['add', 1]], 'run-b');
      // Nothing served yet.
      expect(await runOnce(o.cache, b.snapshot, b.change)).toMatchObject({
        form: 'FULL',
        fullBecause: 'NOT_SERVED',
      });
      // Served: run-b; the change is against run-a.
      const c = nextSnapshot(a, [['add', 2]], 'run-c');
      expect(await runOnce(o.cache, c.snapshot, c.change)).toMatchObject({
        form: 'FULL',
        fullBecause: 'NOT_SERVED',
      });
      expect(await o.cache.loadSnapshot(C)).toEqual(c.snapshot);
      expect(await recordKeys(o.kv)).toEqual([`chunk:${C}:run-c:0`]);
    });

    it('writes the whole snapshot when the change does not give it', async () => {
      const a = firstSnapshot(C, 'run-a', 9);
      await runOnce(o.cache, a);
      const b = nextSnapshot(
        a,
        [
          ['update', 2],
          ['update', 4],
          ['add', 1],
          ['add', 2],
        ],
        'run-b',
      );
      const [first, ...rest] = b.change.upserted;
      const appended = b.change.upserted.slice(-2);
      const wrong: SnapshotChange[] = [
        { ...b.change, upserted: rest }, // an update left out
        { ...b.change, removed: [a.principals[0]?.id as string] }, // a record still there said removed
        { ...b.change, removed: [`${C}:ghost`] }, // a record never there said removed
        // New records out of order.
        { ...b.change, upserted: [...b.change.upserted.slice(0, -2), ...appended.reverse()] },
        { ...b.change, upserted: [...b.change.upserted, principal({ connectionId: C, guid: 'ghost' })] },
        { ...b.change, upserted: [first as PrincipalRecord, ...b.change.upserted] }, // twice
        {
          ...b.change,
          upserted: b.change.upserted.map((u) => (u === first ? { ...u, displayName: 'other' } : u)),
        },
      ];
      for (const change of wrong) {
        await o.cache.beginStaging(b.snapshot);
        expect(await o.cache.writeStaging(b.snapshot, change)).toMatchObject({
          form: 'FULL',
          fullBecause: 'INCONSISTENT',
        });
        expect(await o.cache.loadStagedSnapshot(C)).toEqual(b.snapshot);
        await o.cache.discardStaged(C);
      }
      expect(await recordKeys(o.kv)).toEqual([`chunk:${C}:run-a:0`]);
    });

    it('compacts once the chain is due, then drops the old base and deltas', async () => {
      await reopen(o, { maxDeltas: 2, ratio: 0, floor: 100 });
      let served = firstSnapshot(C, 'run-0', 10);
      await runOnce(o.cache, served);
      const forms: (StagedWrite['fullBecause'] | 'DELTA')[] = [];
      for (let i = 1; i <= 5; i++) {
        const next = nextSnapshot(served, [['update', i]], `run-${i}`);
        const written = await runOnce(o.cache, next.snapshot, next.change);
        forms.push(written.form === 'DELTA' ? 'DELTA' : written.fullBecause);
        expect(await o.cache.loadSnapshot(C)).toEqual(next.snapshot);
        served = next.snapshot;
      }
      expect(forms).toEqual(['DELTA', 'DELTA', 'COMPACTION', 'DELTA', 'DELTA']);
      expect(await recordKeys(o.kv)).toEqual([`chunk:${C}:run-3:0`, `delta:${C}:run-4`, `delta:${C}:run-5`]);

      // By size: more changed records than the floor allows.
      await reopen(o, { maxDeltas: 64, ratio: 0.1, floor: 3 });
      const big = nextSnapshot(
        served,
        [
          ['add', 1],
          ['add', 2],
          ['add', 4],
          ['add', 5],
        ],
        'run-6',
      );
      expect(await runOnce(o.cache, big.snapshot, big.change)).toMatchObject({ fullBecause: 'COMPACTION' });
      expect(await recordKeys(o.kv)).toEqual([`chunk:${C}:run-6:0`]);
    });

    it('keeps a staged delta held for confirmation across a restart, and confirms or discards it', async () => {
      const a = firstSnapshot(C, 'run-a', 8);
      await runOnce(o.cache, a);
      const b = nextSnapshot(
        a,
        [
          ['remove', 1],
          ['remove', 2],
        ],
        'run-b',
      );
      await o.cache.beginStaging(b.snapshot);
      expect((await o.cache.writeStaging(b.snapshot, b.change)).form).toBe('DELTA');
      await reopen(o);
      expect(await o.cache.sweep()).toBe(0);
      expect(await o.cache.loadStagedSnapshot(C)).toEqual(b.snapshot);
      expect(await o.cache.loadSnapshot(C)).toEqual(a);

      // Discarded: only its delta goes.
      await o.cache.discardStaged(C, 'run-b');
      expect(await o.cache.loadStagedSnapshot(C)).toBeNull();
      expect(await recordKeys(o.kv)).toEqual([`chunk:${C}:run-a:0`]);
      expect(await o.cache.loadSnapshot(C)).toEqual(a);

      // Held again, then dropped by the next run's beginStaging, whose delta is then confirmed.
      await o.cache.beginStaging(b.snapshot);
      await o.cache.writeStaging(b.snapshot, b.change);
      const c = nextSnapshot(a, [['add', 1]], 'run-c');
      await o.cache.beginStaging(c.snapshot);
      expect(await recordKeys(o.kv)).toEqual([`chunk:${C}:run-a:0`]);
      expect((await o.cache.writeStaging(c.snapshot, c.change)).form).toBe('DELTA');
      const confirmed = await o.cache.loadStagedSnapshot(C);
      expect(confirmed).toEqual(c.snapshot);
      await o.cache.promoteStaged(C, 'run-c');
      expect(await o.cache.loadSnapshot(C)).toEqual(c.snapshot);
    });

    it('refuses to promote a staged delta over another snapshot than the one it applies to', async () => {
      const a = firstSnapshot(C, 'run-a', 5);
      await runOnce(o.cache, a);
      const b = nextSnapshot(a, [['add', 1]], 'run-b');
      await o.cache.beginStaging(b.snapshot);
      await o.cache.writeStaging(b.snapshot, b.change);
      // Another node's hand in the same file (or a bug): the pointer changes under the staged delta.
      const pointer = await o.kv.get<{ meta: Snapshot['meta'] }>(`snapshot:${C}`);
      await o.kv.set(`snapshot:${C}`, { ...pointer, meta: { ...pointer?.meta, runId: 'run-x' } });
      await expect(o.cache.promoteStaged(C, 'run-b')).rejects.toThrow(/applies to run run-a/);
    });

    it('loads a delta on top of a pointer written before deltas existed', async () => {
      const a = firstSnapshot(C, 'run-a', 7);
      await runOnce(o.cache, a);
      // The pointer as earlier versions wrote it: meta and chunks only.
      await o.kv.set(`snapshot:${C}`, { meta: a.meta, chunks: 1 });
      expect(await o.cache.loadSnapshot(C)).toEqual(a);
      const b = nextSnapshot(
        a,
        [
          ['update', 1],
          ['add', 2],
        ],
        'run-b',
      );
      expect((await runOnce(o.cache, b.snapshot, b.change)).form).toBe('DELTA');
      expect(await o.cache.loadSnapshot(C)).toEqual(b.snapshot);
      expect(await recordKeys(o.kv)).toEqual([`chunk:${C}:run-a:0`, `delta:${C}:run-b`]);
    });

    it('reports a missing or damaged delta as a damaged snapshot', async () => {
      const a = firstSnapshot(C, 'run-a', 7);
      await runOnce(o.cache, a);
      const b = nextSnapshot(a, [['update', 1]], 'run-b');
      await runOnce(o.cache, b.snapshot, b.change);
      await o.kv.set(`delta:${C}:run-b`, { on: 'run-other', rows: [], removed: [] });
      await expect(o.cache.loadSnapshot(C)).rejects.toThrow(StoreError);
      await o.kv.set(`delta:${C}:run-b`, { on: 'run-a', rows: [], removed: ['not-there'] });
      await expect(o.cache.loadSnapshot(C)).rejects.toThrow(/damaged/);
      await o.kv.delete(`delta:${C}:run-b`);
      await expect(o.cache.loadSnapshot(C)).rejects.toThrow(/delta run-b is missing/);
    });

    it('deletes the deltas with the connection, and sweeps deltas nothing names', async () => {
      const a = firstSnapshot(C, 'run-a', 7);
      await runOnce(o.cache, a);
      const b = nextSnapshot(a, [['update', 1]], 'run-b');
      await runOnce(o.cache, b.snapshot, b.change);
      const c = nextSnapshot(b.snapshot, [['add', 1]], 'run-c');
      await o.cache.beginStaging(c.snapshot);
      await o.cache.writeStaging(c.snapshot, c.change);
      // Left by runs killed after writing their delta, before their staging record was complete.
      await o.kv.set(`delta:${C}:run-killed`, { on: 'run-b', rows: [], removed: [] });
      await o.kv.set(`delta:other:run-1`, { on: 'run-0', rows: [], removed: [] });
      expect(await o.cache.sweep()).toBe(2);
      expect(await recordKeys(o.kv)).toEqual([`chunk:${C}:run-a:0`, `delta:${C}:run-b`, `delta:${C}:run-c`]);
      expect(await o.cache.loadStagedSnapshot(C)).toEqual(c.snapshot);

      await o.cache.deleteConnection(C);
      expect(await o.kv.keys()).toEqual([]);
    });

    it('keeps the promoted delta when its tidying is cut short, and the next runs never delete what it names', async () => {
      const a = firstSnapshot(C, 'run-a', 7);
      await runOnce(o.cache, a);
      const b = nextSnapshot(a, [['update', 1]], 'run-b');
      await o.cache.beginStaging(b.snapshot);
      await o.cache.writeStaging(b.snapshot, b.change);
      const dying = new CacheStore({
        ...o.kv,
        entries: o.kv.entries.bind(o.kv),
        delete: () => Promise.reject(new Error('killed')),
      });
      expect((await dying.promoteStaged(C, 'run-b')).tidyError?.message).toBe('killed');
      expect(await o.kv.keys()).toContain(`staging:${C}`);

      await reopen(o);
      expect(await o.cache.sweep()).toBe(0);
      // Promoting the same run again changes nothing (a held run confirmed twice over a cut-short commit).
      expect((await o.cache.promoteStaged(C, 'run-b')).tidyError).toBeNull();
      expect(await o.cache.loadSnapshot(C)).toEqual(b.snapshot);
      expect(await recordKeys(o.kv)).toEqual([`chunk:${C}:run-a:0`, `delta:${C}:run-b`]);
      // What a run that fails after its promotion calls, and what the next run begins with.
      await o.cache.discardStaged(C, 'run-b');
      expect(await o.cache.loadSnapshot(C)).toEqual(b.snapshot);
      const c = nextSnapshot(b.snapshot, [['remove', 2]], 'run-c');
      expect((await runOnce(o.cache, c.snapshot, c.change)).form).toBe('DELTA');
      expect(await o.cache.loadSnapshot(C)).toEqual(c.snapshot);
      expect(await recordKeys(o.kv)).toEqual([`chunk:${C}:run-a:0`, `delta:${C}:run-b`, `delta:${C}:run-c`]);
    });
  });
});
