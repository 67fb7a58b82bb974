/**
 * A store that fails each write of an incremental run's store steps in turn
 * (#18, as test/integration/store-faults.test.ts does for full runs): the
 * real CacheStore over a KvStore wrapping the real SQLite store.
 *
 * The served snapshot A is a base with one delta on top. Run B stages and
 * promotes its change as a delta (and, in the compacting variant, as a whole
 * snapshot that replaces A's base and delta). A clean run lists B's writes;
 * then for every write index i, from a fresh store: the i-th write throws
 * once (the run then discards its staging, as a failed run does), or it and
 * every later one throw (the disk went away), or the process dies there (no
 * later write at all). Each time:
 *  1. the store serves A whole if the promotion did not return, B whole if
 *     it did; a run that failed once leaves nothing behind it;
 *  2. after a restart (a fresh store on the same file) and its sweep, the
 *     same whole snapshot loads, and the file holds only the chunks and
 *     deltas its pointer (or a complete staging record) names;
 *  3. the next run, a change against what is served, succeeds, loads as
 *     built, and leaves only what its pointer names.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/model/principal.js';
import type { SnapshotChange } from '../../src/model/snapshot-change.js';
import type { Watermark } from '../../src/model/watermark.js';
import { CacheStore, type Compaction, DEFAULT_COMPACTION } from '../../src/store/cache-store.js';
import { type KvStore, openKvStore, StoreError } from '../../src/store/kv-store.js';
import { firstSnapshot, nextSnapshot } from '../support/snapshot-chain.js';

const NS = 'dirgate-cache';
const C = 'c0ffee00-0000-4000-8000-0000000000fa';

interface WriteCall {
  readonly op: 'set' | 'delete';
  readonly key: string;
}

/** Fails the `at`-th write counted from arm(), and with `persist` every later one. Reads never fail. */
class FaultyKvStore implements KvStore {
  readonly writes: WriteCall[] = [];
  private plan: { at: number; persist: boolean } | null = null;

  constructor(private readonly inner: KvStore) {}

  arm(plan: { at: number; persist: boolean } | null): void {
    this.writes.length = 0;
    this.plan = plan;
  }

  private write(op: WriteCall['op'], key: string): void {
    const i = this.writes.length;
    this.writes.push({ op, key });
    const plan = this.plan;
    if (plan && (i === plan.at || (plan.persist && i > plan.at)))
      throw new StoreError(
        `store ${NS}: ${op} failed: SQLITE_IOERR: disk I/O error (injected at write ${i})`,
      );
  }

  get<T>(key: string): Promise<T | undefined> {
    return this.inner.get<T>(key);
  }
  getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]> {
    return this.inner.getMany<T>(keys);
  }
  async set(key: string, value: unknown): Promise<void> {
    this.write('set', key);
    await this.inner.set(key, value);
  }
  async delete(key: string): Promise<void> {
    this.write('delete', key);
    await this.inner.delete(key);
  }
  entries<T>(): AsyncGenerator<[string, T]> {
    return this.inner.entries<T>();
  }
  keys(): Promise<string[]> {
    return this.inner.keys();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

interface Variant {
  readonly name: string;
  readonly compaction: Compaction;
  readonly form: 'DELTA' | 'FULL';
}

const VARIANTS: Variant[] = [
  { name: 'a delta', compaction: DEFAULT_COMPACTION, form: 'DELTA' },
  // One delta at most: B's change compacts, writing chunks and deleting A's base and delta.
  { name: 'a compacting change', compaction: { maxDeltas: 1, ratio: 1, floor: 1000 }, form: 'FULL' },
];

const MODES = ['once', 'from', 'crash'] as const;

/** A's base and its delta, then B's change against A. Deterministic: every store gets the same. */
/** The watermarks go with their snapshots: what is served keeps the one it was read with. */
const usn = (value: string): Watermark => ({
  kind: 'USN',
  server: 'dc1.corp.test',
  invocationId: 'inv-1',
  usn: value,
});
const base = firstSnapshot(C, 'run-a0', 40);
const a = nextSnapshot(
  base,
  [
    ['update', 3],
    ['add', 2],
  ],
  'run-a1',
  usn('1000'),
);
const b = nextSnapshot(
  a.snapshot,
  [
    ['add', 1],
    ['update', 7],
    ['remove', 4],
    ['members', 5],
  ],
  'run-b',
  usn('1010'),
);

async function makeStore(
  dir: string,
  compaction: Compaction,
): Promise<{ kv: FaultyKvStore; cache: CacheStore }> {
  const kv = new FaultyKvStore(await openKvStore(`sqlite://${path.join(dir, 'cache.sqlite')}`, NS));
  return { kv, cache: new CacheStore(kv, compaction) };
}

async function runOnce(
  cache: CacheStore,
  s: Snapshot,
  change?: SnapshotChange,
): Promise<{ tidyError: Error | null }> {
  await cache.beginStaging(s);
  await cache.writeStaging(s, change);
  return cache.promoteStaged(C, s.meta.runId);
}

/** Every chunk and delta key, and the ones the pointer and a complete staging record name. */
async function records(kv: KvStore): Promise<{ held: string[]; named: string[] }> {
  const held = (await kv.keys()).filter((k) => k.startsWith('chunk:') || k.startsWith('delta:')).sort();
  const named = new Set<string>();
  for (const k of [`snapshot:${C}`, `staging:${C}`]) {
    const layout = await kv.get<{
      runId?: string;
      meta: { runId: string } | null;
      chunks: number;
      base?: string;
      deltas?: string[];
    }>(k);
    if (!layout?.meta) continue;
    const runId = layout.runId ?? layout.meta.runId;
    for (let i = 0; i < layout.chunks; i++) named.add(`chunk:${C}:${layout.base ?? runId}:${i}`);
    for (const d of layout.deltas ?? []) named.add(`delta:${C}:${d}`);
  }
  return { held, named: [...named].sort() };
}

async function served(cache: CacheStore): Promise<Snapshot | null> {
  return cache.loadSnapshot(C);
}

describe.each(VARIANTS)('$name whose store writes fail', (variant) => {
  /** B's writes, from a clean run. */
  async function cleanWrites(): Promise<WriteCall[]> {
    const dir = await mkdtemp(path.join(tmpdir(), 'dirgate-delta-faults-'));
    try {
      const { kv, cache } = await makeStore(dir, variant.compaction);
      await runOnce(cache, base);
      await runOnce(cache, a.snapshot, a.change);
      kv.arm(null);
      await cache.beginStaging(b.snapshot);
      expect((await cache.writeStaging(b.snapshot, b.change)).form).toBe(variant.form);
      await cache.promoteStaged(C, 'run-b');
      const writes = [...kv.writes];
      await cache.close();
      return writes;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('serves a whole snapshot at every failed write, after a restart too, and the next run succeeds', async () => {
    const writes = await cleanWrites();
    expect(writes.some((w) => w.key === `snapshot:${C}`)).toBe(true);
    expect(writes.some((w) => w.key.startsWith('chunk:'))).toBe(variant.form === 'FULL');
    for (let at = 0; at < writes.length; at++) {
      for (const mode of MODES) {
        const label = `${mode} at write ${at} (${writes[at]?.op} ${writes[at]?.key})`;
        const dir = await mkdtemp(path.join(tmpdir(), 'dirgate-delta-faults-'));
        try {
          const first = await makeStore(dir, variant.compaction);
          await runOnce(first.cache, base);
          await runOnce(first.cache, a.snapshot, a.change);
          const before = await records(first.kv);
          first.kv.arm({ at, persist: mode !== 'once' });
          let committed: boolean;
          try {
            await runOnce(first.cache, b.snapshot, b.change);
            committed = true;
          } catch (err) {
            expect(err, label).toBeInstanceOf(StoreError);
            committed = false;
            // A failed run discards its staging (SyncRun.fail); a dead process does nothing more.
            if (mode !== 'crash') await first.cache.discardStaged(C, 'run-b').catch(() => undefined);
          }
          const expected = committed ? b.snapshot : a.snapshot;
          expect(await served(first.cache), label).toEqual(expected);
          if (mode === 'once' && !committed) {
            expect(await records(first.kv), label).toEqual(before);
            expect(await first.kv.get(`staging:${C}`), label).toBeUndefined();
          }
          await first.cache.close();

          // 2. The restart.
          const second = await makeStore(dir, variant.compaction);
          await second.cache.sweep();
          expect(await served(second.cache), label).toEqual(expected);
          const swept = await records(second.kv);
          expect(swept.held, label).toEqual(swept.named);

          // 3. The next run.
          const c = nextSnapshot(
            expected,
            [
              ['add', 3],
              ['remove', 1],
            ],
            'run-c',
            usn('1020'),
          );
          const { tidyError } = await runOnce(second.cache, c.snapshot, c.change);
          expect(tidyError, label).toBeNull();
          expect(await served(second.cache), label).toEqual(c.snapshot);
          expect(await second.cache.sweep(), label).toBe(0);
          const after = await records(second.kv);
          expect(after.held, label).toEqual(after.named);
          expect(await second.kv.get(`staging:${C}`), label).toBeUndefined();
          await second.cache.close();
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
    }
  });
});
