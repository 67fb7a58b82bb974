/**
 * What removes cached objects and what does not, on a private OpenLDAP
 * (the directory is stopped in the middle of a sync): a failed run removes
 * nothing, a run that would remove most of the cache is held until it is
 * confirmed, and deleting a connection leaves nothing of it, in the API or
 * on disk.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openKvStore } from '../../src/store/kv-store.js';
import {
  ConfirmSyncDocument,
  DeleteConnectionDocument,
  GroupsDocument,
  StartSyncDocument,
  SyncRunsDocument,
  UpdateConnectionDocument,
  UsersDocument,
} from '../gql/graphql.js';
import { privateSlapd } from '../support/fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { addSlapdConnection, syncNow, waitForSync } from '../support/sync.js';

const directory = privateSlapd({ users: 1700, groups: 40, contacts: 60, seed: 'sync-slapd' });
let gw: TestGateway;
let connectionId: string;

beforeAll(async () => {
  // Small pages: many round trips, so a directory stopped mid-sync is caught mid-read.
  gw = await startTestGateway({ env: { DIRGATE_LDAP_PAGE_SIZE: '100' } });
  connectionId = await addSlapdConnection(gw, directory.slapd);
  const first = await syncNow(gw, connectionId);
  expect(first.status, first.lastSync?.error ?? '').toBe('SUCCEEDED');
  expect(first.userCount).toBe(directory.dataset.users.length);
});

afterAll(async () => {
  await gw?.dispose();
});

describe('a run that fails', () => {
  it('removes nothing: the previous snapshot is served when the directory stops mid-sync', async () => {
    const before = await waitForSync(gw, connectionId);
    const engine = gw.gateway.services.engine;
    const killed = new Promise<void>((resolve) => {
      const onRun = (run: { connectionId: string; phase: string; progress: number }) => {
        if (run.connectionId === connectionId && run.phase === 'READING') {
          engine.off('run', onRun);
          void directory.slapd.kill().then(resolve);
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
    expect(users.totalCount).toBe(directory.dataset.users.length);

    await directory.slapd.start();
    const recovered = await syncNow(gw, connectionId);
    expect(recovered.status).toBe('SUCCEEDED');
    expect(recovered.userCount).toBe(directory.dataset.users.length);
  });
});

describe('a run that would remove most of the cache', () => {
  it('is held until it is confirmed', async () => {
    await gw.ok(UpdateConnectionDocument, {
      id: connectionId,
      input: { userFilter: '(objectClass=noSuchClass)' },
    });
    const held = await syncNow(gw, connectionId);
    expect(held.status).toBe('HELD');
    expect(held.heldRunId).toBeTruthy();
    expect(held.lastSync?.error).toMatch(/held/);
    expect((await gw.ok(UsersDocument, { connectionId, first: 1 })).users.totalCount).toBe(
      directory.dataset.users.length,
    );

    const confirmed = await gw.ok(ConfirmSyncDocument, { connectionId, runId: held.heldRunId ?? '' });
    expect(confirmed.confirmSync.status).toBe('SUCCEEDED');
    expect((await gw.ok(UsersDocument, { connectionId, first: 1 })).users.totalCount).toBe(0);

    await gw.ok(UpdateConnectionDocument, { id: connectionId, input: { userFilter: '(objectClass=user)' } });
    const back = await syncNow(gw, connectionId);
    expect(back.status).toBe('SUCCEEDED');
    expect(back.userCount).toBe(directory.dataset.users.length);
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
