/**
 * A hostile or broken directory cannot exhaust the gateway (#16): a paging
 * cookie repeated for ever, a 2 GiB length header, more entries or more
 * values of one attribute than the bounds (in one entry, or by a range
 * retrieval that never ends), and pages that trickle for ever. Each run ends
 * FAILED, saying which bound and which setting; the last good snapshot stays
 * served; /healthz answers throughout.
 *
 * The hostile server (test/support/hostile-ldap.ts) answers the first sync
 * as a small good directory, then as the case asks; anonymous binds, so no
 * password crosses its plain ldap://.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddConnectionDocument,
  ConnectionByIdDocument,
  PrincipalsByEmailDocument,
  StartSyncDocument,
  UsersDocument,
} from '../gql/graphql.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { type HostileLdapServer, type HostileMode, hostileLdapServer } from '../support/hostile-ldap.js';

const MAX_ENTRIES = 50;
const MAX_VALUES = 100;
const RUN_TIMEOUT_MS = 3000;
/** A bound fires on the first offending message: well before the run's own deadline. */
const FAST_MS = 2000;

describe('a hostile directory cannot exhaust the gateway', () => {
  let gw: TestGateway;
  let hostile: HostileLdapServer;
  let id: string;
  let goodRunId: string | null | undefined;

  beforeAll(async () => {
    hostile = await hostileLdapServer();
    gw = await startTestGateway({
      env: {
        DIRGATE_LDAP_MAX_ENTRIES: String(MAX_ENTRIES),
        DIRGATE_LDAP_MAX_VALUES: String(MAX_VALUES),
        DIRGATE_LDAP_MAX_MESSAGE_BYTES: String(1024 * 1024),
        DIRGATE_LDAP_RANGE_SIZE: '50',
        DIRGATE_LDAP_OPERATION_TIMEOUT_MS: '10000',
        DIRGATE_SYNC_RUN_TIMEOUT_MS: String(RUN_TIMEOUT_MS),
      },
    });
    const { addConnection } = await gw.ok(AddConnectionDocument, {
      input: {
        name: 'Hostile',
        domain: 'hostile.test',
        searchBase: hostile.baseDn,
        servers: [hostile.url],
        schedule: '0 0 1 1 *',
      },
    });
    id = addConnection.id;
    const first = await syncWatchingHealth();
    expect(first.connection.status, first.connection.lastSync?.error ?? '').toBe('SUCCEEDED');
    expect(first.connection.userCount).toBe(3);
    goodRunId = first.connection.lastSuccessfulSync?.id;
  });

  afterAll(async () => {
    await gw?.dispose();
    await hostile?.close();
  });

  async function connection() {
    const c = (await gw.ok(ConnectionByIdDocument, { id })).connection;
    if (!c) throw new Error('the connection is gone');
    return c;
  }

  /**
   * Starts a sync and asks /healthz between each look at the run until it ends: every answer
   * must be 200. Returns the connection as it ended and how often /healthz answered while
   * the run was RUNNING.
   */
  async function syncWatchingHealth() {
    await gw.ok(StartSyncDocument, { connectionId: id });
    let healthyWhileRunning = 0;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const health = await fetch(`${gw.url.replace(/\/graphql$/, '')}/healthz`, {
        signal: AbortSignal.timeout(1000),
      });
      expect(health.status).toBe(200);
      const c = await connection();
      if (c.status !== 'RUNNING') return { connection: c, healthyWhileRunning };
      healthyWhileRunning++;
      if (Date.now() > deadline) throw new Error('the run is still RUNNING after 30 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  function elapsed(run: { startedAt: unknown; finishedAt?: unknown } | null | undefined): number {
    if (!run?.finishedAt) throw new Error('the run has not finished');
    return Date.parse(String(run.finishedAt)) - Date.parse(String(run.startedAt));
  }

  async function expectLastGoodServed(): Promise<void> {
    const c = await connection();
    expect(c.lastSuccessfulSync?.id).toBe(goodRunId);
    expect(c.userCount).toBe(3);
    expect((await gw.ok(UsersDocument, { connectionId: id, first: 10 })).users.totalCount).toBe(3);
    expect(
      (await gw.ok(PrincipalsByEmailDocument, { address: 'bob@hostile.test' })).principalsByEmail,
    ).toHaveLength(1);
  }

  /** Runs one sync against the hostile answer; the server is good again afterwards. */
  async function failedRunAgainst(mode: HostileMode) {
    hostile.mode = mode;
    try {
      const result = await syncWatchingHealth();
      expect(result.connection.status).toBe('FAILED');
      expect(result.connection.lastSync?.status).toBe('FAILED');
      await expectLastGoodServed();
      return { run: result.connection.lastSync, healthyWhileRunning: result.healthyWhileRunning };
    } finally {
      hostile.mode = { kind: 'good' };
    }
  }

  it('a paged search whose cookie comes back again: FAILED at once, naming the loop', async () => {
    const before = hostile.pagesSent();
    const { run } = await failedRunAgainst({ kind: 'repeat-cookie' });
    expect(run?.error).toMatch(/^search stopped at ldap:\/\/127\.0\.0\.1:\d+: the directory answered page 2/);
    expect(run?.error).toContain('with a cookie it had already sent');
    expect(elapsed(run)).toBeLessThan(FAST_MS);
    // The first page, the one that repeated its cookie: no third.
    expect(hostile.pagesSent() - before).toBe(2);
  });

  it('a 2 GiB length header: FAILED from the header alone, naming the bound and its setting', async () => {
    const { run } = await failedRunAgainst({ kind: 'huge-length', bytes: 512 * 1024 });
    expect(run?.error).toContain(
      'the directory sent a message of 2147483648 bytes, over the limit of 1 MiB (DIRGATE_LDAP_MAX_MESSAGE_BYTES)',
    );
    expect(run?.error).toMatch(/^search stopped/);
    expect(elapsed(run)).toBeLessThan(FAST_MS);
  });

  it('more entries than DIRGATE_LDAP_MAX_ENTRIES in one page: FAILED before the page ends', async () => {
    const { run } = await failedRunAgainst({ kind: 'many-entries', count: MAX_ENTRIES * 4 });
    expect(run?.error).toContain(
      `the directory sent more than ${MAX_ENTRIES} entries in one run, over the limit (DIRGATE_LDAP_MAX_ENTRIES)`,
    );
    expect(elapsed(run)).toBeLessThan(FAST_MS);
  });

  it('an attribute with more values than DIRGATE_LDAP_MAX_VALUES: FAILED, naming it and the entry', async () => {
    const { run } = await failedRunAgainst({ kind: 'many-values', count: MAX_VALUES * 5 });
    expect(run?.error).toContain(
      `the directory sent more than ${MAX_VALUES} values of member on cn=staff,ou=groups,dc=hostile,dc=test, over the limit (DIRGATE_LDAP_MAX_VALUES)`,
    );
    expect(elapsed(run)).toBeLessThan(FAST_MS);
  });

  it('a range retrieval that never ends: FAILED once the gathered values pass the bound', async () => {
    const { run } = await failedRunAgainst({ kind: 'endless-range', chunk: 50 });
    expect(run?.error).toContain(`the directory sent more than ${MAX_VALUES} values of member on cn=staff`);
    expect(run?.error).toContain('(DIRGATE_LDAP_MAX_VALUES)');
    expect(elapsed(run)).toBeLessThan(FAST_MS);
  });

  it('pages that trickle for ever: FAILED at the run deadline, /healthz answering meanwhile', async () => {
    const { run, healthyWhileRunning } = await failedRunAgainst({ kind: 'trickle', delayMs: 100 });
    expect(run?.error).toBe(
      'the run took longer than its deadline of 3 s (DIRGATE_SYNC_RUN_TIMEOUT_MS) and was stopped while READING; the previous snapshot was kept',
    );
    expect(elapsed(run)).toBeGreaterThanOrEqual(RUN_TIMEOUT_MS - 100);
    expect(elapsed(run)).toBeLessThan(RUN_TIMEOUT_MS + 2000);
    expect(healthyWhileRunning).toBeGreaterThan(5);
  });

  it('one cookie for every page of a search, as Samba sends: no loop, every page read', async () => {
    const before = hostile.pagesSent();
    hostile.mode = { kind: 'one-cookie' };
    try {
      const { connection: c } = await syncWatchingHealth();
      expect(c.status, c.lastSync?.error ?? '').toBe('SUCCEEDED');
      expect(hostile.pagesSent() - before).toBe(3);
      goodRunId = c.lastSuccessfulSync?.id;
      await expectLastGoodServed();
    } finally {
      hostile.mode = { kind: 'good' };
    }
  });

  it('the next good run succeeds', async () => {
    const { connection: c } = await syncWatchingHealth();
    expect(c.status, c.lastSync?.error ?? '').toBe('SUCCEEDED');
    expect(c.lastSuccessfulSync?.id).not.toBe(goodRunId);
    expect(c.userCount).toBe(3);
  });
});
