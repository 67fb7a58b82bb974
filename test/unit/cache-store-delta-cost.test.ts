/**
 * The cost of an incremental run's store steps (#18) at the size
 * (100,000 users, 10,000 groups, 20,000 contacts) with 10 changed objects,
 * counted as KvStore operations and bytes rather than timed: a delta's
 * staging and promotion read and write no chunk, and write a few kilobytes
 * against the whole snapshot's megabytes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PrincipalRecord, Snapshot } from '../../src/model/principal.js';
import { CacheStore } from '../../src/store/cache-store.js';
import { type KvStore, openKvStore } from '../../src/store/kv-store.js';
import { principal, snapshotOf } from '../support/principals.js';
import { nextSnapshot } from '../support/snapshot-chain.js';

const C = 'c0ffee00-0000-4000-8000-0000000000c0';

interface Op {
  readonly op: 'get' | 'set' | 'delete' | 'keys';
  readonly key: string;
  /** JSON length of the value written or read. */
  readonly bytes: number;
}

/** Passes everything to the real store and lists each key operation with its size. */
function counting(inner: KvStore, ops: Op[]): KvStore {
  const size = (v: unknown): number => (v === undefined ? 0 : JSON.stringify(v).length);
  return {
    async get<T>(key: string) {
      const v = await inner.get<T>(key);
      ops.push({ op: 'get', key, bytes: size(v) });
      return v;
    },
    async getMany<T>(keys: readonly string[]) {
      const vs = await inner.getMany<T>(keys);
      for (const [i, key] of keys.entries()) ops.push({ op: 'get', key, bytes: size(vs[i]) });
      return vs;
    },
    async set(key, value) {
      ops.push({ op: 'set', key, bytes: size(value) });
      await inner.set(key, value);
    },
    async delete(key) {
      ops.push({ op: 'delete', key, bytes: 0 });
      await inner.delete(key);
    },
    entries: <T>() => {
      ops.push({ op: 'keys', key: '*', bytes: 0 });
      return inner.entries<T>();
    },
    async keys() {
      ops.push({ op: 'keys', key: '*', bytes: 0 });
      return inner.keys();
    },
    close: () => inner.close(),
  };
}

/** The directory: users, then groups of 10 users each, then contacts. */
function bigSnapshot(runId: string): Snapshot {
  const records: PrincipalRecord[] = [];
  for (let i = 0; i < 100_000; i++) {
    const guid = `u-${i}`;
    records.push(principal({ connectionId: C, guid, emails: [`${guid}@corp.test`], samAccountName: guid }));
  }
  for (let g = 0; g < 10_000; g++) {
    const memberIds = Array.from(
      { length: 10 },
      (_, k) => (records[(g * 10 + k) % 100_000] as PrincipalRecord).id,
    );
    records.push(principal({ connectionId: C, guid: `g-${g}`, kind: 'GROUP', memberIds }));
  }
  for (let i = 0; i < 20_000; i++) {
    const guid = `k-${i}`;
    records.push(principal({ connectionId: C, guid, kind: 'CONTACT', emails: [`${guid}@ext.test`] }));
  }
  return snapshotOf(C, records, { runId });
}

let dir: string;
let kv: KvStore;
const ops: Op[] = [];
let cache: CacheStore;
let full: Snapshot;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'dirgate-delta-cost-'));
  kv = await openKvStore(`sqlite://${path.join(dir, 'cache.sqlite')}`, 'dirgate-cache');
  cache = new CacheStore(counting(kv, ops));
  full = bigSnapshot('run-full');
  await cache.beginStaging(full);
  await cache.writeStaging(full);
  await cache.promoteStaged(C, 'run-full');
}, 60_000);

afterAll(async () => {
  await cache.close();
  await rm(dir, { recursive: true, force: true });
});

it('stages and promotes 10 changes among 130,000 records without reading or writing a chunk', async () => {
  const fullBytes = ops.filter((o) => o.op === 'set').reduce((n, o) => n + o.bytes, 0);
  // Ten changes: users added and readdressed, a user (a member of a group) and a contact removed.
  const { snapshot, change } = nextSnapshot(
    full,
    [
      ['add', 1],
      ['add', 2],
      ['add', 4],
      ['update', 17],
      ['update', 40_001],
      ['update', 99_999],
      ['update', 125_000],
      ['remove', 5],
      ['remove', 129_000],
      ['add', 5],
    ],
    'run-delta',
  );
  expect(change.upserted.length + change.removed.length).toBeLessThan(20);

  ops.length = 0;
  await cache.beginStaging(snapshot);
  const written = await cache.writeStaging(snapshot, change);
  const { tidyError } = await cache.promoteStaged(C, 'run-delta');
  expect(tidyError).toBeNull();
  expect(written).toMatchObject({ form: 'DELTA', chunks: 0 });

  const chunkOps = ops.filter((o) => o.key.startsWith('chunk:') || o.op === 'keys');
  expect(chunkOps).toEqual([]);
  const setBytes = ops.filter((o) => o.op === 'set').reduce((n, o) => n + o.bytes, 0);
  const getBytes = ops.filter((o) => o.op === 'get').reduce((n, o) => n + o.bytes, 0);
  // The delta, the staging record twice and the pointer: a few kilobytes, against megabytes.
  expect(fullBytes).toBeGreaterThan(5_000_000);
  expect(setBytes).toBeLessThan(10_000);
  expect(getBytes).toBeLessThan(10_000);
  expect(ops.length).toBeLessThan(12);

  // And the served snapshot is the run's, as a restart loads it.
  const loaded = await cache.loadSnapshot(C);
  expect(loaded?.principals.length).toBe(snapshot.principals.length);
  expect(loaded?.principals.slice(-4)).toEqual(snapshot.principals.slice(-4));
  expect(loaded?.principals[17]).toEqual(snapshot.principals[17]);
}, 60_000);
