/**
 * Schedules syncs with node-schedule: per enabled connection, one job on its
 * full `schedule` and one on its `incrementalSchedule` (when set); a start-up
 * run for connections whose cache is older than one full interval (or
 * empty). Reconciled against the stored settings whenever they change, here
 * or on another node.
 *
 * An incremental firing starts a run only when one can be incremental (the
 * engine's incrementalDue): a directory that tracks no changes keeps full
 * runs only, instead of a full read every minute.
 */
import cronParser from 'cron-parser';
import schedule, { type Job } from 'node-schedule';
import type { ConnectionRecord } from '../model/connection.js';
import type { Logger } from '../model/logger.js';
import type { SyncEngine } from './sync-engine.js';

/** The time between two consecutive firings of a cron expression. */
export function scheduleInterval(cron: string, from = new Date()): number {
  const it = cronParser.parseExpression(cron, { currentDate: from });
  const a = it.next().getTime();
  const b = it.next().getTime();
  return b - a;
}

interface ScheduledJob {
  readonly job: Job;
  readonly cron: string;
}

export class Scheduler {
  private readonly jobs = new Map<string, ScheduledJob>();
  private readonly incrementalJobs = new Map<string, ScheduledJob>();
  private stopped = false;

  constructor(
    private readonly engine: SyncEngine,
    private readonly logger: Logger,
  ) {}

  /** Brings the jobs in line with the settings; `startup` also starts runs for stale caches. */
  reconcile(connections: readonly ConnectionRecord[], startup: boolean): void {
    if (this.stopped) return;
    const wanted = new Map(connections.filter((c) => c.enabled).map((c) => [c.id, c]));
    for (const [id, { job }] of this.jobs) {
      if (!wanted.has(id)) {
        job.cancel();
        this.jobs.delete(id);
      }
    }
    for (const [id, { job, cron }] of this.incrementalJobs) {
      if (wanted.get(id)?.incrementalSchedule !== cron) {
        job.cancel();
        this.incrementalJobs.delete(id);
      }
    }
    for (const c of wanted.values()) {
      if (c.incrementalSchedule && !this.incrementalJobs.has(c.id))
        this.scheduleIncremental(c.id, c.incrementalSchedule);
      const existing = this.jobs.get(c.id);
      if (existing && existing.cron === c.schedule) continue;
      existing?.job.cancel();
      const job = schedule.scheduleJob(c.schedule, () => {
        this.engine.start(c.id, 'SCHEDULE').catch((err: unknown) => {
          this.logger.warn(
            { connectionId: c.id, err: (err as Error).message },
            'scheduled sync did not start',
          );
        });
      });
      if (job) this.jobs.set(c.id, { job, cron: c.schedule });
      const isNew = existing === undefined;
      if ((startup || isNew) && this.isStale(c)) {
        this.engine.start(c.id, 'STARTUP').catch((err: unknown) => {
          this.logger.warn(
            { connectionId: c.id, err: (err as Error).message },
            'start-up sync did not start',
          );
        });
      }
    }
  }

  private scheduleIncremental(connectionId: string, cron: string): void {
    const job = schedule.scheduleJob(cron, () => {
      if (!this.engine.incrementalDue(connectionId)) return;
      this.engine.start(connectionId, 'SCHEDULE', 'INCREMENTAL').catch((err: unknown) => {
        this.logger.warn(
          { connectionId, err: (err as Error).message },
          'scheduled incremental sync did not start',
        );
      });
    });
    if (job) this.incrementalJobs.set(connectionId, { job, cron });
  }

  private isStale(c: ConnectionRecord): boolean {
    const state = this.engine.state(c.id);
    const last = state.lastSuccessfulRun?.finishedAt;
    if (!last) return true;
    return Date.now() - Date.parse(last) > scheduleInterval(c.schedule);
  }

  stop(): void {
    this.stopped = true;
    for (const { job } of [...this.jobs.values(), ...this.incrementalJobs.values()]) job.cancel();
    this.jobs.clear();
    this.incrementalJobs.clear();
  }
}
