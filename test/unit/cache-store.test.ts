import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectionState, FindingRecord } from '../../src/model/node.js';
import type { Snapshot } from '../../src/model/principal.js';
import { advanced, failed, held, type SyncRunRecord, startedRun, succeeded } from '../../src/model/run.js';
import { CacheStore } from '../../src/store/cache-store.js';
import { type KvStore, openKvStore } from '../../src/store/kv-store.js';
import { principals, snapshotOf } from '../support/principals.js';

const NS = 'dirgate-cache';
/** More principals than one chunk holds (5000), so a snapshot takes two chunk writes. */
const TWO_CHUNKS = 6001;

/** `size` users of one connection, one address each, their GUIDs `<prefix>-<i>`. */
function snapshot(connectionId: string, runId: string, size: number, prefix = runId): Snapshot {
  const users = principals(size, (i) => {
    const guid = `${prefix}-${i}`;
    return { connectionId, guid, emails: [`${guid}@corp.test`], samAccountName: guid };
  });
  return snapshotOf(connectionId, users, { runId });
}

/** Stages `s` as a sync does: the staging record first, then the chunks. Returns the chunk count. */
async function stage(store: CacheStore, s: Snapshot): Promise<number> {
  await store.beginStaging(s);
  return (await store.writeStaging(s)).chunks;
}

/** The run of the connection's complete staged snapshot, or null. */
async function stagedRunId(store: CacheStore, connectionId: string): Promise<string | null> {
  return (await store.loadStagedSnapshot(connectionId))?.meta.runId ?? null;
}

function run(connectionId: string, id: string, status: SyncRunRecord['status'] = 'SUCCEEDED'): SyncRunRecord {
  const started = startedRun({
    id,
    connectionId,
    node: 'node-a',
    trigger: 'MANUAL',
    startedAt: '2025-01-01T00:00:00.000Z',
    mode: 'FULL',
  });
  const running = advanced(started, { phase: 'READING', server: 'ldap://dc1.corp.test' });
  const at = '2025-01-01T00:00:05.000Z';
  const counts = { users: 1, groups: 0, contacts: 0, addresses: 1 };
  const changes = { added: [], updated: [], removed: [], addedCount: 0, updatedCount: 0, removedCount: 0 };
  switch (status) {
    case 'RUNNING':
      return running;
    case 'SUCCEEDED':
      return succeeded(running, counts, at);
    case 'HELD':
      return held(running, counts, changes, 'held', at);
    case 'FAILED':
      return failed(running, 'failed', at);
  }
}

function state(connectionId: string): ConnectionState {
  return {
    connectionId,
    status: 'SUCCEEDED',
    activeServer: null,
    lastRun: null,
    lastSuccessfulRun: null,
    counts: { users: 1, groups: 0, contacts: 0, addresses: 1 },
    heldRunId: null,
  };
}

/** A KvStore whose writes fail from the `allowed`+1-th on, as if the process died there. */
function dyingAfter(kv: KvStore, allowed: number): KvStore {
  let writes = 0;
  return {
    ...kv,
    entries: kv.entries.bind(kv),
    async set(key, value) {
      if (++writes > allowed) throw new Error('killed');
      await kv.set(key, value);
    },
  };
}

/** A store whose deletes fail after `deletes` of them succeeded: a process killed mid-way. */
function dyingAt(kv: KvStore, limits: { deletes: number }): KvStore {
  let deletes = 0;
  return {
    ...kv,
    entries: kv.entries.bind(kv),
    async delete(key) {
      if (++deletes > limits.deletes) throw new Error('killed');
      await kv.delete(key);
    },
  };
}

async function keys(kv: KvStore): Promise<string[]> {
  const out: string[] = [];
  for await (const [k] of kv.entries()) out.push(k);
  return out.sort();
}

const guids = (s: Snapshot | null): string[] => (s ? s.principals.map((p) => p.guid) : []);

describe('CacheStore on SQLite', () => {
  let dir: string;
  let uri: string;
  let kv: KvStore;
  let cache: CacheStore;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dirgate-cache-'));
    uri = `sqlite://${path.join(dir, 'cache.sqlite')}`;
    kv = await openKvStore(uri, NS);
    cache = new CacheStore(kv);
  });

  afterEach(async () => {
    await cache.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  async function reopen(): Promise<void> {
    await cache.close();
    kv = await openKvStore(uri, NS);
    cache = new CacheStore(kv);
  }

  it('keeps the database file readable by its owner only', async () => {
    await cache.putFindings([]);
    for (const file of ['cache.sqlite', 'cache.sqlite-wal']) {
      expect(((await stat(path.join(dir, file))).mode & 0o777).toString(8)).toBe('600');
    }
  });

  it('has no snapshot for a connection never synced', async () => {
    expect(await cache.loadSnapshot('a')).toBeNull();
    expect(await cache.listRuns('a', 10)).toEqual([]);
  });

  it('makes a staged snapshot visible only when it is promoted, and keeps it across a restart', async () => {
    const s = snapshot('a', 'run-1', TWO_CHUNKS);
    expect(await stage(cache, s)).toBe(2);
    expect(await cache.loadSnapshot('a')).toBeNull();
    expect(await stagedRunId(cache, 'a')).toBe('run-1');

    await cache.promoteStaged('a', 'run-1');
    const loaded = await cache.loadSnapshot('a');
    expect(loaded?.meta).toEqual(s.meta);
    expect(loaded?.principals).toEqual(s.principals);
    expect(await stagedRunId(cache, 'a')).toBeNull();

    await reopen();
    expect(guids(await cache.loadSnapshot('a'))).toEqual(guids(s));
  });

  it('serves the old snapshot while a new one is staged but not promoted', async () => {
    await stage(cache, snapshot('a', 'run-1', 3));
    await cache.promoteStaged('a', 'run-1');
    await stage(cache, snapshot('a', 'run-2', 5));

    expect((await cache.loadSnapshot('a'))?.meta.runId).toBe('run-1');
    expect(guids(await cache.loadSnapshot('a'))).toEqual(['run-1-0', 'run-1-1', 'run-1-2']);
    expect((await cache.loadStagedSnapshot('a'))?.principals).toHaveLength(5);
  });

  it('replaces the old snapshot on promotion and removes its chunks', async () => {
    await stage(cache, snapshot('a', 'run-1', 3));
    await cache.promoteStaged('a', 'run-1');
    await stage(cache, snapshot('a', 'run-2', 2));
    await cache.promoteStaged('a', 'run-2');

    expect(guids(await cache.loadSnapshot('a'))).toEqual(['run-2-0', 'run-2-1']);
    expect((await keys(kv)).filter((k) => k.startsWith('chunk:'))).toEqual(['chunk:a:run-2:0']);
  });

  it('keeps the promoted snapshot when the process dies between the pointer write and the staging delete', async () => {
    await stage(cache, snapshot('a', 'run-1', 3));
    await cache.promoteStaged('a', 'run-1');
    await stage(cache, snapshot('a', 'run-2', TWO_CHUNKS));
    // Killed right after the pointer write: every later write or delete is lost.
    const dying = new CacheStore(dyingAt(kv, { deletes: 0 }));
    const { tidyError } = await dying.promoteStaged('a', 'run-2');
    expect(tidyError?.message).toBe('killed');
    expect(await keys(kv)).toContain('staging:a');

    // The restarted node sweeps, and the next run stages and discards: none of it touches the served run.
    await reopen();
    await cache.sweep();
    expect(guids(await cache.loadSnapshot('a'))).toHaveLength(TWO_CHUNKS);
    await stage(cache, snapshot('a', 'run-3', 2));
    expect(guids(await cache.loadSnapshot('a'))).toHaveLength(TWO_CHUNKS);
    await cache.discardStaged('a', 'run-3');
    await cache.discardStaged('a');
    const served = await cache.loadSnapshot('a');
    expect(served?.meta.runId).toBe('run-2');
    expect(guids(served)).toEqual(guids(snapshot('a', 'run-2', TWO_CHUNKS)));
    // The replaced run's chunks are gone with the sweep; only the served run's remain.
    expect((await keys(kv)).filter((k) => k.startsWith('chunk:'))).toEqual([
      'chunk:a:run-2:0',
      'chunk:a:run-2:1',
    ]);
  });

  it('never lets a staging record that names the served run delete its chunks', async () => {
    await stage(cache, snapshot('a', 'run-1', TWO_CHUNKS));
    const dying = new CacheStore(dyingAt(kv, { deletes: 0 }));
    await dying.promoteStaged('a', 'run-1');
    // discardStaged is what a run that fails after its promotion calls.
    await cache.discardStaged('a', 'run-1');
    expect(await stagedRunId(cache, 'a')).toBeNull();
    expect(guids(await cache.loadSnapshot('a'))).toHaveLength(TWO_CHUNKS);
  });

  it('refuses to promote a run that is not the staged one', async () => {
    await stage(cache, snapshot('a', 'run-1', 1));
    await expect(cache.promoteStaged('a', 'run-9')).rejects.toThrow('run-9');
    await expect(cache.promoteStaged('b', 'run-1')).rejects.toThrow();
    expect(await cache.loadSnapshot('a')).toBeNull();
  });

  it('drops an earlier staged snapshot when another run stages', async () => {
    await stage(cache, snapshot('a', 'run-1', TWO_CHUNKS));
    await stage(cache, snapshot('a', 'run-2', 1));
    expect((await keys(kv)).filter((k) => k.startsWith('chunk:'))).toEqual(['chunk:a:run-2:0']);
    expect(await stagedRunId(cache, 'a')).toBe('run-2');
  });

  it('discards a staged snapshot on request, leaving the visible one', async () => {
    await stage(cache, snapshot('a', 'run-1', 1));
    await cache.promoteStaged('a', 'run-1');
    await stage(cache, snapshot('a', 'run-2', 1));
    await cache.discardStaged('a', 'run-other');
    expect(await stagedRunId(cache, 'a')).toBe('run-2');
    await cache.discardStaged('a', 'run-2');
    expect(await stagedRunId(cache, 'a')).toBeNull();
    expect(await cache.loadStagedSnapshot('a')).toBeNull();
    expect((await cache.loadSnapshot('a'))?.meta.runId).toBe('run-1');
    expect((await keys(kv)).filter((k) => k.startsWith('chunk:'))).toEqual(['chunk:a:run-1:0']);
  });

  it('keeps the last good snapshot when a run dies while writing, and sweeps its chunks after a restart', async () => {
    await stage(cache, snapshot('a', 'good', 4));
    await cache.promoteStaged('a', 'good');

    // The staging record and the first chunk are written; the second chunk write never happens.
    const dying = new CacheStore(dyingAfter(kv, 2));
    await expect(stage(dying, snapshot('a', 'killed', TWO_CHUNKS))).rejects.toThrow('killed');
    expect(await keys(kv)).toContain('chunk:a:killed:0');
    expect(await keys(kv)).toContain('staging:a');

    await reopen();
    expect(await cache.sweep()).toBe(1);
    expect(await keys(kv)).toEqual(['chunk:a:good:0', 'snapshot:a']);
    expect(guids(await cache.loadSnapshot('a'))).toEqual(['good-0', 'good-1', 'good-2', 'good-3']);
    expect(await stagedRunId(cache, 'a')).toBeNull();
  });

  it('sweeps the chunks of a first run that died, leaving no snapshot', async () => {
    const dying = new CacheStore(dyingAfter(kv, 2));
    await expect(stage(dying, snapshot('a', 'first', TWO_CHUNKS))).rejects.toThrow('killed');
    await reopen();
    expect(await cache.sweep()).toBe(1);
    expect(await keys(kv)).toEqual([]);
    expect(await cache.loadSnapshot('a')).toBeNull();
  });

  it('keeps a completely staged snapshot (held for confirmation) across a restart and sweep', async () => {
    await stage(cache, snapshot('a', 'good', 1));
    await cache.promoteStaged('a', 'good');
    await stage(cache, snapshot('a', 'held', 2));

    await reopen();
    expect(await cache.sweep()).toBe(0);
    expect(await stagedRunId(cache, 'a')).toBe('held');
    expect((await cache.loadSnapshot('a'))?.meta.runId).toBe('good');

    await cache.promoteStaged('a', 'held');
    expect(guids(await cache.loadSnapshot('a'))).toEqual(['held-0', 'held-1']);
  });

  it('sweeps nothing of a healthy cache', async () => {
    await stage(cache, snapshot('a', 'run-1', 2));
    await cache.promoteStaged('a', 'run-1');
    await stage(cache, snapshot('b', 'run-2', 2));
    await cache.promoteStaged('b', 'run-2');
    const before = await keys(kv);
    expect(await cache.sweep()).toBe(0);
    expect(await keys(kv)).toEqual(before);
  });

  it('keeps the last 100 runs of a connection, newest first', async () => {
    for (let i = 1; i <= 105; i++) await cache.putRun(run('a', `run-${i}`));
    const runs = await cache.listRuns('a', 1000);
    expect(runs).toHaveLength(100);
    expect(runs[0]?.id).toBe('run-105');
    expect(runs.at(-1)?.id).toBe('run-6');
    expect(await cache.getRun('a', 'run-5')).toBeUndefined();
    expect((await cache.getRun('a', 'run-6'))?.id).toBe('run-6');
    expect((await keys(kv)).filter((k) => k.startsWith('run:'))).toHaveLength(100);
    expect((await cache.listRuns('a', 3)).map((r) => r.id)).toEqual(['run-105', 'run-104', 'run-103']);
  });

  it('keeps only the latest of consecutive incremental runs that changed nothing', async () => {
    const incremental = (id: string, changed: number, status: SyncRunRecord['status'] = 'SUCCEEDED') => {
      const r = run('a', id, status);
      const changes = {
        added: [],
        updated: [],
        removed: [],
        addedCount: 0,
        updatedCount: changed,
        removedCount: 0,
      };
      return { ...r, mode: 'INCREMENTAL' as const, changes } as SyncRunRecord;
    };
    await cache.putRun(run('a', 'full-1'));
    for (const [id, changed] of [
      ['quiet-1', 0],
      ['quiet-2', 0],
      ['busy-1', 3],
      ['quiet-3', 0],
      ['quiet-4', 0],
      ['quiet-5', 0],
    ] as const) {
      // Each recorded first as RUNNING, then as it ended, as the engine does.
      await cache.putRun(run('a', id, 'RUNNING'));
      await cache.putRun(incremental(id, changed));
    }
    expect((await cache.listRuns('a', 100)).map((r) => r.id)).toEqual([
      'quiet-5',
      'busy-1',
      'quiet-2',
      'full-1',
    ]);
    expect((await keys(kv)).filter((k) => k.startsWith('run:')).sort()).toEqual([
      'run:a:busy-1',
      'run:a:full-1',
      'run:a:quiet-2',
      'run:a:quiet-5',
    ]);
    // A failed incremental run breaks the row; a full run that changed nothing is kept.
    await cache.putRun(incremental('failed-1', 0, 'FAILED'));
    await cache.putRun(incremental('quiet-6', 0));
    await cache.putRun(run('a', 'full-2'));
    expect((await cache.listRuns('a', 3)).map((r) => r.id)).toEqual(['full-2', 'quiet-6', 'failed-1']);
  });

  it('keeps the first and the latest of consecutive incremental runs that failed the same way', async () => {
    const failing = (id: string, error: string) =>
      ({ ...run('a', id, 'FAILED'), mode: 'INCREMENTAL' as const, error }) as SyncRunRecord;
    await cache.putRun(run('a', 'full-1'));
    for (const id of ['down-1', 'down-2', 'down-3', 'down-4']) {
      await cache.putRun(run('a', id, 'RUNNING'));
      await cache.putRun(failing(id, 'no server answered'));
    }
    await cache.putRun(failing('other-1', 'bind refused'));
    await cache.putRun(failing('down-5', 'no server answered'));
    expect((await cache.listRuns('a', 100)).map((r) => r.id)).toEqual([
      'down-5',
      'other-1',
      'down-4',
      'down-1',
      'full-1',
    ]);
    expect((await keys(kv)).filter((k) => k.startsWith('run:'))).toHaveLength(5);
  });

  it('updates a run in place instead of listing it twice', async () => {
    await cache.putRun(run('a', 'run-1', 'RUNNING'));
    await cache.putRun(run('a', 'run-2', 'RUNNING'));
    await cache.putRun(run('a', 'run-1', 'FAILED'));
    const runs = await cache.listRuns('a', 10);
    expect(runs.map((r) => [r.id, r.status])).toEqual([
      ['run-2', 'RUNNING'],
      ['run-1', 'FAILED'],
    ]);
  });

  it('deletes everything of one connection and nothing of another', async () => {
    const finding: FindingRecord = {
      id: 'f1',
      kind: 'EMAIL_ADDRESS',
      value: 'x@corp.test',
      principalIds: ['a:1', 'b:1'],
      connectionIds: ['a', 'b'],
      detectedAt: '2025-01-01T00:00:00.000Z',
    };
    for (const c of ['a', 'b']) {
      await stage(cache, snapshot(c, `${c}-run-1`, TWO_CHUNKS));
      await cache.promoteStaged(c, `${c}-run-1`);
      await stage(cache, snapshot(c, `${c}-run-2`, 3));
      await cache.putRun(run(c, `${c}-run-1`));
      await cache.putRun(run(c, `${c}-run-2`, 'HELD'));
      await cache.putState(state(c));
    }
    await cache.putFindings([finding]);
    const bKeys = (await keys(kv)).filter((k) => /(^|:)b(:|$)/.test(k));

    await cache.deleteConnection('a');

    expect(await cache.loadSnapshot('a')).toBeNull();
    expect(await cache.loadStagedSnapshot('a')).toBeNull();
    expect(await cache.listRuns('a', 10)).toEqual([]);
    expect(await cache.getRun('a', 'a-run-1')).toBeUndefined();
    expect(await cache.getState('a')).toBeUndefined();
    expect(await cache.connectionIds()).toEqual(new Set(['b']));
    expect((await keys(kv)).filter((k) => k !== 'findings')).toEqual(bKeys.sort());

    expect(guids(await cache.loadSnapshot('b'))).toHaveLength(TWO_CHUNKS);
    expect((await cache.loadStagedSnapshot('b'))?.principals).toHaveLength(3);
    expect((await cache.listRuns('b', 10)).map((r) => r.id)).toEqual(['b-run-2', 'b-run-1']);
    expect(await cache.getState('b')).toEqual(state('b'));
    // Findings are recomputed by the directory layer, not by the store.
    expect(await cache.getFindings()).toEqual([finding]);
  });

  it('keeps connection states and findings across a restart', async () => {
    await cache.putState(state('a'));
    await cache.putFindings([]);
    await reopen();
    expect(await cache.getState('a')).toEqual(state('a'));
    expect(await cache.getFindings()).toEqual([]);
    expect(await cache.connectionIds()).toEqual(new Set(['a']));
  });

  it('keeps its keys apart from another namespace in the same file', async () => {
    const other = await openKvStore(uri, 'dirgate-settings');
    try {
      await other.set('snapshot:a', { not: 'a pointer' });
      expect(await cache.loadSnapshot('a')).toBeNull();
      expect(await cache.connectionIds()).toEqual(new Set());
      expect(await cache.sweep()).toBe(0);
      expect(await other.get('snapshot:a')).toEqual({ not: 'a pointer' });
    } finally {
      await other.close();
    }
  });
});

describe('openKvStore', () => {
  it('refuses an unknown store URI without echoing credentials', async () => {
    await expect(openKvStore('ftp://user:secret@host/x', 'ns')).rejects.toThrow('unsupported store URI');
    await expect(openKvStore('ftp://user:secret@host/x', 'ns')).rejects.not.toThrow('secret');
  });

  it('reports a missing key as undefined and getMany keeps positions', async () => {
    const kv = await openKvStore('memory://', 'ns');
    await kv.set('a', 1);
    await kv.set('c', { n: 3 });
    expect(await kv.get('b')).toBeUndefined();
    expect(await kv.getMany(['a', 'b', 'c'])).toEqual([1, undefined, { n: 3 }]);
    expect(await kv.getMany([])).toEqual([]);
    await kv.delete('a');
    expect(await kv.get('a')).toBeUndefined();
    await kv.close();
  });
});
