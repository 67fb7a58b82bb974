/**
 * Incremental runs in the gateway as `npm start` runs it (schedules on,
 * production mode; test/support/gateway-process.ts), against a private
 * slapd (#18):
 *
 * - by default: a connection added with no incrementalSchedule gets one
 *   run a minute, so a user added to the directory is in autocomplete
 *   within ~75 s, brought by a SCHEDULE, INCREMENTAL run listing exactly
 *   that addition (the target is under 70 s); begun first and
 *   checked last, so that its wait overlaps the other tests;
 * - SIGKILL during an incremental run, past its read (held just before its
 *   first write by a lock on the cache): the restarted node serves the last
 *   good snapshot, records the run FAILED, and the next incremental run
 *   (incremental: the watermark was kept) brings the change;
 * - SIGKILL at random moments from the end of the read to just after the
 *   commit: whichever snapshot survives is whole, and the next incremental
 *   run brings exactly what it lacks (its own watermark was kept with it);
 * - SIGTERM during an incremental run: exit 0 within 10 s, a whole cache,
 *   and again the next incremental run brings the change.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
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
/** Kills at random moments after an incremental run's read: a handful in `npm test`, more under `npm run test:stress`. */
const RANDOM_KILLS = process.env.DIRGATE_STRESS === '1' ? 20 : 4;
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

type Run = NonNullable<Connection['lastSync']>;

/**
 * Starts an incremental run and follows its log lines (DIRGATE_LOG_LEVEL=info) as they arrive.
 * With `afterRead`: calls it as soon as the run logs the end of its read, and returns then.
 * Without: waits for the run's end; `afterReadMs` is how long after the read's line it logged
 * its success.
 */
async function incrementalRun(
  gw: GatewayProcess,
  id: string,
  afterRead?: () => Promise<void>,
): Promise<{ run: Run; afterReadMs: number }> {
  let text = '';
  let runId: string | null = null;
  let readAt: number | null = null;
  let doneAt: number | null = null;
  let onRead: () => void = () => {};
  const read = new Promise<void>((resolve) => {
    onRead = resolve;
  });
  const lines = (msg: RegExp) =>
    text.split('\n').some((line) => runId !== null && line.includes(`"runId":"${runId}"`) && msg.test(line));
  const watch = (d: Buffer) => {
    text += d.toString();
    if (readAt === null && lines(/"phase":"read"/)) {
      readAt = Date.now();
      onRead();
    }
    if (doneAt === null && lines(/"msg":"sync succeeded"/)) doneAt = Date.now();
  };
  gw.child.stdout?.on('data', watch);
  try {
    const { startSync } = await gw.ok(StartSyncDocument, { connectionId: id, mode: 'INCREMENTAL' });
    const started = startSync.find((r) => r.connectionId === id);
    if (!started) throw new Error('no run started');
    runId = started.id;
    watch(Buffer.alloc(0));
    if (afterRead) {
      await read;
      await afterRead();
      return { run: started, afterReadMs: 0 };
    }
    const ended = await waitForSync(gw, id);
    const run = ended.lastSync;
    if (!run || run.id !== runId) throw new Error('the run started is not the last one');
    // The success line may arrive just after the state says so.
    for (let i = 0; i < 100 && doneAt === null; i++) await new Promise((r) => setTimeout(r, 10));
    return { run, afterReadMs: readAt !== null && doneAt !== null ? doneAt - readAt : 0 };
  } finally {
    gw.child.stdout?.off('data', watch);
  }
}

/**
 * The default schedule's scenario, begun before the other tests and awaited by the last one: its
 * wait of up to a minute (until the next minute's run) overlaps the others. On a directory of its
 * own, so that no other test's change is in its runs.
 */
const minutely = privateSlapd({
  users: 50,
  groups: 5,
  contacts: 5,
  seed: 'incremental-minutely',
  largeGroupSize: 0,
});

interface Minutely {
  readonly gw: GatewayProcess;
  readonly id: string;
  readonly first: Connection;
  readonly userId: string;
  /** From the LDAP add to the user in autocomplete; null if not within 75 s. */
  readonly served: Promise<number | null>;
}
let scenario: Minutely;

beforeAll(async () => {
  const gw = await gateways.spawn(await gateways.folder());
  // No incrementalSchedule: the default. The full schedule is moved off the half hours only so
  // that a scheduled full run cannot be the one that brings the user.
  const id = await addSlapdConnection(gw, minutely.slapd, { name: 'Defaults', schedule: '0 0 1 1 *' });
  const first = await waitForFirstSync(gw, id);
  const user = await addUser(minutely.slapd, minutely.dataset.containers.user, 'Minutely');
  const userId = `${id}:${user.guid}`;
  const added = Date.now();
  const served = (async () => {
    while (!(await completions(gw, user.mail)).includes(userId)) {
      if (Date.now() - added > 75_000) return null;
      await new Promise((r) => setTimeout(r, 250));
    }
    return Date.now() - added;
  })();
  // Awaited by its test; a failure meanwhile must not be an unhandled rejection.
  served.catch(() => undefined);
  scenario = { gw, id, first, userId, served };
}, 60_000);

describe('an incremental run stopped by the process ending', () => {
  // Five entries a page: the id comparison that finds deletions reads every id, so the read of an
  // incremental run lasts long enough to be caught in it.
  const env = { DIRGATE_LDAP_PAGE_SIZE: '5', DIRGATE_LOG_LEVEL: 'info' };

  /** A gateway with a connection whose incremental runs are started by hand, after its first run. */
  async function synced(
    name: string,
  ): Promise<{ gw: GatewayProcess; dataDir: string; id: string; good: Connection }> {
    const dataDir = await gateways.folder();
    const gw = await gateways.spawn(dataDir, env);
    // Incremental runs only when started here, and no scheduled full run in the middle of a test.
    const id = await addSlapdConnection(gw, ldap.slapd, {
      name,
      incrementalSchedule: '',
      schedule: '0 0 1 1 *',
    });
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

  it(
    'SIGKILL at random moments between the end of the read and just after the commit: a whole snapshot with its own watermark survives',
    async () => {
      const ITERATIONS = RANDOM_KILLS;
      const fast = { DIRGATE_LOG_LEVEL: 'info' };
      const dataDir = await gateways.folder();
      let gw = await gateways.spawn(dataDir, fast);
      const id = await addSlapdConnection(gw, ldap.slapd, {
        name: 'Random kills',
        incrementalSchedule: '',
        schedule: '0 0 1 1 *',
      });
      const first = await waitForFirstSync(gw, id);
      expect(first.status, first.lastSync?.error ?? '').toBe('SUCCEEDED');
      let users = first.userCount;
      // How long an incremental run takes from its read's end to its last log line, measured once.
      const measured = await incrementalRun(gw, id);
      expect(measured.run.status).toBe('SUCCEEDED');
      let spanMs = Math.max(measured.afterReadMs, 5);
      const outcomes = { old: 0, new: 0 };
      const delays: number[] = [];

      for (let i = 0; i < ITERATIONS; i++) {
        const added = await addUser(ldap.slapd, ldap.dataset.containers.user, `Randomkill${i}`);
        const userId = `${id}:${added.guid}`;
        const delay = Math.random() * spanMs * 1.5;
        delays.push(Math.round(delay));
        await incrementalRun(gw, id, async () => {
          await new Promise((r) => setTimeout(r, delay));
          gw.child.kill('SIGKILL');
        });
        expect(await gw.exited).toBe('SIGKILL');

        gw = await gateways.spawn(dataDir, fast);
        const c = await connection(gw, id);
        const served = await completions(gw, added.mail);
        expect(c.status).not.toBe('RUNNING');
        // One whole snapshot: the old one (the user not served, the run FAILED) or the new one.
        expect([users, users + 1]).toContain(c.userCount);
        expect(served).toEqual(c.userCount === users + 1 ? [userId] : []);
        expect((await gw.ok(UsersDocument, { connectionId: id, first: 1 })).users.totalCount).toBe(
          c.userCount,
        );
        if (served.length === 0) {
          outcomes.old++;
          expect(c.lastSync?.status).toBe('FAILED');
          expect(c.lastSync?.error).toMatch(/interrupted/);
        } else outcomes.new++;

        // The snapshot that survived kept its own watermark: the next run is incremental and brings
        // exactly what that snapshot lacks.
        const next = await incrementalRun(gw, id);
        expect(next.run).toMatchObject({ status: 'SUCCEEDED', mode: 'INCREMENTAL', fallbackReason: null });
        expect(next.run.changes?.added).toEqual(served.length === 0 ? [userId] : []);
        expect(next.run.changes).toMatchObject({ updatedCount: 0, removedCount: 0 });
        expect(await completions(gw, added.mail)).toEqual([userId]);
        users += 1;
        expect((await connection(gw, id)).userCount).toBe(users);
        spanMs = Math.max(next.afterReadMs, 5);
      }
      gw.child.kill('SIGTERM');
      expect(await gw.exited).toBe(0);
      console.log(
        `incremental kills after the read (delays ${delays.join(', ')} ms): old snapshot ${outcomes.old}, new ${outcomes.new}`,
      );
    },
    30_000 + RANDOM_KILLS * 12_000,
  );

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

describe('incremental runs under the default schedule', () => {
  it('a user added to the directory is served within ~75 s, by a scheduled incremental run listing exactly it', async () => {
    const { gw, id, first, userId } = scenario;
    expect(first.status, first.lastSync?.error ?? '').toBe('SUCCEEDED');
    expect(first.incrementalSchedule).toBe('* * * * *');
    expect(first.changeTracking).toBe('TIMESTAMP');
    const ms = await scenario.served;
    expect(ms, 'the user was not in autocomplete within 75 s').not.toBeNull();

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
  }, 90_000);
});
