/**
 * What the reader role sees (issue #16, The API; src/graphql/visibility.ts):
 * over HTTP and over graphql-ws, wherever a connection or a run appears, a
 * reader token gets `bindDn` and the filters as null and a failed run's
 * error as a generic text naming its phase, never the directory server's
 * text (a wrong bind password's `invalidCredentials`, result 49); the admin
 * token sees all of it as before. The status page's own query still
 * answers for a reader. The shared slapd, one connection that binds with a
 * wrong password and one that syncs.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StartSyncDocument, SyncEventsDocument } from '../gql/graphql.js';
import { sharedSlapd } from '../support/directories.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { collect } from '../support/subscriptions.js';
import { addSlapdConnection, syncNow } from '../support/sync.js';

const USER_FILTER = '(|(objectClass=inetOrgPerson)(objectClass=user))';
const GROUP_FILTER = '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))';
const CONTACT_FILTER = '(objectClass=contact)';
const GENERIC = 'synchronization failed while connecting to the directory (ask an administrator for details)';

interface Answer {
  readonly data?: Record<string, unknown> | null;
  readonly errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
}

let gw: TestGateway;
let failingId: string;
let goodId: string;
/** What the admin sees as the failed run's error: the server's own text. */
let rawError: string;

async function gql(token: string, query: string, variables: object = {}): Promise<Record<string, unknown>> {
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as Answer;
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  return body.data as Record<string, unknown>;
}

/** Every connection object and every run object anywhere in an answer. */
function collectObjects(
  value: unknown,
  into: { connections: Record<string, unknown>[]; runs: Record<string, unknown>[] },
) {
  if (Array.isArray(value)) {
    for (const v of value) collectObjects(v, into);
  } else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (o.__typename === 'Connection') into.connections.push(o);
    if (o.__typename === 'SyncRun') into.runs.push(o);
    for (const v of Object.values(o)) collectObjects(v, into);
  }
  return into;
}

const RUN = '__typename id connectionId status error';
const CONNECTION = `__typename id bindDn userFilter groupFilter contactFilter lastSync { ${RUN} } lastSuccessfulSync { ${RUN} }`;
/** Every path to a connection or a run the schema has. */
const EVERYWHERE = `query Everywhere($failing: ID!, $good: ID!, $principal: ID!) {
  connections { ${CONNECTION} }
  failing: connection(id: $failing) { ${CONNECTION} }
  domains { connections { ${CONNECTION} } }
  domain(name: "corp.test") { connections { ${CONNECTION} } }
  node { connections { ${CONNECTION} } }
  clusterNodes { connections { ${CONNECTION} } }
  runs: syncRuns(connectionId: $failing) { ${RUN} }
  goodRuns: syncRuns(connectionId: $good) { ${RUN} }
  principal(id: $principal) { connection { ${CONNECTION} overlapsWith { ${CONNECTION} } } }
}`;

let principalId: string;

beforeAll(async () => {
  const slapd = sharedSlapd();
  gw = await startTestGateway();
  failingId = await addSlapdConnection(gw, slapd, {
    name: 'Wrong password',
    bindPassword: 'not-the-password',
    userFilter: USER_FILTER,
    groupFilter: GROUP_FILTER,
    contactFilter: CONTACT_FILTER,
  });
  goodId = await addSlapdConnection(gw, slapd, {
    name: 'Good',
    domain: 'good.test',
    userFilter: USER_FILTER,
    groupFilter: GROUP_FILTER,
    contactFilter: CONTACT_FILTER,
  });
  const failed = await syncNow(gw, failingId);
  expect(failed.status).toBe('FAILED');
  rawError = failed.lastSync?.error ?? '';
  expect((await syncNow(gw, goodId)).status).toBe('SUCCEEDED');
  const users = (await gql(gw.readerToken, '{ users(first: 1) { nodes { id } } }')).users as {
    nodes: { id: string }[];
  };
  principalId = users.nodes[0]?.id ?? '';
  expect(principalId).not.toBe('');
});

afterAll(async () => {
  await gw?.dispose();
});

describe('over HTTP', () => {
  it("the admin sees the bind DN, the filters and the server's error text", async () => {
    expect(rawError).toMatch(/invalid ?credentials|\b49\b/i);
    const data = await gql(gw.adminToken, EVERYWHERE, {
      failing: failingId,
      good: goodId,
      principal: principalId,
    });
    const { connections, runs } = collectObjects(data, { connections: [], runs: [] });
    expect(connections.length).toBeGreaterThanOrEqual(10);
    for (const c of connections) {
      expect(c.bindDn).toBe(sharedSlapd().reader.dn);
      expect([c.userFilter, c.groupFilter, c.contactFilter]).toEqual([
        USER_FILTER,
        GROUP_FILTER,
        CONTACT_FILTER,
      ]);
    }
    const failedRuns = runs.filter((r) => r.status === 'FAILED');
    expect(failedRuns.length).toBeGreaterThanOrEqual(7);
    for (const r of failedRuns) expect(r.error).toBe(rawError);
  });

  it("the reader sees neither, and a failed run's error is a generic text, wherever they appear", async () => {
    const data = await gql(gw.readerToken, EVERYWHERE, {
      failing: failingId,
      good: goodId,
      principal: principalId,
    });
    const { connections, runs } = collectObjects(data, { connections: [], runs: [] });
    expect(connections.length).toBeGreaterThanOrEqual(10);
    for (const c of connections) {
      expect([c.bindDn, c.userFilter, c.groupFilter, c.contactFilter]).toEqual([null, null, null, null]);
    }
    const failedRuns = runs.filter((r) => r.status === 'FAILED');
    expect(failedRuns.length).toBeGreaterThanOrEqual(7);
    for (const r of failedRuns) expect(r.error).toBe(GENERIC);
    // A successful run has no error for anyone.
    for (const r of runs.filter((r) => r.status === 'SUCCEEDED')) expect(r.error).toBeNull();
    expect(JSON.stringify(data)).not.toMatch(/credential|\b49\b/i);
    expect(JSON.stringify(data)).not.toContain(sharedSlapd().reader.dn);
  });

  it("the status page's query answers for a reader, with the generic text", async () => {
    const statusPage = /const STATUS_QUERY = `([^`]+)`/.exec(
      readFileSync(path.resolve(import.meta.dirname, '../../src/http/assets/status.js'), 'utf8'),
    )?.[1];
    expect(statusPage).toBeTruthy();
    const data = await gql(gw.readerToken, statusPage as string);
    const rows = data.connections as {
      id: string;
      status: string;
      userCount: number;
      lastSync: { error: string | null };
    }[];
    const failing = rows.find((c) => c.id === failingId);
    expect(failing?.status).toBe('FAILED');
    expect(failing?.lastSync.error).toBe(GENERIC);
    expect(rows.find((c) => c.id === goodId)?.userCount).toBeGreaterThan(0);
  });
});

describe('over graphql-ws', () => {
  let reader: Client;
  let admin: Client;

  beforeAll(() => {
    reader = gw.ws(gw.readerToken);
    admin = gw.ws(gw.adminToken);
  });

  it("a syncEvents subscriber with a reader token gets the generic text, the admin the server's", async () => {
    const asReader = await collect(reader, SyncEventsDocument, { connectionId: failingId });
    const asAdmin = await collect(admin, SyncEventsDocument, { connectionId: failingId });
    await gw.ok(StartSyncDocument, { connectionId: failingId });
    const failedFor = (events: typeof asReader) =>
      events.until((e) => e.syncEvents.run.status === 'FAILED', 30_000, 'the failed run');
    expect((await failedFor(asReader)).syncEvents.run.error).toBe(GENERIC);
    expect((await failedFor(asAdmin)).syncEvents.run.error).toBe(rawError);
    for (const e of asReader.received) expect(JSON.stringify(e)).not.toMatch(/credential|\b49\b/i);
    asReader.stop();
    asAdmin.stop();
  });

  it('a query over the socket hides the same fields from a reader', async () => {
    const answer = await new Promise<Answer>((resolve, reject) => {
      let last: Answer = {};
      reader.subscribe(
        { query: `{ connection(id: "${failingId}") { ${CONNECTION} } }` },
        {
          next: (r) => {
            last = r as Answer;
          },
          error: reject,
          complete: () => resolve(last),
        },
      );
    });
    expect(answer.errors).toBeUndefined();
    const c = answer.data?.connection as Record<string, unknown>;
    expect([c.bindDn, c.userFilter, c.groupFilter, c.contactFilter]).toEqual([null, null, null, null]);
    expect((c.lastSync as { error: string }).error).toBe(GENERIC);
  });
});
