/**
 * The current snapshot of every connection, in memory. Replacing one is a
 * single assignment of an immutable map, so a reader that took `current`
 * keeps a consistent set for as long as it holds it.
 */
import type { Snapshot } from '../model/principal.js';

export class SnapshotSet {
  private map: ReadonlyMap<string, Snapshot> = new Map();

  get current(): ReadonlyMap<string, Snapshot> {
    return this.map;
  }

  get(connectionId: string): Snapshot | undefined {
    return this.map.get(connectionId);
  }

  replace(snapshot: Snapshot): void {
    const next = new Map(this.map);
    next.set(snapshot.meta.connectionId, snapshot);
    this.map = next;
  }

  remove(connectionId: string): boolean {
    if (!this.map.has(connectionId)) return false;
    const next = new Map(this.map);
    next.delete(connectionId);
    this.map = next;
    return true;
  }
}
