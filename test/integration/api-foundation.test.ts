/**
 * The gateway's HTTP and WebSocket edge: authentication, roles, coded
 * errors, limits, health endpoints and secrets, on a real server.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddConnectionDocument,
  ConnectionsDocument,
  NodeDocument,
  SyncEventsDocument,
} from '../gql/graphql.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.dispose();
});

const validInput = {
  name: 'Corp',
  domain: 'corp.test',
  searchBase: 'DC=corp,DC=test',
  servers: ['ldap://127.0.0.1:1'],
};

describe('authentication and roles', () => {
  it('answers 401 UNAUTHENTICATED without a token', async () => {
    const res = await gw.request(NodeDocument, {}, null);
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.data ?? null).toBeNull();
  });

  it('answers 401 UNAUTHENTICATED with an unknown token', async () => {
    const res = await gw.request(NodeDocument, {}, 'not-a-token-of-this-gateway');
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('lets a reader query', async () => {
    const data = await gw.ok(NodeDocument, {}, gw.readerToken);
    expect(data.node.name).toBe('test-node');
    expect(data.node.hasWarning).toBe(false);
  });

  it('refuses a reader mutation with FORBIDDEN and changes nothing', async () => {
    const res = await gw.request(AddConnectionDocument, { input: validInput }, gw.readerToken);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const after = await gw.ok(ConnectionsDocument, {});
    expect(after.connections).toEqual([]);
  });
});

describe('coded errors', () => {
  it('refuses bad input with BAD_USER_INPUT naming the field, storing nothing', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...validInput, name: '   ' }, 'name'],
      [{ ...validInput, searchBase: 'not a dn' }, 'searchBase'],
      [{ ...validInput, servers: ['http://dc1.corp.test'] }, 'servers[0]'],
      [{ ...validInput, schedule: '61 * * * *' }, 'schedule'],
      [{ ...validInput, domain: 'bad domain!' }, 'domain'],
      [{ ...validInput, searchBase: 'DC=corp,DC=test\u0000' }, 'searchBase'],
    ];
    for (const [input, field] of cases) {
      const res = await gw.request(AddConnectionDocument, { input: input as typeof validInput });
      expect(res.errors?.[0]?.extensions?.code, field).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.extensions?.field, field).toBe(field);
    }
    expect((await gw.ok(ConnectionsDocument, {})).connections).toEqual([]);
  });

  it('refuses a second connection with the same search base in the same domain', async () => {
    const first = await gw.ok(AddConnectionDocument, { input: validInput });
    const res = await gw.request(AddConnectionDocument, {
      input: { ...validInput, name: 'Again', searchBase: 'dc=CORP, dc=test' },
    });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.extensions?.reason).toBe('DUPLICATE_SEARCH_BASE');
    const list = (await gw.ok(ConnectionsDocument, {})).connections;
    expect(list.map((c) => c.id)).toEqual([first.addConnection.id]);
  });

  it('rejects unknown fields and over-deep queries before executing', async () => {
    const unknown = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.adminToken}` },
      body: JSON.stringify({ query: '{ node { name noSuchField } }' }),
    });
    const u = (await unknown.json()) as { errors: { extensions: { code: string } }[] };
    expect(u.errors[0]?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');

    const deep = `{ principal(id: "x") { memberOf { memberOf { memberOf { memberOf { memberOf { memberOf { memberOf { memberOf { memberOf { memberOf { memberOf { memberOf { id } } } } } } } } } } } } } }`;
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.adminToken}` },
      body: JSON.stringify({ query: deep }),
    });
    const d = (await res.json()) as { errors: { extensions: { code: string } }[] };
    expect(d.errors[0]?.extensions.code).toBe('LIMIT_EXCEEDED');
  });

  it('refuses batched HTTP requests', async () => {
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.adminToken}` },
      body: JSON.stringify([{ query: '{ node { name } }' }, { query: '{ node { name } }' }]),
    });
    expect(res.status).toBe(400);
  });

  it('never returns stack traces', async () => {
    const res = await gw.request(AddConnectionDocument, { input: { ...validInput, searchBase: '=' } });
    expect(JSON.stringify(res.errors)).not.toMatch(/stacktrace|\.ts:\d+/);
  });
});

describe('health and secrets', () => {
  it('serves /healthz and /readyz', async () => {
    const base = gw.url.replace('/graphql', '');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('dirgate_graphql_requests_total');
  });

  it('keeps the generated token and key with mode 0600', async () => {
    for (const file of ['admin-token', 'secret-key']) {
      const s = await stat(path.join(gw.dataDir, file));
      expect((s.mode & 0o777).toString(8), file).toBe('600');
    }
  });
});

describe('subscriptions over graphql-ws', () => {
  it('refuses a connection without a token', async () => {
    const client = gw.ws(null);
    const outcome = await new Promise<string>((resolve) => {
      client.subscribe(
        { query: 'subscription { syncEvents { node } }' },
        { next: () => resolve('next'), error: () => resolve('error'), complete: () => resolve('complete') },
      );
    });
    expect(outcome).toBe('error');
  });

  it('accepts a reader subscription', async () => {
    const client = gw.ws(gw.readerToken);
    const acknowledged = new Promise<void>((resolve) => client.on('connected', () => resolve()));
    const unsubscribe = client.subscribe(
      { query: SyncEventsDocument.loc?.source.body ?? 'subscription { syncEvents { node } }' },
      { next: () => {}, error: () => {}, complete: () => {} },
    );
    await acknowledged;
    unsubscribe();
  });
});
