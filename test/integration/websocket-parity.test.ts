/**
 * The same API over both transports (issue #16, The API): an operation sent
 * over graphql-ws gets the answer the same operation gets over HTTP, errors
 * included (codes, field and reason, masking of internal errors), and a
 * subscription resolves each event in the view served when it goes out, not
 * in the one of its start. In-process gateways over real HTTP and
 * WebSocket; a private slapd with planted duplicates; a private Redis as
 * the settings store, stopped to make the store fail.
 */
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisInstance, startRedis } from '../../scripts/directories/redis.js';
import { privateSlapd } from '../support/fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { modifyEntry } from '../support/slapd-edits.js';
import { addSlapdConnection, syncNow } from '../support/sync.js';

interface Answer {
  readonly data?: unknown;
  readonly errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
}

async function overHttp(gw: TestGateway, query: string, variables: object, token: string): Promise<Answer> {
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as Answer;
  return { ...('data' in body ? { data: body.data } : {}), ...(body.errors ? { errors: body.errors } : {}) };
}

/** One operation over the socket: its last `next` payload, or the errors of an `error` message. */
function overWs(client: Client, query: string, variables: object): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let last: Answer = {};
    client.subscribe(
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

/** Both transports, same token; the answers must be equal. */
async function both(gw: TestGateway, client: Client, token: string, query: string, variables: object = {}) {
  const http = await overHttp(gw, query, variables, token);
  const ws = await overWs(client, query, variables);
  expect(ws, query).toEqual(http);
  return http;
}

const slapd = privateSlapd({
  users: 60,
  groups: 6,
  contacts: 6,
  seed: 'websocket-parity',
  largeGroupSize: 0,
  duplicates: { userNames: 2, emailAddresses: 2 },
});

describe('errors over WebSocket are the errors over HTTP', () => {
  let redis: RedisInstance;
  let gw: TestGateway;
  let admin: Client;
  let reader: Client;
  let connectionId: string;

  beforeAll(async () => {
    redis = await startRedis();
    gw = await startTestGateway({ env: { DIRGATE_CONFIG_STORE: redis.url } });
    connectionId = await addSlapdConnection(gw, slapd.slapd);
    await syncNow(gw, connectionId);
    admin = gw.ws(gw.adminToken);
    reader = gw.ws(gw.readerToken);
  }, 60_000);

  afterAll(async () => {
    await gw?.dispose();
    await redis?.stop();
  });

  it('answers a query with the same data', async () => {
    const query = '{ users(first: 5) { totalCount nodes { id displayName emails spoofingProtection } } }';
    const first = await both(gw, admin, gw.adminToken, query);
    expect(first.errors).toBeUndefined();
    // The second time over HTTP takes the compiled path: still the same answer.
    await both(gw, reader, gw.readerToken, query);
  });

  it('BAD_USER_INPUT with its field and reason: text, a cursor, a variable', async () => {
    const autocomplete = 'query($p: String!) { autocomplete(prefix: $p) { address } }';
    const nul = await both(gw, reader, gw.readerToken, autocomplete, { p: 'ab\u0000c' });
    expect(nul.errors?.[0]?.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'prefix',
      reason: 'INVALID_TEXT',
    });

    const cursor = await both(gw, reader, gw.readerToken, 'query { users(after: "garbage") { totalCount } }');
    expect(cursor.errors?.[0]?.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'after',
      reason: 'INVALID_CURSOR',
    });

    const variable = await both(
      gw,
      reader,
      gw.readerToken,
      'query($n: Int) { users(first: $n) { totalCount } }',
      {
        n: 'many',
      },
    );
    expect(variable.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('LIMIT_EXCEEDED: a page size, an over-long prefix, a query too deep', async () => {
    const page = await both(gw, reader, gw.readerToken, '{ users(first: 501) { totalCount } }');
    expect(page.errors?.[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', field: 'first' });
    const long = await both(
      gw,
      reader,
      gw.readerToken,
      'query($p: String!) { autocomplete(prefix: $p) { address } }',
      {
        p: 'x'.repeat(300),
      },
    );
    expect(long.errors?.[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', field: 'prefix' });
    const nested = `{ users(first: 1) { nodes { ${'memberOf { memberOf { '.repeat(6)} id ${'} } '.repeat(6)} } } }`;
    const deep = await both(gw, reader, gw.readerToken, nested);
    expect(deep.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
  });

  it('validation, syntax and operation errors keep their codes', async () => {
    const unknown = await both(gw, reader, gw.readerToken, '{ users { nope } }');
    expect(unknown.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const syntax = await both(gw, reader, gw.readerToken, '{ users { ');
    expect(syntax.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    const named = await overHttp(gw, 'query A { node { name } }', {}, gw.readerToken);
    expect(named.errors).toBeUndefined();
  });

  it('NOT_FOUND for an unknown connection; FORBIDDEN for a reader’s mutation', async () => {
    const mutation = 'mutation($id: ID) { startSync(connectionId: $id) { id } }';
    const missing = await both(gw, admin, gw.adminToken, mutation, { id: 'no-such-connection' });
    expect(missing.errors?.[0]).toMatchObject({
      message: 'connection "no-such-connection" does not exist',
      extensions: { code: 'NOT_FOUND' },
    });
    const refused = await both(gw, reader, gw.readerToken, mutation, { id: connectionId });
    expect(refused.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN' });
  });

  it('an internal error (the settings store is gone) is masked on both', async () => {
    await redis.stop();
    const failed = await both(gw, reader, gw.readerToken, '{ connections { id name } }');
    expect(failed.errors).toEqual([
      expect.objectContaining({ message: 'internal error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }),
    ]);
    expect(JSON.stringify(failed)).not.toMatch(/redis|ECONNREFUSED|offline|closed|stack/i);
  });
});

describe('each pushed event is resolved in the view served when it goes out', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { DIRGATE_NODE_NAME: 'parity-node' } });
  });

  afterAll(async () => {
    await gw?.dispose();
  });

  const principalFields =
    'id displayName primaryEmail emails spoofingProtection memberOf { id } ... on User { ntlmName personalBackupAllowed }';

  interface Pushed {
    duplicateWarnings?: {
      added: { kind: string; principals: { id: string; displayName: string; emails: string[] }[] }[];
    };
    syncEvents?: { run: { connectionId: string; status: string; counts: { users: number } | null } };
  }

  /** Collects a subscription's `next` payloads. */
  function subscribe(client: Client, query: string) {
    const received: Pushed[] = [];
    const errors: unknown[] = [];
    const stop = client.subscribe(
      { query },
      {
        next: (r) => {
          if (r.errors) errors.push(...r.errors);
          if (r.data) received.push(r.data as Pushed);
        },
        error: (e) => errors.push(e),
        complete: () => {},
      },
    );
    const until = async (test: (p: Pushed) => boolean, what: string): Promise<Pushed> => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const hit = received.find(test);
        if (hit) return hit;
        if (errors.length) throw new Error(`subscription failed: ${JSON.stringify(errors)}`);
        if (Date.now() > deadline) throw new Error(`no ${what}; received ${JSON.stringify(received)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    return { received, errors, stop, until };
  }

  /** What a query over HTTP says of these principals now. */
  async function principalsNow(ids: readonly string[]) {
    return Promise.all(
      ids.map(async (id) => {
        const res = await overHttp(
          gw,
          `query($id: ID!) { principal(id: $id) { ${principalFields} } }`,
          { id },
          gw.adminToken,
        );
        return (res.data as { principal: unknown }).principal;
      }),
    );
  }

  it('a subscriber from before the first sync sees its principals, and a later rename', async () => {
    const warnings = subscribe(
      gw.ws(gw.readerToken),
      `subscription { duplicateWarnings { connectionId added { id kind value principals { ${principalFields} } } resolved } }`,
    );
    const runs = subscribe(
      gw.ws(gw.readerToken),
      'subscription { syncEvents { run { id connectionId status counts { users } } } }',
    );
    await new Promise((r) => setTimeout(r, 300));

    const connectionId = await addSlapdConnection(gw, slapd.slapd);
    await syncNow(gw, connectionId);
    const first = await warnings.until((p) => (p.duplicateWarnings?.added.length ?? 0) > 0, 'added findings');
    const added = first.duplicateWarnings?.added ?? [];
    expect(added.map((f) => f.kind)).toContain('USER_NAME');
    for (const finding of added) {
      expect(finding.principals.length).toBeGreaterThanOrEqual(2);
      for (const p of finding.principals) {
        expect(p.displayName).toEqual(expect.any(String));
        expect(p.emails).toEqual(expect.any(Array));
      }
      // Exactly what a query of the view served now answers (consequences, groups, NTLM name).
      expect(finding.principals).toEqual(await principalsNow(finding.principals.map((p) => p.id)));
    }
    const nameFinding = added.find((f) => f.kind === 'USER_NAME');
    expect(
      nameFinding?.principals.every(
        (p) => (p as { spoofingProtection?: boolean }).spoofingProtection === false,
      ),
    ).toBe(true);
    await runs.until(
      (p) =>
        p.syncEvents?.run.status === 'SUCCEEDED' &&
        p.syncEvents.run.counts?.users === slapd.dataset.users.length,
      'the first run’s end',
    );

    // Two users nobody shares a name with take one new name: a new finding, pushed with that name.
    const involved = new Set(added.flatMap((f) => f.principals.map((p) => p.id)));
    const [u, v] = slapd.dataset.users.filter((x) => !involved.has(`${connectionId}:${x.guid}`));
    if (!u || !v) throw new Error('dataset too small');
    const renamed = 'Parity Renamed Person';
    await modifyEntry(slapd.slapd, u.dn, { displayName: [renamed] });
    await modifyEntry(slapd.slapd, v.dn, { displayName: [renamed.toUpperCase()] });
    const seen = warnings.received.length;
    await syncNow(gw, connectionId);
    const next = await warnings.until(
      (p) => warnings.received.indexOf(p) >= seen && (p.duplicateWarnings?.added.length ?? 0) > 0,
      'the finding of the rename',
    );
    const finding = next.duplicateWarnings?.added.find((f) => f.kind === 'USER_NAME');
    expect(finding?.principals.map((p) => p.id).sort()).toEqual(
      [`${connectionId}:${u.guid}`, `${connectionId}:${v.guid}`].sort(),
    );
    expect(finding?.principals.map((p) => p.displayName.toLowerCase())).toEqual([
      renamed.toLowerCase(),
      renamed.toLowerCase(),
    ]);
    expect(finding?.principals).toEqual(await principalsNow(finding?.principals.map((p) => p.id) ?? []));
    await runs.until(
      () => runs.received.filter((p) => p.syncEvents?.run.status === 'SUCCEEDED').length === 2,
      'the second run’s end',
    );
    expect(warnings.errors).toEqual([]);
    expect(runs.errors).toEqual([]);
    warnings.stop();
    runs.stop();
  });
});
