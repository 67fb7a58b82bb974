/**
 * A damaged cache file (a chunk of the snapshot unreadable) does not keep
 * the node from starting: it serves nothing for that connection, says why,
 * and the next sync rebuilds the snapshot.
 */
import path from 'node:path';
import KeyvSqlite from '@keyv/sqlite';
import { expect, it } from 'vitest';
import { ConnectionByIdDocument, UsersDocument } from '../gql/graphql.js';
import { privateSlapd, temporaryFolder } from '../support/fixtures.js';
import { startTestGateway } from '../support/gateway.js';
import { addSlapdConnection, syncNow } from '../support/sync.js';

const directory = privateSlapd({ users: 200, groups: 5, contacts: 5, seed: 'damaged' });
const folder = temporaryFolder('damaged');

it('starts with a damaged snapshot, reports it, and rebuilds it on the next sync', async () => {
  const dir = folder.path;
  const first = await startTestGateway({ dataDir: dir });
  const id = await addSlapdConnection(first, directory.slapd);
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
