/**
 * Bind passwords are sealed with the node's secret key. A node started with
 * another key (a cluster node misconfigured) cannot bind, and says so
 * plainly instead of failing with a cipher error.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateDirectory } from '../../scripts/directories/generator.js';
import { type SlapdInstance, startSlapd } from '../../scripts/directories/slapd.js';
import { AddConnectionDocument } from '../gql/graphql.js';
import { startTestGateway } from '../support/gateway.js';
import { slapdSettings, syncNow } from '../support/sync.js';

let slapd: SlapdInstance;
let dir: string;

beforeAll(async () => {
  slapd = await startSlapd({
    dataset: generateDirectory({
      users: 20,
      groups: 2,
      contacts: 2,
      seed: 'keys',
      baseDn: 'dc=corp,dc=test',
    }),
  });
  dir = await mkdtemp(path.join(tmpdir(), 'dirgate-keys-'));
});

afterAll(async () => {
  await slapd?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('names the secret key when a stored bind password cannot be decrypted', async () => {
  const first = await startTestGateway({
    dataDir: dir,
    env: { DIRGATE_SECRET_KEY: randomBytes(32).toString('hex') },
  });
  const { addConnection } = await first.ok(AddConnectionDocument, {
    input: { name: 'OpenLDAP', domain: 'corp.test', ...slapdSettings(slapd) },
  });
  expect((await syncNow(first, addConnection.id)).status).toBe('SUCCEEDED');
  await first.stop();

  const other = await startTestGateway({
    dataDir: dir,
    env: { DIRGATE_SECRET_KEY: randomBytes(32).toString('hex') },
  });
  try {
    const c = await syncNow(other, addConnection.id);
    expect(c.status).toBe('FAILED');
    expect(c.lastSync?.error).toMatch(/DIRGATE_SECRET_KEY/);
    // The last good snapshot is still served.
    expect(c.userCount).toBe(20);
  } finally {
    await other.stop();
  }
});
