/**
 * A held run settled through the API on a private slapd (#19): discarded
 * (discardSync), the data served before it stays, the run is recorded
 * FAILED saying so and syncEvents subscribers see it; and what a run
 * removed is named (SyncChanges.removedObjects), as it was, although the
 * served view no longer holds it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISCARDED_HELD } from '../../src/sync/sync-engine.js';
import {
  ConnectionByIdDocument,
  DiscardSyncDocument,
  PrincipalByIdDocument,
  SyncEventsDocument,
  SyncRunsDocument,
  UpdateConnectionDocument,
  UsersDocument,
} from '../gql/graphql.js';
import { privateSlapd } from '../support/fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { deleteEntry } from '../support/slapd-edits.js';
import { collect } from '../support/subscriptions.js';
import { addSlapdConnection, syncNow } from '../support/sync.js';

const ldap = privateSlapd({ users: 12, groups: 3, contacts: 4, seed: 'held-runs', largeGroupSize: 0 });
let gw: TestGateway;
let connectionId: string;

beforeAll(async () => {
  gw = await startTestGateway();
  connectionId = await addSlapdConnection(gw, ldap.slapd);
  const first = await syncNow(gw, connectionId);
  expect(first.status, first.lastSync?.error ?? '').toBe('SUCCEEDED');
});

afterAll(async () => {
  await gw?.dispose();
});

async function servedUsers(): Promise<number> {
  return (await gw.ok(UsersDocument, { connectionId, first: 1 })).users.totalCount;
}

describe('discardSync', () => {
  it('drops a held run: the served data stays, the run ends FAILED saying so, nothing is held any more', async () => {
    const before = (await gw.ok(ConnectionByIdDocument, { id: connectionId })).connection;
    expect(before?.userCount).toBe(ldap.dataset.users.length);
    // A filter matching nobody would remove every user: held.
    await gw.ok(UpdateConnectionDocument, {
      id: connectionId,
      input: { userFilter: '(objectClass=noSuchClass)' },
    });
    const held = await syncNow(gw, connectionId);
    expect(held.status).toBe('HELD');
    const runId = held.heldRunId ?? '';
    expect(runId).not.toBe('');
    // What it would remove is named while it waits.
    const heldRun = (await gw.ok(SyncRunsDocument, { connectionId, last: 1 })).syncRuns[0];
    const nfc = (names: string[]) => names.map((n) => n.normalize('NFC')).sort();
    expect(nfc(heldRun?.changes?.removedObjects.map((o) => o.name) ?? [])).toEqual(
      nfc(ldap.dataset.users.map((u) => u.displayName)),
    );
    expect(new Set(heldRun?.changes?.removedObjects.map((o) => o.kind))).toEqual(new Set(['USER']));

    // A reader may not, and changes nothing.
    const reader = await gw.request(DiscardSyncDocument, { connectionId, runId }, gw.readerToken);
    expect(reader.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await gw.ok(ConnectionByIdDocument, { id: connectionId })).connection?.heldRunId).toBe(runId);
    const unknown = await gw.request(DiscardSyncDocument, { connectionId: 'no-such-connection', runId });
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const other = await gw.request(DiscardSyncDocument, { connectionId, runId: 'not-the-held-run' });
    expect(other.errors?.[0]?.extensions?.code).toBe('CONFLICT');

    const events = await collect(gw.ws(), SyncEventsDocument, { connectionId });
    const { discardSync } = await gw.ok(DiscardSyncDocument, { connectionId, runId });
    expect(discardSync).toMatchObject({ id: runId, status: 'FAILED', error: DISCARDED_HELD });
    expect(DISCARDED_HELD).toBe(
      'discarded by an administrator: the current data was kept; the next run compares again',
    );
    const seen = await events.until((e) => e.syncEvents.run.id === runId, 10_000, 'the discarded run');
    expect(seen.syncEvents.run).toMatchObject({ status: 'FAILED', error: DISCARDED_HELD });
    events.stop();

    const after = (await gw.ok(ConnectionByIdDocument, { id: connectionId })).connection;
    expect(after).toMatchObject({
      status: 'FAILED',
      heldRunId: null,
      userCount: before?.userCount,
      groupCount: before?.groupCount,
      contactCount: before?.contactCount,
      lastSync: { id: runId, status: 'FAILED', error: DISCARDED_HELD },
      lastSuccessfulSync: { id: before?.lastSuccessfulSync?.id },
    });
    expect(await servedUsers()).toBe(ldap.dataset.users.length);
    const recorded = (await gw.ok(SyncRunsDocument, { connectionId, last: 1 })).syncRuns[0];
    expect(recorded).toMatchObject({ id: runId, status: 'FAILED', error: DISCARDED_HELD });

    const again = await gw.request(DiscardSyncDocument, { connectionId, runId });
    expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');

    // The next run compares with the data still served: held again while the filter stays.
    const next = await syncNow(gw, connectionId);
    expect(next.status).toBe('HELD');
    expect(next.heldRunId).not.toBe(runId);
    await gw.ok(DiscardSyncDocument, { connectionId, runId: next.heldRunId ?? '' });
    await gw.ok(UpdateConnectionDocument, { id: connectionId, input: { userFilter: '' } });
    expect((await syncNow(gw, connectionId)).status).toBe('SUCCEEDED');
  });
});

describe('SyncChanges.removedObjects', () => {
  it('names a user deleted from the directory after the run that removed it', async () => {
    const gone = ldap.dataset.users[3];
    if (!gone) throw new Error('no user to delete');
    const id = (
      await gw.ok(UsersDocument, { connectionId, search: gone.displayName, first: 5 })
    ).users.nodes.find((u) => u.displayName === gone.displayName)?.id;
    expect(id).toBeTruthy();
    await deleteEntry(ldap.slapd, gone.dn);
    const after = await syncNow(gw, connectionId);
    expect(after.status, after.lastSync?.error ?? '').toBe('SUCCEEDED');

    const run = (await gw.ok(SyncRunsDocument, { connectionId, last: 1 })).syncRuns[0];
    expect(run?.changes?.removedCount).toBe(1);
    expect(run?.changes?.removed).toEqual([id]);
    expect(run?.changes?.removedObjects).toEqual([{ id, kind: 'USER', name: gone.displayName }]);
    // The served view no longer has it: the run's record is the only place its name is left.
    expect((await gw.ok(PrincipalByIdDocument, { id: id ?? '' })).principal).toBeNull();
  });
});
