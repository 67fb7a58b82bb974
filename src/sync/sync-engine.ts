/**
 * Runs synchronizations: one at a time per connection, each reading the
 * whole directory into a new snapshot that replaces the old one only once
 * everything was read, checked and written (src/sync/sync-run.ts). A run
 * that fails, is aborted or is killed leaves the last good snapshot served.
 *
 * Every change of what a connection serves (a run that succeeded, a held
 * run confirmed, a deletion) reaches the consumer the same way: prepared
 * while the store commits it, committed once the store has (see
 * SnapshotConsumer).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { LdapLimits, LdapSettings } from '../ldap/types.js';
import type { ConnectionRecord } from '../model/connection.js';
import { ConflictError, NotFoundError } from '../model/errors.js';
import type { Logger } from '../model/logger.js';
import type { ConnectionState } from '../model/node.js';
import type { Snapshot } from '../model/principal.js';
import {
  type EndedRun,
  failed,
  type SyncMode,
  type SyncRunRecord,
  type SyncTrigger,
  startedRun,
  succeeded,
} from '../model/run.js';
import type { SnapshotChange } from '../model/snapshot-change.js';
import type { CacheStore } from '../store/cache-store.js';
import { SealedSecretError, type SecretBox } from '../store/secret-box.js';
import type { ConnectionListing, SettingsStore } from '../store/settings-store.js';
import { readDirectory } from './directory-read.js';
import { KnownConnections } from './known-connections.js';
import { ldapSettingsOf } from './ldap-settings.js';
import { emptyState, type PersistedSnapshot, recoverState } from './run-recovery.js';
import type { PreparedSnapshot, SnapshotConsumer } from './snapshot-consumer.js';
import type { SnapshotSet } from './snapshot-set.js';
import {
  DEFAULT_RUN_TIMEOUT_MS,
  DELETED,
  type DirectoryReader,
  RunAborted,
  type RunHost,
  SyncRun,
} from './sync-run.js';

export interface SyncEngineDeps {
  readonly settings: SettingsStore;
  readonly cache: CacheStore;
  readonly box: SecretBox;
  readonly snapshots: SnapshotSet;
  /** Whatever serves the snapshots; awaited before a run reports its end. */
  readonly consumer: SnapshotConsumer;
  readonly nodeName: string;
  readonly limits: LdapLimits;
  /** Default share of the cache a run may remove before it is held. */
  readonly deleteThreshold: number;
  readonly logger: Logger;
  /** How often a running sync reports progress (default 250 ms). */
  readonly progressIntervalMs?: number;
  /** How long one run may take before it fails (default 30 min, DIRGATE_SYNC_RUN_TIMEOUT_MS). */
  readonly runTimeoutMs?: number;
  /** Reads a directory (default: LDAP, src/sync/directory-read.ts; tests give a fake). */
  readonly read?: DirectoryReader;
}

export interface SyncEngineEvents {
  /** A run started, progressed or ended. */
  run: [SyncRunRecord];
  /** A connection's state changed. */
  state: [ConnectionState];
  /** A connection's cache was removed (the connection was deleted). */
  removed: [connectionId: string];
  /** The set of orphaned connections changed (see applyListing); all of them, sorted. */
  orphans: [connectionIds: readonly string[]];
}

/** What a discarded held run says it ended with. */
export const DISCARDED_HELD =
  'discarded by an administrator: the current data was kept; the next run compares again';

interface Running {
  readonly run: SyncRun;
  readonly abort: AbortController;
  readonly done: Promise<EndedRun>;
}

export class SyncEngine extends EventEmitter<SyncEngineEvents> {
  private readonly running = new Map<string, Running>();
  private readonly states = new Map<string, ConnectionState>();
  private readonly unrecorded = new Map<string, EndedRun>();
  /** Connections whose held run is being confirmed or discarded: one settles it, the other is refused. */
  private readonly settling = new Set<string>();
  private readonly known: KnownConnections;
  private readonly host: RunHost;
  private stopping = false;

  constructor(private readonly deps: SyncEngineDeps) {
    super();
    this.known = new KnownConnections(deps.cache, deps.logger);
    this.host = {
      cache: deps.cache,
      snapshots: deps.snapshots,
      logger: deps.logger,
      limits: deps.limits,
      read: deps.read ?? readDirectory,
      deleteThreshold: deps.deleteThreshold,
      progressIntervalMs: deps.progressIntervalMs ?? 250,
      runTimeoutMs: deps.runTimeoutMs ?? DEFAULT_RUN_TIMEOUT_MS,
      unrecorded: this.unrecorded,
      state: (id) => this.state(id),
      setState: (state) => this.setState(state),
      publish: (run) => this.publish(run),
      prepare: (id, next, change) => this.prepare(id, next, change),
      serve: (id, next, prepared) => this.serve(id, next, prepared),
    };
  }

  /**
   * Loads every persisted snapshot and state so that the node serves before
   * its first sync; drops what belongs to connections deleted on purpose (a
   * tombstone), keeps serving those the settings store merely lacks (see
   * applyListing), and ends the runs a killed process left RUNNING.
   */
  async loadPersisted(): Promise<void> {
    const { cache, settings, snapshots, logger } = this.deps;
    const { connections, deleted } = await settings.listing();
    const listed = new Set(connections.map((c) => c.id));
    const cached = await cache.connectionIds();
    await this.known.load([...cached]);
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
        this.known.forget(id);
      } else {
        this.known.markOrphan(id);
        ids.push(id);
      }
    }
    for (const c of connections) await this.known.remember(c);
    const swept = await cache.sweep();
    if (swept > 0) logger.info({ chunks: swept }, 'removed chunks of interrupted syncs');
    for (const id of ids) {
      let cachedSnapshot: PersistedSnapshot;
      try {
        cachedSnapshot = { kind: 'loaded', snapshot: await cache.loadSnapshot(id) };
      } catch (err) {
        // A damaged cache must not keep the node from starting: serve nothing for this
        // connection, say why, and let the next sync (due at once) rebuild it.
        const reason = err instanceof Error ? err.message : String(err);
        logger.error({ connectionId: id, err: reason }, 'the cached snapshot cannot be read');
        cachedSnapshot = { kind: 'unreadable', reason };
      }
      if (cachedSnapshot.kind === 'loaded' && cachedSnapshot.snapshot)
        snapshots.replace(cachedSnapshot.snapshot);
      const { state, ended } = recoverState(id, await cache.getState(id), cachedSnapshot);
      if (ended) {
        await cache.putRun(ended);
        await cache.putState(state);
      }
      this.states.set(id, state);
    }
    if (this.known.orphaned().length > 0) this.emit('orphans', this.known.orphaned());
  }

  /**
   * Follows a listing of the settings store. A cache goes only when its
   * connection has a tombstone: a listing that lacks a connection proves
   * nothing (a flushed or failed-over Redis, a restored old settings file
   * lack them all), so such a connection stays served, unsynced, with one
   * warning, until it is listed again or deleted through the API.
   */
  async applyListing(listing: ConnectionListing): Promise<void> {
    const listed = new Set(listing.connections.map((c) => c.id));
    let changed = false;
    for (const c of listing.connections) {
      await this.known.remember(c);
      if (this.known.listedAgain(c)) changed = true;
      if (!this.states.has(c.id)) this.setState(this.state(c.id));
    }
    for (const id of [...this.states.keys()]) {
      if (listed.has(id)) continue;
      const tombstone = listing.deleted.get(id);
      if (tombstone) {
        this.deps.logger.info(
          { connectionId: id, deletedAt: tombstone.deletedAt, deletedBy: tombstone.node },
          'removing the cache of a deleted connection',
        );
        await this.removeConnection(id);
        continue;
      }
      // The listing may predate a connection added (and tracked) since.
      if (this.known.isOrphan(id) || (await this.deps.settings.getConnection(id))) continue;
      this.known.markOrphan(id);
      changed = true;
    }
    if (changed) this.emit('orphans', this.known.orphaned());
  }

  /** Cached connections the settings store lacks without a tombstone (see applyListing), sorted. */
  orphanedConnections(): string[] {
    return this.known.orphaned();
  }

  /** An orphaned connection's settings as last listed (no bind password); undefined for any other. */
  orphanedConnection(connectionId: string): ConnectionRecord | undefined {
    return this.known.orphan(connectionId);
  }

  /** Every connection's settings as last listed here, the orphaned ones included (no bind passwords). */
  knownConnections(): ConnectionRecord[] {
    return this.known.all();
  }

  state(connectionId: string): ConnectionState {
    return (
      this.states.get(connectionId) ?? emptyState(connectionId, this.deps.snapshots.get(connectionId) ?? null)
    );
  }

  /** True for a connection this node serves or tracks (listed, orphaned, or just added). */
  hasState(connectionId: string): boolean {
    return this.states.has(connectionId);
  }

  allStates(): ConnectionState[] {
    return [...this.states.values()];
  }

  /** The last `last` runs of a connection, newest first; a run in progress as it is now. */
  async runs(connectionId: string, last: number): Promise<SyncRunRecord[]> {
    const stored = await this.deps.cache.listRuns(connectionId, last);
    const live = this.running.get(connectionId)?.run.current;
    return stored.map((r) => (r.id === live?.id ? live : (this.unrecorded.get(r.id) ?? r)));
  }

  /**
   * Starts a run, or returns the one in progress for this connection (of
   * whichever mode). An INCREMENTAL run is refused while a run is held for
   * confirmation: it would compare with the same served snapshot and hold
   * again, replacing the run the administrator is looking at.
   */
  async start(connectionId: string, trigger: SyncTrigger, mode: SyncMode = 'FULL'): Promise<SyncRunRecord> {
    const existing = this.running.get(connectionId);
    if (existing) {
      if (existing.run.current.status === 'RUNNING') return existing.run.current;
      // Ended and still recording its outcome: the new run starts once that is done.
      await existing.done;
    }
    if (this.stopping) throw new ConflictError('the node is shutting down');
    if (mode === 'INCREMENTAL' && this.state(connectionId).heldRunId)
      throw new ConflictError(
        'a run is held for confirmation: confirm or discard it first (a full run may start meanwhile)',
      );
    const connection = await this.deps.settings.getConnection(connectionId);
    if (!connection) throw new NotFoundError('connection', connectionId);
    // Checked again: another caller may have started a run while we read the settings.
    const raced = this.running.get(connectionId);
    if (raced) return raced.run.current;
    // Known before its snapshot is served (the view takes the connection's domain from here),
    // even when the run starts before a reconcile has listed the connection. The record is kept
    // at once; its copy in the cache store is written meanwhile (a failure there is logged).
    void this.known.remember(connection);
    const record = startedRun({
      id: randomUUID(),
      connectionId,
      node: this.deps.nodeName,
      trigger,
      startedAt: new Date().toISOString(),
      mode,
    });
    const abort = new AbortController();
    const run = new SyncRun(this.host, connection, record, () => this.ldapSettings(connection), abort.signal);
    const { promise: done, resolve } = Promise.withResolvers<EndedRun>();
    const entry: Running = { run, abort, done };
    this.running.set(connectionId, entry);
    this.setState({ ...this.state(connectionId), status: 'RUNNING', lastRun: record });
    // Out of the running set before `done` resolves: whoever awaited it may start the next run.
    void run.execute().then((ended) => {
      if (this.running.get(connectionId) === entry) this.running.delete(connectionId);
      resolve(ended);
    });
    return record;
  }

  /**
   * Whether a scheduled incremental run should start now: a snapshot is
   * served (the first one is a full run's), its server tracks changes (a
   * full run found a watermark, or the snapshot predates watermarks and the
   * run will find out), nothing runs, and no run is held for confirmation.
   */
  incrementalDue(connectionId: string): boolean {
    const served = this.deps.snapshots.get(connectionId);
    if (!served || served.meta.watermark === null) return false;
    return !this.running.has(connectionId) && !this.state(connectionId).heldRunId;
  }

  /** Waits for the connection's run in progress, if any. */
  async wait(connectionId: string): Promise<SyncRunRecord | null> {
    return (await this.running.get(connectionId)?.done) ?? null;
  }

  /** Applies a run that was held because it would have removed too much of the cache. */
  confirmHeld(connectionId: string, runId: string): Promise<SyncRunRecord> {
    return this.settleHeld(connectionId, runId, () => this.applyHeld(connectionId, runId));
  }

  /**
   * Drops a held run: its staged snapshot goes, the served one stays as it
   * is (and with it the last successful run and the counts), and the run is
   * recorded FAILED saying so; the next run compares with the served data again.
   */
  discardHeld(connectionId: string, runId: string): Promise<SyncRunRecord> {
    return this.settleHeld(connectionId, runId, () => this.dropHeld(connectionId, runId));
  }

  /** The checks confirming and discarding share, and one of them at a time per connection. */
  private async settleHeld(
    connectionId: string,
    runId: string,
    settle: () => Promise<SyncRunRecord>,
  ): Promise<SyncRunRecord> {
    if (this.state(connectionId).heldRunId !== runId)
      throw new ConflictError(`run ${runId} is not held for connection ${connectionId}`);
    if (this.running.has(connectionId)) throw new ConflictError('a sync of this connection is running');
    if (this.settling.has(connectionId))
      throw new ConflictError(`the held run ${runId} is being confirmed or discarded`);
    this.settling.add(connectionId);
    try {
      return await settle();
    } finally {
      this.settling.delete(connectionId);
    }
  }

  private async applyHeld(connectionId: string, runId: string): Promise<SyncRunRecord> {
    const { cache } = this.deps;
    const state = this.state(connectionId);
    const staged = await cache.loadStagedSnapshot(connectionId);
    const run = await cache.getRun(connectionId, runId);
    if (!staged || staged.meta.runId !== runId || run?.status !== 'HELD')
      throw new ConflictError(`the held run ${runId} is gone`);
    const prepared = this.prepare(connectionId, staged);
    await cache.promoteStaged(connectionId, runId);
    await this.serve(connectionId, staged, prepared);
    const applied = succeeded(run, staged.meta.counts, run.finishedAt);
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
    return applied;
  }

  private async dropHeld(connectionId: string, runId: string): Promise<SyncRunRecord> {
    const { cache, logger } = this.deps;
    const state = this.state(connectionId);
    const run = await cache.getRun(connectionId, runId);
    if (run?.status !== 'HELD') throw new ConflictError(`the held run ${runId} is gone`);
    await cache.discardStaged(connectionId, runId);
    // Its end stays the run's own (its duration is the read's); the log says when it was discarded.
    const discarded = failed(run, DISCARDED_HELD, run.finishedAt);
    await cache.putRun(discarded);
    this.setState({ ...state, status: 'FAILED', heldRunId: null, lastRun: discarded });
    await cache.putState(this.state(connectionId));
    logger.info({ connectionId, runId }, 'held run discarded; the served snapshot stays');
    this.emit('run', discarded);
    return discarded;
  }

  /** Stops any run of the connection and deletes everything cached of it. */
  async removeConnection(connectionId: string): Promise<void> {
    const running = this.running.get(connectionId);
    if (running) {
      running.abort.abort(new RunAborted(DELETED));
      await running.done;
    }
    const served = this.deps.snapshots.get(connectionId) !== undefined;
    const prepared = served ? this.prepare(connectionId, null) : null;
    await this.deps.cache.deleteConnection(connectionId);
    this.states.delete(connectionId);
    if (this.known.forget(connectionId)) this.emit('orphans', this.known.orphaned());
    if (prepared) await this.serve(connectionId, null, prepared);
    this.emit('removed', connectionId);
  }

  /** Aborts every run; their last good snapshots stay as they are. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    const runs = [...this.running.values()];
    for (const r of runs) r.abort.abort(new RunAborted('the node is shutting down'));
    await Promise.all(runs.map((r) => r.done));
  }

  /** The consumer's preparation; a failure is reported when it would be served, not here. */
  private prepare(
    connectionId: string,
    next: Snapshot | null,
    change?: SnapshotChange,
  ): Promise<PreparedSnapshot | null> {
    const prepared = this.deps.consumer.prepare(connectionId, next, change);
    prepared.catch(() => {});
    return prepared;
  }

  /**
   * Makes a committed change the served one: the snapshot set first (what
   * every later build starts from), then the consumer's preparation. A
   * consumer that fails leaves the store's commit standing: it is logged,
   * and the next change rebuilds from the snapshot set.
   */
  private async serve(
    connectionId: string,
    next: Snapshot | null,
    prepared: Promise<PreparedSnapshot | null>,
  ): Promise<void> {
    if (next) this.deps.snapshots.replace(next);
    else this.deps.snapshots.remove(connectionId);
    try {
      await (await prepared)?.commit();
    } catch (err) {
      this.deps.logger.error(
        { connectionId, err: (err as Error).message },
        'serving the new snapshot failed',
      );
    }
  }

  private setState(state: ConnectionState): void {
    this.states.set(state.connectionId, state);
    this.emit('state', state);
  }

  private publish(run: SyncRunRecord): void {
    const state = this.states.get(run.connectionId);
    // The connection shows its run in progress as it goes (phase, progress, server).
    if (state?.lastRun?.id === run.id) this.states.set(state.connectionId, { ...state, lastRun: run });
    this.emit('run', run);
  }

  /**
   * Opens the connection's password for exactly its settings (SecretBox binding). Called before
   * any connection to a directory is made, so that a record edited outside the API fails here
   * and sends nothing anywhere.
   */
  private openPassword(c: ConnectionRecord & { readonly bindPasswordSealed: string }): string {
    return openForRun('bind password', 'set the password again', () =>
      this.deps.box.open(c.bindPasswordSealed, c),
    );
  }

  /** The connection's keytab (KERBEROS), opened like its password: for exactly its settings. */
  private openKeytab(c: ConnectionRecord): Uint8Array {
    const sealed = c.keytabSealed;
    if (sealed === null) {
      throw new Error(
        'the connection authenticates with Kerberos but has no keytab; upload one (updateConnection keytab)',
      );
    }
    return openForRun('keytab', 'upload the keytab again', () => this.deps.box.openKeytab(sealed, c));
  }

  private ldapSettings(c: ConnectionRecord): LdapSettings {
    const kerberos = c.auth === 'KERBEROS';
    return ldapSettingsOf(c, {
      bindPassword:
        !kerberos && c.bindPasswordSealed
          ? this.openPassword({ ...c, bindPasswordSealed: c.bindPasswordSealed })
          : null,
      keytab: kerberos ? this.openKeytab(c) : null,
    });
  }
}

/** A stored secret opened for a run; one that does not open fails the run saying why and what to do. */
function openForRun<T>(what: string, fix: string, open: () => T): T {
  try {
    return open();
  } catch (err) {
    if (err instanceof SealedSecretError && err.kind === 'BINDING') {
      throw new Error(
        `the stored ${what} does not match this connection's settings (edited outside the API?); ${fix}`,
      );
    }
    // Typically a node of a cluster started with another key than the node that stored the secret.
    throw new Error(
      `the stored ${what} cannot be decrypted with this node's DIRGATE_SECRET_KEY (all nodes sharing settings need the same key); ${fix}`,
    );
  }
}
