/**
 * The Redis clients outlive Redis. A private Redis (its data kept on disk,
 * restarted on the same port) carries the settings and the events of two
 * in-process gateways, each with a graphql-ws subscriber. Redis restarted:
 * both nodes answer queries throughout (settings reads fail fast meanwhile
 * and work again after, without a gateway restart), and both subscribers
 * hear both nodes' next syncs. Malformed messages published on every
 * dirgate channel: dropped with a log line naming each, the nodes still
 * serve, the subscribers still hear the next syncs.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from '@keyv/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dataset, generateDirectory } from '../../scripts/directories/generator.js';
import { type RedisInstance, startRedis } from '../../scripts/directories/redis.js';
import { type SlapdInstance, startSlapd } from '../../scripts/directories/slapd.js';
import {
  AddConnectionDocument,
  ConnectionByIdDocument,
  ConnectionsDocument,
  StartSyncDocument,
  SyncEventsDocument,
  type SyncEventsSubscription,
  UsersDocument,
} from '../gql/graphql.js';
import { eventually } from '../support/eventually.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { captureLogs } from '../support/log-capture.js';
import { type Collector, collect } from '../support/subscriptions.js';
import { syncNow, waitForSync } from '../support/sync.js';

type Name = 'a' | 'b';
const NAMES: readonly Name[] = ['a', 'b'];

let redisDir: string;
let redis: RedisInstance;
let slapd: SlapdInstance;
let dataset: Dataset;
const secretKey = randomBytes(32).toString('hex');
const nodes = {} as Record<Name, TestGateway>;
const events = {} as Record<Name, Collector<SyncEventsSubscription>>;
const logs: Record<Name, Record<string, unknown>[]> = { a: [], b: [] };
let connectionId: string;

async function startNode(name: Name): Promise<TestGateway> {
  const capture = captureLogs();
  logs[name] = capture.lines;
  return startTestGateway({
    env: {
      DIRGATE_NODE_NAME: `node-${name}`,
      DIRGATE_CONFIG_STORE: redis.url,
      DIRGATE_PUBSUB: redis.url,
      DIRGATE_SECRET_KEY: secretKey,
    },
    logLevel: 'info',
    logStream: capture.stream,
    reconcileMs: 500,
  });
}

const logged = (name: Name, msg: string, fields: Record<string, unknown> = {}) =>
  logs[name].filter((l) => l.msg === msg && Object.entries(fields).every(([k, v]) => l[k] === v));

const userCount = async (gw: TestGateway) => (await gw.ok(UsersDocument, { first: 1 })).users.totalCount;

/** Starts a sync on each node; each subscriber must hear both runs end. */
async function syncBothAndHearIt(): Promise<void> {
  const runIds: string[] = [];
  for (const name of NAMES) {
    const [run] = (await nodes[name].ok(StartSyncDocument, { connectionId })).startSync;
    if (!run) throw new Error('no run started');
    runIds.push(run.id);
    await waitForSync(nodes[name], connectionId);
  }
  for (const name of NAMES) {
    for (const id of runIds) {
      const end = await events[name].until(
        (e) => e.syncEvents.run.id === id && e.syncEvents.run.status === 'SUCCEEDED',
        10_000,
        `the end of run ${id} on node ${name}'s subscriber`,
      );
      expect(end.syncEvents.run.counts?.users).toBe(dataset.users.length);
    }
    expect(events[name].errors).toEqual([]);
  }
}

beforeAll(async () => {
  redisDir = await mkdtemp(path.join(tmpdir(), 'dirgate-redis-restart-'));
  redis = await startRedis({ dataDir: redisDir });
  dataset = generateDirectory({
    users: 30,
    groups: 3,
    contacts: 0,
    seed: 'redis-resilience',
    baseDn: 'dc=corp,dc=test',
    largeGroupSize: 0,
  });
  slapd = await startSlapd({ dataset });
  nodes.a = await startNode('a');
  nodes.b = await startNode('b');
  const added = await nodes.a.ok(AddConnectionDocument, {
    input: {
      name: 'corp',
      domain: 'corp.test',
      searchBase: slapd.baseDn,
      servers: [slapd.url],
      bindDn: slapd.reader.dn,
      bindPassword: slapd.reader.password,
      allowPlaintextBind: true,
    },
  });
  connectionId = added.addConnection.id;
  for (const name of NAMES) {
    await eventually(`the connection on node ${name}`, async () =>
      (await nodes[name].ok(ConnectionByIdDocument, { id: connectionId })).connection ? true : null,
    );
    expect((await syncNow(nodes[name], connectionId)).status).toBe('SUCCEEDED');
    events[name] = await collect(nodes[name].ws(), SyncEventsDocument, { connectionId: null });
  }
});

afterAll(async () => {
  for (const name of NAMES) await nodes[name]?.dispose();
  await slapd?.dispose();
  await redis?.stop();
  if (redisDir) await rm(redisDir, { recursive: true, force: true });
});

describe('a Redis restart', () => {
  it('leaves both nodes serving; settings reads fail fast meanwhile and work again after', async () => {
    await redis.stop();
    const downSince = Date.now();
    while (Date.now() - downSince < 1500) {
      for (const name of NAMES) expect(await userCount(nodes[name])).toBe(dataset.users.length);
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const name of NAMES) {
      // Failing, not hanging until Redis is back.
      const asked = Date.now();
      const res = await nodes[name].request(ConnectionsDocument, {});
      expect(Date.now() - asked).toBeLessThan(2000);
      expect(res.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    }
    redis = await startRedis({ port: redis.port, dataDir: redisDir });
    for (const name of NAMES) {
      await eventually(`settings on node ${name}`, async () => {
        const listed = (await nodes[name].ok(ConnectionsDocument)).connections;
        return listed.length === 1 && listed[0]?.id === connectionId;
      });
      expect(await userCount(nodes[name])).toBe(dataset.users.length);
      // Reconnected (each client at its own pace of backoff) and resubscribed: until then a node's
      // events reach its own subscribers only.
      for (const role of ['event subscriber', 'event publisher']) {
        await eventually(`node ${name}'s ${role} back`, async () =>
          logged(name, 'redis connection restored', { role }).length > 0 ? true : null,
        );
      }
      // One line per client when the connection went, however many attempts followed.
      for (const role of ['event subscriber', 'event publisher', 'store dirgate-settings']) {
        expect(logged(name, 'redis connection lost; reconnecting', { role }).length).toBeLessThanOrEqual(1);
      }
      expect(logged(name, 'redis connection lost; reconnecting').length).toBeGreaterThan(0);
    }
  });

  it("both subscribers hear both nodes' next syncs", async () => {
    await syncBothAndHearIt();
  });
});

describe('malformed messages on the dirgate channels', () => {
  const garbage: readonly [string, string][] = [
    ['dirgate:SYNC_EVENTS', 'garbage'],
    ['dirgate:SYNC_EVENTS', '{"node":"intruder","run":{}}'],
    ['dirgate:DUPLICATE_WARNINGS', '{"node":1}'],
    ['dirgate:SETTINGS_CHANGED', '{"node":"intruder","connectionId":"x","change":"wiped"}'],
    ['dirgate:SETTINGS_CHANGED', '[1,2,3'],
  ];

  it('are dropped with a log line naming each; the nodes still serve', async () => {
    const admin = createClient({ url: redis.url });
    await admin.connect();
    try {
      for (const [channel, message] of garbage) {
        // Both nodes' subscribers hear each one.
        expect(await admin.publish(channel, message)).toBe(2);
      }
    } finally {
      await admin.close();
    }
    for (const name of NAMES) {
      await eventually(`node ${name} logged the drops`, async () =>
        logged(name, 'dropped a malformed event message').length === garbage.length ? true : null,
      );
      const drops = logged(name, 'dropped a malformed event message');
      expect(drops.map((l) => [l.channel, l.message])).toEqual(garbage);
      expect(drops.every((l) => typeof l.reason === 'string' && l.reason.length > 0)).toBe(true);
      expect(await userCount(nodes[name])).toBe(dataset.users.length);
      expect((await nodes[name].ok(ConnectionsDocument)).connections).toHaveLength(1);
      expect(events[name].received.some((e) => e.syncEvents.node === 'intruder')).toBe(false);
    }
  });

  it("both subscribers still hear both nodes' next syncs", async () => {
    await syncBothAndHearIt();
  });
});
