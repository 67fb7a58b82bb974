/** What a new snapshot changes against the one it replaces, by principal id. */
import { type PrincipalRecord, sameRecord } from '../model/principal.js';
import type { RunChanges } from '../model/run.js';

/** Runs record at most this many ids per list; the counts stay exact. */
export const CHANGE_LIST_LIMIT = 1000;

export { sameRecord };

export function diffSnapshots(
  before: readonly PrincipalRecord[],
  after: readonly PrincipalRecord[],
): RunChanges {
  const old = new Map(before.map((p) => [p.id, p]));
  const added: string[] = [];
  const updated: string[] = [];
  let addedCount = 0;
  let updatedCount = 0;
  for (const p of after) {
    const prev = old.get(p.id);
    if (prev === undefined) {
      if (addedCount++ < CHANGE_LIST_LIMIT) added.push(p.id);
    } else {
      old.delete(p.id);
      if (!sameRecord(prev, p) && updatedCount++ < CHANGE_LIST_LIMIT) updated.push(p.id);
    }
  }
  const removed = [...old.values()];
  const listed = removed.slice(0, CHANGE_LIST_LIMIT);
  return {
    added,
    updated,
    removed: listed.map((p) => p.id),
    // Named now: once the run is applied the served view no longer holds them.
    removedObjects: listed.map((p) => ({ id: p.id, kind: p.kind, name: p.displayName || p.dn })),
    addedCount,
    updatedCount: updatedCount,
    removedCount: removed.length,
  };
}
