/**
 * The process is killed (SIGKILL) in the middle of a sync and started
 * again on the same data folder: it serves the previous snapshot at once,
 * says the interrupted run failed, and the next run recovers.
 */
import { expect, it } from 'vitest';
import { ConnectionByIdDocument, StartSyncDocument, UsersDocument } from '../gql/graphql.js';
import { gatewayProcesses, privateSlapd } from '../support/fixtures.js';
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

  await first.ok(StartSyncDocument, { connectionId: id });
  for (;;) {
    const c = (await first.ok(ConnectionByIdDocument, { id })).connection;
    if (c?.status === 'RUNNING' && c.lastSync?.phase === 'READING') break;
    if (c?.status !== 'RUNNING')
      throw new Error(`the second run ended before it could be killed: ${c?.status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  first.child.kill('SIGKILL');
  expect(await first.exited).toBe('SIGKILL');

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
