/**
 * When syncs run: on each connection's cron schedule, at start-up when the
 * cache is older than one interval (and not otherwise), one run per
 * connection at a time, contacts only when the connection asks, and no
 * schedule closer than the node's minimum interval.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import {
  AddConnectionDocument,
  ConnectionByIdDocument,
  ConnectionsDocument,
  StartSyncDocument,
  SyncRunsDocument,
  UpdateConnectionDocument,
} from '../gql/graphql.js';
import { privateSlapd } from '../support/fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { slapdSettings, syncNow, waitForSync } from '../support/sync.js';

const directory = privateSlapd({ users: 3000, groups: 20, contacts: 30, seed: 'schedule' });
const cleanup: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

function input(extra: Record<string, unknown> = {}) {
  return {
    name: 'OpenLDAP',
    domain: 'corp.test',
    ...slapdSettings(directory.slapd),
    ...extra,
  };
}

/** Schedules of seconds, which the node's default minimum interval (five minutes) refuses. */
const EVERY_SECOND_ALLOWED = { DIRGATE_MIN_SCHEDULE_INTERVAL_MS: '1000' };

async function gateway(env: Record<string, string> = {}, dataDir?: string): Promise<TestGateway> {
  const gw = await startTestGateway({ env, ...(dataDir ? { dataDir } : {}) });
  cleanup.push(() => gw.stop());
  return gw;
}

async function waitForRuns(gw: TestGateway, connectionId: string, count: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const runs = (await gw.ok(SyncRunsDocument, { connectionId, last: 50 })).syncRuns;
    if (runs.length >= count) return runs;
    if (Date.now() > deadline) return runs;
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('answers a manual start during a run with the run in progress', async () => {
  const gw = await gateway({ DIRGATE_LDAP_PAGE_SIZE: '20' });
  const { addConnection } = await gw.ok(AddConnectionDocument, { input: input() });
  const [a, b] = await Promise.all([
    gw.ok(StartSyncDocument, { connectionId: addConnection.id }),
    gw.ok(StartSyncDocument, { connectionId: addConnection.id }),
  ]);
  const c = await gw.ok(StartSyncDocument, { connectionId: addConnection.id });
  expect(a.startSync[0]?.id).toBeDefined();
  expect(b.startSync[0]?.id).toBe(a.startSync[0]?.id);
  expect(c.startSync[0]?.id).toBe(a.startSync[0]?.id);
  const done = await waitForSync(gw, addConnection.id);
  expect(done.lastSync?.id).toBe(a.startSync[0]?.id);
  const runs = (await gw.ok(SyncRunsDocument, { connectionId: addConnection.id })).syncRuns;
  expect(runs.map((r) => r.id)).toEqual([a.startSync[0]?.id]);
});

it('reads contacts only when the connection includes them', async () => {
  const gw = await gateway();
  const without = await gw.ok(AddConnectionDocument, { input: input({ name: 'no contacts' }) });
  const c1 = await syncNow(gw, without.addConnection.id);
  expect(c1.contactCount).toBe(0);
  expect(c1.userCount).toBe(3000);
  const gw2 = await gateway();
  const withContacts = await gw2.ok(AddConnectionDocument, { input: input({ includeContacts: true }) });
  const c2 = await syncNow(gw2, withContacts.addConnection.id);
  expect(c2.contactCount).toBe(30);
});

it('runs syncs on the connection schedule', async () => {
  const gw = await gateway({ DIRGATE_SCHEDULER: 'true', ...EVERY_SECOND_ALLOWED });
  // Six fields: every two seconds. A new connection also syncs at once (its cache is empty).
  const { addConnection } = await gw.ok(AddConnectionDocument, {
    input: input({ schedule: '*/2 * * * * *' }),
  });
  const runs = await waitForRuns(gw, addConnection.id, 3, 15_000);
  expect(runs.length).toBeGreaterThanOrEqual(3);
  const triggers = new Set(runs.map((r) => r.trigger));
  expect(triggers.has('SCHEDULE')).toBe(true);
  expect(triggers.has('STARTUP')).toBe(true);
});

it('syncs at start-up only when the cache is older than one interval', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'dirgate-startup-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));

  const first = await startTestGateway({ dataDir: dir, env: EVERY_SECOND_ALLOWED });
  // Yearly: a cache synced a moment ago is fresh. Every two seconds: stale after the pause below.
  const fresh = await first.ok(AddConnectionDocument, {
    input: input({ name: 'yearly', schedule: '0 0 1 1 *' }),
  });
  const stale = await first.ok(AddConnectionDocument, {
    input: input({
      name: 'two seconds',
      searchBase: `ou=Users,${directory.slapd.baseDn}`,
      schedule: '*/2 * * * * *',
    }),
  });
  await syncNow(first, fresh.addConnection.id);
  await syncNow(first, stale.addConnection.id);
  await first.stop();
  await new Promise((r) => setTimeout(r, 2500));

  const restarted = await startTestGateway({ dataDir: dir, env: { DIRGATE_SCHEDULER: 'true' } });
  cleanup.push(() => restarted.stop());
  const staleRuns = await waitForRuns(restarted, stale.addConnection.id, 2, 10_000);
  expect(staleRuns.some((r) => r.trigger === 'STARTUP')).toBe(true);
  const freshRuns = (await restarted.ok(SyncRunsDocument, { connectionId: fresh.addConnection.id })).syncRuns;
  expect(freshRuns.map((r) => r.trigger)).toEqual(['MANUAL']);
});

it('refuses schedules closer than the minimum interval (five minutes by default), naming the gap', async () => {
  const gw = await gateway();
  const before = (await gw.ok(ConnectionsDocument, {})).connections;
  for (const [schedule, gap] of [
    ['*/2 * * * * *', '2 seconds'],
    // Meant as every 30 minutes: every minute of hours 0 and 30 (that is, of hour 0).
    ['* */30 * * *', '1 minute'],
    ['0,4 * * * *', '4 minutes'],
  ] as const) {
    const res = await gw.request(AddConnectionDocument, { input: input({ name: schedule, schedule }) });
    expect(res.errors?.[0]?.extensions, schedule).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'schedule',
      reason: 'INTERVAL_TOO_SHORT',
    });
    expect(res.errors?.[0]?.message).toContain(`runs ${gap} apart`);
    expect(res.errors?.[0]?.message).toContain('the shortest interval allowed is 5 minutes');
  }
  expect((await gw.ok(ConnectionsDocument, {})).connections).toEqual(before);

  const { addConnection } = await gw.ok(AddConnectionDocument, {
    input: input({ name: 'five minutes', schedule: '*/5 * * * *' }),
  });
  const refused = await gw.request(UpdateConnectionDocument, {
    id: addConnection.id,
    input: { schedule: '* * * * *' },
  });
  expect(refused.errors?.[0]?.extensions).toMatchObject({ field: 'schedule', reason: 'INTERVAL_TOO_SHORT' });
  const kept = await gw.ok(ConnectionByIdDocument, { id: addConnection.id });
  expect(kept.connection?.schedule).toBe('*/5 * * * *');
});
