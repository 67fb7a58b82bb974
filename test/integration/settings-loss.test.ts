/**
 * A settings store that loses its connections is not a deletion. Two
 * in-process gateways share the Redis of the global setup (a database of
 * their own) for settings and events, and a private slapd; both sync two
 * connections. FLUSHDB: after several reconcile intervals both nodes still
 * serve every user (with its connection and domain), each warns once, says
 * so in its node row and in a metric; a gateway restarted on its data folder
 * with the settings still lost serves its cache too. Then the explicit
 * deletions: one connection's settings restored and deleted through node A,
 * the other deleted through node A while its settings are still lost; both
 * go from both nodes' caches.
 */
import { randomBytes } from 'node:crypto';
import { createClient } from '@keyv/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dataset, generateDirectory } from '../../scripts/directories/generator.js';
import { type SlapdInstance, startSlapd } from '../../scripts/directories/slapd.js';
import type { ConnectionRecord } from '../../src/model/connection.js';
import { openKvStore } from '../../src/store/kv-store.js';
import { SettingsStore } from '../../src/store/settings-store.js';
import {
  AddConnectionDocument,
  AutocompleteDocument,
  ConnectionByIdDocument,
  ConnectionsDocument,
  DeleteConnectionDocument,
  NodeDocument,
  UsersDocument,
  UsersWithGroupsDocument,
} from '../gql/graphql.js';
import { directories } from '../support/directories.js';
import { eventually } from '../support/eventually.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { captureLogs } from '../support/log-capture.js';
import { syncNow } from '../support/sync.js';

/** A Redis database of its own, emptied first (cluster-redis.test.ts uses 11). */
const REDIS_DB = 12;
const RECONCILE_MS = 300;

let redisUrl: string;
let slapd: SlapdInstance;
let dataset: Dataset;
const secretKey = randomBytes(32).toString('hex');
const nodes: Record<'a' | 'b', TestGateway | null> = { a: null, b: null };
const logs: Record<'a' | 'b', Record<string, unknown>[]> = { a: [], b: [] };

async function startNode(name: 'a' | 'b', dataDir?: string): Promise<TestGateway> {
  const capture = captureLogs();
  logs[name] = capture.lines;
  const gw = await startTestGateway({
    env: {
      DIRGATE_NODE_NAME: `node-${name}`,
      DIRGATE_CONFIG_STORE: redisUrl,
      DIRGATE_PUBSUB: redisUrl,
      DIRGATE_SECRET_KEY: secretKey,
    },
    logLevel: 'info',
    logStream: capture.stream,
    reconcileMs: RECONCILE_MS,
    ...(dataDir ? { dataDir } : {}),
  });
  nodes[name] = gw;
  return gw;
}

function node(name: 'a' | 'b'): TestGateway {
  const gw = nodes[name];
  if (!gw) throw new Error(`node ${name} is not running`);
  return gw;
}

const adminClient = () => createClient({ url: redisUrl });

async function redis<T>(work: (client: ReturnType<typeof adminClient>) => Promise<T>): Promise<T> {
  const client = adminClient();
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

const userCount = async (gw: TestGateway, connectionId?: string) =>
  (await gw.ok(UsersDocument, { first: 1, ...(connectionId ? { connectionId } : {}) })).users.totalCount;

async function orphanGauge(gw: TestGateway): Promise<number> {
  const text = await (await fetch(gw.url.replace(/\/graphql$/, '/metrics'))).text();
  const line = text.split('\n').find((l) => l.startsWith('dirgate_cache_orphaned_connections '));
  return Number(line?.split(' ')[1]);
}

const orphanWarnings = (name: 'a' | 'b', connectionId: string) =>
  logs[name].filter(
    (l) =>
      l.level === 40 && l.connectionId === connectionId && String(l.msg).includes('holds no deletion record'),
  );

beforeAll(async () => {
  const shared = directories().redis;
  if (!shared) throw new Error('the shared Redis was not started (DIRGATE_TEST_DIRECTORIES)');
  redisUrl = `${shared.url}/${REDIS_DB}`;
  await redis((c) => c.flushDb());
  dataset = generateDirectory({
    users: 40,
    groups: 4,
    contacts: 0,
    seed: 'settings-loss',
    baseDn: 'dc=corp,dc=test',
    largeGroupSize: 0,
  });
  slapd = await startSlapd({ dataset });
  await startNode('a');
  await startNode('b');
});

afterAll(async () => {
  for (const gw of Object.values(nodes)) await gw?.dispose();
  await slapd?.dispose();
});

describe('settings lost under two nodes', () => {
  const ids: { corp: string; other: string } = { corp: '', other: '' };
  let saved: ConnectionRecord;

  it('both nodes sync both connections', async () => {
    for (const [key, domain] of [
      ['corp', 'corp.test'],
      ['other', 'other.test'],
    ] as const) {
      const added = await node('a').ok(AddConnectionDocument, {
        input: {
          name: key,
          domain,
          searchBase: slapd.baseDn,
          servers: [slapd.url],
          bindDn: slapd.reader.dn,
          bindPassword: slapd.reader.password,
          allowPlaintextBind: true,
        },
      });
      ids[key] = added.addConnection.id;
    }
    for (const name of ['a', 'b'] as const) {
      for (const id of Object.values(ids)) {
        // B hears of the connections over Redis pub/sub (or its next reconcile).
        await eventually(`${id} on node ${name}`, async () =>
          (await node(name).ok(ConnectionByIdDocument, { id })).connection ? true : null,
        );
        expect((await syncNow(node(name), id)).status).toBe('SUCCEEDED');
      }
      expect(await userCount(node(name))).toBe(2 * dataset.users.length);
    }
    const store = new SettingsStore(await openKvStore(redisUrl, 'dirgate-settings'));
    saved = (await store.getConnection(ids.corp)) as ConnectionRecord;
    await store.close();
    expect(saved.id).toBe(ids.corp);
  });

  it('after FLUSHDB both nodes keep serving every user, warn once and show it', async () => {
    await redis((c) => c.flushDb());
    // Several reconcile intervals: each of them used to delete every cache.
    await new Promise((r) => setTimeout(r, 6 * RECONCILE_MS));
    for (const name of ['a', 'b'] as const) {
      const gw = node(name);
      expect((await gw.ok(ConnectionsDocument)).connections).toEqual([]);
      expect(await userCount(gw)).toBe(2 * dataset.users.length);
      expect(await userCount(gw, ids.corp)).toBe(dataset.users.length);
      // Each user still resolves its connection, and the domain filter still knows the domain.
      const users = (await gw.ok(UsersWithGroupsDocument, { first: 500 })).users;
      expect(new Set(users.nodes.map((u) => u.connection.id))).toEqual(new Set(Object.values(ids)));
      const someone = dataset.users[0]?.mail ?? '';
      const suggestions = (
        await gw.ok(AutocompleteDocument, { prefix: someone.slice(0, 4), first: 50, domain: 'other.test' })
      ).autocomplete;
      expect(suggestions.length).toBeGreaterThan(0);
      expect(suggestions.every((s) => s.principal.id.startsWith(`${ids.other}:`))).toBe(true);
      // Warned once per connection, not at every reconcile; the row and the metric say so.
      await eventually(`warnings on ${name}`, async () => orphanWarnings(name, ids.other).length > 0);
      for (const id of Object.values(ids)) expect(orphanWarnings(name, id)).toHaveLength(1);
      const own = (await gw.ok(NodeDocument)).node;
      expect(own.hasWarning).toBe(true);
      // Both connections read the same slapd: the only findings are its objects read twice.
      expect(own.duplicateFindings.filter((f) => !f.sameObject)).toEqual([]);
      expect(own.connections.map((c) => c.id).sort()).toEqual(Object.values(ids).sort());
      expect(await orphanGauge(gw)).toBe(2);
    }
  });

  it('a gateway restarted on its data folder with the settings still lost serves its cache', async () => {
    const dataDir = node('a').dataDir;
    await node('a').stop();
    nodes.a = null;
    const a = await startNode('a', dataDir);
    expect(await userCount(a)).toBe(2 * dataset.users.length);
    expect((await a.ok(UsersWithGroupsDocument, { first: 1 })).users.nodes[0]?.connection.id).toBeDefined();
    expect(await orphanGauge(a)).toBe(2);
    await new Promise((r) => setTimeout(r, 3 * RECONCILE_MS));
    for (const id of Object.values(ids)) expect(orphanWarnings('a', id)).toHaveLength(1);
    expect(await userCount(a)).toBe(2 * dataset.users.length);
  });

  it('settings restored: the warning goes; deleted through node A: the cache goes from both nodes', async () => {
    const store = new SettingsStore(await openKvStore(redisUrl, 'dirgate-settings'));
    await store.putConnection(saved);
    await store.close();
    for (const name of ['a', 'b'] as const) {
      await eventually(`corp listed again on ${name}`, async () => (await orphanGauge(node(name))) === 1);
      expect((await node(name).ok(ConnectionsDocument)).connections.map((c) => c.id)).toEqual([ids.corp]);
    }
    expect((await node('a').ok(DeleteConnectionDocument, { id: ids.corp })).deleteConnection).toBe(true);
    for (const name of ['a', 'b'] as const) {
      await eventually(`corp gone from ${name}`, async () => (await userCount(node(name), ids.corp)) === 0);
      expect(node(name).gateway.services.engine.hasState(ids.corp)).toBe(false);
      expect(await userCount(node(name))).toBe(dataset.users.length);
    }
  });

  it('an orphan deleted through node A (its settings still lost) goes from both nodes', async () => {
    expect((await node('a').ok(DeleteConnectionDocument, { id: ids.other })).deleteConnection).toBe(true);
    for (const name of ['a', 'b'] as const) {
      await eventually(`other gone from ${name}`, async () => (await userCount(node(name))) === 0);
      expect(node(name).gateway.services.engine.hasState(ids.other)).toBe(false);
      expect(await orphanGauge(node(name))).toBe(0);
      await eventually(
        `no warning on ${name}`,
        async () => !(await node(name).ok(NodeDocument)).node.hasWarning,
      );
    }
    // Deleted is deleted: a second deletion, anywhere, finds nothing.
    const again = await node('b').request(DeleteConnectionDocument, { id: ids.other });
    expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});
