/**
 * Every connection this node serves a cache of, with its settings as last
 * listed (never the bind password or keytab), and which of them are orphans: cached,
 * but lacking from the settings store without a deletion record. A copy of
 * the settings is kept in the cache store, so that a restarted node still
 * knows an orphan's name and domain.
 */
import type { ConnectionRecord } from '../model/connection.js';
import type { Logger } from '../model/logger.js';
import type { CacheStore } from '../store/cache-store.js';

export class KnownConnections {
  private readonly records = new Map<string, ConnectionRecord>();
  /** The `updatedAt` of the copy in the cache store (or of the last attempt to write it), by id. */
  private readonly onDisk = new Map<string, string>();
  private readonly orphans = new Set<string>();

  constructor(
    private readonly cache: CacheStore,
    private readonly logger: Logger,
  ) {}

  /** Reads the copies the cache store keeps of these connections' settings. */
  async load(ids: readonly string[]): Promise<void> {
    for (const r of await this.cache.getConnectionRecords([...ids])) {
      this.records.set(r.id, r);
      this.onDisk.set(r.id, r.updatedAt);
    }
  }

  /** Keeps the settings' copy current; a failed write is tried again when they change. */
  async remember(c: ConnectionRecord): Promise<void> {
    this.records.set(c.id, { ...c, bindPasswordSealed: null, keytabSealed: null });
    if (this.onDisk.get(c.id) === c.updatedAt) return;
    this.onDisk.set(c.id, c.updatedAt);
    try {
      await this.cache.putConnectionRecord(c);
    } catch (err) {
      this.logger.warn(
        { connectionId: c.id, err: (err as Error).message },
        "could not keep a copy of the connection's settings in the cache",
      );
    }
  }

  /** Forgets a deleted connection; true when it was an orphan. */
  forget(connectionId: string): boolean {
    this.records.delete(connectionId);
    this.onDisk.delete(connectionId);
    return this.orphans.delete(connectionId);
  }

  markOrphan(connectionId: string): void {
    this.orphans.add(connectionId);
    const record = this.records.get(connectionId);
    // Once per connection (until it is listed again), not at every reconcile.
    this.logger.warn(
      { connectionId, name: record?.name ?? null, domain: record?.domain ?? null },
      'the settings store lacks this connection and holds no deletion record: its cache stays served, unsynced (deleteConnection removes it)',
    );
  }

  /** The connection is listed again; true when it was an orphan. */
  listedAgain(c: ConnectionRecord): boolean {
    if (!this.orphans.delete(c.id)) return false;
    this.logger.info({ connectionId: c.id, name: c.name }, 'the settings store lists the connection again');
    return true;
  }

  isOrphan(connectionId: string): boolean {
    return this.orphans.has(connectionId);
  }

  /** The orphans' ids, sorted. */
  orphaned(): string[] {
    return [...this.orphans].sort();
  }

  /** An orphan's settings as last listed; undefined for any other connection. */
  orphan(connectionId: string): ConnectionRecord | undefined {
    return this.orphans.has(connectionId) ? this.records.get(connectionId) : undefined;
  }

  all(): ConnectionRecord[] {
    return [...this.records.values()];
  }
}
