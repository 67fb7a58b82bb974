/**
 * The compiled-query fast path inside a real Apollo Server pipeline
 * (executeOperation): answers equal the interpreter's, errors keep the
 * standard path's codes and formatting, mutations never take it, and an
 * operation is compiled only once it has been seen.
 */
import { ApolloServer, type GraphQLResponse } from '@apollo/server';
import { buildSchema, GraphQLError, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { type CompiledOutcome, compiledQueriesPlugin } from '../../src/graphql/compiled-queries.js';

const SDL = `
  type Item { id: ID! tags: [String!]! parent: Item }
  type Query {
    hello(name: String!): String!
    item(id: ID!): Item
    failing(after: Int!): String
  }
  type Mutation { bump: Int! }
`;

interface Fixture {
  readonly server: ApolloServer;
  readonly outcomes: CompiledOutcome[];
  readonly calls: { bump: number; failing: number };
}

async function fixture(
  options: { compileAfter?: number; compileWith?: GraphQLSchema } = {},
): Promise<Fixture> {
  const schema = buildSchema(SDL);
  const calls = { bump: 0, failing: 0 };
  const fields = (type: string) => {
    const t = schema.getType(type);
    if (!t || !('getFields' in t)) throw new Error(type);
    return t.getFields() as Record<string, { resolve?: (...args: never[]) => unknown }>;
  };
  const query = fields('Query');
  (query.hello as { resolve: unknown }).resolve = (_: unknown, a: { name: string }) => `hello ${a.name}`;
  (query.item as { resolve: unknown }).resolve = (_: unknown, a: { id: string }) => ({
    id: a.id,
    tags: [`t-${a.id}`, 'shared'],
    parent: { id: `${a.id}-parent`, tags: [], parent: null },
  });
  (query.failing as { resolve: unknown }).resolve = (_: unknown, a: { after: number }) => {
    calls.failing++;
    if (calls.failing > a.after)
      throw new GraphQLError('refused', { extensions: { code: 'LIMIT_EXCEEDED' } });
    return 'fine';
  };
  (fields('Mutation').bump as { resolve: unknown }).resolve = () => ++calls.bump;
  const outcomes: CompiledOutcome[] = [];
  const server = new ApolloServer({
    schema,
    formatError: (formatted) => ({ ...formatted, extensions: { ...formatted.extensions, formatted: true } }),
    plugins: [
      compiledQueriesPlugin(options.compileWith ?? schema, {
        compileAfter: options.compileAfter ?? 1,
        onOutcome: (o) => outcomes.push(o),
      }),
    ],
  });
  await server.start();
  return { server, outcomes, calls };
}

function single(response: GraphQLResponse): { data?: unknown; errors?: readonly unknown[] } {
  if (response.body.kind !== 'single') throw new Error('expected a single result');
  return response.body.singleResult as { data?: unknown; errors?: readonly unknown[] };
}

const ITEM = 'query Item($id: ID!) { item(id: $id) { id tags parent { id tags parent { id } } } }';

describe('compiled queries', () => {
  it('answers a query seen before with exactly what the interpreter answered', async () => {
    const f = await fixture();
    const first = single(await f.server.executeOperation({ query: ITEM, variables: { id: 'a' } }));
    expect(f.outcomes).toEqual([]);
    const second = single(await f.server.executeOperation({ query: ITEM, variables: { id: 'a' } }));
    const third = single(await f.server.executeOperation({ query: ITEM, variables: { id: 'b' } }));
    expect(f.outcomes).toEqual(['answered', 'answered']);
    expect(second).toEqual(first);
    expect(first.data).toEqual({
      item: { id: 'a', tags: ['t-a', 'shared'], parent: { id: 'a-parent', tags: [], parent: null } },
    });
    // Variables are read on every run, not baked into the compiled query.
    expect(third.data).toEqual({
      item: { id: 'b', tags: ['t-b', 'shared'], parent: { id: 'b-parent', tags: [], parent: null } },
    });
    await f.server.stop();
  });

  it('waits for compileAfter interpreted runs before compiling', async () => {
    const f = await fixture({ compileAfter: 3 });
    for (let i = 0; i < 3; i++) await f.server.executeOperation({ query: '{ hello(name: "x") }' });
    expect(f.outcomes).toEqual([]);
    const r = single(await f.server.executeOperation({ query: '{ hello(name: "x") }' }));
    expect(f.outcomes).toEqual(['answered']);
    expect(r.data).toEqual({ hello: 'hello x' });
    await f.server.stop();
  });

  it('hands a run that meets an error to the standard path: same code, formatted as always', async () => {
    const f = await fixture();
    const query = 'query F($n: Int!) { failing(after: $n) }';
    const ok = single(await f.server.executeOperation({ query, variables: { n: 1 } }));
    expect(ok.data).toEqual({ failing: 'fine' });
    const failed = single(await f.server.executeOperation({ query, variables: { n: 1 } }));
    expect(f.outcomes).toEqual(['fallback']);
    expect(failed.errors).toEqual([
      expect.objectContaining({
        message: 'refused',
        path: ['failing'],
        extensions: expect.objectContaining({ code: 'LIMIT_EXCEEDED', formatted: true }),
      }),
    ]);
    expect(failed.data).toEqual({ failing: null });
    await f.server.stop();
  });

  it('lets bad variables reach the standard path and its BAD_USER_INPUT', async () => {
    const f = await fixture();
    await f.server.executeOperation({ query: ITEM, variables: { id: 'a' } });
    const bad = single(await f.server.executeOperation({ query: ITEM, variables: { id: { no: 1 } } }));
    expect(f.outcomes).toEqual(['fallback']);
    expect(bad.errors).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }),
    ]);
    await f.server.stop();
  });

  it('never runs a mutation compiled, so it runs once per request', async () => {
    const f = await fixture();
    for (let i = 1; i <= 3; i++) {
      const r = single(await f.server.executeOperation({ query: 'mutation { bump }' }));
      expect(r.data).toEqual({ bump: i });
    }
    expect(f.calls.bump).toBe(3);
    expect(f.outcomes).toEqual([]);
    await f.server.stop();
  });

  it('keeps answering through the standard path when compiling fails', async () => {
    // A schema graphql-jit cannot read: compiling throws, the standard path answers.
    const broken = new Proxy(buildSchema(SDL), {
      get() {
        throw new Error('unreadable schema');
      },
    });
    const f = await fixture({ compileWith: broken });
    for (let i = 0; i < 3; i++) {
      const r = single(await f.server.executeOperation({ query: '{ hello(name: "y") }' }));
      expect(r.data).toEqual({ hello: 'hello y' });
    }
    // Refused once, then remembered: no compile attempt per request.
    expect(f.outcomes).toEqual(['uncompilable']);
    await f.server.stop();
  });
});
