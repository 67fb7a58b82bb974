/**
 * Lookups over one snapshot's records by id (guid) and by exact DN, for
 * incremental runs: which ids the snapshot holds, which record has a DN.
 * Building them from the whole snapshot is two hash tables of every record
 * (about a tenth of a second at 130,000 records on a busy machine), and an
 * incremental run would pay that every minute for a few lookups. So the
 * index of a snapshot an incremental run derived from the previous one is
 * the previous index with a small overlay of what the run changed: the
 * large tables are built once (on first use of a snapshot read in full, or
 * past OVERLAY_LIMIT changed records) and shared by the snapshots after it.
 *
 * Indexes are kept per snapshot object (a WeakMap): one that is dropped
 * (replaced, or a run that failed) takes its index with it.
 */
import type { PrincipalRecord, Snapshot } from '../model/principal.js';
import type { SnapshotChange } from '../model/snapshot-change.js';

/** Records changed since the tables were built before they are built again. */
const OVERLAY_LIMIT = 5000;

interface Tables {
  /** guid → DN. */
  readonly dnOfGuid: ReadonlyMap<string, string>;
  /** exact DN → guid. */
  readonly guidOfDn: ReadonlyMap<string, string>;
}

/** A guid (or DN) the overlay says is gone: null. */
type Overlay<T> = ReadonlyMap<string, T | null>;

const indexes = new WeakMap<Snapshot, SnapshotIndex>();

function tablesOf(records: readonly PrincipalRecord[]): Tables {
  const dnOfGuid = new Map<string, string>();
  const guidOfDn = new Map<string, string>();
  for (const p of records) {
    dnOfGuid.set(p.guid, p.dn);
    // The first record of a DN wins, as a full build's DN index keeps it.
    if (!guidOfDn.has(p.dn)) guidOfDn.set(p.dn, p.guid);
  }
  return { dnOfGuid, guidOfDn };
}

export class SnapshotIndex {
  private built: Tables | null;

  private constructor(
    private readonly records: readonly PrincipalRecord[],
    tables: Tables | null,
    private readonly guids: Overlay<string>,
    private readonly dns: Overlay<string>,
  ) {
    this.built = tables;
  }

  /** The snapshot's index: kept, or made (its tables are built on the first lookup). */
  static of(snapshot: Snapshot): SnapshotIndex {
    let index = indexes.get(snapshot);
    if (index === undefined) {
      index = new SnapshotIndex(snapshot.principals, null, new Map(), new Map());
      indexes.set(snapshot, index);
    }
    return index;
  }

  /**
   * Keeps, for `next` (derived from `change.previous` by `change`), the
   * previous snapshot's index with the change laid over it. Past
   * OVERLAY_LIMIT, or without a previous index, `next` gets its own.
   */
  static derive(next: Snapshot, change: SnapshotChange): SnapshotIndex {
    const previous = indexes.get(change.previous);
    const tables = previous?.built;
    if (
      !previous ||
      !tables ||
      previous.guids.size + change.upserted.length + change.removed.length > OVERLAY_LIMIT
    )
      return SnapshotIndex.of(next);
    const guids = new Map(previous.guids);
    const dns = new Map(previous.dns);
    const prefix = `${next.meta.connectionId}:`;
    const forget = (guid: string): void => {
      const dn = previous.dnOf(guid);
      if (dn !== undefined && previous.guidOfDn(dn) === guid) dns.set(dn, null);
      guids.set(guid, null);
    };
    for (const id of change.removed) forget(id.startsWith(prefix) ? id.slice(prefix.length) : id);
    for (const p of change.upserted) {
      forget(p.guid);
      guids.set(p.guid, p.dn);
    }
    // DNs last: a record renamed to the DN another one left in the same run takes it.
    for (const p of change.upserted) dns.set(p.dn, p.guid);
    const index = new SnapshotIndex(next.principals, tables, guids, dns);
    indexes.set(next, index);
    return index;
  }

  /** Builds the tables now if they are not yet: after a full run, so that its first incremental run does not. */
  warm(): void {
    this.tables();
  }

  has(guid: string): boolean {
    return this.dnOf(guid) !== undefined;
  }

  /** The DN of the record with this id. */
  dnOf(guid: string): string | undefined {
    const over = this.guids.get(guid);
    if (over !== undefined) return over ?? undefined;
    return this.tables().dnOfGuid.get(guid);
  }

  /** The id of the record with exactly this DN (as the server spelled it). */
  guidOfDn(dn: string): string | undefined {
    const over = this.dns.get(dn);
    if (over !== undefined) return over ?? undefined;
    return this.tables().guidOfDn.get(dn);
  }

  /** Every id, in the snapshot's order. */
  *[Symbol.iterator](): Iterator<string> {
    for (const p of this.records) yield p.guid;
  }

  private tables(): Tables {
    this.built ??= tablesOf(this.records);
    return this.built;
  }
}
