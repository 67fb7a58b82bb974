/**
 * Hostile and malformed input on every argument of every query and
 * mutation, over the real HTTP API: LDAP filter and DN metacharacters, NUL,
 * lone surrogates, invalid UTF-8 bytes, over-long strings, huge lists, deep
 * and wide queries, batching, aliases, unknown fields, bodies that are not
 * GraphQL. Each gets a coded error (or, for text that is merely unusual, a
 * correct answer), changes nothing, leaks no stack trace, and the server
 * stays up. A fast-check generator drives the string arguments of the
 * mutations and searches.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import {
  buildSchema,
  type GraphQLArgument,
  GraphQLEnumType,
  type GraphQLField,
  GraphQLInputObjectType,
  type GraphQLInputType,
  GraphQLList,
  GraphQLNonNull,
  type GraphQLObjectType,
  GraphQLScalarType,
  getNamedType,
  isLeafType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddConnectionDocument, ConnectionsDocument, TooDeepDocument } from '../gql/graphql.js';
import { sharedSlapd } from '../support/directories.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { addSlapdConnection, syncNow } from '../support/sync.js';

const STRESS = process.env.DIRGATE_STRESS === '1';
const RUNS = STRESS ? 400 : 40;
const SCHEMA = buildSchema(
  readFileSync(path.resolve(import.meta.dirname, '../../schema/schema.graphql'), 'utf8'),
);

interface RawResponse {
  readonly status: number;
  readonly text: string;
  readonly body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: { code?: string; field?: string } }[];
  } | null;
}

let gw: TestGateway;
let syncedId: string;
let scratchId: string;
let syncedUsers: number;

async function post(
  body: string | Uint8Array,
  token: string | null = gw.adminToken,
  contentType = 'application/json',
): Promise<RawResponse> {
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
  const text = await res.text();
  let parsed: RawResponse['body'] = null;
  try {
    parsed = JSON.parse(text) as RawResponse['body'];
  } catch {
    parsed = null;
  }
  return { status: res.status, text, body: parsed };
}

function gql(query: string, variables: Record<string, unknown> = {}): Promise<RawResponse> {
  return post(JSON.stringify({ query, variables }));
}

const CODED = new Set([
  'BAD_USER_INPUT',
  'LIMIT_EXCEEDED',
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
  'BAD_REQUEST',
  'NOT_FOUND',
  'CONFLICT',
]);

/** Never a 5xx, never an internal error, never a stack trace or a source path. */
function expectSafe(res: RawResponse, what: string): void {
  expect(res.status, what).toBeLessThan(500);
  expect(res.text, what).not.toContain('INTERNAL_SERVER_ERROR');
  expect(res.text, what).not.toMatch(/\n\s+at |\bat [\w.<>]+ \(|stacktrace|node_modules|\.ts:\d+/);
}

/** A coded error (one of CODED), or a 4xx with no GraphQL body at all. */
function expectCoded(res: RawResponse, what: string, codes: readonly string[] = [...CODED]): string {
  expectSafe(res, what);
  if (!res.body?.errors) {
    expect(res.status, `${what}: ${res.text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
    return `HTTP ${res.status}`;
  }
  const code = res.body.errors[0]?.extensions?.code ?? '';
  expect(codes, `${what}: ${res.text.slice(0, 300)}`).toContain(code);
  return code;
}

function totalOf(res: RawResponse): number | undefined {
  return (res.body?.data?.users as { totalCount: number } | undefined)?.totalCount;
}

async function state(): Promise<string> {
  const c = await gw.ok(ConnectionsDocument, {});
  return JSON.stringify(c.connections);
}

/** Minimal valid variables for each argument type; the field under test is then replaced. */
function baseValue(type: GraphQLInputType, argName: string): unknown {
  if (type instanceof GraphQLNonNull) return baseValue(type.ofType, argName);
  if (type instanceof GraphQLList) return [baseValue(type.ofType, argName)];
  if (type instanceof GraphQLEnumType) return type.getValues()[0]?.value;
  if (type instanceof GraphQLInputObjectType) {
    if (type.name === 'AddConnectionInput')
      return {
        name: 'hostile',
        domain: 'hostile.test',
        searchBase: 'dc=hostile,dc=test',
        servers: ['ldap://127.0.0.1:1'],
      };
    return {};
  }
  if (type instanceof GraphQLScalarType) {
    if (type.name === 'ID') return /connection|^id$/i.test(argName) ? scratchId : 'no-such-id';
    if (type.name === 'String') return 'x';
    if (type.name === 'Int') return 1;
    if (type.name === 'Float') return 0.5;
    if (type.name === 'Boolean') return false;
  }
  return null;
}

interface StringSlot {
  readonly op: 'query' | 'mutation';
  readonly field: GraphQLField<unknown, unknown>;
  /** The argument, and for input objects the field inside it. */
  readonly arg: GraphQLArgument;
  readonly inner: string | null;
  readonly list: boolean;
  readonly label: string;
}

function unwrapList(type: GraphQLInputType): boolean {
  let t = type instanceof GraphQLNonNull ? type.ofType : type;
  if (t instanceof GraphQLList) return true;
  t = t as GraphQLInputType;
  return false;
}

/** Every String or ID argument (and input field) of every query and mutation in the schema. */
function stringSlots(): StringSlot[] {
  const slots: StringSlot[] = [];
  const roots: ['query' | 'mutation', GraphQLObjectType | null | undefined][] = [
    ['query', SCHEMA.getQueryType()],
    ['mutation', SCHEMA.getMutationType()],
  ];
  for (const [op, root] of roots) {
    for (const field of Object.values(root?.getFields() ?? {})) {
      for (const arg of field.args) {
        const named = getNamedType(arg.type);
        if (named.name === 'String' || named.name === 'ID') {
          slots.push({
            op,
            field,
            arg,
            inner: null,
            list: unwrapList(arg.type),
            label: `${field.name}(${arg.name})`,
          });
        } else if (named instanceof GraphQLInputObjectType) {
          for (const f of Object.values(named.getFields())) {
            const n = getNamedType(f.type);
            if (n.name === 'String' || n.name === 'ID')
              slots.push({
                op,
                field,
                arg,
                inner: f.name,
                list: unwrapList(f.type),
                label: `${field.name}(${arg.name}.${f.name})`,
              });
          }
        }
      }
    }
  }
  return slots;
}

function selection(field: GraphQLField<unknown, unknown>): string {
  return isLeafType(getNamedType(field.type)) ? '' : '{ __typename }';
}

/** The operation for a slot, with `value` in its place and valid values everywhere else. */
function operationFor(
  slot: StringSlot,
  value: unknown,
): { query: string; variables: Record<string, unknown> } {
  const variables: Record<string, unknown> = {};
  const defs: string[] = [];
  const args: string[] = [];
  for (const a of slot.field.args) {
    let v = baseValue(a.type, a.name);
    if (a === slot.arg) {
      const placed = slot.list ? [value] : value;
      v = slot.inner ? { ...(v as Record<string, unknown>), [slot.inner]: placed } : placed;
    }
    variables[a.name] = v;
    defs.push(`$${a.name}: ${a.type.toString()}`);
    args.push(`${a.name}: $${a.name}`);
  }
  const query = `${slot.op} Probe(${defs.join(', ')}) { ${slot.field.name}(${args.join(', ')}) ${selection(slot.field)} }`;
  return { query, variables };
}

beforeAll(async () => {
  const slapd = sharedSlapd();
  gw = await startTestGateway();
  syncedId = await addSlapdConnection(gw, slapd, { name: 'Shared' });
  const synced1 = await syncNow(gw, syncedId);
  expect(synced1.status).toBe('SUCCEEDED');
  syncedUsers = synced1.userCount;
  const scratch = await gw.ok(AddConnectionDocument, {
    input: {
      name: 'Scratch',
      domain: 'scratch.test',
      searchBase: 'dc=scratch,dc=test',
      servers: ['ldap://127.0.0.1:1'],
    },
  });
  scratchId = scratch.addConnection.id;
});

afterAll(async () => {
  await gw?.dispose();
});

describe('every string argument of every operation', () => {
  const slots = stringSlots();

  it('the schema has the arguments this suite expects to cover', () => {
    const labels = slots.map((s) => s.label);
    expect(labels).toEqual(
      expect.arrayContaining([
        'autocomplete(prefix)',
        'principalsByEmail(address)',
        'users(search)',
        'addConnection(input.name)',
        'addConnection(input.bindPassword)',
        'addConnection(input.servers)',
        'updateConnection(input.searchBase)',
        'updateConnection(id)',
        'deleteConnection(id)',
        'startSync(connectionId)',
        'confirmSync(runId)',
        'testConnection(input.userFilter)',
      ]),
    );
  });

  const bad: [string, string, readonly string[]][] = [
    ['NUL', 'a\u0000b', ['BAD_USER_INPUT']],
    ['a lone high surrogate', 'a\ud800b', ['BAD_USER_INPUT']],
    ['a lone low surrogate', '\udc00', ['BAD_USER_INPUT']],
    ['100,000 characters', 'x'.repeat(100_000), ['BAD_USER_INPUT', 'LIMIT_EXCEEDED']],
  ];
  for (const [what, value, codes] of bad) {
    it(`${what} in any of them: a coded error naming the argument, nothing changed`, async () => {
      const before = await state();
      const failures: string[] = [];
      for (const slot of slots) {
        const { query, variables } = operationFor(slot, value);
        const res = await gql(query, variables);
        expectSafe(res, slot.label);
        const code = res.body?.errors?.[0]?.extensions?.code;
        if (!code || !codes.includes(code))
          failures.push(`${slot.label}: ${code ?? 'no error'} ${res.text.slice(0, 160)}`);
        else if (code === 'BAD_USER_INPUT') {
          const field = res.body?.errors?.[0]?.extensions?.field;
          const expected = slot.inner ?? slot.arg.name;
          if (field !== undefined && !String(field).includes(expected))
            failures.push(`${slot.label}: names ${field}`);
        }
      }
      expect(failures).toEqual([]);
      expect(await state()).toBe(before);
    });
  }

  it('LDAP filter and DN metacharacters are plain text to the cache: no wildcard, no injection', async () => {
    for (const meta of ['*', '(', ')', '\\', '*)(|(mail=*', '\\2a', ')(objectClass=*)', '\\00']) {
      const auto = await gql('query($p: String!) { autocomplete(prefix: $p, first: 50) { address } }', {
        p: meta,
      });
      expectSafe(auto, meta);
      expect(auto.body?.data?.autocomplete, meta).toEqual([]);
      const users = await gql('query($s: String) { users(search: $s, first: 1) { totalCount } }', {
        s: meta,
      });
      expectSafe(users, meta);
      expect(totalOf(users), meta).toBe(0);
      const byEmail = await gql('query($a: String!) { principalsByEmail(address: $a) { id } }', { a: meta });
      expectSafe(byEmail, meta);
      expect(byEmail.body?.data?.principalsByEmail, meta).toEqual([]);
    }
    // And a real prefix still finds what it should.
    const real = await gql('{ autocomplete(prefix: "a", first: 5) { address } }');
    expect(((real.body?.data?.autocomplete ?? []) as unknown[]).length).toBeGreaterThan(0);
  });

  it('metacharacters in every string of a new connection: refused with a code, or stored exactly and removable', async () => {
    const before = await state();
    const input = {
      name: 'n*()\\',
      domain: 'meta.test',
      searchBase: 'ou=a\\2a\\28\\29\\5c,dc=meta,dc=test',
      servers: ['ldap://127.0.0.1:1'],
      bindDn: 'cn=x\\2a\\28,dc=meta,dc=test',
      bindPassword: 'pw-meta*()\\\u0001-secret',
      userFilter: '(&(objectClass=user)(cn=*\\2a*))',
      groupFilter: '(cn=*)',
      schedule: '*/5 * * * *',
    };
    const res = await gql(
      'mutation($i: AddConnectionInput!) { addConnection(input: $i) { id name searchBase bindDn userFilter } }',
      { i: input },
    );
    expectSafe(res, 'addConnection');
    const added = res.body?.data?.addConnection as
      | { id: string; name: string; searchBase: string; bindDn: string }
      | undefined;
    if (added) {
      expect(added.name).toBe(input.name);
      expect(added.searchBase).toBe(input.searchBase);
      expect(added.bindDn).toBe(input.bindDn);
      expect(res.text).not.toContain('pw-meta');
      const del = await gql('mutation($id: ID!) { deleteConnection(id: $id) }', { id: added.id });
      expect(del.body?.data?.deleteConnection).toBe(true);
    } else {
      expectCoded(res, 'addConnection', ['BAD_USER_INPUT']);
    }
    expect(await state()).toBe(before);
  });
});

describe('raw bodies', () => {
  it('invalid UTF-8 bytes in a variable: 400, nothing changed', async () => {
    const before = await state();
    const head = Buffer.from(
      '{"query":"mutation($i: AddConnectionInput!) { addConnection(input: $i) { id } }","variables":{"i":{"name":"bad',
    );
    const tail = Buffer.from(
      '","domain":"utf.test","searchBase":"dc=utf,dc=test","servers":["ldap://127.0.0.1:1"]}}}',
    );
    for (const bytes of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf]]) {
      const res = await post(Buffer.concat([head, Buffer.from(bytes), tail]));
      expectCoded(res, `bytes ${bytes.join(',')}`, ['BAD_REQUEST', 'BAD_USER_INPUT']);
      expect(res.status).toBe(400);
    }
    const query = Buffer.concat([
      Buffer.from('{"query":"{ autocomplete(prefix: \\"'),
      Buffer.from([0xfe, 0xff]),
      Buffer.from('\\") { address } }"}'),
    ]);
    expect((await post(query)).status).toBe(400);
    expect(await state()).toBe(before);
  });

  it('a lone surrogate escaped in JSON: a coded error', async () => {
    const res = await post(
      '{"query":"query($p: String!) { autocomplete(prefix: $p) { address } }","variables":{"p":"\\ud800"}}',
    );
    expectCoded(res, 'lone surrogate', ['BAD_USER_INPUT']);
  });

  const malformed: [string, string | Uint8Array, string?][] = [
    ['not JSON', '{"query": '],
    ['JSON that is not an object', '42'],
    [
      'a batch of two operations',
      JSON.stringify([{ query: '{ node { name } }' }, { query: '{ node { name } }' }]),
    ],
    [
      'a batch of 1,000 operations',
      JSON.stringify(Array.from({ length: 1000 }, () => ({ query: '{ domains { name } }' }))),
    ],
    ['no query', '{"variables":{}}'],
    ['a query that is not a string', '{"query":{"a":1}}'],
    ['variables that are not an object', '{"query":"{ node { name } }","variables":"x"}'],
    ['a body over the size limit', JSON.stringify({ query: `{ node { name } } #${'x'.repeat(400_000)}` })],
    ['text/plain (a CSRF-style request)', '{"query":"{ node { name } }"}', 'text/plain'],
    ['an unparsable query', JSON.stringify({ query: '{ node { name ' })],
  ];
  for (const [what, body, type] of malformed) {
    it(`${what}: 4xx with a code or plain refusal, no stack trace`, async () => {
      const res = await post(body, gw.adminToken, type);
      expectSafe(res, what);
      expect(res.status, res.text.slice(0, 300)).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    });
  }

  it('a parse failure is GRAPHQL_PARSE_FAILED; an unknown field GRAPHQL_VALIDATION_FAILED; an unknown input field BAD_USER_INPUT', async () => {
    expectCoded(await gql('{ node { name '), 'parse', ['GRAPHQL_PARSE_FAILED']);
    expectCoded(await gql('{ node { name password } }'), 'unknown field', ['GRAPHQL_VALIDATION_FAILED']);
    expectCoded(await gql('{ noSuchQuery }'), 'unknown root field', ['GRAPHQL_VALIDATION_FAILED']);
    const before = await state();
    expectCoded(
      await gql('mutation($i: AddConnectionInput!) { addConnection(input: $i) { id } }', {
        i: { name: 'x', domain: 'x.test', searchBase: 'dc=x', servers: [], admin: true },
      }),
      'unknown input field',
      ['BAD_USER_INPUT'],
    );
    expectCoded(
      await gql(
        'mutation { addConnection(input: { name: "x", domain: "x.test", searchBase: "dc=x", isAdmin: true }) { id } }',
      ),
      'unknown inline input field',
      ['GRAPHQL_VALIDATION_FAILED'],
    );
    expect(await state()).toBe(before);
  });
});

describe('huge lists, deep and wide queries', () => {
  it('10,000 servers: refused with a code, nothing changed', async () => {
    const before = await state();
    const servers = Array.from({ length: 10_000 }, (_, i) => `ldap://10.0.${i >> 8}.${i & 255}`);
    const add = await gql('mutation($i: AddConnectionInput!) { addConnection(input: $i) { id } }', {
      i: { name: 'many', domain: 'many.test', searchBase: 'dc=many,dc=test', servers },
    });
    expectCoded(add, 'addConnection servers', ['BAD_USER_INPUT', 'LIMIT_EXCEEDED', 'HTTP 413']);
    const update = await gql(
      'mutation($id: ID!, $s: [String!]) { updateConnection(id: $id, input: { servers: $s }) { id } }',
      {
        id: scratchId,
        s: servers,
      },
    );
    expectCoded(update, 'updateConnection servers', ['BAD_USER_INPUT', 'LIMIT_EXCEEDED']);
    const test = await gql('mutation($i: AddConnectionInput!) { testConnection(input: $i) { ok } }', {
      i: { name: 'many', domain: 'many.test', searchBase: 'dc=many,dc=test', servers },
    });
    expectCoded(test, 'testConnection servers', ['BAD_USER_INPUT', 'LIMIT_EXCEEDED']);
    expect(await state()).toBe(before);
  });

  it('kinds with 10,000 values: LIMIT_EXCEEDED', async () => {
    const res = await gql(
      'query($k: [PrincipalKind!]) { autocomplete(prefix: "a", kinds: $k) { address } }',
      {
        k: Array.from({ length: 10_000 }, (_, i) => (['USER', 'GROUP', 'CONTACT'] as const)[i % 3]),
      },
    );
    expectCoded(res, 'kinds', ['LIMIT_EXCEEDED', 'BAD_USER_INPUT']);
  });

  it('page sizes beyond the bounds: LIMIT_EXCEEDED; negative: BAD_USER_INPUT', async () => {
    expectCoded(await gql('{ users(first: 100000) { totalCount } }'), 'users first', ['LIMIT_EXCEEDED']);
    expectCoded(await gql('{ autocomplete(prefix: "a", first: 51) { address } }'), 'autocomplete first', [
      'LIMIT_EXCEEDED',
    ]);
    expectCoded(await gql('{ users(first: -1) { totalCount } }'), 'negative', [
      'BAD_USER_INPUT',
      'LIMIT_EXCEEDED',
    ]);
    expectCoded(await gql('{ users(first: 99999999999) { totalCount } }'), 'not an Int', [
      'GRAPHQL_VALIDATION_FAILED',
      'LIMIT_EXCEEDED',
      'BAD_USER_INPUT',
    ]);
    expectCoded(
      await gql('query($n: Int) { syncRuns(connectionId: "x", last: $n) { id } }', { n: 1e12 }),
      'Int',
      ['BAD_USER_INPUT'],
    );
  });

  it('a query nested past the depth bound: LIMIT_EXCEEDED before anything runs', async () => {
    const res = await gw.request(TooDeepDocument, { id: 'x' });
    expect(res.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
    // Much deeper, by fragments and inline fragments too.
    let deep = 'id';
    for (let i = 0; i < 200; i++) deep = `memberOf { ... on Group { ${deep} } }`;
    expectCoded(await gql(`{ principal(id: "x") { ${deep} } }`), 'deep', [
      'LIMIT_EXCEEDED',
      'GRAPHQL_VALIDATION_FAILED',
    ]);
    const fragments = Array.from(
      { length: 40 },
      (_, i) => `fragment F${i} on Group { memberOf { ...F${i + 1} } }`,
    );
    fragments.push('fragment F40 on Group { id }');
    expectCoded(
      await gql(`{ principal(id: "x") { ... on Group { ...F0 } } } ${fragments.join(' ')}`),
      'deep fragments',
      ['LIMIT_EXCEEDED'],
    );
  });

  const aliased: [string, string, string?][] = [
    ['node { name }', 'node{name}'],
    ['users(first: 1) { totalCount }', 'users(first:1){totalCount}'],
    ['users(search:) with a search', 'users(search:$s,first:1){totalCount}', '$s:String'],
    ['principalsByEmail', 'principalsByEmail(address:$s){id}', '$s:String!'],
    ['autocomplete', 'autocomplete(prefix:$s,first:1){address}', '$s:String!'],
    ['principal', 'principal(id:$s){id}', '$s:ID!'],
    ['isMember', 'isMember(address:"a",groupId:"a")'],
    ['a scalar field inside one object', 'name', undefined],
  ];
  for (const [what, field, defs] of aliased) {
    it(`the same field aliased 10,000 times (${what}): refused before it runs`, async () => {
      const aliases = Array.from({ length: 10_000 }, (_, i) => `a${i.toString(36)}:${field}`).join(' ');
      const query =
        what === 'a scalar field inside one object'
          ? `{ node { ${aliases} } }`
          : `query${defs ? `(${defs})` : ''} { ${aliases} }`;
      const started = Date.now();
      const res = await gql(query, defs ? { s: 'a' } : {});
      expectCoded(res, what, ['LIMIT_EXCEEDED', 'HTTP 413']);
      expect(Date.now() - started).toBeLessThan(5000);
    });
  }

  it('the server is still up and answering after all of it', async () => {
    const res = await gql('{ users(first: 1) { totalCount } }');
    expect(res.status).toBe(200);
    expect(totalOf(res)).toBeGreaterThan(0);
  });
});

describe('generated input (fast-check)', () => {
  const hostileChar = fc.constantFrom(
    '*',
    '(',
    ')',
    '\\',
    '\u0000',
    '\ud800',
    '\udc00',
    '=',
    ',',
    '+',
    '"',
    '<',
    '>',
    ';',
    '#',
    ' ',
    '\n',
    'a',
    'é',
    '😀',
    '\uffff',
    '\u202e',
    '@',
    '.',
    ':',
    '/',
  );
  const hostile: fc.Arbitrary<string> = fc.oneof(
    { weight: 4, arbitrary: fc.array(hostileChar, { maxLength: 40 }).map((a) => a.join('')) },
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 2000, maxLength: 6000 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('', ' ', 'x'.repeat(70_000), '\u0000'.repeat(1000), '\ud800'.repeat(500)),
    },
  );

  /** Runs one generated operation and checks the invariants; returns the created connection's id, if any. */
  async function check(query: string, variables: Record<string, unknown>, label: string): Promise<void> {
    const before = await state();
    const res = await gql(query, variables);
    expectSafe(res, label);
    if (res.body?.errors?.length) {
      expectCoded(res, label);
      expect(await state(), `${label}: an error changed something`).toBe(before);
      return;
    }
    expect(res.status, label).toBe(200);
    const created = (res.body?.data?.addConnection as { id?: string } | undefined)?.id;
    if (created) {
      const del = await gql('mutation($id: ID!) { deleteConnection(id: $id) }', { id: created });
      expect(del.body?.data?.deleteConnection).toBe(true);
    }
  }

  const connectionFields = [
    'name',
    'domain',
    'searchBase',
    'bindDn',
    'bindPassword',
    'userFilter',
    'groupFilter',
    'contactFilter',
    'schedule',
    'caCertificate',
    'server',
  ] as const;

  it('addConnection: every string field', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...connectionFields), hostile, async (field, value) => {
        const input: Record<string, unknown> = {
          name: 'gen',
          domain: 'gen.test',
          searchBase: 'dc=gen,dc=test',
          servers: ['ldap://127.0.0.1:1'],
        };
        if (field === 'server') input.servers = [value];
        else input[field] = value;
        await check(
          'mutation($i: AddConnectionInput!) { addConnection(input: $i) { id } }',
          { i: input },
          `add ${field}`,
        );
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('updateConnection: every string field and the id', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...connectionFields, 'id'), hostile, async (field, value) => {
        const input: Record<string, unknown> = {};
        if (field === 'server') input.servers = [value];
        else if (field !== 'id') input[field] = value;
        await check(
          'mutation($id: ID!, $i: UpdateConnectionInput!) { updateConnection(id: $id, input: $i) { id } }',
          { id: field === 'id' ? value : scratchId, i: input },
          `update ${field}`,
        );
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('autocomplete, principalsByEmail, users(search): never an internal error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('prefix', 'domain', 'address', 'search', 'after', 'connectionId'),
        hostile,
        async (arg, value) => {
          if (arg === 'prefix' || arg === 'domain')
            await check(
              'query($p: String!, $d: String) { autocomplete(prefix: $p, domain: $d, first: 50) { address } }',
              { p: arg === 'prefix' ? value : 'a', d: arg === 'domain' ? value : null },
              `autocomplete ${arg}`,
            );
          else if (arg === 'address')
            await check(
              'query($a: String!) { principalsByEmail(address: $a) { id } }',
              { a: value },
              'principalsByEmail',
            );
          else
            await check(
              'query($s: String, $a: String, $c: ID) { users(search: $s, after: $a, connectionId: $c, first: 5) { totalCount nodes { id } } }',
              {
                s: arg === 'search' ? value : null,
                a: arg === 'after' ? value : null,
                c: arg === 'connectionId' ? value : null,
              },
              `users ${arg}`,
            );
        },
      ),
      { numRuns: RUNS * 3 },
    );
    // Still up, still serving the synced snapshot.
    const res = await gql('query($c: ID) { users(connectionId: $c, first: 1) { totalCount } }', {
      c: syncedId,
    });
    expect(totalOf(res)).toBe(syncedUsers);
  });
});
