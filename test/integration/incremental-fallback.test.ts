/**
 * A watermark is valid only on the server it was read from (#18): against
 * slapd, a connection repointed at the same data under another URL, and a
 * served snapshot whose watermark names another server (edited in the
 * stopped gateway's cache), each make the next incremental run a full one
 * with fallbackReason OTHER_SERVER, which brings what changed meanwhile;
 * the run after it is incremental again. (The reset invocationId, which
 * only Active Directory has, is incremental-fallback-samba.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AutocompleteDocument,
  type ConnectionFieldsFragment,
  UpdateConnectionDocument,
} from '../gql/graphql.js';
import { editServedWatermark } from '../support/cache-edits.js';
import { privateSlapd, temporaryFolder } from '../support/fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { servedDirectory } from '../support/served-directory.js';
import { addUser as addSlapdUser } from '../support/slapd-edits.js';
import { addSlapdConnection, syncNow } from '../support/sync.js';

type Run = NonNullable<ConnectionFieldsFragment['lastSync']>;

const ldap = privateSlapd({
  users: 30,
  groups: 6,
  contacts: 4,
  seed: 'incremental-fallback',
  largeGroupSize: 0,
});
const folder = temporaryFolder('incremental-fallback');
let gw: TestGateway;
let connectionId: string;

beforeAll(async () => {
  gw = await startTestGateway({ dataDir: folder.path });
  connectionId = await addSlapdConnection(gw, ldap.slapd);
  expect((await syncNow(gw, connectionId)).status).toBe('SUCCEEDED');
});

afterAll(async () => {
  await gw?.stop();
});

async function incremental(): Promise<Run> {
  const run = (await syncNow(gw, connectionId, undefined, 'INCREMENTAL')).lastSync;
  if (!run) throw new Error('no run recorded');
  expect(run.status, run.error ?? '').toBe('SUCCEEDED');
  return run;
}

/** A user added to the directory; its id as this connection serves it. */
async function addUser(name: string): Promise<{ id: string; mail: string }> {
  const { guid, mail } = await addSlapdUser(ldap.slapd, ldap.dataset.containers.user, name);
  return { id: `${connectionId}:${guid}`, mail };
}

async function served(mail: string): Promise<string[]> {
  const { autocomplete } = await gw.ok(AutocompleteDocument, { prefix: mail });
  return autocomplete.map((s) => s.principal.id);
}

describe('a watermark from another server', () => {
  it('the connection repointed at another URL of the same data: a full run, OTHER_SERVER, then incremental again', async () => {
    const before = await servedDirectory(gw, connectionId);
    const port = new URL(ldap.slapd.url).port;
    const other = `ldap://localhost:${port}`;
    // A change of servers comes with the bind password, as the API requires.
    await gw.ok(UpdateConnectionDocument, {
      id: connectionId,
      input: { servers: [other], bindPassword: ldap.slapd.reader.password },
    });
    const user = await addUser('Otherserver');

    const fallback = await incremental();
    expect(fallback).toMatchObject({ mode: 'FULL', fallbackReason: 'OTHER_SERVER', server: other });
    expect(fallback.fallbackMessage).toContain(ldap.slapd.url);
    // The full read brought the change, and only it.
    expect(fallback.changes).toMatchObject({ added: [user.id], updatedCount: 0, removedCount: 0 });
    expect(await served(user.mail)).toEqual([user.id]);
    const after = await servedDirectory(gw, connectionId);
    expect(after.filter((o) => o.principal.id !== user.id)).toEqual(before);

    // Its watermark is the new server's: the next run is incremental.
    const next = await incremental();
    expect(next).toMatchObject({ mode: 'INCREMENTAL', fallbackReason: null });
    expect(next.changes).toMatchObject({ addedCount: 0, updatedCount: 0, removedCount: 0 });
  });

  it('a served snapshot whose watermark names another server, found at the next start: OTHER_SERVER', async () => {
    await gw.stop();
    const was = await editServedWatermark(folder.path, connectionId, (w) => ({
      ...w,
      server: 'ldap://restored-elsewhere.corp.test:389',
    }));
    expect(was.kind).toBe('TIMESTAMP');
    gw = await startTestGateway({ dataDir: folder.path });
    const user = await addUser('Aftereditedwatermark');

    const fallback = await incremental();
    expect(fallback).toMatchObject({ mode: 'FULL', fallbackReason: 'OTHER_SERVER' });
    expect(fallback.fallbackMessage).toContain('restored-elsewhere.corp.test');
    expect(fallback.changes).toMatchObject({ added: [user.id], updatedCount: 0, removedCount: 0 });
    expect(await served(user.mail)).toEqual([user.id]);

    const next = await incremental();
    expect(next).toMatchObject({ mode: 'INCREMENTAL', fallbackReason: null });
  });
});
