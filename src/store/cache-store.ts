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
 *
 * An incremental run writes only a delta (snapshot-delta.ts: the records it
 * changed, the ids it removed) under its run id, on top of the served
 * snapshot. So the pointer names a layout: the base chunks (the run they
 * were written under, older than the pointer's run when deltas follow) and
 * the deltas on top, in order; a reader applies them in turn. Promoting a
 * delta is still the one pointer write, and reads or writes no chunk. Once
 * the deltas grow past a share of the base (Compaction), the next run writes
 * its whole snapshot again, and a full run always does. After a promotion,
 * only what the new pointer no longer names is deleted.
 */
import type { ConnectionRecord } from '../model/connection.js';
import type { ConnectionState, FindingRecord } from '../model/node.js';
import type { PrincipalRecord, Snapshot, SnapshotMeta } from '../model/principal.js';
import type { SyncRunRecord } from '../model/run.js';
import type { SnapshotChange } from '../model/snapshot-change.js';
import { type KvStore, StoreError } from './kv-store.js';
import { withDefaults } from './settings-store.js';
import { decodeRows, encodeRows, positionsById, SnapshotDecodeError } from './snapshot-codec.js';
import { applyDeltas, encodeDelta, isStoredDelta, type StoredDelta } from './snapshot-delta.js';

const CHUNK_SIZE = 5000;
const CHUNKS_IN_FLIGHT = 3;
const RUNS_KEPT = 100;

/**
 * When the deltas on a base are folded into a new base: the next run with a
 * change writes its whole snapshot (FULL, COMPACTION) once its delta would
 * make the chain longer than `maxDeltas`, or hold more rows and removed ids
 * than `ratio` of the base's records (and more than `floor`).
 *
 * Why these: a load reads the base and then every delta, so the chain is a
 * share of the load's work; under a tenth of the base it costs a load (at
 * the start only) at most about a tenth more. A delta costs its own size,
 * compaction a whole write (~0.25 s at 130,000 records): with ten changes
 * a run, a tenth of 130,000 records lasts far past `maxDeltas` runs, so it
 * is the count that compacts, after 64 runs that changed something (a run
 * that changes nothing writes no delta), unless a full run (every 30
 * minutes by default, always FULL) came first. `maxDeltas` bounds the
 * pointer's list and the keys a load reads. The floor: under 10,000 records
 * (where a tenth is under 1,000) a whole write takes some 20 ms, so a small
 * directory need not rewrite itself for every few changes.
 */
export interface Compaction {
  readonly maxDeltas: number;
  readonly ratio: number;
  readonly floor: number;
}

export const DEFAULT_COMPACTION: Compaction = { maxDeltas: 64, ratio: 0.1, floor: 1000 };

/** Where a snapshot's records are: chunks written under one run, and deltas on top of them. */
interface Layout {
  /** The run the chunks were written under. */
  readonly base: string;
  readonly chunks: number;
  /** Records the base holds: what the chain is measured against. */
  readonly baseRecords: number;
  /** Runs whose deltas apply on the base, oldest first. */
  readonly deltas: readonly string[];
  /** Rows and removed ids in those deltas together. */
  readonly chainRecords: number;
}

/**
 * The served snapshot: its meta and layout. Pointers written before deltas
 * existed have only `meta` and `chunks`: the chunks are meta.runId's.
 */
interface SnapshotPointer extends Partial<Layout> {
  readonly meta: SnapshotMeta;
  readonly chunks: number;
}

/**
 * A snapshot being written (or held for confirmation) and not yet visible;
 * once complete (meta set), its layout is what the pointer will be. A staged
 * delta also names the run it applies to (`on`): it can only be promoted
 * over that one.
 */
interface StagingRecord extends Partial<Layout> {
  readonly runId: string;
  readonly chunks: number;
  readonly meta: SnapshotMeta | null;
  readonly on?: string;
}

function layoutOf(record: SnapshotPointer | StagingRecord, runId: string): Layout {
  const counts = record.meta?.counts;
  return {
    base: record.base ?? runId,
    chunks: record.chunks,
    baseRecords: record.baseRecords ?? (counts ? counts.users + counts.groups + counts.contacts : 0),
    deltas: record.deltas ?? [],
    chainRecords: record.chainRecords ?? 0,
  };
}

const pointerLayout = (pointer: SnapshotPointer): Layout => layoutOf(pointer, pointer.meta.runId);

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
  delta: (c: string, runId: string) => `delta:${c}:${runId}`,
  run: (c: string, runId: string) => `run:${c}:${runId}`,
  runIndex: (c: string) => `runs:${c}`,
  state: (c: string) => `state:${c}`,
  connection: (c: string) => `connection:${c}`,
  findings: 'findings',
};

/** An incremental run that succeeded and changed nothing: the history keeps only the latest in a row. */
function quiet(run: SyncRunRecord | undefined): boolean {
  const changes = run?.changes;
  return (
    run?.status === 'SUCCEEDED' &&
    run.mode === 'INCREMENTAL' &&
    changes != null &&
    changes.addedCount + changes.updatedCount + changes.removedCount === 0
  );
}

function failedIncrementally(run: SyncRunRecord | undefined): boolean {
  return run?.status === 'FAILED' && run.mode === 'INCREMENTAL';
}

/** Two incremental runs that failed with the same words: a directory down, every minute. */
function sameFailure(a: SyncRunRecord | undefined, b: SyncRunRecord | undefined): boolean {
  return failedIncrementally(a) && failedIncrementally(b) && a?.error === b?.error;
}

export class CacheStore {
  constructor(
    private readonly kv: KvStore,
    private readonly compaction: Compaction = DEFAULT_COMPACTION,
  ) {}

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
   * The second step: the snapshot's records, then the staging record that
   * lists them. With `change`, what an incremental run changed against the
   * served snapshot, only a delta is written (no chunk is read or written)
   * unless the change is not against the served snapshot, the chain is due
   * for compaction, or the change does not give `snapshot` (StagedWrite
   * says which); without, the whole snapshot as chunks.
   */
  async writeStaging(snapshot: Snapshot, change?: SnapshotChange): Promise<StagedWrite> {
    if (change === undefined) return this.writeFull(snapshot, null);
    const c = snapshot.meta.connectionId;
    const runId = snapshot.meta.runId;
    const pointer = await this.kv.get<SnapshotPointer>(key.pointer(c));
    const previous = change.previous.meta;
    if (
      !pointer ||
      pointer.meta.runId !== previous.runId ||
      previous.connectionId !== c ||
      previous.runId === runId
    )
      return this.writeFull(snapshot, 'NOT_SERVED');
    const on = pointer.meta.runId;
    const layout = pointerLayout(pointer);
    // A run id the layout already names would share its keys: never reused, but never overwritten either.
    if (layout.base === runId || layout.deltas.includes(runId)) return this.writeFull(snapshot, 'NOT_SERVED');
    const size = change.upserted.length + change.removed.length;
    const chainRecords = layout.chainRecords + size;
    const { maxDeltas, ratio, floor } = this.compaction;
    if (
      size > 0 &&
      (layout.deltas.length >= maxDeltas || chainRecords > Math.max(floor, ratio * layout.baseRecords))
    )
      return this.writeFull(snapshot, 'COMPACTION');
    // Each delta names the one before it in the chain (or the base): what a load checks.
    const delta = encodeDelta(c, snapshot.principals, change, layout.deltas.at(-1) ?? layout.base);
    if (delta === null) return this.writeFull(snapshot, 'INCONSISTENT');
    // A run that changed nothing (most incremental runs) writes no delta: its pointer keeps the
    // layout and takes the run's meta (the new watermark), so idle minutes never lengthen the chain.
    const deltas = size > 0 ? [...layout.deltas, runId] : layout.deltas;
    if (size > 0) await this.kv.set(key.delta(c, runId), delta satisfies StoredDelta);
    await this.kv.set(key.staging(c), {
      runId,
      meta: snapshot.meta,
      base: layout.base,
      chunks: layout.chunks,
      baseRecords: layout.baseRecords,
      deltas,
      chainRecords,
      on,
    } satisfies StagingRecord);
    return { form: 'DELTA', chunks: 0, records: delta.rows.length, fullBecause: null };
  }

  private async writeFull(snapshot: Snapshot, fullBecause: StagedWrite['fullBecause']): Promise<StagedWrite> {
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
    const records = snapshot.principals.length;
    await this.kv.set(key.staging(c), {
      runId,
      chunks,
      meta: snapshot.meta,
      base: runId,
      baseRecords: records,
      deltas: [],
      chainRecords: 0,
    } satisfies StagingRecord);
    return { form: 'FULL', chunks, records, fullBecause };
  }

  /**
   * Makes the staged snapshot of `runId` the visible one: the pointer write
   * is the commit, and once it resolves the run's snapshot is the served
   * one whatever happens next. Tidying after it (the staging record, the
   * replaced snapshot's chunks and deltas) cannot undo that: whatever it
   * leaves is either guarded (dropping a staging record never deletes what
   * the pointer names, see dropStaging) or swept at the next start. Its
   * failure is returned, not thrown, so that the caller can say so. A
   * staged delta is promoted only over the snapshot it applies to (or again
   * over itself, when a promotion was cut short).
   */
  async promoteStaged(connectionId: string, runId: string): Promise<{ tidyError: Error | null }> {
    const staged = await this.kv.get<StagingRecord>(key.staging(connectionId));
    if (!staged || staged.runId !== runId || !staged.meta) {
      throw new Error(`no complete staged snapshot ${runId} for connection ${connectionId}`);
    }
    const old = await this.kv.get<SnapshotPointer>(key.pointer(connectionId));
    if (staged.on !== undefined && old?.meta.runId !== staged.on && old?.meta.runId !== runId) {
      throw new Error(
        `the staged delta ${runId} of connection ${connectionId} applies to run ${staged.on}, not to the served ${old?.meta.runId ?? 'none'}`,
      );
    }
    const layout = layoutOf(staged, staged.runId);
    await this.kv.set(key.pointer(connectionId), { meta: staged.meta, ...layout } satisfies SnapshotPointer);
    try {
      await this.kv.delete(key.staging(connectionId));
      if (old) await this.deleteUnnamed(connectionId, pointerLayout(old), layout);
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
      principals: await this.readLayout(connectionId, pointer.meta.runId, pointerLayout(pointer)),
    };
  }

  async loadStagedSnapshot(connectionId: string): Promise<Snapshot | null> {
    const staged = await this.kv.get<StagingRecord>(key.staging(connectionId));
    if (!staged?.meta) return null;
    return {
      meta: staged.meta,
      principals: await this.readLayout(connectionId, staged.runId, layoutOf(staged, staged.runId)),
    };
  }

  /** The records of `runId`'s snapshot: its base chunks, then each delta in turn. */
  private async readLayout(connectionId: string, runId: string, layout: Layout): Promise<PrincipalRecord[]> {
    const base = await this.readChunks(connectionId, layout.base, layout.chunks);
    if (layout.deltas.length === 0) return base;
    const stored = await this.kv.getMany<unknown>(layout.deltas.map((d) => key.delta(connectionId, d)));
    const deltas: StoredDelta[] = [];
    let on = layout.base;
    for (const [i, delta] of stored.entries()) {
      // Each delta names the run it was derived from: a chain out of order is as damaged as a lost key.
      if (!isStoredDelta(delta) || delta.on !== on) {
        throw new StoreError(
          `snapshot ${runId} of connection ${connectionId}: delta ${layout.deltas[i]} is missing or damaged`,
        );
      }
      deltas.push(delta);
      on = layout.deltas[i] as string;
    }
    try {
      return applyDeltas(connectionId, base, deltas);
    } catch (err) {
      if (!(err instanceof SnapshotDecodeError)) throw err;
      throw new StoreError(`snapshot ${runId} of connection ${connectionId} is damaged: ${err.message}`, {
        cause: err,
      });
    }
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

  /**
   * Records a run (again, as it goes). The last RUNS_KEPT runs are kept; of
   * consecutive incremental runs that succeeded and changed nothing only the
   * latest is, and of consecutive incremental runs that failed the same way
   * the first and the latest, so that a quiet directory synced every minute,
   * or one that is down for hours, does not push the full runs and the runs
   * that changed something out of the history within two hours.
   */
  async putRun(run: SyncRunRecord): Promise<void> {
    const c = run.connectionId;
    await this.kv.set(key.run(c, run.id), run);
    const index = (await this.kv.get<string[]>(key.runIndex(c))) ?? [];
    const dropped: string[] = [];
    let changed = false;
    if (!index.includes(run.id)) {
      index.push(run.id);
      dropped.push(...index.splice(0, Math.max(0, index.length - RUNS_KEPT)));
      changed = true;
    }
    const at = index.lastIndexOf(run.id);
    const before = at > 0 ? index[at - 1] : undefined;
    if (before !== undefined && (quiet(run) || failedIncrementally(run))) {
      const previous = await this.kv.get<SyncRunRecord>(key.run(c, before));
      // A quiet run replaces the quiet one before it. A failure repeating the one before it
      // replaces that one only when it too repeated an earlier one: a row keeps its first and its
      // latest, so that the history says when an outage began.
      let repeats = quiet(run) && quiet(previous);
      if (!repeats && sameFailure(run, previous)) {
        const earlier = at > 1 ? index[at - 2] : undefined;
        repeats =
          earlier !== undefined &&
          sameFailure(previous, await this.kv.get<SyncRunRecord>(key.run(c, earlier)));
      }
      if (repeats) {
        index.splice(at - 1, 1);
        dropped.push(before);
        changed = true;
      }
    }
    // The records first: an index left naming a deleted run (a crash between the two) lists it as
    // nothing (listRuns skips it), while a record no index names would outlive its connection.
    for (const id of dropped) await this.kv.delete(key.run(c, id));
    if (changed) await this.kv.set(key.runIndex(c), index);
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
    // The copy names the connection for an orphan; its secrets stay in the settings store only.
    return this.kv.set(key.connection(record.id), {
      ...record,
      bindPasswordSealed: null,
      keytabSealed: null,
    });
  }

  async getConnectionRecords(ids: readonly string[]): Promise<ConnectionRecord[]> {
    const records = await this.kv.getMany<ConnectionRecord>(ids.map(key.connection));
    return records.filter((r): r is ConnectionRecord => r !== undefined).map(withDefaults);
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
    if (pointer) await this.deleteUnnamed(connectionId, pointerLayout(pointer), null);
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
   * Removes chunks and deltas no pointer or complete staging record names:
   * the leftovers of a run killed while writing, or of a promotion whose
   * tidying was cut short. Reads keys and the small pointer and staging
   * records only, never the chunks or deltas themselves.
   */
  async sweep(): Promise<number> {
    const keys = await this.kv.keys();
    const live = new Set<string>();
    const name = (c: string, layout: Layout): void => {
      live.add(`chunk:${c}:${layout.base}`);
      for (const d of layout.deltas) live.add(key.delta(c, d));
    };
    const records: string[] = [];
    for (const k of keys) {
      if (k.startsWith('snapshot:')) {
        const pointer = await this.kv.get<SnapshotPointer>(k);
        if (pointer) name(k.slice('snapshot:'.length), pointerLayout(pointer));
      } else if (k.startsWith('staging:')) {
        const staged = await this.kv.get<StagingRecord>(k);
        // Staging records of runs that never finished writing go, with their chunks and delta.
        if (staged?.meta) name(k.slice('staging:'.length), layoutOf(staged, staged.runId));
        else await this.kv.delete(k);
      } else if (k.startsWith('chunk:') || k.startsWith('delta:')) records.push(k);
    }
    let removed = 0;
    for (const k of records) {
      if (!live.has(k.startsWith('chunk:') ? k.replace(/:\d+$/, '') : k)) {
        await this.kv.delete(k);
        removed++;
      }
    }
    return removed;
  }

  private async dropStaging(connectionId: string, staged: StagingRecord): Promise<void> {
    // A staging record left behind by a promotion that was cut short (a kill or a failed delete
    // after the pointer write) names the served run: its chunks and deltas are the pointer's, never
    // ours to delete, and a staged delta shares the pointer's base. Only what the pointer does not
    // name goes, then the record.
    const pointer = await this.kv.get<SnapshotPointer>(key.pointer(connectionId));
    const named = pointer ? pointerLayout(pointer) : null;
    if (staged.meta) await this.deleteUnnamed(connectionId, layoutOf(staged, staged.runId), named);
    else if (named?.base !== staged.runId && !named?.deltas.includes(staged.runId)) {
      // An incomplete staging record does not know what it wrote, and chunks are written a few at a
      // time: any one may be missing while a later one exists. Every chunk key of the run goes.
      const prefix = `chunk:${connectionId}:${staged.runId}:`;
      for (const k of await this.kv.keys()) if (k.startsWith(prefix)) await this.kv.delete(k);
      await this.kv.delete(key.delta(connectionId, staged.runId));
    }
    await this.kv.delete(key.staging(connectionId));
  }

  /** Deletes what `layout` names and `kept` (the pointer's layout, if any) does not. */
  private async deleteUnnamed(connectionId: string, layout: Layout, kept: Layout | null): Promise<void> {
    if (layout.base !== kept?.base) await this.deleteChunks(connectionId, layout.base, layout.chunks);
    for (const d of layout.deltas)
      if (!kept?.deltas.includes(d)) await this.kv.delete(key.delta(connectionId, d));
  }

  private async deleteChunks(connectionId: string, runId: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) await this.kv.delete(key.chunk(connectionId, runId, i));
  }

  close(): Promise<void> {
    return this.kv.close();
  }
}
