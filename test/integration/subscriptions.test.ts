/**
 * Live events over graphql-ws on /graphql, as monitoring sees them: sync
 * runs (start, progress, end) and duplicate warnings (added, then resolved
 * once the directory is fixed), with the admin and the reader token, and
 * filtered by connection. Two private slapds with disjoint data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dataset, duplicateKey, generateDirectory } from '../../scripts/directories/generator.js';
import { type SlapdInstance, startSlapd } from '../../scripts/directories/slapd.js';
import {
  AddConnectionDocument,
  DuplicateWarningsDocument,
  type DuplicateWarningsSubscription,
  StartSyncDocument,
  SyncEventsDocument,
  type SyncEventsSubscription,
} from '../gql/graphql.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { modifyEntry } from '../support/slapd-edits.js';
import { collect, wsClient } from '../support/subscriptions.js';
import { slapdSettings, syncNow, waitForSync } from '../support/sync.js';

type SyncEvent = SyncEventsSubscription['syncEvents'];
type Warning = DuplicateWarningsSubscription['duplicateWarnings'];

let gw: TestGateway;
let slapdA: SlapdInstance;
let slapdB: SlapdInstance;
let dataA: Dataset;
let dataB: Dataset;
let connA: string;
let connB: string;

async function add(name: string, domain: string, slapd: SlapdInstance): Promise<string> {
  return (
    await gw.ok(AddConnectionDocument, {
      input: {
        name,
        domain,
        ...slapdSettings(slapd),
        includeContacts: true,
      },
    })
  ).addConnection.id;
}

beforeAll(async () => {
  const base = { users: 300, groups: 12, contacts: 30, baseDn: 'dc=corp,dc=test', largeGroupSize: 0 };
  dataA = generateDirectory({ ...base, seed: 'subscriptions-a' });
  dataB = generateDirectory({ ...base, seed: 'subscriptions-b', indexOffset: 30_000 });
  [slapdA, slapdB] = await Promise.all([startSlapd({ dataset: dataA }), startSlapd({ dataset: dataB })]);
  gw = await startTestGateway({ env: { DIRGATE_NODE_NAME: 'sub-node', DIRGATE_LDAP_PAGE_SIZE: '50' } });
  connA = await add('A', 'corp.test', slapdA);
  connB = await add('B', 'other.test', slapdB);
});

afterAll(async () => {
  await gw?.dispose();
  await slapdA?.dispose();
  await slapdB?.dispose();
});

describe('connecting', () => {
  it('refuses a WebSocket without a valid token in connection_init', async () => {
    for (const token of [null, 'not-a-token']) {
      const client = wsClient(gw.url, token);
      const closed = await new Promise<number>((resolve) => {
        client.on('closed', (event) => resolve((event as { code: number }).code));
      });
      expect(closed, String(token)).toBe(4403);
      await client.dispose();
    }
  });
});

describe('syncEvents', () => {
  it("pushes a run's start, progress and end to admin and reader subscribers", async () => {
    const admin = await collect(gw.ws(gw.adminToken), SyncEventsDocument, { connectionId: null });
    const reader = await collect(gw.ws(gw.readerToken), SyncEventsDocument, { connectionId: connA });
    const started = (await gw.ok(StartSyncDocument, { connectionId: connA })).startSync[0];
    if (!started) throw new Error('no run started');
    const isEnd = (e: { syncEvents: SyncEvent }) =>
      e.syncEvents.run.id === started.id && e.syncEvents.run.status !== 'RUNNING';
    await admin.until(isEnd, 60_000, 'end of the run (admin)');
    await reader.until(isEnd, 60_000, 'end of the run (reader)');

    for (const sub of [admin, reader]) {
      const events = sub.received.map((e) => e.syncEvents).filter((e) => e.run.id === started.id);
      expect(events.every((e) => e.node === 'sub-node' && e.run.connectionId === connA)).toBe(true);
      const [first] = events;
      const last = events[events.length - 1];
      expect(first?.run).toMatchObject({ status: 'RUNNING', phase: 'CONNECTING' });
      expect(last?.run).toMatchObject({ status: 'SUCCEEDED', phase: 'DONE', error: null });
      const total = dataA.users.length + dataA.groups.length + dataA.contacts.length;
      expect(last?.run.counts).toMatchObject({
        users: dataA.users.length,
        groups: dataA.groups.length,
        contacts: dataA.contacts.length,
      });
      const phases = events.map((e) => e.run.phase);
      expect(phases).toContain('READING');
      // Progress: entries read so far, reported as the run goes.
      const building = events.find((e) => e.run.phase === 'BUILDING');
      expect(building?.run).toMatchObject({ status: 'RUNNING', progress: total });
      expect(events.slice(0, -1).every((e) => e.run.status === 'RUNNING')).toBe(true);
    }
    expect(admin.errors).toEqual([]);
    expect(reader.errors).toEqual([]);
    admin.stop();
    reader.stop();
  });

  it('filters by connection: a subscriber to another connection hears nothing of this one', async () => {
    const onlyB = await collect(gw.ws(gw.readerToken), SyncEventsDocument, { connectionId: connB });
    const all = await collect(gw.ws(gw.readerToken), SyncEventsDocument, { connectionId: null });
    await syncNow(gw, connA);
    await all.until(
      (e) => e.syncEvents.run.connectionId === connA && e.syncEvents.run.status === 'SUCCEEDED',
    );
    expect(onlyB.received).toEqual([]);
    await syncNow(gw, connB);
    const seen = await onlyB.until((e) => e.syncEvents.run.status === 'SUCCEEDED');
    expect(seen.syncEvents.run.connectionId).toBe(connB);
    expect(onlyB.received.every((e) => e.syncEvents.run.connectionId === connB)).toBe(true);
    onlyB.stop();
    all.stop();
  });
});

describe('duplicateWarnings', () => {
  it('pushes the findings a sync adds, and their ids once a later sync resolves them', async () => {
    await waitForSync(gw, connA);
    await syncNow(gw, connB);
    const [a, b] = dataA.users;
    if (!a || !b) throw new Error('dataset too small');
    const idA = `${connA}:${a.guid}`;
    const idB = `${connA}:${b.guid}`;

    const reader = await collect(gw.ws(gw.readerToken), DuplicateWarningsDocument, { connectionId: null });
    const forA = await collect(gw.ws(gw.adminToken), DuplicateWarningsDocument, { connectionId: connA });
    const forB = await collect(gw.ws(gw.adminToken), DuplicateWarningsDocument, { connectionId: connB });

    // b takes a's name (case-only difference) and a's address as a proxy: two findings.
    await modifyEntry(slapdA, b.dn, {
      displayName: [a.displayName.toUpperCase()],
      proxyAddresses: [`smtp:${(a.mail ?? '').toUpperCase()}`],
    });
    if (!a.mail) throw new Error('user without mail');
    await syncNow(gw, connA);

    const hasAdded = (e: { duplicateWarnings: Warning }) => e.duplicateWarnings.added.length > 0;
    const warning = (await reader.until(hasAdded, 30_000, 'added findings')).duplicateWarnings;
    expect(warning).toMatchObject({ node: 'sub-node', connectionId: connA, resolved: [] });
    const added = [...warning.added].sort((x, y) => x.kind.localeCompare(y.kind));
    expect(
      added.map((f) => ({
        kind: f.kind,
        key: duplicateKey(f.value),
        ids: f.principals.map((p) => p.id).sort(),
      })),
    ).toEqual([
      { kind: 'EMAIL_ADDRESS', key: duplicateKey(a.mail), ids: [idA, idB].sort() },
      { kind: 'USER_NAME', key: duplicateKey(a.displayName), ids: [idA, idB].sort() },
    ]);
    expect((await forA.until(hasAdded)).duplicateWarnings.added.map((f) => f.id).sort()).toEqual(
      added.map((f) => f.id).sort(),
    );

    // The administrator fixes the directory.
    const original = dataA.users[1];
    if (!original) throw new Error('no user');
    await modifyEntry(slapdA, b.dn, {
      displayName: [original.displayName],
      proxyAddresses: original.proxyAddresses.length > 0 ? [...original.proxyAddresses] : ['X500:/o=none'],
    });
    await syncNow(gw, connA);
    const hasResolved = (e: { duplicateWarnings: Warning }) => e.duplicateWarnings.resolved.length > 0;
    const resolved = (await reader.until(hasResolved, 30_000, 'resolved findings')).duplicateWarnings;
    expect(resolved).toMatchObject({ node: 'sub-node', connectionId: connA, added: [] });
    expect([...resolved.resolved].sort()).toEqual(added.map((f) => f.id).sort());
    await forA.until(hasResolved);

    // Nothing of connection A reached the subscriber of B.
    expect(forB.received).toEqual([]);
    expect(reader.received).toHaveLength(2);
    for (const s of [reader, forA, forB]) {
      expect(s.errors).toEqual([]);
      s.stop();
    }
  });
});
