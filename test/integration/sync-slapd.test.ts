/**
 * Full syncs from a private OpenLDAP (AD-like schema) through the GraphQL
 * API: counts and addresses against what the generator wrote, disabled
 * users, the 1,600-member group, nesting, a directory that dies mid-sync,
 * a run held for removing too much, and a delete that leaves nothing.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Dataset,
  datasetCounts,
  expectedAddresses,
  expectedPrimaryEmail,
  generateDirectory,
} from '../../scripts/directories/generator.js';
import { type SlapdInstance, startSlapd } from '../../scripts/directories/slapd.js';
import { openKvStore } from '../../src/store/kv-store.js';
import {
  AddConnectionDocument,
  ConfirmSyncDocument,
  DeleteConnectionDocument,
  GroupMembersDocument,
  GroupsDocument,
  PrincipalsByEmailDocument,
  StartSyncDocument,
  SyncRunsDocument,
  UpdateConnectionDocument,
  UsersDocument,
  type UsersQuery,
} from '../gql/graphql.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { slapdSettings, syncNow, waitForSync } from '../support/sync.js';

let slapd: SlapdInstance;
let dataset: Dataset;
let gw: TestGateway;
let connectionId: string;

beforeAll(async () => {
  dataset = generateDirectory({
    users: 1700,
    groups: 40,
    contacts: 60,
    seed: 'sync-slapd',
    baseDn: 'dc=corp,dc=test',
  });
  slapd = await startSlapd({ dataset });
  // Small pages: many round trips, so a directory stopped mid-sync is caught mid-read.
  gw = await startTestGateway({ env: { DIRGATE_LDAP_PAGE_SIZE: '100' } });
  const added = await gw.ok(AddConnectionDocument, {
    input: {
      name: 'OpenLDAP',
      domain: 'corp.test',
      ...slapdSettings(slapd),
      includeContacts: true,
    },
  });
  connectionId = added.addConnection.id;
});

afterAll(async () => {
  await gw?.dispose();
  await slapd?.dispose();
});

describe('a full sync from OpenLDAP', () => {
  it('caches every user, group and contact the generator wrote', async () => {
    const c = await syncNow(gw, connectionId);
    const expected = datasetCounts(dataset);
    expect(c.status).toBe('SUCCEEDED');
    expect(c.activeServer).toBe(slapd.url);
    expect({ users: c.userCount, groups: c.groupCount, contacts: c.contactCount }).toEqual({
      users: expected.users,
      groups: expected.groups,
      contacts: expected.contacts,
    });
    expect(c.lastSuccessfulSync?.id).toBe(c.lastSync?.id);
    expect(c.lastSync?.changes?.addedCount).toBe(expected.users + expected.groups + expected.contacts);
  });

  it('serves each object with the addresses the directory holds', async () => {
    const samples = [dataset.users[0], dataset.users[7], dataset.contacts[3], dataset.groups[2]];
    for (const entry of samples) {
      if (!entry) throw new Error('dataset too small');
      const primary = expectedPrimaryEmail(entry);
      if (!primary) continue;
      const found = (await gw.ok(PrincipalsByEmailDocument, { address: primary.toUpperCase() }))
        .principalsByEmail;
      const mine = found.find((p) => p.dn.toLowerCase() === entry.dn.toLowerCase());
      expect(mine, entry.dn).toBeDefined();
      expect(mine?.id).toBe(`${connectionId}:${entry.guid}`);
      expect(mine?.primaryEmail).toBe(primary);
      expect([...(mine?.emails ?? [])].sort()).toEqual([...expectedAddresses(entry)].sort());
    }
  });

  it('marks disabled users and keeps them', async () => {
    let disabled = 0;
    let after: string | null = null;
    let seen = 0;
    do {
      const page: UsersQuery['users'] = (await gw.ok(UsersDocument, { connectionId, first: 500, after }))
        .users;
      for (const u of page.nodes) if (u.__typename === 'User' && !u.enabled) disabled++;
      seen += page.nodes.length;
      after = page.pageInfo.hasNextPage ? (page.pageInfo.endCursor ?? null) : null;
    } while (after);
    expect(seen).toBe(dataset.users.length);
    expect(disabled).toBe(datasetCounts(dataset).disabled);
  });

  it('reads the 1,600-member group in full', async () => {
    const large = dataset.groups.find((g) => g.dn === dataset.structure.largeGroup);
    if (!large) throw new Error('no large group');
    const res = await gw.ok(GroupMembersDocument, { id: `${connectionId}:${large.guid}`, first: 1 });
    const members = res.principal?.__typename === 'Group' ? res.principal.members : null;
    expect(members?.totalCount).toBe(large.members.length);
    expect(large.members.length).toBeGreaterThan(1500);
  });

  it('follows nested groups three levels deep', async () => {
    const [top, , bottom] = dataset.structure.chain;
    const topGroup = dataset.groups.find((g) => g.dn === top);
    const bottomGroup = dataset.groups.find((g) => g.dn === bottom);
    if (!topGroup || !bottomGroup) throw new Error('no chain');
    const direct = await gw.ok(GroupMembersDocument, { id: `${connectionId}:${topGroup.guid}`, first: 500 });
    const transitive = await gw.ok(GroupMembersDocument, {
      id: `${connectionId}:${topGroup.guid}`,
      transitive: true,
      first: 500,
    });
    const ids = (r: typeof direct) =>
      new Set(r.principal?.__typename === 'Group' ? r.principal.members.nodes.map((n) => n.id) : []);
    expect(ids(direct).has(`${connectionId}:${bottomGroup.guid}`)).toBe(false);
    expect(ids(transitive).has(`${connectionId}:${bottomGroup.guid}`)).toBe(true);
  });
});

describe('failures keep the last good snapshot', () => {
  it('serves the previous snapshot when the directory stops mid-sync', async () => {
    const before = await waitForSync(gw, connectionId);
    const engine = gw.gateway.services.engine;
    const killed = new Promise<void>((resolve) => {
      const onRun = (run: { connectionId: string; phase: string; progress: number }) => {
        if (run.connectionId === connectionId && run.phase === 'READING') {
          engine.off('run', onRun);
          void slapd.kill().then(resolve);
        }
      };
      engine.on('run', onRun);
    });
    await gw.ok(StartSyncDocument, { connectionId });
    await killed;
    const after = await waitForSync(gw, connectionId);
    expect(after.status).toBe('FAILED');
    expect(after.lastSync?.error).toBeTruthy();
    expect(after.lastSuccessfulSync?.id).toBe(before.lastSuccessfulSync?.id);
    expect(after.userCount).toBe(before.userCount);
    const users = (await gw.ok(UsersDocument, { connectionId, first: 1 })).users;
    expect(users.totalCount).toBe(dataset.users.length);

    await slapd.start();
    const recovered = await syncNow(gw, connectionId);
    expect(recovered.status).toBe('SUCCEEDED');
    expect(recovered.userCount).toBe(dataset.users.length);
  });

  it('holds a run that would remove most of the cache until it is confirmed', async () => {
    await gw.ok(UpdateConnectionDocument, {
      id: connectionId,
      input: { userFilter: '(objectClass=noSuchClass)' },
    });
    const held = await syncNow(gw, connectionId);
    expect(held.status).toBe('HELD');
    expect(held.heldRunId).toBeTruthy();
    expect(held.lastSync?.error).toMatch(/held/);
    expect((await gw.ok(UsersDocument, { connectionId, first: 1 })).users.totalCount).toBe(
      dataset.users.length,
    );

    const confirmed = await gw.ok(ConfirmSyncDocument, { connectionId, runId: held.heldRunId ?? '' });
    expect(confirmed.confirmSync.status).toBe('SUCCEEDED');
    expect((await gw.ok(UsersDocument, { connectionId, first: 1 })).users.totalCount).toBe(0);

    await gw.ok(UpdateConnectionDocument, { id: connectionId, input: { userFilter: '(objectClass=user)' } });
    const back = await syncNow(gw, connectionId);
    expect(back.status).toBe('SUCCEEDED');
    expect(back.userCount).toBe(dataset.users.length);
  });
});

describe('deleting a connection', () => {
  it('leaves nothing of it behind, in the API or on disk', async () => {
    const groups = (await gw.ok(GroupsDocument, { connectionId, first: 1 })).groups;
    expect(groups.totalCount).toBeGreaterThan(0);
    expect((await gw.ok(DeleteConnectionDocument, { id: connectionId })).deleteConnection).toBe(true);

    expect((await gw.ok(UsersDocument, { first: 1 })).users.totalCount).toBe(0);
    const runs = await gw.request(SyncRunsDocument, { connectionId });
    expect(runs.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    const kv = await openKvStore(`sqlite://${path.join(gw.dataDir, 'cache.sqlite')}`, 'dirgate-cache');
    const left: string[] = [];
    for await (const [key] of kv.entries<unknown>()) if (key.includes(connectionId)) left.push(key);
    await kv.close();
    expect(left).toEqual([]);
  });
});
