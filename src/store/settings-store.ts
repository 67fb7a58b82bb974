/**
 * Connection settings and the cluster node table: the state every node of a
 * cluster shares (SQLite in the data folder, or Redis for several nodes).
 */
import type { ConnectionRecord } from '../model/connection.js';
import type { NodeRow } from '../model/node.js';
import type { KvStore } from './kv-store.js';

const CONNECTION = 'connection:';
const NODE = 'node:';

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

  close(): Promise<void> {
    return this.kv.close();
  }
}
