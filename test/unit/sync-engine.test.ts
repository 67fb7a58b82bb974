/**
 * The sync engine over in-memory stores and a fake directory reader: the
 * paths real servers reach only by accident (a held run and its
 * confirmation, a run the store could not record, a process killed after
 * the swap or before it, a deletion or a shutdown during a run), and the
 * one seam every served change goes through.
 */
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { DirectoryFlavour } from '../../src/ldap/types.js';
import { silentLogger } from '../../src/model/logger.js';
import type { PrincipalRecord, Snapshot } from '../../src/model/principal.js';
import { CacheStore } from '../../src/store/cache-store.js';
import { type KvStore, openKvStore } from '../../src/store/kv-store.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { SettingsStore } from '../../src/store/settings-store.js';
import type { DirectoryReadOptions, DirectoryReadResult } from '../../src/sync/directory-read.js';
import type { PreparedSnapshot, SnapshotConsumer } from '../../src/sync/snapshot-consumer.js';
import { SnapshotSet } from '../../src/sync/snapshot-set.js';
import { DISCARDED_HELD, SyncEngine, type SyncEngineDeps } from '../../src/sync/sync-engine.js';
import { connectionRecord, SHORT_LIMITS } from '../support/connections.js';
import { principals, snapshotOf } from '../support/principals.js';

const ID = 'c1';

const users = (count: number, from = 0): PrincipalRecord[] =>
  principals(count, (i) => ({ connectionId: ID, guid: `u${from + i}`, emails: [`u${from + i}@corp.test`] }));

/** A directory the reader reads: what it holds, and a read that can be made to fail or to wait. */
class FakeDirectory {
  entries: PrincipalRecord[] = [];
  failWith: Error | null = null;
  /** While set, reads wait for it (or for their abort). */
  gate: Promise<void> | null = null;
  reads = 0;

  readonly read = async (options: DirectoryReadOptions): Promise<DirectoryReadResult> => {
    this.reads++;
    options.onBound('ldap://dc1.corp.test', 'LDAP' satisfies DirectoryFlavour);
    if (this.gate) {
      await Promise.race([
        this.gate,
        new Promise((_, reject) => {
          if (options.signal.aborted) reject(new Error('aborted'));
          options.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        }),
      ]);
    }
    if (this.failWith) throw this.failWith;
    options.onRead({ entries: this.entries.length, skipped: 0, rangedRequests: 0 });
    const snapshot = snapshotOf(options.connectionId, this.entries, { runId: options.runId });
    return { snapshot, server: 'ldap://dc1.corp.test', unresolvedMembers: 0 } as DirectoryReadResult;
  };
}

/** The consumer seam as the engine uses it: every preparation and commit, in order. */
class RecordingConsumer implements SnapshotConsumer {
  readonly calls: string[] = [];
  failCommit = false;

  async prepare(connectionId: string, next: Snapshot | null): Promise<PreparedSnapshot> {
    const what = next ? `${connectionId}:${next.principals.length}` : `${connectionId}:removed`;
    this.calls.push(`prepare ${what}`);
    return {
      commit: async () => {
        this.calls.push(`commit ${what}`);
        if (this.failCommit) throw new Error('the index build failed');
      },
    };
  }
}

describe('SyncEngine', () => {
  let settingsKv: KvStore;
  let cacheKv: KvStore;
  let settings: SettingsStore;
  let cache: CacheStore;
  let directory: FakeDirectory;
  let consumer: RecordingConsumer;
  const box = new SecretBox(randomBytes(32));

  /** An engine over the shared stores, as a node after a start. */
  async function start(
    storeFor: (kv: KvStore) => KvStore = (kv) => kv,
    extra: Partial<SyncEngineDeps> = {},
  ): Promise<{
    engine: SyncEngine;
    snapshots: SnapshotSet;
  }> {
    const snapshots = new SnapshotSet();
    const engine = new SyncEngine({
      settings,
      cache: new CacheStore(storeFor(cacheKv)),
      box,
      snapshots,
      consumer,
      nodeName: 'node-a',
      limits: SHORT_LIMITS,
      deleteThreshold: 0.5,
      logger: silentLogger,
      read: directory.read,
      ...extra,
    });
    await engine.loadPersisted();
    await engine.applyListing(await settings.listing());
    return { engine, snapshots };
  }

  async function sync(engine: SyncEngine) {
    await engine.start(ID, 'MANUAL');
    const ended = await engine.wait(ID);
    if (!ended) throw new Error('no run');
    return ended;
  }

  beforeEach(async () => {
    settingsKv = await openKvStore('memory://', 'dirgate-settings');
    cacheKv = await openKvStore('memory://', 'dirgate-cache');
    settings = new SettingsStore(settingsKv);
    cache = new CacheStore(cacheKv);
    await settings.putConnection(connectionRecord({ id: ID }));
    directory = new FakeDirectory();
    consumer = new RecordingConsumer();
  });

  it('serves a run that succeeded through the consumer: prepared while written, committed after', async () => {
    const { engine, snapshots } = await start();
    directory.entries = users(10);
    const ended = await sync(engine);
    expect(ended.status).toBe('SUCCEEDED');
    expect(ended.status === 'SUCCEEDED' && ended.counts.users).toBe(10);
    expect(snapshots.get(ID)?.principals).toHaveLength(10);
    expect(consumer.calls).toEqual(['prepare c1:10', 'commit c1:10']);
    expect((await cache.loadSnapshot(ID))?.meta.runId).toBe(ended.id);
    expect(engine.state(ID)).toMatchObject({ status: 'SUCCEEDED', counts: { users: 10 } });
  });

  it('holds a run that would remove too much, serves nothing of it, and applies it on confirmation the same way', async () => {
    const { engine, snapshots } = await start();
    directory.entries = users(10);
    const first = await sync(engine);
    directory.entries = users(2);
    const heldRun = await sync(engine);
    expect(heldRun.status).toBe('HELD');
    expect(heldRun.error).toMatch(/would remove 8 of 10/);
    expect(snapshots.get(ID)?.meta.runId).toBe(first.id);
    expect(engine.state(ID).heldRunId).toBe(heldRun.id);
    // A held run prepares nothing: nothing of it may be served.
    expect(consumer.calls).toEqual(['prepare c1:10', 'commit c1:10']);

    const applied = await engine.confirmHeld(ID, heldRun.id);
    expect(applied).toMatchObject({ id: heldRun.id, status: 'SUCCEEDED', counts: { users: 2 } });
    expect(snapshots.get(ID)?.principals).toHaveLength(2);
    expect(consumer.calls.slice(2)).toEqual(['prepare c1:2', 'commit c1:2']);
    expect(engine.state(ID)).toMatchObject({ status: 'SUCCEEDED', heldRunId: null });
    await expect(engine.confirmHeld(ID, heldRun.id)).rejects.toThrow(/not held/);
  });

  it('discards a held run: the staged snapshot goes, the served one and its counts stay, the run ends FAILED saying so', async () => {
    const { engine, snapshots } = await start();
    directory.entries = users(10);
    const first = await sync(engine);
    directory.entries = users(2);
    const heldRun = await sync(engine);
    expect(heldRun.status).toBe('HELD');
    expect((await cache.loadStagedSnapshot(ID))?.meta.runId).toBe(heldRun.id);
    const events: string[] = [];
    engine.on('run', (r) => events.push(`${r.id} ${r.status}`));

    const discarded = await engine.discardHeld(ID, heldRun.id);
    expect(discarded).toMatchObject({ id: heldRun.id, status: 'FAILED', error: DISCARDED_HELD });
    expect(DISCARDED_HELD).toBe(
      'discarded by an administrator: the current data was kept; the next run compares again',
    );
    expect(events).toEqual([`${heldRun.id} FAILED`]);
    expect(await cache.loadStagedSnapshot(ID)).toBeNull();
    expect(await cache.getRun(ID, heldRun.id)).toMatchObject({ status: 'FAILED', error: DISCARDED_HELD });
    // Served, stored and counted as before the held run; nothing went through the consumer.
    expect(snapshots.get(ID)?.meta.runId).toBe(first.id);
    expect((await cache.loadSnapshot(ID))?.meta.runId).toBe(first.id);
    expect(consumer.calls).toEqual(['prepare c1:10', 'commit c1:10']);
    const state = engine.state(ID);
    expect(state).toMatchObject({ status: 'FAILED', heldRunId: null, counts: { users: 10 } });
    expect(state.lastRun).toMatchObject({ id: heldRun.id, status: 'FAILED' });
    expect(state.lastSuccessfulRun?.id).toBe(first.id);
    expect(await cache.getState(ID)).toEqual(state);
    // Settled once: neither a second discard nor a confirmation finds it held.
    await expect(engine.discardHeld(ID, heldRun.id)).rejects.toThrow(/not held/);
    await expect(engine.confirmHeld(ID, heldRun.id)).rejects.toThrow(/not held/);
    // The next run compares with the data still served (10 users), and is held again.
    expect((await sync(engine)).status).toBe('HELD');
  });

  it('settles a held run once: a discard racing a confirmation is refused, and a run in progress refuses it', async () => {
    const { engine, snapshots } = await start();
    directory.entries = users(10);
    await sync(engine);
    directory.entries = users(2);
    const heldRun = await sync(engine);
    const [confirmed, discarded] = await Promise.allSettled([
      engine.confirmHeld(ID, heldRun.id),
      engine.discardHeld(ID, heldRun.id),
    ]);
    expect(confirmed).toMatchObject({ status: 'fulfilled', value: { status: 'SUCCEEDED' } });
    expect(discarded).toMatchObject({
      status: 'rejected',
      reason: { message: expect.stringMatching(/being confirmed or discarded/) },
    });
    expect(snapshots.get(ID)?.principals).toHaveLength(2);
    expect(engine.state(ID)).toMatchObject({ status: 'SUCCEEDED', heldRunId: null });

    directory.entries = [];
    const again = await sync(engine);
    expect(again.status).toBe('HELD');
    let open: () => void = () => {};
    directory.gate = new Promise((r) => {
      open = r;
    });
    await engine.start(ID, 'MANUAL');
    await expect(engine.discardHeld(ID, again.id)).rejects.toThrow(/running/);
    open();
    await engine.wait(ID);
  });

  it('removes a deleted connection through the consumer too, and says so', async () => {
    const { engine, snapshots } = await start();
    directory.entries = users(3);
    await sync(engine);
    const removed: string[] = [];
    engine.on('removed', (id) => removed.push(id));
    await engine.removeConnection(ID);
    expect(consumer.calls.slice(2)).toEqual(['prepare c1:removed', 'commit c1:removed']);
    expect(snapshots.get(ID)).toBeUndefined();
    expect(await cache.loadSnapshot(ID)).toBeNull();
    expect(removed).toEqual([ID]);
  });

  it('keeps the committed snapshot when serving it fails: the run still succeeded', async () => {
    const { engine, snapshots } = await start();
    directory.entries = users(4);
    consumer.failCommit = true;
    const ended = await sync(engine);
    expect(ended.status).toBe('SUCCEEDED');
    expect(snapshots.get(ID)?.principals).toHaveLength(4);
    expect((await cache.loadSnapshot(ID))?.meta.runId).toBe(ended.id);
  });

  it('fails a run whose directory fails, keeping the last good snapshot served and stored', async () => {
    const { engine, snapshots } = await start();
    directory.entries = users(5);
    const good = await sync(engine);
    directory.failWith = new Error('the directory went away');
    const ended = await sync(engine);
    expect(ended).toMatchObject({ status: 'FAILED', error: 'the directory went away', phase: 'DONE' });
    expect(snapshots.get(ID)?.meta.runId).toBe(good.id);
    expect((await cache.loadSnapshot(ID))?.meta.runId).toBe(good.id);
    expect(engine.state(ID).lastSuccessfulRun?.id).toBe(good.id);
  });

  it('records a run the store could not record as soon as a later run can write', async () => {
    let failing = false;
    const flaky = (kv: KvStore): KvStore => ({
      ...kv,
      entries: kv.entries.bind(kv),
      async set(key, value) {
        // The run is recorded RUNNING when it starts; its end is what cannot be written.
        const ending = (value as { status?: string }).status !== 'RUNNING';
        if (failing && key.startsWith('run:') && ending) throw new Error('disk full');
        await kv.set(key, value);
      },
    });
    const { engine } = await start(flaky);
    directory.entries = users(2);
    await sync(engine);
    directory.failWith = new Error('refused');
    failing = true;
    const unrecorded = await engine.start(ID, 'MANUAL');
    const ended = await engine.wait(ID);
    expect(ended?.status).toBe('FAILED');
    // In the store the run is still RUNNING; the engine reports how it really ended.
    expect((await cache.getRun(ID, unrecorded.id))?.status).toBe('RUNNING');
    expect((await engine.runs(ID, 5)).find((r) => r.id === unrecorded.id)?.status).toBe('FAILED');

    failing = false;
    directory.failWith = null;
    await sync(engine);
    expect((await cache.getRun(ID, unrecorded.id))?.status).toBe('FAILED');
  });

  describe('a node restarted after its process was killed during a run', () => {
    it('reports the run SUCCEEDED when its snapshot had been swapped in', async () => {
      const first = await start();
      directory.entries = users(3);
      await sync(first.engine);
      // The record of the second run, as a kill right after the pointer write leaves it.
      directory.entries = users(6);
      let killAfterPointer = false;
      const dying = (kv: KvStore): KvStore => ({
        ...kv,
        entries: kv.entries.bind(kv),
        async set(key, value) {
          if (killAfterPointer) throw new Error('killed');
          await kv.set(key, value);
          if (key.startsWith('snapshot:')) killAfterPointer = true;
        },
        async delete(key) {
          if (killAfterPointer) throw new Error('killed');
          await kv.delete(key);
        },
      });
      const second = await start(dying);
      const run = await sync(second.engine);

      const restarted = await start();
      const state = restarted.engine.state(ID);
      expect(state.status).toBe('SUCCEEDED');
      expect(state.lastRun).toMatchObject({ id: run.id, status: 'SUCCEEDED', counts: { users: 6 } });
      expect(restarted.snapshots.get(ID)?.principals).toHaveLength(6);
      expect((await cache.getRun(ID, run.id))?.status).toBe('SUCCEEDED');
    });

    it('reports the run FAILED, interrupted, when it was killed before the swap', async () => {
      const first = await start();
      directory.entries = users(3);
      const good = await sync(first.engine);
      directory.entries = users(6);
      directory.gate = new Promise(() => {});
      const running = await first.engine.start(ID, 'MANUAL');
      // Killed while reading: the state on disk names the run, RUNNING.
      await new Promise((r) => setTimeout(r, 10));
      expect((await cache.getState(ID))?.lastRun?.status).toBe('RUNNING');

      directory.gate = null;
      const restarted = await start();
      const state = restarted.engine.state(ID);
      expect(state.status).toBe('FAILED');
      expect(state.lastRun).toMatchObject({ id: running.id, status: 'FAILED' });
      expect(state.lastRun?.error).toMatch(/interrupted/);
      expect(state.lastSuccessfulRun?.id).toBe(good.id);
      expect(restarted.snapshots.get(ID)?.principals).toHaveLength(3);
      await first.engine.shutdown();
    });

    it('ends a run left RUNNING whose snapshot cannot be read, and says why', async () => {
      const first = await start();
      directory.entries = users(3);
      const good = await sync(first.engine);
      await cacheKv.set(`chunk:${ID}:${good.id}:0`, 'damaged');
      await cache.putState({ ...first.engine.state(ID), status: 'RUNNING' });
      const restarted = await start();
      expect(restarted.engine.state(ID).status).toBe('FAILED');
      expect(restarted.engine.state(ID).lastRun?.error).toMatch(/could not be read/);
      expect(restarted.snapshots.get(ID)).toBeUndefined();
      // The next run rebuilds it.
      expect((await sync(restarted.engine)).status).toBe('SUCCEEDED');
      expect(restarted.snapshots.get(ID)?.principals).toHaveLength(3);
    });
  });

  it('aborts a run on shutdown or deletion, saying why, with the last good snapshot kept', async () => {
    const { engine, snapshots } = await start();
    directory.entries = users(2);
    const good = await sync(engine);
    directory.gate = new Promise(() => {});
    await engine.start(ID, 'MANUAL');
    await engine.shutdown();
    const stopped = engine.state(ID).lastRun;
    expect(stopped).toMatchObject({ status: 'FAILED' });
    expect(stopped?.error).toMatch(/aborted: the node is shutting down/);
    expect(snapshots.get(ID)?.meta.runId).toBe(good.id);
    await expect(engine.start(ID, 'MANUAL')).rejects.toThrow(/shutting down/);
  });

  it('fails a run past its deadline, naming the phase and the setting, with the last good snapshot kept', async () => {
    const { engine, snapshots } = await start(undefined, { runTimeoutMs: 300 });
    directory.entries = users(2);
    const good = await sync(engine);
    // A directory that keeps the read going for ever: only the deadline ends it.
    directory.gate = new Promise(() => {});
    const started = Date.now();
    const overran = await sync(engine);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(overran).toMatchObject({ status: 'FAILED' });
    expect(overran.error).toBe(
      'the run took longer than its deadline of 300 ms (DIRGATE_SYNC_RUN_TIMEOUT_MS) and was stopped while READING; the previous snapshot was kept',
    );
    expect(snapshots.get(ID)?.meta.runId).toBe(good.id);
    expect(engine.state(ID).status).toBe('FAILED');
    // The deadline is per run: the next one, within it, succeeds.
    directory.gate = null;
    expect(await sync(engine)).toMatchObject({ status: 'SUCCEEDED' });
  });

  it('returns the run in progress to a second start instead of starting another', async () => {
    const { engine } = await start();
    directory.gate = new Promise(() => {});
    const a = await engine.start(ID, 'MANUAL');
    const b = await engine.start(ID, 'SCHEDULE');
    expect(b.id).toBe(a.id);
    await new Promise((r) => setTimeout(r, 10));
    expect(directory.reads).toBe(1);
    await engine.removeConnection(ID);
    expect(await engine.wait(ID)).toBeNull();
  });
});
