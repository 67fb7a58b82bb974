/**
 * Runs synchronizations: one at a time per connection, each reading the
 * whole directory into a new snapshot that replaces the old one only once
 * everything was read, checked and written. A run that fails, is aborted or
 * is killed leaves the last good snapshot served.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { LdapLimits, LdapSettings } from '../ldap/types.js';
import type { ConnectionRecord } from '../model/connection.js';
import { ConflictError, NotFoundError } from '../model/errors.js';
import type { ConnectionState } from '../model/node.js';
import type { Snapshot, SnapshotCounts } from '../model/principal.js';
import type { SyncRunRecord, SyncTrigger } from '../model/run.js';
import type { CacheStore } from '../store/cache-store.js';
import type { SecretBox } from '../store/secret-box.js';
import type { ConnectionListing, SettingsStore } from '../store/settings-store.js';
import { readDirectory } from './directory-read.js';
import type { Logger } from './logger.js';
import { diffSnapshots } from './snapshot-diff.js';
import type { SnapshotSet } from './snapshot-set.js';

export interface SyncEngineDeps {
  readonly settings: SettingsStore;
  readonly cache: CacheStore;
  readonly box: SecretBox;
  readonly snapshots: SnapshotSet;
  readonly nodeName: string;
  readonly limits: LdapLimits;
  /** Default share of the cache a run may remove before it is held. */
  readonly deleteThreshold: number;
  readonly logger: Logger;
  /**
   * Called after a snapshot was swapped in (or removed, with null) and
   * awaited before the run reports success, so that what a client reads
   * after seeing SUCCEEDED is the new snapshot with its indexes and findings.
   */
  readonly afterSwap?: (connectionId: string, snapshot: Snapshot | null) => Promise<void>;
  /**
   * Optional: prepares the indexes of a new snapshot while it is written to
   * disk; the returned function serves them once the snapshot is swapped in.
   * Used instead of afterSwap for successful runs.
   */
  readonly prepareSwap?: (connectionId: string, snapshot: Snapshot) => Promise<() => Promise<void>>;
  /** How often a running sync reports progress (default 500 ms). */
  readonly progressIntervalMs?: number;
}

export interface SyncEngineEvents {
  /** A run started, progressed or ended. */
  run: [SyncRunRecord];
  /** A connection's snapshot was replaced (or removed, with `null`). */
  swapped: [connectionId: string, snapshot: Snapshot | null];
  /** A connection's state changed. */
  state: [ConnectionState];
  /** The set of orphaned connections changed (see applyListing); all of them, sorted. */
  orphans: [connectionIds: readonly string[]];
}

const EMPTY_COUNTS: SnapshotCounts = { users: 0, groups: 0, contacts: 0, addresses: 0 };

interface Running {
  run: SyncRunRecord;
  readonly abort: AbortController;
  readonly done: Promise<SyncRunRecord>;
}

/** The run was stopped on purpose (shutdown or deletion), not by a directory failure. */
class RunAborted extends Error {}

export class SyncEngine extends EventEmitter<SyncEngineEvents> {
  private readonly running = new Map<string, Running>();
  private readonly states = new Map<string, ConnectionState>();
  /** Ended runs the store could not record when they ended, by run id. */
  private readonly unrecorded = new Map<string, SyncRunRecord>();
  /** Each cached or listed connection's settings as last listed, without the bind password. */
  private readonly known = new Map<string, ConnectionRecord>();
  /** The `updatedAt` of the copy in the cache store (or of the last attempt to write it), by id. */
  private readonly knownOnDisk = new Map<string, string>();
  /** Cached connections the settings store lacks without a tombstone: served, never synced. */
  private readonly orphans = new Set<string>();
  private stopping = false;

  constructor(private readonly deps: SyncEngineDeps) {
    super();
  }

  /**
   * Loads every persisted snapshot and state so that the node serves before
   * its first sync; drops what belongs to connections deleted on purpose (a
   * tombstone), keeps serving those the settings store merely lacks (see
   * applyListing), and marks runs a killed process left RUNNING as failed.
   */
  async loadPersisted(): Promise<void> {
    const { cache, settings, snapshots, logger } = this.deps;
    const { connections, deleted } = await settings.listing();
    const listed = new Set(connections.map((c) => c.id));
    const cached = await cache.connectionIds();
    for (const r of await cache.getConnectionRecords([...cached])) {
      this.known.set(r.id, r);
      this.knownOnDisk.set(r.id, r.updatedAt);
    }
    const ids = connections.map((c) => c.id);
    for (const id of cached) {
      if (listed.has(id)) continue;
      const tombstone = deleted.get(id);
      if (tombstone) {
        logger.info(
          { connectionId: id, deletedAt: tombstone.deletedAt, deletedBy: tombstone.node },
          'removing the cache of a deleted connection',
        );
        await cache.deleteConnection(id);
        this.known.delete(id);
        this.knownOnDisk.delete(id);
      } else {
        this.markOrphan(id);
        ids.push(id);
      }
    }
    for (const c of connections) await this.remember(c);
    const swept = await cache.sweep();
    if (swept > 0) logger.info({ chunks: swept }, 'removed chunks of interrupted syncs');
    for (const id of ids) {
      let snapshot: Snapshot | null = null;
      let unreadable: string | null = null;
      try {
        snapshot = await cache.loadSnapshot(id);
      } catch (err) {
        // A damaged cache must not keep the node from starting: serve nothing for this
        // connection, say why, and let the next sync (due at once) rebuild it.
        unreadable = err instanceof Error ? err.message : String(err);
        logger.error({ connectionId: id, err: unreadable }, 'the cached snapshot cannot be read');
      }
      if (snapshot) snapshots.replace(snapshot);
      let state = (await cache.getState(id)) ?? this.emptyState(id, snapshot);
      if (unreadable !== null) {
        const error = `the cached snapshot could not be read (${unreadable}); the next sync rebuilds it`;
        state = {
          ...state,
          status: 'FAILED',
          lastRun: state.lastRun ? { ...state.lastRun, status: 'FAILED', phase: 'DONE', error } : null,
          lastSuccessfulRun: null,
          counts: EMPTY_COUNTS,
        };
        this.states.set(id, state);
        continue;
      }
      if (state.lastRun?.status === 'RUNNING') {
        const lastRun = state.lastRun;
        const finishedAt = new Date().toISOString();
        // Killed after its snapshot was swapped in (the pointer is one atomic write) but before
        // the run was recorded: the run did replace the snapshot, and is reported as such.
        const swapped = snapshot !== null && snapshot.meta.runId === lastRun.id;
        const ended: SyncRunRecord = swapped
          ? {
              ...lastRun,
              status: 'SUCCEEDED',
              phase: 'DONE',
              finishedAt,
              counts: snapshot?.meta.counts ?? lastRun.counts,
              error: null,
            }
          : {
              ...lastRun,
              status: 'FAILED',
              phase: 'DONE',
              finishedAt,
              error: 'interrupted: the process stopped during this run; the previous snapshot was kept',
            };
        await cache.putRun(ended);
        state = {
          ...state,
          status: ended.status,
          lastRun: ended,
          ...(swapped ? { lastSuccessfulRun: ended } : {}),
        };
        await cache.putState(state);
      }
      // What is served is the loaded snapshot: its counts are the connection's, whatever the state said.
      if (snapshot) state = { ...state, counts: snapshot.meta.counts };
      this.states.set(id, state);
    }
    if (this.orphans.size > 0) this.emit('orphans', this.orphanedConnections());
  }

  /**
   * Follows a listing of the settings store. A cache goes only when its
   * connection has a tombstone: a listing that lacks a connection proves
   * nothing (a flushed or failed-over Redis, a restored old settings file
   * lack them all), so such a connection stays served, unsynced, with one
   * warning, until it is listed again or deleted through the API.
   */
  async applyListing(listing: ConnectionListing): Promise<void> {
    const { settings, logger } = this.deps;
    const listed = new Set(listing.connections.map((c) => c.id));
    let changed = false;
    for (const c of listing.connections) {
      await this.remember(c);
      if (this.orphans.delete(c.id)) {
        changed = true;
        logger.info({ connectionId: c.id, name: c.name }, 'the settings store lists the connection again');
      }
    }
    for (const id of [...this.states.keys()]) {
      if (listed.has(id)) continue;
      const tombstone = listing.deleted.get(id);
      if (tombstone) {
        logger.info(
          { connectionId: id, deletedAt: tombstone.deletedAt, deletedBy: tombstone.node },
          'removing the cache of a deleted connection',
        );
        await this.removeConnection(id);
        continue;
      }
      // The listing may predate a connection added (and tracked) since.
      if (this.orphans.has(id) || (await settings.getConnection(id))) continue;
      this.markOrphan(id);
      changed = true;
    }
    if (changed) this.emit('orphans', this.orphanedConnections());
  }

  /** Cached connections the settings store lacks without a tombstone (see applyListing), sorted. */
  orphanedConnections(): string[] {
    return [...this.orphans].sort();
  }

  /** An orphaned connection's settings as last listed (no bind password); undefined for any other. */
  orphanedConnection(connectionId: string): ConnectionRecord | undefined {
    return this.orphans.has(connectionId) ? this.known.get(connectionId) : undefined;
  }

  /** Every connection's settings as last listed here, the orphaned ones included (no bind passwords). */
  knownConnections(): ConnectionRecord[] {
    return [...this.known.values()];
  }

  private markOrphan(connectionId: string): void {
    this.orphans.add(connectionId);
    const record = this.known.get(connectionId);
    // Once per connection (until it is listed again), not at every reconcile.
    this.deps.logger.warn(
      { connectionId, name: record?.name ?? null, domain: record?.domain ?? null },
      'the settings store lacks this connection and holds no deletion record: its cache stays served, unsynced (deleteConnection removes it)',
    );
  }

  /** Keeps the settings' copy in the cache store current; a failed write is tried again when they change. */
  private async remember(c: ConnectionRecord): Promise<void> {
    this.known.set(c.id, { ...c, bindPasswordSealed: null });
    if (this.knownOnDisk.get(c.id) === c.updatedAt) return;
    this.knownOnDisk.set(c.id, c.updatedAt);
    try {
      await this.deps.cache.putConnectionRecord(c);
    } catch (err) {
      this.deps.logger.warn(
        { connectionId: c.id, err: (err as Error).message },
        "could not keep a copy of the connection's settings in the cache",
      );
    }
  }

  state(connectionId: string): ConnectionState {
    return (
      this.states.get(connectionId) ??
      this.emptyState(connectionId, this.deps.snapshots.get(connectionId) ?? null)
    );
  }

  hasState(connectionId: string): boolean {
    return this.states.has(connectionId);
  }

  /** Starts tracking a connection this node has not synced yet (added here or on another node). */
  track(connectionId: string): void {
    if (!this.states.has(connectionId)) this.setState(this.state(connectionId));
  }

  allStates(): ConnectionState[] {
    return [...this.states.values()];
  }

  /** The last `last` runs of a connection, newest first; a run in progress as it is now. */
  async runs(connectionId: string, last: number): Promise<SyncRunRecord[]> {
    const stored = await this.deps.cache.listRuns(connectionId, last);
    const live = this.running.get(connectionId)?.run;
    return stored.map((r) => (r.id === live?.id ? live : (this.unrecorded.get(r.id) ?? r)));
  }

  isRunning(connectionId: string): boolean {
    return this.running.has(connectionId);
  }

  /** Starts a run, or returns the one in progress for this connection. */
  async start(connectionId: string, trigger: SyncTrigger): Promise<SyncRunRecord> {
    const existing = this.running.get(connectionId);
    if (existing) {
      if (existing.run.status === 'RUNNING') return existing.run;
      // Ended and still recording its outcome: the new run starts once that is done.
      await existing.done;
    }
    if (this.stopping) throw new ConflictError('the node is shutting down');
    const connection = await this.deps.settings.getConnection(connectionId);
    if (!connection) throw new NotFoundError('connection', connectionId);
    // Checked again: another caller may have started a run while we read the settings.
    const raced = this.running.get(connectionId);
    if (raced) return raced.run;
    const run: SyncRunRecord = {
      id: randomUUID(),
      connectionId,
      node: this.deps.nodeName,
      trigger,
      status: 'RUNNING',
      phase: 'CONNECTING',
      startedAt: new Date().toISOString(),
      finishedAt: null,
      server: null,
      counts: null,
      error: null,
      changes: null,
      progress: 0,
    };
    const abort = new AbortController();
    let resolveDone!: (r: SyncRunRecord) => void;
    const done = new Promise<SyncRunRecord>((r) => {
      resolveDone = r;
    });
    const entry: Running = { run, abort, done };
    this.running.set(connectionId, entry);
    this.setState({ ...this.state(connectionId), status: 'RUNNING', lastRun: run });
    // Out of the running set before `done` resolves: whoever awaited it may start the next run.
    void this.execute(connection, entry)
      .catch((err: unknown) => {
        this.deps.logger.error({ connectionId, err: (err as Error).message }, 'sync run crashed');
        return entry.run;
      })
      .then((ended) => {
        if (this.running.get(connectionId) === entry) this.running.delete(connectionId);
        resolveDone(ended);
      });
    return run;
  }

  /** Waits for the connection's run in progress, if any. */
  async wait(connectionId: string): Promise<SyncRunRecord | null> {
    return (await this.running.get(connectionId)?.done) ?? null;
  }

  /** Applies a run that was held because it would have removed too much of the cache. */
  async confirmHeld(connectionId: string, runId: string): Promise<SyncRunRecord> {
    const { cache, snapshots } = this.deps;
    const state = this.state(connectionId);
    if (state.heldRunId !== runId)
      throw new ConflictError(`run ${runId} is not held for connection ${connectionId}`);
    if (this.running.has(connectionId)) throw new ConflictError('a sync of this connection is running');
    const staged = await cache.loadStagedSnapshot(connectionId);
    const run = await cache.getRun(connectionId, runId);
    if (!staged || staged.meta.runId !== runId || !run)
      throw new ConflictError(`the held run ${runId} is gone`);
    await cache.promoteStaged(connectionId, runId);
    snapshots.replace(staged);
    await this.indexSwap(connectionId, staged);
    const applied: SyncRunRecord = { ...run, status: 'SUCCEEDED', error: null };
    await cache.putRun(applied);
    this.setState({
      ...state,
      status: 'SUCCEEDED',
      heldRunId: null,
      lastRun: applied,
      lastSuccessfulRun: applied,
      counts: staged.meta.counts,
    });
    await cache.putState(this.state(connectionId));
    this.emit('run', applied);
    this.emit('swapped', connectionId, staged);
    return applied;
  }

  /** Stops any run of the connection and deletes everything cached of it. */
  async removeConnection(connectionId: string): Promise<void> {
    const running = this.running.get(connectionId);
    if (running) {
      running.abort.abort(new RunAborted('connection deleted'));
      await running.done;
    }
    await this.deps.cache.deleteConnection(connectionId);
    this.states.delete(connectionId);
    this.known.delete(connectionId);
    this.knownOnDisk.delete(connectionId);
    if (this.orphans.delete(connectionId)) this.emit('orphans', this.orphanedConnections());
    if (this.deps.snapshots.remove(connectionId)) {
      await this.indexSwap(connectionId, null);
      this.emit('swapped', connectionId, null);
    }
  }

  private async commitIndex(connectionId: string, commit: () => Promise<void>): Promise<void> {
    try {
      await commit();
    } catch (err) {
      this.deps.logger.error({ connectionId, err: (err as Error).message }, 'serving the new indexes failed');
    }
  }

  private async indexSwap(connectionId: string, snapshot: Snapshot | null): Promise<void> {
    try {
      await this.deps.afterSwap?.(connectionId, snapshot);
    } catch (err) {
      // The snapshot is already the served one; an index failure must not turn the run into a failure.
      this.deps.logger.error(
        { connectionId, err: (err as Error).message },
        'indexing the new snapshot failed',
      );
    }
  }

  /** Aborts every run; their last good snapshots stay as they are. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    const runs = [...this.running.values()];
    for (const r of runs) r.abort.abort(new RunAborted('the node is shutting down'));
    await Promise.all(runs.map((r) => r.done));
  }

  private emptyState(connectionId: string, snapshot: Snapshot | null): ConnectionState {
    return {
      connectionId,
      status: 'NEVER',
      activeServer: null,
      lastRun: null,
      lastSuccessfulRun: null,
      counts: snapshot?.meta.counts ?? EMPTY_COUNTS,
      heldRunId: null,
    };
  }

  private setState(state: ConnectionState): void {
    this.states.set(state.connectionId, state);
    this.emit('state', state);
  }

  private update(entry: Running, patch: Partial<SyncRunRecord>): SyncRunRecord {
    entry.run = { ...entry.run, ...patch };
    const state = this.states.get(entry.run.connectionId);
    // The connection shows its run in progress as it goes (phase, progress, server).
    if (state?.lastRun?.id === entry.run.id)
      this.states.set(state.connectionId, { ...state, lastRun: entry.run });
    this.emit('run', entry.run);
    return entry.run;
  }

  private openPassword(sealed: string): string {
    try {
      return this.deps.box.open(sealed);
    } catch {
      // Typically a node of a cluster started with another key than the node that stored the password.
      throw new Error(
        "the stored bind password cannot be decrypted with this node's DIRGATE_SECRET_KEY (all nodes sharing settings need the same key); set the password again",
      );
    }
  }

  private ldapSettings(c: ConnectionRecord): LdapSettings {
    return {
      domain: c.domain,
      searchBase: c.searchBase,
      servers: c.servers,
      tls: c.tls,
      caCertificate: c.caCertificate,
      tlsVerify: c.tlsVerify,
      bindDn: c.bindDn,
      bindPassword: c.bindPasswordSealed ? this.openPassword(c.bindPasswordSealed) : null,
      includeContacts: c.includeContacts,
      overrides: c.overrides,
    };
  }

  private async execute(connection: ConnectionRecord, entry: Running): Promise<SyncRunRecord> {
    const { cache, snapshots, logger, limits } = this.deps;
    const id = connection.id;
    const signal = entry.abort.signal;
    const started = Date.now();
    const log = { connectionId: id, runId: entry.run.id };
    let phaseStarted = started;
    // One line per phase, with its duration and the process's memory: what operators read first.
    const phaseDone = (phase: string, extra: object = {}) => {
      const now = Date.now();
      logger.info(
        {
          ...log,
          phase,
          ms: now - phaseStarted,
          rssMb: Math.round(process.memoryUsage.rss() / 1048576),
          ...extra,
        },
        `sync phase ${phase}`,
      );
      phaseStarted = now;
    };
    const checkAbort = () => {
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new RunAborted('aborted');
    };
    let committed = false;
    try {
      // Persisted as RUNNING so that a process killed during the run says so when it starts again.
      // The state first: a restart ends the run the state names, while a run recorded RUNNING that
      // no state names (its state write failed, the store gone) would stay RUNNING in the history.
      await cache.putState(this.state(id));
      await cache.putRun(entry.run);
      for (const [runId, ended] of this.unrecorded) {
        if (ended.connectionId !== id) continue;
        await cache.putRun(ended);
        this.unrecorded.delete(runId);
      }
      this.emit('run', entry.run);
      logger.info({ ...log, trigger: entry.run.trigger }, 'sync started');

      const read = await readDirectory({
        connectionId: id,
        runId: entry.run.id,
        settings: this.ldapSettings(connection),
        limits,
        signal,
        progressIntervalMs: this.deps.progressIntervalMs ?? 250,
        onBound: (bound, flavour) => {
          this.update(entry, { server: bound, phase: 'READING' });
          phaseDone('bind', { server: bound, flavour });
        },
        onProgress: (entries) => this.update(entry, { progress: entries }),
        onRead: (totals) => {
          phaseDone('read', totals);
          this.update(entry, { phase: 'BUILDING', progress: totals.entries });
        },
      });
      checkAbort();
      const { snapshot } = read;
      const previous = snapshots.get(id);
      const changes = diffSnapshots(previous?.principals ?? [], snapshot.principals);
      const threshold = connection.deleteThreshold ?? this.deps.deleteThreshold;
      const before = previous?.principals.length ?? 0;
      phaseDone('build', { ...snapshot.meta.counts, unresolvedMembers: read.unresolvedMembers });
      this.update(entry, { phase: 'SAVING', counts: snapshot.meta.counts, changes });
      const held = before > 0 && changes.removedCount / before > threshold;
      // Indexed while written: the directory builds its largest index on a worker thread
      // meanwhile, and lets the writes through between its steps (README, Performance). The
      // staging is begun first so that the first chunks go to SQLite before the build starts.
      // A failed write discards the prepared view unused.
      await cache.beginStaging(snapshot);
      const preparing = !held && this.deps.prepareSwap ? this.deps.prepareSwap(id, snapshot) : null;
      preparing?.catch(() => {});
      await cache.writeStaging(snapshot);
      const commitIndex = preparing ? await preparing : null;
      phaseDone('save');
      if (held) {
        // An unreachable subtree or a wrong filter looks like mass deletion: keep serving, ask first.
        const message = `held: this run would remove ${changes.removedCount} of ${before} cached objects (more than ${Math.round(threshold * 100)}%); confirm it to apply`;
        const held = this.update(entry, {
          status: 'HELD',
          phase: 'DONE',
          finishedAt: new Date().toISOString(),
          error: message,
        });
        await cache.putRun(held);
        this.setState({
          ...this.state(id),
          status: 'HELD',
          activeServer: read.server,
          lastRun: held,
          heldRunId: held.id,
        });
        await cache.putState(this.state(id));
        logger.warn({ ...log, removed: changes.removedCount, before }, 'sync held for confirmation');
        return held;
      }
      checkAbort();
      const { tidyError } = await cache.promoteStaged(id, entry.run.id);
      // Committed: the new snapshot is the one on disk. From here on nothing turns the run into
      // a failure (a store error below only delays its record), nor discards what it staged.
      committed = true;
      if (tidyError)
        logger.warn({ ...log, err: tidyError.message }, 'the replaced snapshot is removed at the next start');
      snapshots.replace(snapshot);
      this.update(entry, { phase: 'DETECTING' });
      if (commitIndex) await this.commitIndex(id, commitIndex);
      else await this.indexSwap(id, snapshot);
      phaseDone('index');
      const done = this.update(entry, {
        status: 'SUCCEEDED',
        phase: 'DONE',
        finishedAt: new Date().toISOString(),
      });
      this.setState({
        connectionId: id,
        status: 'SUCCEEDED',
        activeServer: read.server,
        lastRun: done,
        lastSuccessfulRun: done,
        counts: snapshot.meta.counts,
        heldRunId: null,
      });
      try {
        await cache.putRun(done);
        await cache.putState(this.state(id));
      } catch (storeErr) {
        // The state on disk still says RUNNING with this run's snapshot under the pointer, which a
        // restart reads as SUCCEEDED; the next run that can write records it meanwhile.
        this.unrecorded.set(done.id, done);
        logger.error({ ...log, err: (storeErr as Error).message }, 'could not record the succeeded run');
      }
      logger.info(
        {
          ...log,
          ...snapshot.meta.counts,
          added: changes.addedCount,
          updated: changes.updatedCount,
          removed: changes.removedCount,
          unresolvedMembers: read.unresolvedMembers,
          ms: Date.now() - started,
        },
        'sync succeeded',
      );
      this.emit('swapped', id, snapshot);
      return done;
    } catch (err) {
      if (committed) {
        // Only the steps that serve the new snapshot (listeners included) can throw here; the
        // snapshot is committed and a restart serves it, so the run did succeed.
        logger.error({ ...log, err: (err as Error).message }, 'a step after the snapshot swap failed');
        if (entry.run.status !== 'RUNNING') return entry.run;
        const done: SyncRunRecord = {
          ...entry.run,
          status: 'SUCCEEDED',
          phase: 'DONE',
          finishedAt: new Date().toISOString(),
        };
        entry.run = done;
        this.unrecorded.set(done.id, done);
        this.setState({ ...this.state(id), status: 'SUCCEEDED', lastRun: done, lastSuccessfulRun: done });
        return done;
      }
      // Stopped on purpose: the LDAP layer reports only "aborted"; the run says why.
      const stoppedBy = signal.aborted && signal.reason instanceof RunAborted ? signal.reason : null;
      const message = stoppedBy
        ? `aborted: ${stoppedBy.message}; the previous snapshot was kept`
        : err instanceof Error
          ? err.message
          : String(err);
      const failed = this.update(entry, {
        status: 'FAILED',
        phase: 'DONE',
        finishedAt: new Date().toISOString(),
        error: message,
      });
      logger.warn(
        { ...log, err: message, ms: Date.now() - started },
        'sync failed; the last good snapshot stays',
      );
      const deleted = stoppedBy?.message === 'connection deleted';
      try {
        await cache.putRun(failed);
        await cache.discardStaged(id, entry.run.id);
      } catch (storeErr) {
        // Recorded by the next run that can write, so the history does not keep it RUNNING.
        if (!deleted) this.unrecorded.set(failed.id, failed);
        logger.error({ ...log, err: (storeErr as Error).message }, 'could not record the failed run');
      }
      if (!deleted) {
        // Whatever the store could record (a locked or full disk is one cause of failure),
        // the connection must not stay RUNNING.
        this.setState({ ...this.state(id), status: 'FAILED', lastRun: failed });
        await cache.putState(this.state(id)).catch((storeErr: unknown) => {
          logger.error({ ...log, err: (storeErr as Error).message }, 'could not record the connection state');
        });
      }
      return failed;
    }
  }
}
