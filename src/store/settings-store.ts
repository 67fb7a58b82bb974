/**
 * Connection settings and the cluster node table: the state every node of a
 * cluster shares (SQLite in the data folder, or Redis for several nodes).
 */
import type { ConnectionRecord } from '../model/connection.js';
import type { NodeRow } from '../model/node.js';
import type { KvStore } from './kv-store.js';

const CONNECTION = 'connection:';
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

export class SettingsStore {
  constructor(private readonly kv: KvStore) {}

  async listConnections(): Promise<ConnectionRecord[]> {
    const out: ConnectionRecord[] = [];
    for await (const [key, value] of this.kv.entries<ConnectionRecord>()) {
      if (key.startsWith(CONNECTION)) out.push(value);
    }
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  getConnection(id: string): Promise<ConnectionRecord | undefined> {
    return this.kv.get<ConnectionRecord>(CONNECTION + id);
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
