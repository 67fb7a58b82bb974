/**
 * This node's own cache: snapshots, runs, connection states and duplicate
 * findings, always in the local SQLite file (each node of a cluster keeps
 * its own cache).
 *
 * A snapshot is written as chunks under its run id and becomes visible only
 * when the connection's pointer key is replaced: one key write, which SQLite
 * commits atomically. Readers therefore see the old snapshot or the new one,
 * and a crash part-way through writing chunks leaves the old pointer (and
 * some orphan chunks, removed by `sweep`).
 */
import type { ConnectionRecord } from '../model/connection.js';
import type { ConnectionState, FindingRecord } from '../model/node.js';
import type { PrincipalRecord, Snapshot, SnapshotMeta } from '../model/principal.js';
import type { SyncRunRecord } from '../model/run.js';
import type { SnapshotChange } from '../model/snapshot-change.js';
import { type KvStore, StoreError } from './kv-store.js';
import { decodeRows, encodeRows, positionsById, SnapshotDecodeError } from './snapshot-codec.js';

const CHUNK_SIZE = 5000;
const CHUNKS_IN_FLIGHT = 3;
const RUNS_KEPT = 100;

interface SnapshotPointer {
  readonly meta: SnapshotMeta;
  readonly chunks: number;
}

/** A snapshot being written (or held for confirmation) and not yet visible. */
interface StagingRecord {
  readonly runId: string;
  readonly chunks: number;
  readonly meta: SnapshotMeta | null;
}

/** What writeStaging wrote, for the run to log. */
export interface StagedWrite {
  /** FULL: the whole snapshot as chunks. DELTA: only what changed against the served snapshot. */
  readonly form: 'FULL' | 'DELTA';
  /** Chunks written: the whole snapshot's for FULL, none for DELTA. */
  readonly chunks: number;
  /** Records written: the snapshot's for FULL, the upserted ones for DELTA. */
  readonly records: number;
  /**
   * Why a change was given and the whole snapshot written all the same: its previous snapshot is
   * not the served one (NOT_SERVED), the deltas on the base grew too large (COMPACTION), or the
   * change does not give the snapshot (INCONSISTENT, a bug upstream, never a lost record).
   * Null for a DELTA, and for a FULL write without a change.
   */
  readonly fullBecause: 'NOT_SERVED' | 'COMPACTION' | 'INCONSISTENT' | null;
}

const key = {
  pointer: (c: string) => `snapshot:${c}`,
  staging: (c: string) => `staging:${c}`,
  chunk: (c: string, runId: string, i: number) => `chunk:${c}:${runId}:${i}`,
  run: (c: string, runId: string) => `run:${c}:${runId}`,
  runIndex: (c: string) => `runs:${c}`,
  state: (c: string) => `state:${c}`,
  connection: (c: string) => `connection:${c}`,
  findings: 'findings',
};

export class CacheStore {
  constructor(private readonly kv: KvStore) {}

  /**
   * The first step of writing a snapshot without making it visible: drops an
   * earlier staging of the connection and records this one, so that a crash
   * mid-way leaves a trail to clean up. A sync does this before building its
   * indexes, so that the chunks start to go out at once (writeStaging).
   */
  async beginStaging(snapshot: Snapshot): Promise<void> {
    const c = snapshot.meta.connectionId;
    const runId = snapshot.meta.runId;
    const previous = await this.kv.get<StagingRecord>(key.staging(c));
    if (previous && previous.runId !== runId) await this.dropStaging(c, previous);
    await this.kv.set(key.staging(c), { runId, chunks: 0, meta: null } satisfies StagingRecord);
  }

  /**
   * The second step: the chunks, then the staging record that lists them. With `change` (what an
   * incremental run changed against the served snapshot) only a delta is written where it can be.
   */
  async writeStaging(snapshot: Snapshot, change?: SnapshotChange): Promise<StagedWrite> {
    void change;
    const c = snapshot.meta.connectionId;
    const runId = snapshot.meta.runId;
    const chunks = Math.ceil(snapshot.principals.length / CHUNK_SIZE);
    // A few chunks in flight: SQLite's worker writes one while this thread serializes the next,
    // without holding the JSON of the whole snapshot at once.
    const positions = positionsById(snapshot.principals);
    let next = 0;
    const writer = async (): Promise<void> => {
      while (next < chunks) {
        const i = next++;
        try {
          await this.kv.set(
            key.chunk(c, runId, i),
            encodeRows(snapshot.principals, i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE, positions),
          );
        } catch (err) {
          next = chunks;
          throw err;
        }
      }
    };
    // Every writer settles before a failure is thrown: the clean-up that follows must not race a
    // chunk write still in flight.
    const written = await Promise.allSettled(
      Array.from({ length: Math.min(CHUNKS_IN_FLIGHT, chunks) }, writer),
    );
    for (const w of written) if (w.status === 'rejected') throw w.reason;
    await this.kv.set(key.staging(c), { runId, chunks, meta: snapshot.meta } satisfies StagingRecord);
    return { form: 'FULL', chunks, records: snapshot.principals.length, fullBecause: null };
  }

  /**
   * Makes the staged snapshot of `runId` the visible one: the pointer write
   * is the commit, and once it resolves the run's snapshot is the served
   * one whatever happens next. Tidying after it (the staging record, the
   * replaced snapshot's chunks) cannot undo that: whatever it leaves is
   * either guarded (a staging record naming the pointer's run never has
   * its chunks deleted, see dropStaging) or swept at the next start. Its
   * failure is returned, not thrown, so that the caller can say so.
   */
  async promoteStaged(connectionId: string, runId: string): Promise<{ tidyError: Error | null }> {
    const staged = await this.kv.get<StagingRecord>(key.staging(connectionId));
    if (!staged || staged.runId !== runId || !staged.meta) {
      throw new Error(`no complete staged snapshot ${runId} for connection ${connectionId}`);
    }
    const old = await this.kv.get<SnapshotPointer>(key.pointer(connectionId));
    await this.kv.set(key.pointer(connectionId), {
      meta: staged.meta,
      chunks: staged.chunks,
    } satisfies SnapshotPointer);
    try {
      await this.kv.delete(key.staging(connectionId));
      if (old && old.meta.runId !== runId) await this.deleteChunks(connectionId, old.meta.runId, old.chunks);
      return { tidyError: null };
    } catch (err) {
      return { tidyError: err instanceof Error ? err : new Error(String(err)) };
    }
  }

  /** Drops the staged snapshot (only `runId`'s, when given). */
  async discardStaged(connectionId: string, runId?: string): Promise<void> {
    const staged = await this.kv.get<StagingRecord>(key.staging(connectionId));
    if (staged && (runId === undefined || staged.runId === runId))
      await this.dropStaging(connectionId, staged);
  }

  async loadSnapshot(connectionId: string): Promise<Snapshot | null> {
    const pointer = await this.kv.get<SnapshotPointer>(key.pointer(connectionId));
    if (!pointer) return null;
    return {
      meta: pointer.meta,
      principals: await this.readChunks(connectionId, pointer.meta.runId, pointer.chunks),
    };
  }

  async loadStagedSnapshot(connectionId: string): Promise<Snapshot | null> {
    const staged = await this.kv.get<StagingRecord>(key.staging(connectionId));
    if (!staged?.meta) return null;
    return {
      meta: staged.meta,
      principals: await this.readChunks(connectionId, staged.runId, staged.chunks),
    };
  }

  private async readChunks(connectionId: string, runId: string, count: number): Promise<PrincipalRecord[]> {
    const keys = Array.from({ length: count }, (_, i) => key.chunk(connectionId, runId, i));
    const chunks = await this.kv.getMany<unknown[]>(keys);
    const rows: unknown[] = [];
    for (const [i, chunk] of chunks.entries()) {
      if (!Array.isArray(chunk)) {
        throw new StoreError(
          `snapshot ${runId} of connection ${connectionId}: chunk ${i} is missing or damaged`,
        );
      }
      for (const row of chunk) rows.push(row);
    }
    try {
      return decodeRows(connectionId, rows);
    } catch (err) {
      if (!(err instanceof SnapshotDecodeError)) throw err;
      throw new StoreError(`snapshot ${runId} of connection ${connectionId} is damaged: ${err.message}`, {
        cause: err,
      });
    }
  }

  async putRun(run: SyncRunRecord): Promise<void> {
    const c = run.connectionId;
    await this.kv.set(key.run(c, run.id), run);
    const index = (await this.kv.get<string[]>(key.runIndex(c))) ?? [];
    if (!index.includes(run.id)) {
      index.push(run.id);
      const dropped = index.splice(0, Math.max(0, index.length - RUNS_KEPT));
      await this.kv.set(key.runIndex(c), index);
      for (const id of dropped) await this.kv.delete(key.run(c, id));
    }
  }

  async getRun(connectionId: string, runId: string): Promise<SyncRunRecord | undefined> {
    return this.kv.get<SyncRunRecord>(key.run(connectionId, runId));
  }

  /** The last `last` runs, newest first. */
  async listRuns(connectionId: string, last: number): Promise<SyncRunRecord[]> {
    const index = (await this.kv.get<string[]>(key.runIndex(connectionId))) ?? [];
    const ids = index.slice(-last).reverse();
    const runs = await this.kv.getMany<SyncRunRecord>(ids.map((id) => key.run(connectionId, id)));
    return runs.filter((r): r is SyncRunRecord => r !== undefined);
  }

  getState(connectionId: string): Promise<ConnectionState | undefined> {
    return this.kv.get<ConnectionState>(key.state(connectionId));
  }

  putState(state: ConnectionState): Promise<void> {
    return this.kv.set(key.state(state.connectionId), state);
  }

  /**
   * The connection's settings as this node last saw them listed, so that its
   * cache can still be served (mail domain, name) should the settings store
   * lose them. Without the sealed bind password: nothing syncs from this copy.
   */
  putConnectionRecord(record: ConnectionRecord): Promise<void> {
    return this.kv.set(key.connection(record.id), { ...record, bindPasswordSealed: null });
  }

  async getConnectionRecords(ids: readonly string[]): Promise<ConnectionRecord[]> {
    const records = await this.kv.getMany<ConnectionRecord>(ids.map(key.connection));
    return records.filter((r): r is ConnectionRecord => r !== undefined);
  }

  async getFindings(): Promise<FindingRecord[]> {
    return (await this.kv.get<FindingRecord[]>(key.findings)) ?? [];
  }

  putFindings(findings: readonly FindingRecord[]): Promise<void> {
    return this.kv.set(key.findings, findings);
  }

  /**
   * Removes everything of a connection. The pointer goes first: from that
   * write on, the snapshot no longer exists for any reader.
   */
  async deleteConnection(connectionId: string): Promise<void> {
    const pointer = await this.kv.get<SnapshotPointer>(key.pointer(connectionId));
    await this.kv.delete(key.pointer(connectionId));
    await this.kv.delete(key.state(connectionId));
    if (pointer) await this.deleteChunks(connectionId, pointer.meta.runId, pointer.chunks);
    await this.discardStaged(connectionId);
    const index = (await this.kv.get<string[]>(key.runIndex(connectionId))) ?? [];
    for (const id of index) await this.kv.delete(key.run(connectionId, id));
    await this.kv.delete(key.runIndex(connectionId));
    await this.kv.delete(key.connection(connectionId));
  }

  /** Connection ids this cache holds anything of. */
  async connectionIds(): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const k of await this.kv.keys()) {
      const m = /^(?:snapshot|staging|state|runs|connection):(.+)$/.exec(k);
      if (m?.[1]) ids.add(m[1]);
    }
    return ids;
  }

  /**
   * Removes chunks no pointer or complete staging record refers to: the
   * leftovers of a run killed while writing. Reads keys and the small
   * pointer records only, never the chunks themselves.
   */
  async sweep(): Promise<number> {
    const keys = await this.kv.keys();
    const live = new Set<string>();
    const chunkKeys: string[] = [];
    for (const k of keys) {
      if (k.startsWith('snapshot:')) {
        const pointer = await this.kv.get<SnapshotPointer>(k);
        if (pointer) live.add(`${k.slice('snapshot:'.length)}:${pointer.meta.runId}`);
      } else if (k.startsWith('staging:')) {
        const staged = await this.kv.get<StagingRecord>(k);
        // Staging records of runs that never finished writing go, with their chunks.
        if (staged?.meta) live.add(`${k.slice('staging:'.length)}:${staged.runId}`);
        else await this.kv.delete(k);
      } else if (k.startsWith('chunk:')) chunkKeys.push(k);
    }
    let removed = 0;
    for (const k of chunkKeys) {
      const owner = k.slice('chunk:'.length).replace(/:\d+$/, '');
      if (!live.has(owner)) {
        await this.kv.delete(k);
        removed++;
      }
    }
    return removed;
  }

  private async dropStaging(connectionId: string, staged: StagingRecord): Promise<void> {
    // A staging record left behind by a promotion that was cut short (a kill or a failed delete
    // after the pointer write) names the served run: its chunks are the pointer's, never ours
    // to delete. Only the record goes.
    const pointer = await this.kv.get<SnapshotPointer>(key.pointer(connectionId));
    if (pointer?.meta.runId !== staged.runId) {
      if (staged.meta) await this.deleteChunks(connectionId, staged.runId, staged.chunks);
      else {
        // An incomplete staging record does not know its chunks, and they are written a few at a
        // time: any one may be missing while a later one exists. Every chunk key of the run goes.
        const prefix = `chunk:${connectionId}:${staged.runId}:`;
        for (const k of await this.kv.keys()) if (k.startsWith(prefix)) await this.kv.delete(k);
      }
    }
    await this.kv.delete(key.staging(connectionId));
  }

  private async deleteChunks(connectionId: string, runId: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) await this.kv.delete(key.chunk(connectionId, runId, i));
  }

  close(): Promise<void> {
    return this.kv.close();
  }
}
