/**
 * Graceful shutdown in the middle of everything: a sync reading, HTTP
 * clients querying, a WebSocket subscriber listening. SIGTERM → the process
 * exits 0 within its guard, clients see answers or a closed door but never
 * a 5xx or a GraphQL error, the subscriber's socket is closed, and after a
 * restart on the same data folder the last good snapshot, the settings (the
 * sealed bind password included) and the run history are all there, the
 * interrupted run says so, and the next run succeeds.
 */
import { createClient } from 'graphql-ws';
import { expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  ConnectionByIdDocument,
  DuplicateFindingsDocument,
  StartSyncDocument,
  SyncRunsDocument,
  UsersDocument,
} from '../gql/graphql.js';
import { gatewayProcesses, privateSlapd } from '../support/fixtures.js';
import { addSlapdConnection, waitForSync } from '../support/sync.js';

const USERS = 3000;
const READER = 'reader-token-for-shutdown-tests-012345';
/** Small pages: the second sync is still reading when the signal comes. */
const ENV = { DIRGATE_READER_TOKEN: READER, DIRGATE_LDAP_PAGE_SIZE: '20', DIRGATE_LOG_LEVEL: 'info' };

const directory = privateSlapd({
  users: USERS,
  groups: 30,
  contacts: 40,
  seed: 'shutdown',
  duplicates: { userNames: 2, emailAddresses: 2 },
});
const gateways = gatewayProcesses('shutdown');

it('SIGTERM during a sync, queries and a subscription: exit 0, nothing lost', async () => {
  const dataDir = await gateways.folder();
  const first = await gateways.spawn(dataDir, ENV);
  const id = await addSlapdConnection(first, directory.slapd, { name: 'Shutdown', schedule: '0 3 * * *' });
  await first.ok(StartSyncDocument, { connectionId: id });
  const good = await waitForSync(first, id);
  expect(good.status).toBe('SUCCEEDED');
  expect(good.userCount).toBe(USERS);
  const findings = (await first.ok(DuplicateFindingsDocument, {})).duplicateFindings;
  expect(findings.length).toBeGreaterThan(0);

  // A subscriber over WebSocket, as monitoring would be.
  const events: string[] = [];
  let socketClosed: (code: number) => void = () => {};
  const closed = new Promise<number>((resolve) => {
    socketClosed = resolve;
  });
  const ws = createClient({
    url: first.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${READER}` },
    retryAttempts: 0,
    on: { closed: (e) => socketClosed((e as { code?: number }).code ?? -1) },
  });
  const subscriptionEnded = new Promise<string>((resolve) => {
    ws.subscribe(
      {
        query: 'subscription($id: ID) { syncEvents(connectionId: $id) { run { id status phase } } }',
        variables: { id },
      },
      {
        next: (v) => events.push(JSON.stringify(v.data)),
        error: (e) => resolve(`error ${e instanceof Error ? e.message : JSON.stringify(e)}`),
        complete: () => resolve('complete'),
      },
    );
  });
  await new Promise((r) => setTimeout(r, 300));

  // Clients querying all the while.
  let signalled = 0;
  const outcomes = { answered: 0, refused: 0, bad: [] as string[] };
  let stop = false;
  const client = async () => {
    while (!stop) {
      try {
        const res = await fetch(first.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${READER}` },
          body: JSON.stringify({
            query: '{ users(first: 1) { totalCount } autocomplete(prefix: "a") { address } }',
          }),
        });
        const body = (await res.json()) as { data?: { users: { totalCount: number } }; errors?: unknown[] };
        if (res.status !== 200 || body.errors?.length || body.data?.users.totalCount !== USERS)
          outcomes.bad.push(`HTTP ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
        else outcomes.answered++;
      } catch {
        // The door closed: only acceptable once the signal was sent.
        if (!signalled) outcomes.bad.push('refused before the signal');
        outcomes.refused++;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const clients = Array.from({ length: 20 }, () => client());

  await first.ok(StartSyncDocument, { connectionId: id });
  for (;;) {
    const c = (await first.ok(ConnectionByIdDocument, { id })).connection;
    if (c?.status === 'RUNNING' && c.lastSync?.phase === 'READING' && (c.lastSync.progress ?? 0) > 0) break;
    if (c?.status !== 'RUNNING') throw new Error(`the run ended before the signal: ${c?.status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  signalled = Date.now();
  first.child.kill('SIGTERM');
  const code = await first.exited;
  const tookMs = Date.now() - signalled;
  stop = true;
  await Promise.all(clients);

  expect(code).toBe(0);
  expect(tookMs).toBeLessThan(10_000);
  expect(first.output()).toMatch(/stopping/);
  expect(first.output()).toMatch(/"msg":"stopped"/);
  expect(outcomes.bad).toEqual([]);
  expect(outcomes.answered).toBeGreaterThan(0);
  // The subscriber saw the run start and had its socket closed, not left hanging.
  expect(events.some((e) => e.includes('RUNNING'))).toBe(true);
  expect(
    await Promise.race([closed, new Promise<string>((r) => setTimeout(() => r('still open'), 5000))]),
  ).not.toBe('still open');
  expect(
    await Promise.race([subscriptionEnded, new Promise<string>((r) => setTimeout(() => r('pending'), 5000))]),
  ).not.toBe('pending');
  await ws.dispose();

  // Restarted on the same folder: everything the first process had, and the interrupted run on record.
  const second = await gateways.spawn(dataDir, ENV);
  const c = (await second.ok(ConnectionByIdDocument, { id })).connection;
  expect(c?.status).toBe('FAILED');
  expect(c?.lastSync?.error).toMatch(/aborted: the node is shutting down/);
  expect(c?.lastSuccessfulSync?.id).toBe(good.lastSuccessfulSync?.id);
  expect(c?.userCount).toBe(USERS);
  expect(c?.schedule).toBe('0 3 * * *');
  expect(c?.servers).toEqual([directory.slapd.url]);
  expect(c?.hasBindPassword).toBe(true);
  expect((await second.ok(UsersDocument, { connectionId: id, first: 1 })).users.totalCount).toBe(USERS);
  expect((await second.ok(DuplicateFindingsDocument, {})).duplicateFindings.map((f) => f.id).sort()).toEqual(
    findings.map((f) => f.id).sort(),
  );
  const runs = (await second.ok(SyncRunsDocument, { connectionId: id })).syncRuns;
  expect(runs.map((r) => r.status)).toEqual(['FAILED', 'SUCCEEDED']);

  // The next run succeeds: the sealed bind password survived too.
  await second.ok(StartSyncDocument, { connectionId: id });
  const next = await waitForSync(second, id);
  expect(next.status).toBe('SUCCEEDED');
  expect(next.userCount).toBe(USERS);
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
});
