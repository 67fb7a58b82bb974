/**
 * Operations over graphql-ws answered as Apollo answers them over HTTP: the
 * same stages (parse, validation with the limits rule, the operation's
 * resolution, the role check), the same code for each stage's errors and
 * the same formatter for every error that leaves, so that an internal error
 * is masked on the socket as it is in a response body.
 *
 * A subscription's events are each executed with a context of their own:
 * the view served when the event goes out and fresh loaders. The context of
 * the subscription itself (what its `subscribe` and filters see) holds no
 * view, so no socket keeps an old snapshot alive.
 *
 * A socket is bounded (WEBSOCKET_LIMITS): pings find dead peers, it runs a
 * capped number of operations at once, and a subscription whose client
 * reads slower than events come holds a bounded backlog. graphql-ws sends
 * one event at a time and waits until the previous one is written to the
 * kernel, so what a reader that stops reading costs is not the socket's
 * buffer (one message per operation) but the events queued in front of it:
 * unbounded, they grow until the event source's queue overflows
 * (@repeaterjs/repeater throws past 1,024 pending events, inside the
 * publisher's dispatch). So every subscription pulls its events into a queue
 * of its own, and a full queue closes the socket.
 */
import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  type FormattedExecutionResult,
  GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
  OperationTypeNode,
  parse,
  specifiedRules,
  type ValidationRule,
  validate,
} from 'graphql';
import type { Role } from './auth.js';
import { ErrorCode, forbidden, formatError, limitExceeded } from './errors.js';
import type { GraphQLContext } from './services.js';

export interface WebSocketLimits {
  /**
   * The server pings every socket this often; one that has not answered by
   * the next ping is cut (graphql-ws/use/ws's keep-alive, whose own default
   * this is). A peer that vanished without closing is let go within twice this.
   */
  readonly keepAliveMs: number;
  /**
   * Operations one socket runs at once; one more is refused with
   * LIMIT_EXCEEDED and the others go on. The status page runs two.
   */
  readonly maxOperations: number;
  /**
   * Events one subscription holds for a client that reads slower than they
   * come; one more closes the socket with SLOW_READER_CLOSE. Events are
   * shared between subscribers, so a queued one costs a reference.
   */
  readonly maxPendingEvents: number;
  /** After the close frame (queued behind what the reader did not read), how long before the socket is cut. */
  readonly slowReaderGraceMs: number;
}

export const WEBSOCKET_LIMITS: WebSocketLimits = {
  keepAliveMs: 12_000,
  maxOperations: 32,
  maxPendingEvents: 256,
  slowReaderGraceMs: 5_000,
};

/** RFC 6455's "Try Again Later": the client may reconnect, and then reads from the current state. */
export const SLOW_READER_CLOSE = { code: 1013, reason: 'the client reads events slower than they come' };

/**
 * The refusal of an operation over the socket's cap, or undefined.
 * `running` counts the socket's operations, the new one included (graphql-ws
 * registers it before onSubscribe).
 */
export function operationCapError(running: number, max: number): GraphQLError[] | undefined {
  if (running <= max) return undefined;
  return [
    limitExceeded(`at most ${max} operations may run at once on one WebSocket; complete one first`, {
      reason: 'LIMIT_EXCEEDED',
      limit: max,
    }),
  ];
}

/** A subscription's bound on its backlog: at most `maxPending` events, then `onOverflow` once. */
export interface EventBound {
  readonly maxPending: number;
  readonly onOverflow: () => void;
}

/**
 * `source`, pulled as fast as it yields into a queue of at most
 * `bound.maxPending` events. One more ends the source and calls
 * `bound.onOverflow`; the consumer then gets what was queued no more, only
 * the end.
 */
export function boundedEvents<T>(source: AsyncIterable<T>, bound: EventBound): AsyncIterable<T> {
  const iterator = source[Symbol.asyncIterator]();
  const queue: T[] = [];
  let ended = false;
  let failure: { readonly err: unknown } | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const stop = async () => {
    ended = true;
    queue.length = 0;
    notify();
    await iterator.return?.();
  };
  void (async () => {
    try {
      while (!ended) {
        const result = await iterator.next();
        if (ended) return;
        if (result.done) {
          ended = true;
          break;
        }
        if (queue.length >= bound.maxPending) {
          bound.onOverflow();
          await stop();
          return;
        }
        queue.push(result.value);
        notify();
      }
    } catch (err) {
      failure = { err };
      ended = true;
    }
    notify();
  })();
  const done: IteratorReturnResult<undefined> = { value: undefined, done: true };
  return {
    [Symbol.asyncIterator]: () => ({
      async next(): Promise<IteratorResult<T>> {
        for (;;) {
          if (queue.length > 0) return { value: queue.shift() as T, done: false };
          if (failure) throw failure.err;
          if (ended) return done;
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
      },
      async return(): Promise<IteratorResult<T>> {
        await stop();
        return done;
      },
    }),
  };
}

/** Apollo's codes for the stages before execution (its internalErrorClasses). */
const STAGE_CODE = {
  request: 'BAD_REQUEST',
  parse: 'GRAPHQL_PARSE_FAILED',
  validation: 'GRAPHQL_VALIDATION_FAILED',
  operation: 'OPERATION_RESOLUTION_FAILURE',
  variables: ErrorCode.BAD_USER_INPUT,
} as const;

function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError ?? error,
    extensions: { ...error.extensions, code },
  });
}

/** The operation graphql-js would run, or its own words for why there is none (as Apollo reports them). */
function resolveOperation(
  document: DocumentNode,
  operationName: string | null | undefined,
): OperationDefinitionNode | GraphQLError {
  let operation: OperationDefinitionNode | undefined;
  for (const def of document.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION) continue;
    if (operationName == null) {
      if (operation !== undefined)
        return new GraphQLError('Must provide operation name if query contains multiple operations.');
      operation = def;
    } else if (def.name?.value === operationName) {
      operation = def;
    }
  }
  if (operation) return operation;
  return new GraphQLError(
    operationName == null ? 'Must provide an operation.' : `Unknown operation named "${operationName}".`,
  );
}

export interface PreparedOperation {
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
}

/**
 * Parse, validation and the role check, in Apollo's order and with its
 * codes: what a socket's `subscribe` message goes through before it runs.
 */
export function prepareOperation(
  schema: GraphQLSchema,
  rules: readonly ValidationRule[],
  payload: { readonly query: string; readonly operationName?: string | null },
  role: Role,
): PreparedOperation | GraphQLError[] {
  if (payload.query === '')
    return [
      new GraphQLError(
        'GraphQL operations must contain a non-empty `query` or a `persistedQuery` extension.',
        { extensions: { code: STAGE_CODE.request } },
      ),
    ];
  let document: DocumentNode;
  try {
    document = parse(payload.query);
  } catch (err) {
    const error = err instanceof GraphQLError ? err : new GraphQLError(String(err));
    return [withCode(error, STAGE_CODE.parse)];
  }
  const invalid = validate(schema, document, [...specifiedRules, ...rules]);
  if (invalid.length > 0) return invalid.map((e) => withCode(e, STAGE_CODE.validation));
  const operation = resolveOperation(document, payload.operationName);
  if (operation instanceof GraphQLError) return [withCode(operation, STAGE_CODE.operation)];
  if (operation.operation === OperationTypeNode.MUTATION && role !== 'ADMIN')
    return [forbidden('call mutations')];
  return { document, operation };
}

/** Apollo's test for graphql-js's variable coercion errors, which it files as BAD_USER_INPUT. */
function isVariableCoercionError(error: GraphQLError): boolean {
  const node = error.nodes?.length === 1 ? error.nodes[0] : undefined;
  if (node?.kind !== Kind.VARIABLE_DEFINITION) return false;
  const prefix = `Variable "$${node.variable.name.value}" `;
  return ['has invalid value', 'got invalid value ', 'of required type ', 'of non-null type '].some((s) =>
    error.message.startsWith(prefix + s),
  );
}

/**
 * One error as Apollo sends it: its code (INTERNAL_SERVER_ERROR when it has
 * none), then the gateway's formatError, which masks what is not coded.
 */
export function formatForClient(error: GraphQLError, log: (err: unknown) => void): GraphQLFormattedError {
  try {
    const e =
      isVariableCoercionError(error) && error.extensions?.code == null
        ? withCode(error, STAGE_CODE.variables)
        : error;
    const { http: _http, ...rest }: Record<string, unknown> = e.extensions ?? {};
    const extensions = { ...rest, code: rest.code ?? ErrorCode.INTERNAL_SERVER_ERROR };
    return formatError({ ...e.toJSON(), extensions }, e, log);
  } catch (err) {
    log(err);
    return { message: 'Internal server error', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
  }
}

/** An execution result with its errors formatted for the client; undefined when it has none. */
export function formatResult(
  result: ExecutionResult,
  log: (err: unknown) => void,
): FormattedExecutionResult | undefined {
  if (!result.errors?.length) return undefined;
  return { ...result, errors: result.errors.map((e) => formatForClient(e, log)) };
}

/**
 * The context a subscription's source stream sees: the role and the
 * services, and the view and loaders of the moment they are read (a filter
 * that reads them gets the current ones); it keeps none of them.
 */
export function subscriptionContext(
  role: Role,
  services: GraphQLContext['services'],
  loadersFor: (view: GraphQLContext['view']) => GraphQLContext['loaders'],
): GraphQLContext {
  return {
    role,
    services,
    get view() {
      return services.directory.view;
    },
    get loaders() {
      return loadersFor(services.directory.view);
    },
  };
}

/**
 * graphql-js's subscribe, except that each event is executed with
 * `contextFor(role)`, a context made when that event goes out.
 */
export async function subscribePerEvent(
  args: ExecutionArgs,
  contextFor: (role: Role) => GraphQLContext,
  bound?: EventBound,
): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult> {
  const stream = await createSourceEventStream(args);
  if (!isAsyncIterable(stream)) return stream;
  // Bounded before the mapping: what waits is the event, executed only when it goes out.
  const source = bound ? boundedEvents(stream, bound) : stream;
  const role = (args.contextValue as GraphQLContext).role;
  return mapEvents(source, (payload) =>
    execute({ ...args, rootValue: payload, contextValue: contextFor(role) }),
  );
}

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return typeof Object(v)[Symbol.asyncIterator] === 'function';
}

/**
 * Maps an event stream as graphql-js does (not an async generator: `return`
 * must end a subscription that waits for its next event at once, and be
 * passed on to the source).
 */
function mapEvents<T, U>(
  iterable: AsyncIterable<T>,
  fn: (value: T) => U | Promise<U>,
): AsyncGenerator<U, undefined> {
  const iterator = iterable[Symbol.asyncIterator]();
  const done: IteratorReturnResult<undefined> = { value: undefined, done: true };
  const map = async (result: IteratorResult<T>): Promise<IteratorResult<U, undefined>> => {
    if (result.done) return done;
    try {
      return { value: await fn(result.value), done: false };
    } catch (err) {
      await iterator.return?.().catch(() => undefined);
      throw err;
    }
  };
  const mapped: AsyncGenerator<U, undefined> = {
    async next() {
      return map(await iterator.next());
    },
    async return() {
      if (iterator.return) await iterator.return();
      return done;
    },
    async throw(err: unknown) {
      if (iterator.throw) return map(await iterator.throw(err));
      throw err;
    },
    [Symbol.asyncIterator]() {
      return mapped;
    },
    async [Symbol.asyncDispose]() {
      await mapped.return(undefined);
    },
  };
  return mapped;
}
