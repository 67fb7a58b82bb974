/**
 * The process is killed (SIGKILL) in the middle of a sync and started
 * again on the same data folder: it serves the previous snapshot at once,
 * says the interrupted run failed, and the next run recovers. The same for
 * an incremental run (#18): the snapshot and the watermark kept are the
 * last good run's, so the next incremental run still finds the change the
 * killed one was reading.
 */
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { guidFromBytes, guidToBytes } from '../../scripts/directories/identifiers.js';
import { ConnectionByIdDocument, StartSyncDocument, type SyncMode, UsersDocument } from '../gql/graphql.js';
import { gatewayProcesses, privateSlapd } from '../support/fixtures.js';
import type { GatewayProcess } from '../support/gateway-process.js';
import { addEntry } from '../support/slapd-edits.js';
import { addSlapdConnection, waitForSync } from '../support/sync.js';

const USERS = 6000;
const directory = privateSlapd({ users: USERS, groups: 50, contacts: 100, seed: 'crash' });
const gateways = gatewayProcesses('crash');

it('keeps the last good snapshot through a SIGKILL mid-sync and a restart', async () => {
  // Tiny pages make the read take long enough to be killed in the middle of it.
  const env = { DIRGATE_LDAP_PAGE_SIZE: '10' };
  const dataDir = await gateways.folder();
  const first = await gateways.spawn(dataDir, env);
  const id = await addSlapdConnection(first, directory.slapd);
  await first.ok(StartSyncDocument, { connectionId: id });
  const good = await waitForSync(first, id);
  expect(good.status).toBe('SUCCEEDED');
  expect(good.userCount).toBe(USERS);

  await killWhileReading(first, id, 'FULL');

  const second = await gateways.spawn(dataDir, env);
  const restored = (await second.ok(ConnectionByIdDocument, { id })).connection;
  expect(restored?.status).toBe('FAILED');
  expect(restored?.lastSync?.error).toMatch(/interrupted/);
  expect(restored?.lastSuccessfulSync?.id).toBe(good.lastSuccessfulSync?.id);
  expect(restored?.userCount).toBe(USERS);
  expect((await second.ok(UsersDocument, { first: 1 })).users.totalCount).toBe(USERS);

  await second.ok(StartSyncDocument, { connectionId: id });
  const recovered = await waitForSync(second, id);
  expect(recovered.status).toBe('SUCCEEDED');
  expect(recovered.userCount).toBe(USERS);
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
});

/** Starts a run of `mode` and kills the gateway while the run reads. */
async function killWhileReading(gw: GatewayProcess, id: string, mode: SyncMode): Promise<void> {
  await gw.ok(StartSyncDocument, { connectionId: id, mode });
  for (;;) {
    const c = (await gw.ok(ConnectionByIdDocument, { id })).connection;
    if (c?.status === 'RUNNING' && c.lastSync?.phase === 'READING') break;
    if (c?.status !== 'RUNNING') throw new Error(`the run ended before it could be killed: ${c?.status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  gw.child.kill('SIGKILL');
  expect(await gw.exited).toBe('SIGKILL');
}

it('keeps the last good snapshot and its watermark through a SIGKILL mid-way through an incremental run', async () => {
  const dataDir = await gateways.folder();
  // No scheduled incremental run in the way: each is started here.
  const setup = await gateways.spawn(dataDir);
  const id = await addSlapdConnection(setup, directory.slapd, { incrementalSchedule: '' });
  await setup.ok(StartSyncDocument, { connectionId: id });
  const good = await waitForSync(setup, id);
  expect(good.status).toBe('SUCCEEDED');
  const users = good.userCount;
  setup.child.kill('SIGTERM');
  expect(await setup.exited).toBe(0);

  // A user added after the good run: what the killed run was reading, and the next must find.
  const guid = guidFromBytes(randomBytes(16));
  await addEntry(directory.slapd, `cn=Killed Run,${directory.dataset.containers.user}`, {
    objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'user'],
    cn: 'Killed Run',
    sn: 'Run',
    displayName: 'Killed Run',
    mail: 'killed.run@corp.test',
    sAMAccountName: 'killedrun',
    userAccountControl: '512',
    objectGUID: guidToBytes(guid),
  });
  // Tiny pages: the run's id comparison (deletions) reads every id, long enough to be killed in it.
  const first = await gateways.spawn(dataDir, { DIRGATE_LDAP_PAGE_SIZE: '10' });
  await killWhileReading(first, id, 'INCREMENTAL');

  const second = await gateways.spawn(dataDir);
  const restored = (await second.ok(ConnectionByIdDocument, { id })).connection;
  expect(restored?.status).toBe('FAILED');
  expect(restored?.lastSync?.error).toMatch(/interrupted/);
  expect(restored?.lastSuccessfulSync?.id).toBe(good.lastSuccessfulSync?.id);
  expect((await second.ok(UsersDocument, { first: 1 })).users.totalCount).toBe(users);

  await second.ok(StartSyncDocument, { connectionId: id, mode: 'INCREMENTAL' });
  const recovered = await waitForSync(second, id);
  expect(recovered.status, recovered.lastSync?.error ?? '').toBe('SUCCEEDED');
  expect(recovered.lastSync?.mode).toBe('INCREMENTAL');
  expect(recovered.lastSync?.fallbackReason).toBeNull();
  expect(recovered.lastSync?.changes?.added).toEqual([`${id}:${guid}`]);
  expect(recovered.userCount).toBe((users ?? 0) + 1);
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
});
