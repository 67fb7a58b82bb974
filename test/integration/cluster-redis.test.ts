/**
 * Two gateway processes sharing one real Redis (the global setup's) for
 * their settings and node table (DIRGATE_CONFIG_STORE) and their events
 * (DIRGATE_PUBSUB): a connection added on node A is synced by node B too,
 * into B's own cache; each node shows the other in its node table with its
 * connections and findings; a subscriber on A sees B's sync events and
 * duplicate warnings; a connection deleted on B goes from A as well.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from '@keyv/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dataset, duplicateKey, generateDirectory } from '../../scripts/directories/generator.js';
import { type SlapdInstance, startSlapd } from '../../scripts/directories/slapd.js';
import { openKvStore } from '../../src/store/kv-store.js';
import {
  ClusterNodesDocument,
  type ClusterNodesQuery,
  ConnectionByIdDocument,
  ConnectionsDocument,
  DeleteConnectionDocument,
  DuplicateFindingsDocument,
  DuplicateWarningsDocument,
  NodeDocument,
  SyncEventsDocument,
  SyncRunsDocument,
  UsersDocument,
} from '../gql/graphql.js';
import { directories } from '../support/directories.js';
import { eventually } from '../support/eventually.js';
import { type GatewayProcess, spawnGateway } from '../support/gateway-process.js';
import { type Collector, collect, wsClient } from '../support/subscriptions.js';
import { addSlapdConnection } from '../support/sync.js';

/** A Redis database of its own, emptied first: nothing of other runs is seen. */
const REDIS_DB = 11;
/** How long two spawned nodes may take to agree. */
const SETTLE_MS = 60_000;

let slapd: SlapdInstance;
let dataset: Dataset;
let redisUrl: string;
let nodeA: GatewayProcess;
let nodeB: GatewayProcess;
const dirs: string[] = [];
const clients: ReturnType<typeof wsClient>[] = [];

async function spawnNode(name: string, secretKey: string, timeZone: string): Promise<GatewayProcess> {
  const dir = await mkdtemp(path.join(tmpdir(), `dirgate-${name}-`));
  dirs.push(dir);
  return spawnGateway(dir, {
    DIRGATE_NODE_NAME: name,
    DIRGATE_CONFIG_STORE: redisUrl,
    DIRGATE_PUBSUB: redisUrl,
    // Shared settings hold sealed bind passwords: every node needs the same key.
    DIRGATE_SECRET_KEY: secretKey,
    DIRGATE_SCHEDULER: 'true',
    DIRGATE_LOG_LEVEL: process.env.DEBUG_CLUSTER ? 'info' : 'warn',
    // Each node fires its schedules in its own zone, and its row says which.
    TZ: timeZone,
  });
}

beforeAll(async () => {
  const redis = directories().redis;
  if (!redis) throw new Error('the shared Redis was not started (DIRGATE_TEST_DIRECTORIES)');
  redisUrl = `${redis.url}/${REDIS_DB}`;
  const admin = createClient({ url: redisUrl });
  await admin.connect();
  await admin.flushDb();
  await admin.quit();

  dataset = generateDirectory({
    users: 120,
    groups: 12,
    contacts: 20,
    seed: 'cluster-redis',
    baseDn: 'dc=corp,dc=test',
    largeGroupSize: 0,
    duplicates: { userNames: 2, emailAddresses: 2 },
  });
  slapd = await startSlapd({ dataset });
  const secretKey = randomBytes(32).toString('hex');
  [nodeA, nodeB] = await Promise.all([
    spawnNode('node-a', secretKey, 'Europe/Berlin'),
    spawnNode('node-b', secretKey, 'Asia/Tokyo'),
  ]);
});

afterAll(async () => {
  if (process.env.DEBUG_CLUSTER) for (const n of [nodeA, nodeB]) console.log(n?.output());
  for (const c of clients) await c.dispose();
  for (const node of [nodeA, nodeB]) {
    if (!node) continue;
    node.child.kill('SIGTERM');
    const code = await Promise.race([
      node.exited,
      new Promise((r) => setTimeout(() => r('timeout'), 15_000)),
    ]);
    if (code === 'timeout') node.child.kill('SIGKILL');
  }
  await slapd?.dispose();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('the Keyv store on Redis', () => {
  it('lists exactly the keys of its own namespace, with their values', async () => {
    const a = await openKvStore(redisUrl, 'kv-test-a');
    const b = await openKvStore(redisUrl, 'kv-test-b');
    try {
      const list = async (kv: typeof a) => {
        const out: [string, unknown][] = [];
        for await (const entry of kv.entries()) out.push(entry);
        return out.sort(([x], [y]) => x.localeCompare(y));
      };
      // More keys than one SCAN batch returns.
      for (let i = 0; i < 25; i++) await a.set(`item:${String(i).padStart(2, '0')}`, { i });
      await b.set('item:00', { other: true });
      await a.delete('item:07');
      const listed = await list(a);
      expect(listed).toHaveLength(24);
      expect(listed[0]).toEqual(['item:00', { i: 0 }]);
      expect(listed.map(([k]) => k)).not.toContain('item:07');
      expect(await list(b)).toEqual([['item:00', { other: true }]]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('two nodes on one Redis', () => {
  let connectionId: string;
  let syncEvents: Collector<{ syncEvents: { node: string; run: { connectionId: string; status: string } } }>;
  let warnings: Collector<{
    duplicateWarnings: {
      node: string;
      connectionId: string;
      added: readonly { id: string; kind: string; value: string }[];
      resolved: readonly string[];
    };
  }>;

  it('start with an empty shared table: each node sees both rows, no connections', async () => {
    const rowsOn = async (node: GatewayProcess) =>
      (await node.ok(ClusterNodesDocument)).clusterNodes.map((n) => n.name);
    await eventually('both rows on A', async () => (await rowsOn(nodeA)).length === 2, SETTLE_MS);
    expect(await rowsOn(nodeA)).toEqual(['node-a', 'node-b']);
    expect(await rowsOn(nodeB)).toEqual(['node-a', 'node-b']);
    expect((await nodeB.ok(ConnectionsDocument)).connections).toEqual([]);
    // Each row carries its node's time zone: its own from memory, the other's from the shared table.
    for (const node of [nodeA, nodeB]) {
      const zones = (await node.ok(ClusterNodesDocument)).clusterNodes.map((n) => [n.name, n.timeZone]);
      expect(zones).toEqual([
        ['node-a', 'Europe/Berlin'],
        ['node-b', 'Asia/Tokyo'],
      ]);
    }
    expect((await nodeB.ok(NodeDocument)).node.timeZone).toBe('Asia/Tokyo');
  });

  it('a connection added on A is listed and synced by B into its own cache', async () => {
    const client = wsClient(nodeA.url, await nodeA.token());
    clients.push(client);
    syncEvents = await collect(client, SyncEventsDocument, { connectionId: null });
    warnings = await collect(client, DuplicateWarningsDocument, { connectionId: null });

    connectionId = await addSlapdConnection(nodeA, slapd, { name: 'shared' });

    for (const node of [nodeA, nodeB]) {
      // Well before the periodic re-read (10 s): B hears of the new connection through Redis pub/sub.
      const c = await eventually(
        `sync on ${node.base}`,
        async () => {
          const seen = (await node.ok(ConnectionByIdDocument, { id: connectionId })).connection;
          return seen?.status === 'SUCCEEDED' ? seen : null;
        },
        6_000,
      );
      expect(c.name).toBe('shared');
      expect(c.hasBindPassword).toBe(true);
      expect(c.lastSuccessfulSync?.trigger).toBe('STARTUP');
      expect({ users: c.userCount, groups: c.groupCount, contacts: c.contactCount }).toEqual({
        users: dataset.users.length,
        groups: dataset.groups.length,
        contacts: dataset.contacts.length,
      });
    }
    // Each node ran its own sync, recorded under its own name.
    const runsB = (await nodeB.ok(SyncRunsDocument, { connectionId, last: 5 })).syncRuns;
    expect(runsB.length).toBeGreaterThan(0);
    expect(runsB.every((r) => r.node === 'node-b')).toBe(true);
    const runsA = (await nodeA.ok(SyncRunsDocument, { connectionId, last: 5 })).syncRuns;
    expect(runsA.every((r) => r.node === 'node-a')).toBe(true);
    expect(runsA.filter((r) => runsB.some((b) => b.id === r.id))).toEqual([]);
    // B serves from its own cache.
    expect((await nodeB.ok(UsersDocument, { connectionId, first: 1 })).users.totalCount).toBe(
      dataset.users.length,
    );
  });

  it('each node finds the planted duplicates in its own cache', async () => {
    const expected = [
      ...dataset.planted.userNames.map((p) => `USER_NAME ${p.key}`),
      ...dataset.planted.emailAddresses.map((p) => `EMAIL_ADDRESS ${p.key}`),
    ].sort();
    for (const node of [nodeA, nodeB]) {
      const found = (await node.ok(DuplicateFindingsDocument, {})).duplicateFindings;
      expect(found.map((f) => `${f.kind} ${duplicateKey(f.value)}`).sort()).toEqual(expected);
      const own = (await node.ok(NodeDocument)).node;
      expect(own.hasWarning).toBe(true);
      expect(own.duplicateFindings.map((f) => f.id).sort()).toEqual(found.map((f) => f.id).sort());
    }
  });

  it('each node shows the other in its node table, with its connections and findings', async () => {
    const findingIds = (await nodeA.ok(DuplicateFindingsDocument, {})).duplicateFindings
      .map((f) => f.id)
      .sort();
    for (const [here, other] of [
      [nodeA, 'node-b'],
      [nodeB, 'node-a'],
    ] as const) {
      const row = await eventually(
        `${other} row on ${here.base}`,
        async () => {
          const rows: ClusterNodesQuery['clusterNodes'] = (await here.ok(ClusterNodesDocument)).clusterNodes;
          const r = rows.find((n) => n.name === other);
          return r?.connections.some((c) => c.id === connectionId && c.status === 'SUCCEEDED') && r.hasWarning
            ? r
            : null;
        },
        SETTLE_MS,
      );
      expect(row.connections).toEqual([
        { id: connectionId, status: 'SUCCEEDED', userCount: dataset.users.length },
      ]);
      expect(row.duplicateFindings.map((f) => f.id).sort()).toEqual(findingIds);
      expect(Date.now() - Date.parse(String(row.lastSeenAt))).toBeLessThan(60_000);
      expect(row.online).toBe(true);
    }
  });

  it("a subscriber on A sees B's sync events and duplicate warnings", async () => {
    const fromB = await syncEvents.until(
      (e) => e.syncEvents.node === 'node-b' && e.syncEvents.run.status === 'SUCCEEDED',
      30_000,
      "node-b's finished run",
    );
    expect(fromB.syncEvents.run.connectionId).toBe(connectionId);
    expect(
      syncEvents.received.some(
        (e) => e.syncEvents.node === 'node-b' && e.syncEvents.run.status === 'RUNNING',
      ),
    ).toBe(true);
    await syncEvents.until((e) => e.syncEvents.node === 'node-a' && e.syncEvents.run.status === 'SUCCEEDED');
    // Each event once, though both nodes are subscribed to the same Redis channel.
    const endsOfB = syncEvents.received.filter(
      (e) => e.syncEvents.node === 'node-b' && e.syncEvents.run.status === 'SUCCEEDED',
    );
    expect(endsOfB).toHaveLength(1);

    const warningOfB = await warnings.until(
      (w) => w.duplicateWarnings.node === 'node-b',
      30_000,
      "node-b's warning",
    );
    expect(warningOfB.duplicateWarnings.connectionId).toBe(connectionId);
    expect(warningOfB.duplicateWarnings.added).toHaveLength(
      dataset.planted.userNames.length + dataset.planted.emailAddresses.length,
    );
    await warnings.until((w) => w.duplicateWarnings.node === 'node-a');
    expect(syncEvents.errors).toEqual([]);
    expect(warnings.errors).toEqual([]);
  });

  it('a connection deleted on B goes from A too, with its cache and findings', async () => {
    expect((await nodeB.ok(DeleteConnectionDocument, { id: connectionId })).deleteConnection).toBe(true);
    await eventually(
      'deletion on A',
      async () => (await nodeA.ok(ConnectionsDocument)).connections.length === 0,
      SETTLE_MS,
    );
    await eventually(
      'findings resolved on A',
      async () => (await nodeA.ok(DuplicateFindingsDocument, {})).duplicateFindings.length === 0,
      SETTLE_MS,
    );
    await eventually(
      'cache dropped on A',
      async () => (await nodeA.ok(UsersDocument, { first: 1 })).users.totalCount === 0,
      SETTLE_MS,
    );
    const resolvedOnA = await warnings.until(
      (w) => w.duplicateWarnings.node === 'node-a' && w.duplicateWarnings.resolved.length > 0,
      30_000,
      "node-a's resolved warning",
    );
    expect(resolvedOnA.duplicateWarnings.connectionId).toBe(connectionId);
    for (const here of [nodeA, nodeB]) {
      await eventually(
        `no warnings on ${here.base}`,
        async () => {
          const rows = (await here.ok(ClusterNodesDocument)).clusterNodes;
          return rows.length === 2 && rows.every((r) => !r.hasWarning && r.connections.length === 0);
        },
        SETTLE_MS,
      );
    }
  });
});
