/**
 * The process is killed (SIGKILL) in the middle of a sync and started
 * again on the same data folder: it serves the previous snapshot at once,
 * says the interrupted run failed, and the next run recovers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateDirectory } from '../../scripts/directories/generator.js';
import { type SlapdInstance, startSlapd } from '../../scripts/directories/slapd.js';
import {
  AddConnectionDocument,
  ConnectionByIdDocument,
  StartSyncDocument,
  UsersDocument,
} from '../gql/graphql.js';
import { type GatewayProcess, spawnGateway } from '../support/gateway-process.js';
import { slapdSettings, waitForSync } from '../support/sync.js';

const USERS = 6000;
let slapd: SlapdInstance;
let dataDir: string;
const processes: GatewayProcess[] = [];

beforeAll(async () => {
  const dataset = generateDirectory({
    users: USERS,
    groups: 50,
    contacts: 100,
    seed: 'crash',
    baseDn: 'dc=corp,dc=test',
  });
  slapd = await startSlapd({ dataset });
  dataDir = await mkdtemp(path.join(tmpdir(), 'dirgate-crash-'));
});

afterAll(async () => {
  for (const p of processes) p.child.kill('SIGKILL');
  await slapd?.dispose();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it('keeps the last good snapshot through a SIGKILL mid-sync and a restart', async () => {
  // Tiny pages make the read take long enough to be killed in the middle of it.
  const env = { DIRGATE_LDAP_PAGE_SIZE: '10' };
  const first = await spawnGateway(dataDir, env);
  processes.push(first);
  const { addConnection } = await first.ok(AddConnectionDocument, {
    input: {
      name: 'OpenLDAP',
      domain: 'corp.test',
      ...slapdSettings(slapd),
      includeContacts: true,
    },
  });
  const id = addConnection.id;
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

  const second = await spawnGateway(dataDir, env);
  processes.push(second);
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
