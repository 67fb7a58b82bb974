/**
 * Who may do what, what never leaks, and what is trusted, against the real
 * service as a process: every query and mutation of the schema tried with
 * no token, a wrong token, the reader token and the admin token;
 * subscriptions over WebSocket; the bind password searched for in every
 * response, every log line and every file of the data folder; the data
 * folder's modes; TLS certificate verification against a real LDAPS server.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  buildSchema,
  GraphQLEnumType,
  type GraphQLField,
  GraphQLInputObjectType,
  type GraphQLInputType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLScalarType,
  getNamedType,
  isLeafType,
} from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { directories, sharedSlapd } from '../support/directories.js';
import { type GatewayProcess, spawnGateway } from '../support/gateway-process.js';
import { slapdSettings } from '../support/sync.js';

const READER = 'reader-token-for-access-tests-0123456789';
const WRONG = 'wrong-token-0123456789-abcdefghijklmnop';
/** A bind password nothing else contains: it must never come back out. */
const SECRET = `Bind-Pw-${Math.random().toString(36).slice(2)}-never-shown`;
const SCHEMA = buildSchema(
  await readFile(path.resolve(import.meta.dirname, '../../schema/schema.graphql'), 'utf8'),
);

let dataDir: string;
let gw: GatewayProcess;
let admin: string;
let syncedId: string;
/** Everything any response in this file carried, searched for secrets at the end. */
const transcript: string[] = [];

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly data: Record<string, unknown> | null | undefined;
  readonly code: string | undefined;
}

async function call(
  query: string,
  variables: Record<string, unknown>,
  token: string | null,
): Promise<Answer> {
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  transcript.push(text);
  const body = JSON.parse(text) as {
    data?: Record<string, unknown> | null;
    errors?: { extensions?: { code?: string } }[];
  };
  return { status: res.status, text, data: body.data, code: body.errors?.[0]?.extensions?.code };
}

async function must(
  query: string,
  variables: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const a = await call(query, variables, admin);
  if (a.code || !a.data) throw new Error(`GraphQL error: ${a.text}`);
  return a.data;
}

const CONNECTION = `id name status userCount hasBindPassword bindDn
  lastSync { id status error } lastSuccessfulSync { id }`;

interface ConnectionView {
  id: string;
  status: string;
  userCount: number;
  hasBindPassword: boolean;
  lastSync: { id: string; status: string; error: string | null } | null;
  lastSuccessfulSync: { id: string } | null;
}

async function connection(id: string): Promise<ConnectionView> {
  return (await must(`query($id: ID!) { connection(id: $id) { ${CONNECTION} } }`, { id }))
    .connection as ConnectionView;
}

async function sync(id: string): Promise<ConnectionView> {
  await must('mutation($id: ID) { startSync(connectionId: $id) { id } }', { id });
  const deadline = Date.now() + 120_000;
  for (;;) {
    const c = await connection(id);
    if (c.status !== 'RUNNING') return c;
    if (Date.now() > deadline) throw new Error(`sync of ${id} did not end`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function addConnection(input: Record<string, unknown>): Promise<string> {
  const data = await must('mutation($i: AddConnectionInput!) { addConnection(input: $i) { id } }', {
    i: input,
  });
  return (data.addConnection as { id: string }).id;
}

/** What an observer would call "the state": settings of every connection and their runs. */
async function everything(): Promise<string> {
  const data = await must(`{ connections { ${CONNECTION} servers schedule searchBase } }`);
  const runs: unknown[] = [];
  for (const c of data.connections as { id: string }[])
    runs.push(
      (await must('query($id: ID!) { syncRuns(connectionId: $id) { id status } }', { id: c.id })).syncRuns,
    );
  return JSON.stringify({ data, runs });
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'dirgate-access-'));
  gw = await spawnGateway(dataDir, { DIRGATE_READER_TOKEN: READER, DIRGATE_LOG_LEVEL: 'trace' });
  admin = await gw.token();
  const slapd = sharedSlapd();
  syncedId = await addConnection({
    name: 'Shared',
    domain: 'corp.test',
    ...slapdSettings(slapd),
  });
  expect((await sync(syncedId)).status).toBe('SUCCEEDED');
});

afterAll(async () => {
  if (gw && gw.child.exitCode === null) {
    gw.child.kill('SIGTERM');
    await gw.exited;
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Valid-looking variables for an argument; ids point at `target`. */
function value(type: GraphQLInputType, name: string, target: string): unknown {
  if (type instanceof GraphQLNonNull) return value(type.ofType, name, target);
  if (type instanceof GraphQLList) return [value(type.ofType, name, target)];
  if (type instanceof GraphQLEnumType) return type.getValues()[0]?.value;
  if (type instanceof GraphQLInputObjectType) {
    if (type.name === 'AddConnectionInput')
      return {
        name: 'probe',
        domain: 'probe.test',
        searchBase: 'dc=probe,dc=test',
        servers: ['ldap://127.0.0.1:1'],
      };
    if (type.name === 'UpdateConnectionInput') return { name: 'probed' };
    return {};
  }
  if (type instanceof GraphQLScalarType) {
    if (type.name === 'ID') return /connection|^id$/i.test(name) ? target : 'no-such-id';
    if (type.name === 'String') return name === 'prefix' ? 'a' : 'x@corp.test';
    if (type.name === 'Int') return 1;
    if (type.name === 'Float') return 0.5;
    if (type.name === 'Boolean') return false;
  }
  return null;
}

function operation(
  kind: 'query' | 'mutation' | 'subscription',
  field: GraphQLField<unknown, unknown>,
  target: string,
) {
  const variables: Record<string, unknown> = {};
  const defs = field.args.map((a) => `$${a.name}: ${a.type.toString()}`);
  const args = field.args.map((a) => `${a.name}: $${a.name}`);
  for (const a of field.args) variables[a.name] = value(a.type, a.name, target);
  const selection = isLeafType(getNamedType(field.type)) ? '' : '{ __typename }';
  const query = `${kind} Probe${defs.length ? `(${defs.join(', ')})` : ''} { ${field.name}${args.length ? `(${args.join(', ')})` : ''} ${selection} }`;
  return { query, variables };
}

const queries = Object.values(SCHEMA.getQueryType()?.getFields() ?? {});
const mutations = Object.values(SCHEMA.getMutationType()?.getFields() ?? {});
const subscriptions = Object.values(SCHEMA.getSubscriptionType()?.getFields() ?? {});

describe('roles, operation by operation', () => {
  it('the schema lists the operations this suite expects', () => {
    expect(queries.length).toBeGreaterThanOrEqual(15);
    expect(mutations.map((m) => m.name).sort()).toEqual([
      'addConnection',
      'confirmSync',
      'deleteConnection',
      'discardSync',
      'startSync',
      'testConnection',
      'testStoredConnection',
      'updateConnection',
    ]);
    expect(subscriptions.map((s) => s.name).sort()).toEqual(['duplicateWarnings', 'syncEvents']);
  });

  it('viewer states the role of the token asked with', async () => {
    for (const [token, role] of [
      [READER, 'READER'],
      [admin, 'ADMIN'],
    ] as const) {
      const a = await call('{ viewer { role } }', {}, token);
      expect(a.code, a.text).toBeUndefined();
      expect(a.data).toEqual({ viewer: { role } });
    }
  });

  it('no token and a wrong token: 401 UNAUTHENTICATED for every query and mutation, nothing changed', async () => {
    const before = await everything();
    for (const field of [...queries, ...mutations]) {
      const kind = mutations.includes(field) ? 'mutation' : 'query';
      const { query, variables } = operation(kind, field, syncedId);
      for (const token of [null, WRONG, `${admin}x`, admin.slice(0, -1), `Basic ${admin}`]) {
        const a = await call(query, variables, token);
        expect(a.status, `${field.name} with ${token === null ? 'no token' : 'a wrong token'}`).toBe(401);
        expect(a.code).toBe('UNAUTHENTICATED');
        expect(a.data ?? null).toBeNull();
        if (token) expect(a.text).not.toContain(token);
      }
    }
    // Not a bearer header at all.
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: admin },
      body: JSON.stringify({ query: '{ connections { id } }' }),
    });
    expect(res.status).toBe(401);
    expect(await everything()).toBe(before);
  });

  it('the reader: every query answers; every mutation is FORBIDDEN and changes nothing', async () => {
    const before = await everything();
    for (const field of queries) {
      const { query, variables } = operation('query', field, syncedId);
      const a = await call(query, variables, READER);
      expect(a.status, `${field.name}: ${a.text}`).toBe(200);
      expect(
        ['UNAUTHENTICATED', 'FORBIDDEN', 'INTERNAL_SERVER_ERROR'],
        `${field.name}: ${a.text}`,
      ).not.toContain(a.code);
    }
    for (const field of mutations) {
      // Aimed at the synced connection: a delete or update that got through would show.
      const { query, variables } = operation('mutation', field, syncedId);
      const a = await call(query, variables, READER);
      expect(a.code, `${field.name}: ${a.text}`).toBe('FORBIDDEN');
      expect(a.status).toBe(403);
      expect(a.data ?? null).toBeNull();
    }
    expect(await everything()).toBe(before);
    expect((await connection(syncedId)).userCount).toBeGreaterThan(0);
  });

  it('the admin: every query and every mutation is allowed', async () => {
    const target = await addConnection({
      name: 'Target',
      domain: 'target.test',
      searchBase: 'dc=target,dc=test',
      servers: ['ldap://127.0.0.1:1'],
    });
    for (const field of queries) {
      const { query, variables } = operation('query', field, syncedId);
      const a = await call(query, variables, admin);
      expect(a.status, `${field.name}: ${a.text}`).toBe(200);
      expect(['UNAUTHENTICATED', 'FORBIDDEN', 'INTERNAL_SERVER_ERROR']).not.toContain(a.code);
    }
    // Deletion last: the others act on the connection it removes.
    const ordered = [...mutations].sort(
      (a, b) => Number(a.name === 'deleteConnection') - Number(b.name === 'deleteConnection'),
    );
    for (const field of ordered) {
      const { query, variables } = operation('mutation', field, target);
      const a = await call(query, variables, admin);
      expect(
        ['UNAUTHENTICATED', 'FORBIDDEN', 'INTERNAL_SERVER_ERROR'],
        `${field.name}: ${a.text}`,
      ).not.toContain(a.code);
      // Nothing is held on the target: settling a held run is refused as such.
      if (field.name === 'confirmSync' || field.name === 'discardSync') expect(a.code).toBe('CONFLICT');
      else expect(a.code, `${field.name}: ${a.text}`).toBeUndefined();
      if (field.name === 'startSync') {
        // Let the run against the dead server end before the connection is deleted.
        for (let i = 0; i < 100 && (await connection(target)).status === 'RUNNING'; i++)
          await new Promise((r) => setTimeout(r, 100));
      }
    }
    const left = (await must('{ connections { id name } }')).connections as { id: string; name: string }[];
    expect(left.map((c) => c.id)).not.toContain(target);
    for (const c of left)
      if (c.name === 'probe') await must('mutation($id: ID!) { deleteConnection(id: $id) }', { id: c.id });
  });
});

describe('subscriptions over WebSocket', () => {
  /** Opens a raw graphql-ws socket; resolves with "ack" or the close code. */
  function handshake(payload: Record<string, unknown> | undefined): Promise<string | number> {
    return new Promise((resolve) => {
      const ws = new WebSocket(gw.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
      ws.on('open', () =>
        ws.send(JSON.stringify({ type: 'connection_init', ...(payload ? { payload } : {}) })),
      );
      ws.on('message', (m: Buffer) => {
        transcript.push(m.toString());
        if ((JSON.parse(m.toString()) as { type: string }).type === 'connection_ack') {
          resolve('ack');
          ws.close();
        }
      });
      ws.on('close', (code) => resolve(code));
      ws.on('error', () => resolve(-1));
    });
  }

  it('refuses a socket without a token or with a wrong one (4403), accepts reader and admin', async () => {
    expect(await handshake(undefined)).toBe(4403);
    expect(await handshake({})).toBe(4403);
    expect(await handshake({ authorization: `Bearer ${WRONG}` })).toBe(4403);
    expect(await handshake({ authorization: WRONG })).toBe(4403);
    expect(await handshake({ authorization: `Bearer ${READER}` })).toBe('ack');
    expect(await handshake({ authorization: `Bearer ${admin}` })).toBe('ack');
  });

  it('reader and admin receive every subscription; a reader mutation over the socket is FORBIDDEN', async () => {
    for (const token of [READER, admin]) {
      const client = createClient({
        url: gw.url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${token}` },
        retryAttempts: 0,
      });
      try {
        for (const field of subscriptions) {
          const { query, variables } = operation('subscription', field, syncedId);
          // Each subscription is accepted: an error would arrive at once, an event after a sync.
          const outcome = new Promise<string>((resolve) => {
            const stop = client.subscribe(
              { query, variables: field.name === 'syncEvents' ? variables : {} },
              {
                next: () => {
                  resolve('event');
                  stop();
                },
                error: (e) => resolve(`error ${JSON.stringify(e)}`),
                complete: () => resolve('complete'),
              },
            );
            if (field.name !== 'syncEvents') setTimeout(() => resolve('open'), 500);
          });
          if (field.name === 'syncEvents') {
            await new Promise((r) => setTimeout(r, 200));
            await must('mutation($id: ID) { startSync(connectionId: $id) { id } }', { id: syncedId });
          }
          expect(await outcome, `${field.name} as ${token === READER ? 'reader' : 'admin'}`).toMatch(
            /^(event|open)$/,
          );
          await sync(syncedId);
        }
        if (token === READER) {
          const before = await everything();
          const forbidden = await new Promise<string>((resolve) => {
            client.subscribe(
              { query: 'mutation($id: ID!) { deleteConnection(id: $id) }', variables: { id: syncedId } },
              {
                next: (v) => resolve(`next ${JSON.stringify(v)}`),
                error: (e) => resolve(JSON.stringify(e)),
                complete: () => resolve('complete'),
              },
            );
          });
          expect(forbidden).toContain('FORBIDDEN');
          expect(await everything()).toBe(before);
        }
      } finally {
        await client.dispose();
      }
    }
  });
});

describe('secrets', () => {
  it('the bind password never appears in a response, an error, a run, a log line or a file', async () => {
    const slapd = sharedSlapd();
    const input = {
      name: 'Bad bind',
      domain: 'corp.test',
      searchBase: `ou=Users,${slapd.baseDn}`,
      servers: [slapd.url],
      bindDn: slapd.reader.dn,
      bindPassword: SECRET,
      allowPlaintextBind: true,
    };
    const id = await addConnection(input);
    const failed = await sync(id);
    expect(failed.status).toBe('FAILED');
    expect(failed.lastSync?.error).toMatch(/bind|credential/i);
    expect(failed.hasBindPassword).toBe(true);
    await must('query($id: ID!) { syncRuns(connectionId: $id) { id error status } }', { id });
    await must(
      `{ connections { ${CONNECTION} } domains { name connections { id bindDn hasBindPassword } } }`,
    );
    await must(
      'mutation($i: AddConnectionInput!) { testConnection(input: $i) { ok error steps { step ok detail } } }',
      {
        i: input,
      },
    );
    // The password inside an invalid input: refused, and not echoed in the refusal.
    await call(
      'mutation($i: AddConnectionInput!) { addConnection(input: $i) { id } }',
      {
        i: { ...input, servers: [`ldap://${SECRET}`], bindDn: `cn=${SECRET}\u0000` },
      },
      admin,
    );
    await call(
      'mutation($id: ID!, $i: UpdateConnectionInput!) { updateConnection(id: $id, input: $i) { id } }',
      {
        id,
        i: { bindPassword: `${SECRET}\u0000` },
      },
      admin,
    );
    // Over the socket as well.
    await new Promise<void>((resolve) => {
      const client = createClient({
        url: gw.url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${admin}` },
        retryAttempts: 0,
      });
      const stop = client.subscribe(
        {
          query: 'subscription($id: ID) { syncEvents(connectionId: $id) { run { id status error } } }',
          variables: { id },
        },
        {
          next: (v) => {
            transcript.push(JSON.stringify(v));
            if ((v.data?.syncEvents as { run: { status: string } } | undefined)?.run.status === 'FAILED') {
              stop();
              void Promise.resolve(client.dispose()).then(resolve);
            }
          },
          error: () => resolve(),
          complete: () => resolve(),
        },
      );
      setTimeout(() => void must('mutation($id: ID) { startSync(connectionId: $id) { id } }', { id }), 200);
    });
    await sync(id);

    const all = transcript.join('\n');
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain(sharedSlapd().reader.password);
    expect(gw.output()).not.toContain(SECRET);
    expect(gw.output()).not.toContain(sharedSlapd().reader.password);
    // Tokens are not logged either.
    expect(gw.output()).not.toContain(admin);
    expect(gw.output()).not.toContain(READER);
    // Logging was on: the bad bind was logged, without the password.
    expect(gw.output()).toMatch(/sync failed/);
    // At rest the password is sealed: no file of the data folder holds it in clear.
    for (const name of await readdir(dataDir)) {
      const bytes = await readFile(path.join(dataDir, name));
      expect(bytes.includes(Buffer.from(SECRET)), name).toBe(false);
    }
  });

  it('the data folder is 0700 and every file in it (token, key, SQLite files and their journals) 0600', async () => {
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    const names = await readdir(dataDir);
    expect(names).toEqual(
      expect.arrayContaining(['admin-token', 'secret-key', 'cache.sqlite', 'settings.sqlite']),
    );
    for (const name of names) {
      const s = await stat(path.join(dataDir, name));
      if (s.isFile()) expect((s.mode & 0o777).toString(8), name).toBe('600');
    }
  });
});

describe('TLS to the directory', () => {
  async function tlsRun(extra: Record<string, unknown>): Promise<ConnectionView> {
    const slapd = sharedSlapd();
    const id = await addConnection({
      name: `TLS ${JSON.stringify(extra).slice(0, 40)}`,
      domain: 'corp.test',
      searchBase: `ou=Groups,${slapd.baseDn}`,
      bindDn: slapd.reader.dn,
      bindPassword: slapd.reader.password,
      allowPlaintextBind: true,
      ...extra,
    });
    const c = await sync(id);
    await must('mutation($id: ID!) { deleteConnection(id: $id) }', { id });
    return c;
  }

  function certificates() {
    const info = directories().certificates;
    if (!info) throw new Error('no shared certificates');
    return info;
  }

  it('LDAPS: a certificate signed by an unknown CA is refused, by the system store too', async () => {
    const { ldapsUrl } = sharedSlapd();
    const unknown = await tlsRun({
      tls: 'LDAPS',
      servers: [ldapsUrl],
      caCertificate: certificates().unknownCaPem,
    });
    expect(unknown.status).toBe('FAILED');
    expect(unknown.lastSync?.error).toMatch(/certificate|TLS/i);
    const system = await tlsRun({ tls: 'LDAPS', servers: [ldapsUrl] });
    expect(system.status).toBe('FAILED');
    expect(system.lastSync?.error).toMatch(/certificate|TLS/i);
  });

  it('LDAPS: the given CA verifies; tlsVerify false connects without one', async () => {
    const { ldapsUrl } = sharedSlapd();
    expect(
      (await tlsRun({ tls: 'LDAPS', servers: [ldapsUrl], caCertificate: certificates().caPem })).status,
    ).toBe('SUCCEEDED');
    expect((await tlsRun({ tls: 'LDAPS', servers: [ldapsUrl], tlsVerify: false })).status).toBe('SUCCEEDED');
  });

  it('StartTLS: unknown CA refused, given CA accepted', async () => {
    const { url } = sharedSlapd();
    const unknown = await tlsRun({
      tls: 'STARTTLS',
      servers: [url],
      caCertificate: certificates().unknownCaPem,
    });
    expect(unknown.status).toBe('FAILED');
    expect(unknown.lastSync?.error).toMatch(/certificate|TLS/i);
    expect(
      (await tlsRun({ tls: 'STARTTLS', servers: [url], caCertificate: certificates().caPem })).status,
    ).toBe('SUCCEEDED');
  });
});
