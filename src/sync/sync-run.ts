/**
 * One synchronization run, from its start to its end, as named steps:
 *
 *   begin → read → plan → stage → (hold | commit → serve → record)
 *
 * A FULL run reads everything and compares it with the served snapshot; an
 * INCREMENTAL run reads what changed since the served snapshot's watermark
 * and applies it (directory-read.ts), and the rest is the same steps: the
 * mass-deletion hold, the staging (a delta in the store, a patch of the
 * view) and the one commit. An incremental run that cannot be done reads
 * in full and says why (`fallback`).
 *
 * Every step before `commit` may fail, and the run then ends FAILED with
 * the last good snapshot served (`fail`). `commit` is the store's pointer
 * write: from there on the run has succeeded whatever happens, because a
 * restart serves what the pointer names; a failure after it only delays
 * the run's record.
 */
import type { LdapLimits, LdapSettings } from '../ldap/types.js';
import type { ConnectionRecord } from '../model/connection.js';
import type { Logger } from '../model/logger.js';
import type { ConnectionState } from '../model/node.js';
import type { Snapshot } from '../model/principal.js';
import {
  type ActivePhase,
  advanced,
  type EndedRun,
  type FailedRun,
  failed,
  type HeldRun,
  held,
  type RunChanges,
  type RunningRun,
  type SucceededRun,
  type SyncRunRecord,
  succeeded,
} from '../model/run.js';
import type { SnapshotChange } from '../model/snapshot-change.js';
import type { CacheStore } from '../store/cache-store.js';
import type { DirectoryReadOptions, DirectoryReadResult } from './directory-read.js';
import { readKey } from './read-key.js';
import type { PreparedSnapshot } from './snapshot-consumer.js';
import { diffSnapshots } from './snapshot-diff.js';
import { SnapshotIndex } from './snapshot-index.js';
import type { SnapshotSet } from './snapshot-set.js';

export type DirectoryReader = (options: DirectoryReadOptions) => Promise<DirectoryReadResult>;

/** The run was stopped on purpose (shutdown or deletion), not by a directory failure. */
export class RunAborted extends Error {}

/** Default of DIRGATE_SYNC_RUN_TIMEOUT_MS. */
export const DEFAULT_RUN_TIMEOUT_MS = 30 * 60 * 1000;

/**
 * The run went past its deadline (DIRGATE_SYNC_RUN_TIMEOUT_MS) before its
 * commit: a directory that answers slowly for ever (each page just within
 * the operation timeout, a paging loop a bound has not caught yet) must not
 * keep a connection RUNNING.
 */
export class RunDeadlineExceeded extends Error {
  constructor(
    readonly timeoutMs: number,
    readonly phase: ActivePhase,
  ) {
    super(
      `the run took longer than its deadline of ${describeMs(timeoutMs)} (DIRGATE_SYNC_RUN_TIMEOUT_MS) and was stopped while ${phase}; the previous snapshot was kept`,
    );
    this.name = 'RunDeadlineExceeded';
  }
}

function describeMs(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

export const DELETED = 'connection deleted';

/** What a run needs of the engine that runs it. */
export interface RunHost {
  readonly cache: CacheStore;
  readonly snapshots: SnapshotSet;
  readonly logger: Logger;
  readonly limits: LdapLimits;
  readonly read: DirectoryReader;
  readonly deleteThreshold: number;
  readonly progressIntervalMs: number;
  /** How long a run may take from its start to its commit (DIRGATE_SYNC_RUN_TIMEOUT_MS). */
  readonly runTimeoutMs: number;
  /** Ended runs the store could not record when they ended, by run id. */
  readonly unrecorded: Map<string, EndedRun>;
  state(connectionId: string): ConnectionState;
  setState(state: ConnectionState): void;
  /** The run as it is now: to its listeners, and to the connection's state while it is the last run. */
  publish(run: SyncRunRecord): void;
  /** The consumer's preparation of a connection's next snapshot (see SnapshotConsumer). */
  prepare(connectionId: string, next: Snapshot, change?: SnapshotChange): Promise<PreparedSnapshot | null>;
  /** Serves a snapshot the store has committed. */
  serve(connectionId: string, next: Snapshot, prepared: Promise<PreparedSnapshot | null>): Promise<void>;
}

/** What a read turns into: the snapshot, what it changes, and whether it may be applied. */
interface Plan {
  readonly snapshot: Snapshot;
  readonly server: string;
  readonly changes: RunChanges;
  /** INCREMENTAL: the change whole, for the store's delta and the view's patch. */
  readonly change: SnapshotChange | null;
  readonly unresolvedMembers: number;
  /** Objects cached before the run. */
  readonly before: number;
  readonly threshold: number;
  readonly held: boolean;
}

export class SyncRun {
  private last: EndedRun | null = null;
  private phaseStarted = Date.now();
  private readonly started = Date.now();
  private readonly log: { readonly connectionId: string; readonly runId: string };
  /** Aborted when the run's deadline passes; with the engine's signal, what stops the steps. */
  private readonly deadline = new AbortController();
  private readonly signal: AbortSignal;

  constructor(
    private readonly host: RunHost,
    private readonly connection: ConnectionRecord,
    private run: RunningRun,
    private readonly settings: () => LdapSettings,
    stop: AbortSignal,
  ) {
    this.log = { connectionId: connection.id, runId: run.id };
    this.signal = AbortSignal.any([stop, this.deadline.signal]);
  }

  /** The run as it is now. */
  get current(): SyncRunRecord {
    return this.last ?? this.run;
  }

  /** Runs every step; resolves with the run as it ended, never rejects. */
  async execute(): Promise<EndedRun> {
    let plan: Plan;
    let prepared: Promise<PreparedSnapshot | null>;
    const { runTimeoutMs } = this.host;
    const timer = setTimeout(
      () => this.deadline.abort(new RunDeadlineExceeded(runTimeoutMs, this.run.phase)),
      runTimeoutMs,
    );
    try {
      await this.begin();
      plan = this.plan(await this.read());
      ({ prepared } = await this.stage(plan));
      if (plan.held) return await this.hold(plan);
      await this.commit();
    } catch (err) {
      return this.fail(err);
    } finally {
      // From the commit on the run has succeeded: serving and recording it are not cut short.
      clearTimeout(timer);
    }
    return this.succeed(plan, prepared);
  }

  /** Persisted as RUNNING, so that a process killed during the run says so when it starts again. */
  private async begin(): Promise<void> {
    const { cache, unrecorded, logger } = this.host;
    const id = this.connection.id;
    // The state first: a restart ends the run the state names, while a run recorded RUNNING that
    // no state names (its state write failed, the store gone) would stay RUNNING in the history.
    await cache.putState(this.host.state(id));
    await cache.putRun(this.run);
    for (const [runId, ended] of unrecorded) {
      if (ended.connectionId !== id) continue;
      await cache.putRun(ended);
      unrecorded.delete(runId);
    }
    this.host.publish(this.run);
    logger.info({ ...this.log, trigger: this.run.trigger, mode: this.run.mode }, 'sync started');
  }

  private async read(): Promise<DirectoryReadResult> {
    const read = await this.host.read({
      connectionId: this.connection.id,
      runId: this.run.id,
      settings: this.settings(),
      limits: this.host.limits,
      signal: this.signal,
      mode: this.run.mode ?? 'FULL',
      previous: this.host.snapshots.get(this.connection.id) ?? null,
      readKey: readKey(this.connection),
      progressIntervalMs: this.host.progressIntervalMs,
      onWarning: (message) => this.host.logger.warn({ ...this.log }, message),
      onFallback: (fallback, fallbackMessage) => {
        this.advance({ mode: 'FULL', fallback, fallbackMessage });
        this.host.logger.info(
          { ...this.log, fallback, reason: fallbackMessage },
          'incremental run reads in full',
        );
      },
      onBound: (server, flavour) => {
        this.advance({ server, phase: 'READING' });
        this.phaseDone('bind', { server, flavour });
      },
      onProgress: (entries) => this.advance({ progress: entries }),
      onRead: (totals) => {
        this.phaseDone('read', totals);
        this.advance({ phase: 'BUILDING', progress: totals.entries });
      },
    });
    this.checkAbort();
    const { incremental } = read;
    if (incremental) {
      const { deletionCheck, idsRead, comparedBecause } = incremental;
      this.advance({ deletionCheck, ...(idsRead === null ? {} : { idsRead }) });
      if (comparedBecause)
        this.host.logger.info(
          { ...this.log, reason: comparedBecause },
          'deletions found by comparing every id',
        );
    }
    return read;
  }

  /** Compares with the served snapshot; a run that would remove too much is held, not applied. */
  private plan(read: DirectoryReadResult): Plan {
    const { snapshot, incremental } = read;
    const previous = this.host.snapshots.get(this.connection.id);
    const changes = incremental?.changes ?? diffSnapshots(previous?.principals ?? [], snapshot.principals);
    const threshold = this.connection.deleteThreshold ?? this.host.deleteThreshold;
    const before = previous?.principals.length ?? 0;
    this.phaseDone('build', { ...snapshot.meta.counts, unresolvedMembers: read.unresolvedMembers });
    this.advance({ phase: 'SAVING', counts: snapshot.meta.counts, changes });
    return {
      snapshot,
      server: read.server,
      changes,
      change: incremental?.change ?? null,
      unresolvedMembers: read.unresolvedMembers,
      before,
      threshold,
      // An unreachable subtree or a wrong filter looks like mass deletion: keep serving, ask first.
      held: before > 0 && changes.removedCount / before > threshold,
    };
  }

  /**
   * Writes the snapshot beside the served one. The consumer prepares its
   * indexes meanwhile (it lets the writes through between its steps); the
   * staging record is begun first so that the chunks go out at once. A
   * failed write drops the preparation unused.
   */
  private async stage(plan: Plan): Promise<{ readonly prepared: Promise<PreparedSnapshot | null> }> {
    const { cache } = this.host;
    await cache.beginStaging(plan.snapshot);
    const change = plan.change ?? undefined;
    const prepared: Promise<PreparedSnapshot | null> = plan.held
      ? Promise.resolve(null)
      : this.host.prepare(this.connection.id, plan.snapshot, change);
    const written = await cache.writeStaging(plan.snapshot, change);
    this.phaseDone('save', {
      form: written.form,
      chunks: written.chunks,
      records: written.records,
      ...(written.fullBecause ? { fullBecause: written.fullBecause } : {}),
    });
    // The applier's change did not give its own snapshot: correct (written whole), but a bug to see.
    if (written.fullBecause === 'INCONSISTENT')
      this.host.logger.warn(
        { ...this.log },
        'the incremental change did not match its snapshot; written whole',
      );
    return { prepared };
  }

  private async hold(plan: Plan): Promise<HeldRun> {
    const { cache, logger } = this.host;
    const id = this.connection.id;
    const message = `held: this run would remove ${plan.changes.removedCount} of ${plan.before} cached objects (more than ${Math.round(plan.threshold * 100)}%); confirm it to apply`;
    const ended = held(this.run, plan.snapshot.meta.counts, plan.changes, message);
    this.end(ended);
    await cache.putRun(ended);
    this.host.setState({
      ...this.host.state(id),
      status: 'HELD',
      activeServer: plan.server,
      lastRun: ended,
      heldRunId: ended.id,
    });
    await cache.putState(this.host.state(id));
    logger.warn(
      { ...this.log, removed: plan.changes.removedCount, before: plan.before },
      'sync held for confirmation',
    );
    return ended;
  }

  /** The commit point: the pointer names the new snapshot. */
  private async commit(): Promise<void> {
    this.checkAbort();
    const { tidyError } = await this.host.cache.promoteStaged(this.connection.id, this.run.id);
    if (tidyError)
      this.host.logger.warn(
        { ...this.log, err: tidyError.message },
        'the replaced snapshot is removed at the next start',
      );
  }

  /** After the commit: serves the new snapshot, then records the run. Never fails the run. */
  private async succeed(plan: Plan, prepared: Promise<PreparedSnapshot | null>): Promise<SucceededRun> {
    const { cache, logger } = this.host;
    const id = this.connection.id;
    try {
      this.advance({ phase: 'DETECTING' });
      await this.host.serve(id, plan.snapshot, prepared);
      this.phaseDone('index');
    } catch (err) {
      logger.error({ ...this.log, err: (err as Error).message }, 'serving the new snapshot failed');
    }
    const ended = succeeded(this.run, plan.snapshot.meta.counts);
    this.end(ended);
    this.host.setState({
      connectionId: id,
      status: 'SUCCEEDED',
      activeServer: plan.server,
      lastRun: ended,
      lastSuccessfulRun: ended,
      counts: plan.snapshot.meta.counts,
      heldRunId: null,
    });
    try {
      await cache.putRun(ended);
      await cache.putState(this.host.state(id));
    } catch (storeErr) {
      // The state on disk still says RUNNING with this run's snapshot under the pointer, which a
      // restart reads as SUCCEEDED; the next run that can write records it meanwhile.
      this.host.unrecorded.set(ended.id, ended);
      logger.error({ ...this.log, err: (storeErr as Error).message }, 'could not record the succeeded run');
    }
    logger.info(
      {
        ...this.log,
        ...plan.snapshot.meta.counts,
        mode: ended.mode,
        added: plan.changes.addedCount,
        updated: plan.changes.updatedCount,
        removed: plan.changes.removedCount,
        unresolvedMembers: plan.unresolvedMembers,
        ms: Date.now() - this.started,
      },
      'sync succeeded',
    );
    // The lookups the next incremental runs start from (snapshot-index.ts), built after the run has
    // ended so that they cost the full run nothing; incremental runs derive their own from them.
    if (plan.change === null && plan.snapshot.meta.watermark && this.connection.incrementalSchedule !== null)
      setImmediate(() => SnapshotIndex.of(plan.snapshot).warm());
    return ended;
  }

  /** Any step before the commit failed: the last good snapshot stays, and the run says why. */
  private async fail(err: unknown): Promise<FailedRun> {
    const { cache, logger, unrecorded } = this.host;
    const id = this.connection.id;
    // Stopped on purpose: the LDAP layer reports only "aborted"; the run says why.
    const reason = this.signal.reason;
    const stoppedBy = this.signal.aborted && reason instanceof RunAborted ? reason : null;
    const overran = this.signal.aborted && reason instanceof RunDeadlineExceeded ? reason : null;
    const message = stoppedBy
      ? `aborted: ${stoppedBy.message}; the previous snapshot was kept`
      : overran
        ? overran.message
        : err instanceof Error
          ? err.message
          : String(err);
    const ended = failed(this.run, message);
    this.end(ended);
    logger.warn(
      { ...this.log, err: message, ms: Date.now() - this.started },
      'sync failed; the last good snapshot stays',
    );
    const deleted = stoppedBy?.message === DELETED;
    try {
      await cache.putRun(ended);
      await cache.discardStaged(id, ended.id);
    } catch (storeErr) {
      // Recorded by the next run that can write, so the history does not keep it RUNNING.
      if (!deleted) unrecorded.set(ended.id, ended);
      logger.error({ ...this.log, err: (storeErr as Error).message }, 'could not record the failed run');
    }
    if (!deleted) {
      // Whatever the store could record (a locked or full disk is one cause of failure),
      // the connection must not stay RUNNING.
      this.host.setState({ ...this.host.state(id), status: 'FAILED', lastRun: ended });
      await cache.putState(this.host.state(id)).catch((storeErr: unknown) => {
        logger.error(
          { ...this.log, err: (storeErr as Error).message },
          'could not record the connection state',
        );
      });
    }
    return ended;
  }

  private advance(patch: Parameters<typeof advanced>[1]): void {
    this.run = advanced(this.run, patch);
    this.host.publish(this.run);
  }

  /** The run's last word: published once, with the run no longer RUNNING. */
  private end(ended: EndedRun): void {
    this.last = ended;
    this.host.publish(ended);
  }

  private checkAbort(): void {
    if (this.signal.aborted) {
      const reason = this.signal.reason;
      throw reason instanceof Error ? reason : new RunAborted('aborted');
    }
  }

  /** One line per phase, with its duration and the process's memory: what operators read first. */
  private phaseDone(phase: string, extra: object = {}): void {
    const now = Date.now();
    this.host.logger.info(
      {
        ...this.log,
        phase,
        ms: now - this.phaseStarted,
        rssMb: Math.round(process.memoryUsage.rss() / 1048576),
        ...extra,
      },
      `sync phase ${phase}`,
    );
    this.phaseStarted = now;
  }
}
