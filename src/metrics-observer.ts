/**
 * What the metrics show, from what the engine and the directory say: runs
 * and their durations, the last success per connection, entries and
 * findings of the served view, orphaned connections.
 */
import type { LiveDirectory } from './directory/live-directory.js';
import type { Metrics } from './metrics.js';
import { DUPLICATE_KINDS } from './model/finding.js';
import type { SyncEngine } from './sync/sync-engine.js';

export function observeMetrics(metrics: Metrics, engine: SyncEngine, directory: LiveDirectory): void {
  engine.on('run', (run) => {
    if (run.status === 'RUNNING') return;
    metrics.syncRuns.inc({ connection: run.connectionId, status: run.status, mode: run.mode ?? 'FULL' });
    const seconds = (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000;
    metrics.syncDuration.observe(
      { connection: run.connectionId, status: run.status, mode: run.mode ?? 'FULL' },
      seconds,
    );
    if (run.status === 'SUCCEEDED')
      metrics.lastSuccess.set({ connection: run.connectionId }, Date.parse(run.finishedAt) / 1000);
  });
  engine.on('removed', (connectionId) => metrics.lastSuccess.remove({ connection: connectionId }));
  metrics.orphanedConnections.set(0);
  engine.on('orphans', (ids) => metrics.orphanedConnections.set(ids.length));
  directory.on('view', (view) => {
    metrics.entries.reset();
    for (const id of view.connectionIds()) {
      const counts = view.counts(id);
      metrics.entries.set({ connection: id, kind: 'USER' }, counts.users);
      metrics.entries.set({ connection: id, kind: 'GROUP' }, counts.groups);
      metrics.entries.set({ connection: id, kind: 'CONTACT' }, counts.contacts);
    }
    metrics.duplicates.reset();
    // Every kind has a series, 0 included, so that alerts can compare against it.
    for (const kind of DUPLICATE_KINDS) metrics.duplicates.set({ kind }, 0);
    for (const f of view.findings) metrics.duplicates.inc({ kind: f.kind });
  });
}

/** A restarted node reports when each connection last synced, not "never" until its next run. */
export function restoreLastSuccess(metrics: Metrics, engine: SyncEngine): void {
  for (const state of engine.allStates()) {
    const finished = state.lastSuccessfulRun?.finishedAt;
    if (finished) metrics.lastSuccess.set({ connection: state.connectionId }, Date.parse(finished) / 1000);
  }
}
