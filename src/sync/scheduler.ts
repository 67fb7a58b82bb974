/**
 * Schedules syncs with node-schedule: one job per enabled connection, on its
 * cron expression; a start-up run for connections whose cache is older than
 * one interval (or empty). Reconciled against the stored settings whenever
 * they change, here or on another node.
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

export class Scheduler {
  private readonly jobs = new Map<string, { job: Job; cron: string }>();
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
    for (const c of wanted.values()) {
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

  private isStale(c: ConnectionRecord): boolean {
    const state = this.engine.state(c.id);
    const last = state.lastSuccessfulRun?.finishedAt;
    if (!last) return true;
    return Date.now() - Date.parse(last) > scheduleInterval(c.schedule);
  }

  stop(): void {
    this.stopped = true;
    for (const { job } of this.jobs.values()) job.cancel();
    this.jobs.clear();
  }
}
