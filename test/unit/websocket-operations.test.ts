/**
 * src/graphql/websocket.ts on a small schema: each subscription event runs
 * with a context made for it, the subscription's own context keeps no view,
 * ending a subscription that waits for its next event ends its source at
 * once, and the stages before execution carry Apollo's codes.
 */
import { buildSchema, type ExecutionResult, GraphQLError, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { GraphQLContext } from '../../src/graphql/services.js';
import {
  formatForClient,
  prepareOperation,
  subscribePerEvent,
  subscriptionContext,
} from '../../src/graphql/websocket.js';

const schema = buildSchema(`
  type Query { hello: String }
  type Mutation { touch: Boolean }
  type Subscription { ticks: String }
`);

function source(events: string[]) {
  let ended = false;
  let wake: (() => void) | null = null;
  const iterator: AsyncGenerator<{ ticks: string }> = {
    async next() {
      const value = events.shift();
      if (value !== undefined) return { value: { ticks: value }, done: false };
      await new Promise<void>((r) => {
        wake = r;
      });
      return { value: undefined, done: true };
    },
    async return() {
      ended = true;
      wake?.();
      return { value: undefined, done: true };
    },
    async throw(err) {
      throw err;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
    async [Symbol.asyncDispose]() {},
  };
  return { iterator, ended: () => ended };
}

describe('subscribePerEvent', () => {
  it('executes each event with a context made for it, and ends its source at once', async () => {
    const { iterator, ended } = source(['a', 'b']);
    const tickSchema = buildSchema('type Query { x: String } type Subscription { ticks: String }');
    const ticks = tickSchema.getSubscriptionType()?.getFields().ticks;
    if (!ticks) throw new Error('no field');
    ticks.subscribe = () => iterator;
    ticks.resolve = (payload: { ticks: string }, _args, ctx: { view: string }) =>
      `${payload.ticks}@${ctx.view}`;
    let made = 0;
    const result = await subscribePerEvent(
      {
        schema: tickSchema,
        document: parse('subscription { ticks }'),
        contextValue: { role: 'READER' },
      },
      () => ({ role: 'READER', view: `v${++made}` }) as unknown as GraphQLContext,
    );
    if (!(Symbol.asyncIterator in result)) throw new Error(JSON.stringify(result));
    const first = await result.next();
    const second = await result.next();
    expect((first.value as ExecutionResult).data).toEqual({ ticks: 'a@v1' });
    expect((second.value as ExecutionResult).data).toEqual({ ticks: 'b@v2' });
    // The third event is awaited; return() must not wait for it.
    const pending = result.next();
    await result.return(undefined);
    expect(ended()).toBe(true);
    expect(await pending).toEqual({ value: undefined, done: true });
  });
});

describe('subscriptionContext', () => {
  it('reads the view served at each access and keeps none', () => {
    const directory = { view: 'first' };
    const ctx = subscriptionContext(
      'READER',
      { directory } as unknown as GraphQLContext['services'],
      (view) => ({ view }) as unknown as GraphQLContext['loaders'],
    );
    expect(ctx.view).toBe('first');
    directory.view = 'second';
    expect(ctx.view).toBe('second');
    expect((ctx.loaders as unknown as { view: string }).view).toBe('second');
    expect(Object.values(Object.getOwnPropertyDescriptors(ctx)).some((d) => d.value === 'first')).toBe(false);
  });
});

describe('prepareOperation', () => {
  const codes = (r: ReturnType<typeof prepareOperation>, role = 'READER') =>
    Array.isArray(r) ? r.map((e) => formatForClient(e, () => {}).extensions?.code) : role;

  it('files each stage under the code Apollo gives it', () => {
    expect(codes(prepareOperation(schema, [], { query: '' }, 'ADMIN'))).toEqual(['BAD_REQUEST']);
    expect(codes(prepareOperation(schema, [], { query: '{ hello' }, 'ADMIN'))).toEqual([
      'GRAPHQL_PARSE_FAILED',
    ]);
    expect(codes(prepareOperation(schema, [], { query: '{ nope }' }, 'ADMIN'))).toEqual([
      'GRAPHQL_VALIDATION_FAILED',
    ]);
    expect(
      codes(prepareOperation(schema, [], { query: 'query A { hello } query B { hello }' }, 'ADMIN')),
    ).toEqual(['OPERATION_RESOLUTION_FAILURE']);
    expect(codes(prepareOperation(schema, [], { query: 'mutation { touch }' }, 'READER'))).toEqual([
      'FORBIDDEN',
    ]);
    const ok = prepareOperation(schema, [], { query: 'mutation { touch }' }, 'ADMIN');
    expect(Array.isArray(ok) ? ok : ok.operation.operation).toBe('mutation');
  });

  it('masks an uncoded error and keeps no internal message', () => {
    const logged: unknown[] = [];
    const internal = new Error('SQLITE_MISUSE: Database is closed');
    const formatted = formatForClient(
      new GraphQLError(internal.message, { originalError: internal, path: ['connections'] }),
      (e) => logged.push(e),
    );
    expect(formatted).toEqual({
      message: 'internal error',
      path: ['connections'],
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(logged).toEqual([internal]);
  });
});
