/**
 * A damaged cache file (a chunk of the snapshot unreadable) does not keep
 * the node from starting: it serves nothing for that connection, says why,
 * and the next sync rebuilds the snapshot.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import KeyvSqlite from '@keyv/sqlite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateDirectory } from '../../scripts/directories/generator.js';
import { type SlapdInstance, startSlapd } from '../../scripts/directories/slapd.js';
import { AddConnectionDocument, ConnectionByIdDocument, UsersDocument } from '../gql/graphql.js';
import { startTestGateway } from '../support/gateway.js';
import { slapdSettings, syncNow } from '../support/sync.js';

let slapd: SlapdInstance;
let dir: string;

beforeAll(async () => {
  slapd = await startSlapd({
    dataset: generateDirectory({
      users: 200,
      groups: 5,
      contacts: 5,
      seed: 'damaged',
      baseDn: 'dc=corp,dc=test',
    }),
  });
  dir = await mkdtemp(path.join(tmpdir(), 'dirgate-damaged-'));
});

afterAll(async () => {
  await slapd?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('starts with a damaged snapshot, reports it, and rebuilds it on the next sync', async () => {
  const first = await startTestGateway({ dataDir: dir });
  const { addConnection } = await first.ok(AddConnectionDocument, {
    input: { name: 'OpenLDAP', domain: 'corp.test', ...slapdSettings(slapd) },
  });
  const id = addConnection.id;
  expect((await syncNow(first, id)).status).toBe('SUCCEEDED');
  await first.stop();

  // Damage the snapshot's first chunk as a bad disk or an interrupted copy would.
  const db = new KeyvSqlite({ uri: `sqlite://${path.join(dir, 'cache.sqlite')}` });
  await db.query(`UPDATE keyv SET value = '{"value":[{' WHERE key LIKE '%chunk:%:0'`);
  await db.close();

  const second = await startTestGateway({ dataDir: dir });
  try {
    const c = (await second.ok(ConnectionByIdDocument, { id })).connection;
    expect(c?.status).toBe('FAILED');
    expect(c?.lastSync?.error).toMatch(/could not be read/);
    expect(c?.userCount).toBe(0);
    expect((await second.ok(UsersDocument, { connectionId: id, first: 1 })).users.totalCount).toBe(0);
    const rebuilt = await syncNow(second, id);
    expect(rebuilt.status).toBe('SUCCEEDED');
    expect(rebuilt.userCount).toBe(200);
  } finally {
    await second.dispose();
  }
});
