/**
 * What a node restarting on its cache makes of each connection's persisted
 * state: the run a killed process left RUNNING ends now, as SUCCEEDED if
 * its snapshot is the one under the pointer (killed after the swap, which
 * is one atomic write, before the run was recorded) and as FAILED,
 * interrupted, otherwise; a snapshot that cannot be read fails the
 * connection until the next sync rebuilds it. Pure: the engine writes what
 * this returns.
 */
import type { ConnectionState } from '../model/node.js';
import type { Snapshot, SnapshotCounts } from '../model/principal.js';
import { type EndedRun, failed, succeeded } from '../model/run.js';

export const EMPTY_COUNTS: SnapshotCounts = { users: 0, groups: 0, contacts: 0, addresses: 0 };

const INTERRUPTED = 'interrupted: the process stopped during this run; the previous snapshot was kept';

export type PersistedSnapshot =
  | { readonly kind: 'loaded'; readonly snapshot: Snapshot | null }
  | { readonly kind: 'unreadable'; readonly reason: string };

interface Recovered {
  readonly state: ConnectionState;
  /** A run that ended only now, to be recorded (and the state with it). */
  readonly ended: EndedRun | null;
}

export function emptyState(connectionId: string, snapshot: Snapshot | null): ConnectionState {
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

export function recoverState(
  connectionId: string,
  persisted: ConnectionState | undefined,
  cached: PersistedSnapshot,
  at = new Date().toISOString(),
): Recovered {
  if (cached.kind === 'unreadable') {
    const state = persisted ?? emptyState(connectionId, null);
    const error = `the cached snapshot could not be read (${cached.reason}); the next sync rebuilds it`;
    const lastRun = state.lastRun ? failed(state.lastRun, error, state.lastRun.finishedAt ?? at) : null;
    return {
      state: { ...state, status: 'FAILED', lastRun, lastSuccessfulRun: null, counts: EMPTY_COUNTS },
      ended: lastRun && state.lastRun?.status === 'RUNNING' ? lastRun : null,
    };
  }
  const { snapshot } = cached;
  let state = persisted ?? emptyState(connectionId, snapshot);
  let ended: EndedRun | null = null;
  if (state.lastRun?.status === 'RUNNING') {
    const run = state.lastRun;
    const swapped = snapshot !== null && snapshot.meta.runId === run.id;
    ended = swapped && snapshot ? succeeded(run, snapshot.meta.counts, at) : failed(run, INTERRUPTED, at);
    state = {
      ...state,
      status: ended.status,
      lastRun: ended,
      ...(ended.status === 'SUCCEEDED' ? { lastSuccessfulRun: ended } : {}),
    };
  }
  // What is served is the loaded snapshot: its counts are the connection's, whatever the state said.
  if (snapshot) state = { ...state, counts: snapshot.meta.counts };
  return { state, ended };
}
