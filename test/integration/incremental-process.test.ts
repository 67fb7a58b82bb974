/**
 * Incremental runs in the gateway as `npm start` runs it (schedules on,
 * production mode; test/support/gateway-process.ts), against a private
 * slapd (#18):
 *
 * - by default: a connection added with no incrementalSchedule gets one
 *   run a minute, so a user added to the directory is in autocomplete
 *   within ~75 s, brought by a SCHEDULE, INCREMENTAL run listing exactly
 *   that addition (the target is under 70 s);
 * - SIGKILL during an incremental run, past its read (held just before its
 *   first write by a lock on the cache): the restarted node serves the last
 *   good snapshot, records the run FAILED, and the next incremental run
 *   (incremental: the watermark was kept) brings the change;
 * - SIGTERM during an incremental run: exit 0 within 10 s, a whole cache,
 *   and again the next incremental run brings the change.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AutocompleteDocument,
  ConnectionByIdDocument,
  type ConnectionFieldsFragment,
  StartSyncDocument,
  SyncRunsDocument,
  UsersDocument,
} from '../gql/graphql.js';
import { gatewayProcesses, privateSlapd } from '../support/fixtures.js';
import type { GatewayProcess } from '../support/gateway-process.js';
import { addUser } from '../support/slapd-edits.js';
import { sqliteLocker } from '../support/sqlite-locker.js';
import { addSlapdConnection, waitForFirstSync, waitForSync } from '../support/sync.js';

type Connection = ConnectionFieldsFragment;

const USERS = 3000;
const ldap = privateSlapd({
  users: USERS,
  groups: 20,
  contacts: 30,
  seed: 'incremental-process',
  largeGroupSize: 0,
});
const gateways = gatewayProcesses('incremental-process');

async function connection(gw: GatewayProcess, id: string): Promise<Connection> {
  const c = (await gw.ok(ConnectionByIdDocument, { id })).connection;
  if (!c) throw new Error(`connection ${id} is gone`);
  return c;
}

async function completions(gw: GatewayProcess, mail: string): Promise<string[]> {
  const { autocomplete } = await gw.ok(AutocompleteDocument, { prefix: mail });
  return autocomplete.map((s) => s.principal.id);
}

/** Polls until the connection's run is INCREMENTAL and in `phase`; fails if it ends first. */
async function untilPhase(gw: GatewayProcess, id: string, phase: string): Promise<Connection> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const c = await connection(gw, id);
    const run = c.lastSync;
    if (c.status === 'RUNNING' && run?.mode === 'INCREMENTAL' && run.phase === phase) return c;
    if (c.status !== 'RUNNING' && run?.mode === 'INCREMENTAL')
      throw new Error(`the incremental run ended (${c.status}) before ${phase}: ${run.error ?? ''}`);
    if (Date.now() > deadline) throw new Error(`no incremental run reached ${phase}: ${JSON.stringify(run)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('incremental runs under the default schedule', () => {
  it('a user added to the directory is served within ~75 s, by a scheduled incremental run listing exactly it', async () => {
    const gw = await gateways.spawn(await gateways.folder());
    // No incrementalSchedule: the default. The full schedule is moved off the half hours only so
    // that a scheduled full run cannot be the one that brings the user.
    const id = await addSlapdConnection(gw, ldap.slapd, { name: 'Defaults', schedule: '0 0 1 1 *' });
    const first = await waitForFirstSync(gw, id);
    expect(first.status, first.lastSync?.error ?? '').toBe('SUCCEEDED');
    expect(first.incrementalSchedule).toBe('* * * * *');
    expect(first.changeTracking).toBe('TIMESTAMP');

    const user = await addUser(ldap.slapd, ldap.dataset.containers.user, 'Minutely');
    const userId = `${id}:${user.guid}`;
    const added = Date.now();
    while (!(await completions(gw, user.mail)).includes(userId)) {
      if (Date.now() - added > 75_000) throw new Error('the user was not served within 75 s');
      await new Promise((r) => setTimeout(r, 250));
    }
    const ms = Date.now() - added;

    const runs = (await gw.ok(SyncRunsDocument, { connectionId: id, last: 10 })).syncRuns;
    const bringing = runs.find((r) => r.changes?.added.includes(userId));
    expect(bringing).toMatchObject({
      trigger: 'SCHEDULE',
      mode: 'INCREMENTAL',
      fallbackReason: null,
      status: 'SUCCEEDED',
      changes: { added: [userId], updatedCount: 0, removedCount: 0 },
    });
    // Every run since the first was a scheduled incremental one.
    expect(runs.filter((r) => r.id !== first.lastSync?.id).every((r) => r.mode === 'INCREMENTAL')).toBe(true);
    console.log(`a user added to slapd was in autocomplete after ${ms} ms under the default schedule`);
  }, 120_000);
});

describe('an incremental run stopped by the process ending', () => {
  // Ten entries a page: the id comparison that finds deletions reads every id, so the read of an
  // incremental run lasts long enough to be caught in it.
  const env = { DIRGATE_LDAP_PAGE_SIZE: '10', DIRGATE_LOG_LEVEL: 'info' };

  /** A gateway with a connection whose incremental runs are started by hand, after its first run. */
  async function synced(
    name: string,
  ): Promise<{ gw: GatewayProcess; dataDir: string; id: string; good: Connection }> {
    const dataDir = await gateways.folder();
    const gw = await gateways.spawn(dataDir, env);
    const id = await addSlapdConnection(gw, ldap.slapd, { name, incrementalSchedule: '' });
    const good = await waitForFirstSync(gw, id);
    expect(good.status, good.lastSync?.error ?? '').toBe('SUCCEEDED');
    return { gw, dataDir, id, good };
  }

  /** After the restart: the previous snapshot, whole, and the next incremental run brings `userId`. */
  async function expectPreviousThenRecovery(
    gw: GatewayProcess,
    id: string,
    good: Connection,
    user: { mail: string; id: string },
  ): Promise<void> {
    const users = good.userCount;
    const restored = await connection(gw, id);
    expect(restored.status).toBe('FAILED');
    expect(restored.lastSync?.mode).toBe('INCREMENTAL');
    expect(restored.lastSuccessfulSync?.id).toBe(good.lastSuccessfulSync?.id);
    expect(restored.userCount).toBe(users);
    expect((await gw.ok(UsersDocument, { connectionId: id, first: 1 })).users.totalCount).toBe(users);
    expect(await completions(gw, user.mail)).toEqual([]);

    await gw.ok(StartSyncDocument, { connectionId: id, mode: 'INCREMENTAL' });
    const next = await waitForSync(gw, id);
    expect(next.lastSync).toMatchObject({
      status: 'SUCCEEDED',
      mode: 'INCREMENTAL',
      fallbackReason: null,
      changes: { added: [user.id], updatedCount: 0, removedCount: 0 },
    });
    expect(next.userCount).toBe(users + 1);
    expect(await completions(gw, user.mail)).toEqual([user.id]);
  }

  it('SIGKILL past the read: the last good snapshot and its watermark stay, the run is FAILED, the next incremental run brings the change', async () => {
    const { gw, dataDir, id, good } = await synced('Killed');
    const added = await addUser(ldap.slapd, ldap.dataset.containers.user, 'Killedrun');
    const user = { mail: added.mail, id: `${id}:${added.guid}` };

    const locker = await sqliteLocker(path.join(dataDir, 'cache.sqlite'));
    try {
      await gw.ok(StartSyncDocument, { connectionId: id, mode: 'INCREMENTAL' });
      await untilPhase(gw, id, 'READING');
      // Taken while it reads (which writes nothing): the run reads and applies the change, then
      // waits on its first write, the staging, for up to the store's busy timeout (5 s).
      await locker.lock();
      const saving = await untilPhase(gw, id, 'SAVING');
      expect(saving.lastSync?.changes?.added).toEqual([user.id]);
      await new Promise((r) => setTimeout(r, 200));
      expect((await connection(gw, id)).lastSync?.phase).toBe('SAVING');
      gw.child.kill('SIGKILL');
      expect(await gw.exited).toBe('SIGKILL');
    } finally {
      await locker.release();
    }
    expect(gw.output()).toMatch(/"phase":"read"/);

    const again = await gateways.spawn(dataDir, env);
    expect((await connection(again, id)).lastSync?.error).toMatch(/interrupted/);
    await expectPreviousThenRecovery(again, id, good, user);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  }, 120_000);

  it('SIGTERM while it reads: exit 0 within 10 s, a whole cache, and the next incremental run brings the change', async () => {
    const { gw, dataDir, id, good } = await synced('Terminated');
    const added = await addUser(ldap.slapd, ldap.dataset.containers.user, 'Terminatedrun');
    const user = { mail: added.mail, id: `${id}:${added.guid}` };

    await gw.ok(StartSyncDocument, { connectionId: id, mode: 'INCREMENTAL' });
    await untilPhase(gw, id, 'READING');
    const sent = Date.now();
    gw.child.kill('SIGTERM');
    expect(await gw.exited).toBe(0);
    expect(Date.now() - sent).toBeLessThan(10_000);
    expect(gw.output()).toMatch(/"msg":"stopped"/);

    const again = await gateways.spawn(dataDir, env);
    expect((await connection(again, id)).lastSync?.error).toMatch(/aborted|interrupted/);
    await expectPreviousThenRecovery(again, id, good, user);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  }, 120_000);
});
