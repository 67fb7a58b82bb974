/**
 * The cost bound priced by the real work, over the real HTTP and WebSocket
 * API (issue #16, The API): page sizes passed as variables cost what they
 * ask for, as literals do, and a `search:` costs its scan of the view, so
 * that many aliased searches are refused with LIMIT_EXCEEDED before
 * anything runs, while the UI's own queries (the documented operations, the
 * status page's) still pass. The shared slapd synced once.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/graphql/arguments.js';
import { ContactsDocument, GroupsDocument, UsersDocument, UsersWithGroupsDocument } from '../gql/graphql.js';
import { sharedSlapd } from '../support/directories.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { addSlapdConnection, syncNow } from '../support/sync.js';

interface Answer {
  readonly status?: number;
  readonly data?: unknown;
  readonly errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
}

let gw: TestGateway;
let ws: Client;
let connectionId: string;

async function overHttp(query: string, variables: object = {}, token = gw.readerToken): Promise<Answer> {
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as Answer) };
}

/** One operation over the socket: its last `next` payload, or the errors of an `error` message. */
function overWs(query: string, variables: object = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let last: Answer = {};
    ws.subscribe(
      { query, variables: variables as Record<string, unknown> },
      {
        next: (result) => {
          last = result as Answer;
        },
        error: (err) => (Array.isArray(err) ? resolve({ errors: err }) : reject(err)),
        complete: () => resolve(last),
      },
    );
  });
}

/** Refused for its cost, before anything ran: no data at all, one LIMIT_EXCEEDED naming the cost. */
function expectPricedOut(answer: Answer, what: string): void {
  expect(
    answer.errors?.map((e) => e.extensions?.code),
    `${what}: ${JSON.stringify(answer)}`,
  ).toEqual(['LIMIT_EXCEEDED']);
  expect(answer.errors?.[0]?.message, what).toMatch(/^query cost \d+ exceeds the limit of 50000$/);
  expect(answer.errors?.[0]?.extensions?.cost as number, what).toBeGreaterThan(LIMITS.cost);
  expect(answer, what).not.toHaveProperty('data');
}

function expectAnswered(answer: Answer, what: string): void {
  expect(answer.errors, `${what}: ${JSON.stringify(answer.errors)}`).toBeUndefined();
  expect(answer.data, what).toBeTruthy();
}

beforeAll(async () => {
  gw = await startTestGateway();
  connectionId = await addSlapdConnection(gw, sharedSlapd(), { name: 'Shared' });
  expect((await syncNow(gw, connectionId)).status).toBe('SUCCEEDED');
  ws = gw.ws(gw.readerToken);
});

afterAll(async () => {
  await gw?.dispose();
});

describe('page sizes given as variables', () => {
  // 500 users × 10 groups each × 5 members: 56,001 by its page sizes; 11,201 when $n was priced at 100.
  const nested = `query Nested($n: Int) {
    users(first: $n) { nodes { memberOf { members(first: 5) { nodes { id } } } } }
  }`;

  it('cost what they ask for: a legal page size that makes the query too dear is refused', async () => {
    expectPricedOut(await overHttp(nested, { n: LIMITS.pageSize }), 'HTTP');
    expectPricedOut(await overWs(nested, { n: LIMITS.pageSize }), 'WebSocket');
    // The same query with a smaller page runs.
    expectAnswered(await overHttp(nested, { n: 50 }), 'HTTP, 50');
    expectAnswered(await overWs(nested, { n: 50 }), 'WebSocket, 50');
  });

  it('a huge one is refused as the literal is, with the same error', async () => {
    const huge = 1_000_000_000;
    const literal = await overHttp(`{ users(first: ${huge}) { nodes { id } } }`);
    const variable = await overHttp('query ($n: Int) { users(first: $n) { nodes { id } } }', { n: huge });
    expectPricedOut(literal, 'literal');
    expectPricedOut(variable, 'variable');
    expect(variable.errors?.[0]?.message).toBe(literal.errors?.[0]?.message);
    expect(variable.status).toBe(literal.status);
    expectPricedOut(
      await overWs('query ($n: Int) { users(first: $n) { nodes { id } } }', { n: huge }),
      'WebSocket',
    );
  });
});

describe('searches', () => {
  const aliased = (field: string, count: number) =>
    `query Aliased($s: String) { ${Array.from(
      { length: count },
      (_, i) => `s${i}: ${field}(first: 1, search: $s, after: null) { totalCount }`,
    ).join(' ')} }`;
  // Distinct search texts, so that no scan is a memoized one.
  const distinct = (field: string, count: number) =>
    `{ ${Array.from({ length: count }, (_, i) => `s${i}: ${field}(first: 1, search: "q${i}") { totalCount }`).join(' ')} }`;

  it('a search aliased up to the alias limit is refused before it runs, on users, groups and contacts', async () => {
    for (const field of ['users', 'groups', 'contacts']) {
      expectPricedOut(await overHttp(distinct(field, LIMITS.aliases)), `${field} over HTTP`);
      expectPricedOut(await overWs(distinct(field, LIMITS.aliases)), `${field} over WebSocket`);
      expectPricedOut(await overHttp(aliased(field, LIMITS.aliases), { s: 'a' }), `${field}, variable`);
    }
  });

  it('a few searches in one query, and aliased fields without a search, still run', async () => {
    expectAnswered(await overHttp(distinct('users', 3)), 'three searches');
    // Without a search (or with a blank one) nothing is scanned: the page's price alone.
    expectAnswered(await overHttp(aliased('users', LIMITS.aliases), { s: ' ' }), 'blank searches');
    expectAnswered(await overHttp(aliased('users', LIMITS.aliases), {}), 'no search');
  });
});

describe("the UI's own queries still pass", () => {
  const statusPage = /const STATUS_QUERY = `([^`]+)`/.exec(
    readFileSync(path.resolve(import.meta.dirname, '../../src/http/assets/status.js'), 'utf8'),
  )?.[1];

  it('lists and searches with full pages, over HTTP and WebSocket', async () => {
    const docs = [
      UsersDocument,
      GroupsDocument,
      ContactsDocument,
      UsersWithGroupsDocument,
    ] as TypedDocumentNode<unknown, Record<string, unknown>>[];
    for (const doc of docs) {
      for (const variables of [{ first: LIMITS.pageSize }, { first: LIMITS.pageSize, search: 'a' }]) {
        const res = await gw.request(doc, variables, gw.readerToken);
        expectAnswered(res as Answer, `${JSON.stringify(variables)}: ${print(doc).slice(0, 40)}`);
      }
    }
    expectAnswered(
      await overWs('query ($s: String) { users(first: 500, search: $s) { totalCount } }', { s: 'a' }),
      'WebSocket',
    );
  });

  it("the status page's query", async () => {
    expect(statusPage).toBeTruthy();
    expectAnswered(await overHttp(statusPage as string), 'StatusPage');
  });
});
