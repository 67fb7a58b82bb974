/**
 * Connection settings and the cluster node table: the state every node of a
 * cluster shares (SQLite in the data folder, or Redis for several nodes).
 */
import { type ConnectionRecord, DEFAULT_INCREMENTAL_SCHEDULE } from '../model/connection.js';
import type { NodeRow } from '../model/node.js';
import type { KvStore } from './kv-store.js';

const CONNECTION = 'connection:';
const DELETED = 'deleted:';
const NODE = 'node:';
const KEY_CHECK = 'keycheck';

/** Which secret key the sealed bind passwords of these settings were sealed with (src/store/key-check.ts). */
export interface KeyCheckRecord {
  /** SecretBox.keyCheck() of that key: never the key itself. */
  readonly mac: string;
  /** The node that wrote it, and when: for the operator chasing a mismatch. */
  readonly node: string;
  readonly writtenAt: string;
}

/**
 * The record that a connection was deleted on purpose. A listing that lacks
 * a connection says nothing (a flushed Redis, a restored old file lack them
 * all); only this record lets a node delete the connection's cache. Kept for
 * good: a node that was down for months must still find it, and ids are
 * never reused.
 */
export interface Tombstone {
  readonly connectionId: string;
  readonly deletedAt: string;
  /** The node whose API deleted it. */
  readonly node: string;
}

/** One read of the connections and of the deletion records. */
export interface ConnectionListing {
  /** Without those that have a tombstone (a deletion cut short between its two writes). */
  readonly connections: ConnectionRecord[];
  readonly deleted: ReadonlyMap<string, Tombstone>;
}

/**
 * A record as stored by an earlier version lacks the fields added since: each gets the value that
 * keeps the safe meaning (a password is never sent without TLS unless a record says so), or the
 * default a connection added now gets (incremental runs every minute).
 */
export function withDefaults(record: ConnectionRecord): ConnectionRecord {
  // Read loosely: a record of an earlier version lacks the Kerberos fields (#17) altogether.
  const stored = record as Partial<ConnectionRecord> & ConnectionRecord;
  return {
    ...record,
    // Before Kerberos the method was implied by the bind name.
    auth: stored.auth ?? (record.bindDn ? 'SIMPLE' : 'ANONYMOUS'),
    keytabPrincipal: stored.keytabPrincipal ?? null,
    kdcs: stored.kdcs ?? [],
    keytabSealed: stored.keytabSealed ?? null,
    allowPlaintextBind: record.allowPlaintextBind === true,
    incrementalSchedule:
      record.incrementalSchedule === undefined ? DEFAULT_INCREMENTAL_SCHEDULE : record.incrementalSchedule,
  };
}

export class SettingsStore {
  constructor(private readonly kv: KvStore) {}

  async listing(): Promise<ConnectionListing> {
    const records: ConnectionRecord[] = [];
    const deleted = new Map<string, Tombstone>();
    for await (const [key, value] of this.kv.entries<ConnectionRecord | Tombstone>()) {
      if (key.startsWith(CONNECTION)) records.push(withDefaults(value as ConnectionRecord));
      else if (key.startsWith(DELETED)) deleted.set(key.slice(DELETED.length), value as Tombstone);
    }
    const connections = records
      .filter((c) => !deleted.has(c.id))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    return { connections, deleted };
  }

  async listConnections(): Promise<ConnectionRecord[]> {
    return (await this.listing()).connections;
  }

  /** Undefined for a connection that has a tombstone, as in the listing. */
  async getConnection(id: string): Promise<ConnectionRecord | undefined> {
    const [record, tombstone] = await this.kv.getMany<unknown>([CONNECTION + id, DELETED + id]);
    if (tombstone !== undefined || record === undefined) return undefined;
    return withDefaults(record as ConnectionRecord);
  }

  putTombstone(tombstone: Tombstone): Promise<void> {
    return this.kv.set(DELETED + tombstone.connectionId, tombstone);
  }

  putConnection(record: ConnectionRecord): Promise<void> {
    return this.kv.set(CONNECTION + record.id, record);
  }

  deleteConnection(id: string): Promise<void> {
    return this.kv.delete(CONNECTION + id);
  }

  async listNodes(): Promise<NodeRow[]> {
    const out: NodeRow[] = [];
    for await (const [key, value] of this.kv.entries<NodeRow>()) {
      if (key.startsWith(NODE)) out.push(value);
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  putNode(row: NodeRow): Promise<void> {
    return this.kv.set(NODE + row.name, row);
  }

  getKeyCheck(): Promise<KeyCheckRecord | undefined> {
    return this.kv.get<KeyCheckRecord>(KEY_CHECK);
  }

  putKeyCheck(record: KeyCheckRecord): Promise<void> {
    return this.kv.set(KEY_CHECK, record);
  }

  close(): Promise<void> {
    return this.kv.close();
  }
}
