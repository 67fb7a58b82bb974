/**
 * The HTTP edge: Apollo Server on /graphql (POST), graphql-ws subscriptions
 * on the same path, /healthz, /readyz and /metrics; the status page at `/`
 * and GraphiQL for browsers (src/http/). Authentication happens
 * here: a request without a valid bearer token gets 401 UNAUTHENTICATED; a
 * reader's mutation gets FORBIDDEN before anything executes.
 */
import { isUtf8 } from 'node:buffer';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { type GraphQLSchema, OperationTypeNode } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Gateway } from './app.js';
import type { DirectoryView } from './directory/directory-view.js';
import { LIMITS } from './graphql/arguments.js';
import { type Role, roleFor } from './graphql/auth.js';
import { compiledQueriesPlugin } from './graphql/compiled-queries.js';
import { codedError, ErrorCode, forbidden, formatError, unauthenticated } from './graphql/errors.js';
import { costPlugin, costRefusal, operationLimitsRule, scannedIn } from './graphql/limits.js';
import { createLoaders, type Loaders } from './graphql/loaders.js';
import { buildGatewaySchema } from './graphql/schema.js';
import type { GraphQLContext } from './graphql/services.js';
import {
  type EventBound,
  formatForClient,
  formatResult,
  operationCapError,
  prepareOperation,
  SLOW_READER_CLOSE,
  subscribePerEvent,
  subscriptionContext,
  WEBSOCKET_LIMITS,
  type WebSocketLimits,
} from './graphql/websocket.js';
import { mountStatusPages } from './http/status-page.js';

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly httpServer: Server;
  close(): Promise<void>;
}

const LIMITS_RULE = operationLimitsRule({ maxDepth: LIMITS.depth, maxAliases: LIMITS.aliases });
const MAX_BODY = '256kb';

/**
 * How long a client may take, and how much a socket may hold, before the
 * gateway lets it go. Not settings: no admin has a reason to tune them (a
 * request is at most MAX_BODY, answers are not bounded by these), and tests
 * lower them through startServer's options.
 */
export interface TransportLimits {
  /** Until the request's headers are in (a client that sends them slowly holds a socket: slowloris). */
  readonly headersTimeoutMs: number;
  /** Until the whole request, body included, is in. Not the time to answer it. */
  readonly requestTimeoutMs: number;
  /**
   * An idle kept-alive connection is closed after this. A proxy in front
   * that keeps connections to the gateway open must close them sooner.
   */
  readonly keepAliveTimeoutMs: number;
  /** How often Node checks the two timeouts above (its default, 30 s, would make them 30 s late). */
  readonly timeoutCheckMs: number;
  readonly webSocket: WebSocketLimits;
}

export const TRANSPORT_LIMITS: TransportLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  timeoutCheckMs: 1_000,
  webSocket: WEBSOCKET_LIMITS,
};

export interface ServerOptions {
  /** The schema to serve (default: the gateway's, built on its event bus). */
  readonly schema?: GraphQLSchema;
  /** Lower bounds for tests; the rest stay TRANSPORT_LIMITS. */
  readonly limits?: Partial<Omit<TransportLimits, 'webSocket'>> & {
    readonly webSocket?: Partial<WebSocketLimits>;
  };
}

/**
 * body-parser decodes invalid UTF-8 into U+FFFD without complaint, which
 * would silently store a different name or bind password than was sent.
 */
function refuseInvalidUtf8(_req: unknown, _res: unknown, body: Buffer): void {
  if (!isUtf8(body)) throw new InvalidBodyError('the request body is not valid UTF-8');
}

class InvalidBodyError extends Error {}

/** What the client is told when the body could not be read as a GraphQL request. */
function bodyRefusal(err: unknown): { status: number; code: string; message: string } {
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    status?: unknown;
    type?: unknown;
  };
  const status = typeof e.status === 'number' ? e.status : 500;
  if (err instanceof InvalidBodyError || (err instanceof Error && err.cause instanceof InvalidBodyError))
    return { status: 400, code: 'BAD_REQUEST', message: 'the request body is not valid UTF-8' };
  if (e.type === 'entity.verify.failed')
    return { status: 400, code: 'BAD_REQUEST', message: 'the request body is not valid UTF-8' };
  if (status === 413)
    return { status, code: ErrorCode.LIMIT_EXCEEDED, message: `the request body is larger than ${MAX_BODY}` };
  if (e.type === 'entity.parse.failed')
    return { status: 400, code: 'BAD_REQUEST', message: 'the request body is not valid JSON' };
  if (status >= 400 && status < 500)
    return { status, code: 'BAD_REQUEST', message: 'the request body could not be read' };
  return { status: 500, code: ErrorCode.INTERNAL_SERVER_ERROR, message: 'internal error' };
}

function loadersFor(gateway: Gateway, view: DirectoryView): Loaders {
  return createLoaders(view, gateway.services.connections, gateway.services.onLoaderBatch);
}

/** A request's context (an operation's over WebSocket, a subscription event's): the view served now. */
function contextFor(gateway: Gateway, role: Role): GraphQLContext {
  const view = gateway.services.directory.view;
  return { role, view, services: gateway.services, loaders: loadersFor(gateway, view) };
}

function rolePlugin(gateway: Gateway): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async didResolveOperation({ operation, contextValue }) {
          if (operation?.operation === OperationTypeNode.MUTATION && contextValue.role !== 'ADMIN') {
            throw forbidden('call mutations');
          }
          if (operation?.operation === OperationTypeNode.SUBSCRIPTION) {
            throw codedError(
              ErrorCode.BAD_USER_INPUT,
              'subscriptions are served over WebSocket (graphql-ws) on /graphql',
            );
          }
        },
        async willSendResponse({ operationName, errors }) {
          // Client-chosen names are not labels: only known ones are (unbounded series otherwise).
          const name = gateway.metrics.operationLabel(operationName);
          gateway.metrics.graphqlRequests.inc({ operation: name, outcome: errors?.length ? 'error' : 'ok' });
          gateway.metrics.graphqlLatency.observe({ operation: name }, (performance.now() - started) / 1000);
        },
      };
    },
  };
}

export async function startServer(gateway: Gateway, options: ServerOptions = {}): Promise<RunningServer> {
  const { config, logger } = gateway;
  const schema = options.schema ?? (await buildGatewaySchema(gateway.services.events.pubsub));
  const limits: TransportLimits = {
    ...TRANSPORT_LIMITS,
    ...options.limits,
    webSocket: { ...TRANSPORT_LIMITS.webSocket, ...options.limits?.webSocket },
  };
  const app = express();
  app.disable('x-powered-by');
  const httpServer = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: limits.timeoutCheckMs,
    },
    app,
  );
  const tokens = { adminToken: gateway.secrets.adminToken, readerToken: gateway.secrets.readerToken };
  const log = logger.child({ component: 'http' });
  const logInternal = (err: unknown) => log.error({ err }, 'internal error in a GraphQL request');

  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: 256 * 1024 });
  const ws = limits.webSocket;
  // A slow reader's socket is closed once, whichever of its subscriptions overflows first.
  const closeSlowReader = (socket: WebSocket, remote: string | undefined) => {
    if (socket.readyState !== socket.OPEN) return;
    log.warn(
      { remote, maxPendingEvents: ws.maxPendingEvents, bufferedBytes: socket.bufferedAmount },
      'closed a WebSocket whose client reads events slower than they come',
    );
    socket.close(SLOW_READER_CLOSE.code, SLOW_READER_CLOSE.reason);
    // The close frame waits behind what the client has not read: it gets a grace, then the socket goes.
    setTimeout(() => socket.terminate(), ws.slowReaderGraceMs).unref();
  };
  // The bound of each subscription, by its context (graphql-ws's `subscribe` sees only the arguments).
  const bounds = new WeakMap<object, EventBound>();
  const boundedSubscription = (extra: { socket: WebSocket; request: IncomingMessage }, role: Role) => {
    const context = subscriptionContext(role, gateway.services, (view) => loadersFor(gateway, view));
    bounds.set(context, {
      maxPending: ws.maxPendingEvents,
      onOverflow: () => closeSlowReader(extra.socket, extra.request.socket.remoteAddress),
    });
    return context;
  };
  const wsCleanup = useServer<Record<string, unknown>, { role?: Role }>(
    {
      schema,
      onConnect: (ctx) => {
        const auth = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const role = roleFor(typeof auth === 'string' ? auth : null, tokens);
        if (!role) return false;
        ctx.extra.role = role;
        return true;
      },
      // Parse, validation, the operation and the role check happen in onSubscribe, as over HTTP.
      onSubscribe: (ctx, _id, payload) => {
        // Operations over WebSocket count in the same metric as HTTP ones.
        gateway.metrics.graphqlRequests.inc({
          operation: gateway.metrics.operationLabel(payload.operationName),
          outcome: 'websocket',
        });
        // graphql-ws has registered this operation already: it counts.
        const capped = operationCapError(Object.keys(ctx.subscriptions).length, ws.maxOperations);
        if (capped) return capped;
        const role = ctx.extra.role ?? 'READER';
        const prepared = prepareOperation(schema, [LIMITS_RULE], payload, role);
        if (Array.isArray(prepared)) return prepared;
        const refusal = costRefusal(LIMITS.cost, {
          schema,
          ...prepared,
          variables: payload.variables,
          scanned: scannedIn(gateway.services.directory.view),
        });
        if (refusal) return [refusal];
        const isSubscription = prepared.operation.operation === OperationTypeNode.SUBSCRIPTION;
        return {
          schema,
          document: prepared.document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          // A query or mutation reads one view, as a request does; a subscription's events each their own.
          contextValue: isSubscription ? boundedSubscription(ctx.extra, role) : contextFor(gateway, role),
        };
      },
      subscribe: (args) =>
        subscribePerEvent(args, (role) => contextFor(gateway, role), bounds.get(args.contextValue as object)),
      // Every error that leaves goes through the formatter HTTP answers use.
      onNext: (_ctx, _id, _payload, _args, result) => formatResult(result, logInternal),
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatForClient(e, logInternal)),
    },
    wsServer,
    ws.keepAliveMs,
  );

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: false,
    // Automatic persisted queries (on by default in Apollo Server) let any client store queries in
    // the server's memory under hashes of its choosing and run them by hash, bypassing the query in
    // the request. The UI and the dirgate command send whole queries; nothing needs them.
    persistedQueries: false,
    introspection: true,
    // The process owns its signals (src/process-lifecycle.ts). Apollo's own handlers would stop the server
    // first, and its stop() never settles a second caller's wait (the barrier is resolved only
    // on error in @apollo/server 5.5): our stop then hung until the guard killed the process.
    stopOnTerminationSignals: false,
    validationRules: [LIMITS_RULE],
    formatError: (formatted, error) => formatError(formatted, error, logInternal),
    plugins: [
      // Requests in flight get 3 s to finish; then their sockets close, so that a slow client
      // cannot hold the process past the 10 s that signals allow (RUNTIME.md, Signals).
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: 3_000 }),
      {
        async serverWillStart() {
          return {
            async drainServer() {
              await wsCleanup.dispose();
            },
          };
        },
      },
      ApolloServerPluginLandingPageDisabled(),
      // Nothing here is HTTP-cacheable; computing cache hints would cost a hook on every field.
      ApolloServerPluginCacheControlDisabled(),
      rolePlugin(gateway),
      costPlugin(LIMITS.cost),
      // Last: it answers only what the plugins before it let through.
      compiledQueriesPlugin<GraphQLContext>(schema, {
        onOutcome: (outcome) => gateway.metrics.compiledQueries.inc({ outcome }),
      }),
    ],
  });
  await apollo.start();

  app.get('/healthz', (_req, res) => {
    res.status(200).json({ status: 'ok', node: config.nodeName });
  });
  app.get('/readyz', (_req, res) => {
    res.status(gateway.ready ? 200 : 503).json({ ready: gateway.ready });
  });
  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', gateway.metrics.registry.contentType);
    res.send(await gateway.metrics.registry.metrics());
  });
  // The status page at /, GraphiQL for browsers at GET /graphql, their files under /assets/.
  mountStatusPages(app);
  app.use(
    '/graphql',
    express.json({ limit: MAX_BODY, verify: refuseInvalidUtf8 }),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        const role = roleFor(req.headers.authorization, tokens);
        if (!role) throw unauthenticated();
        return contextFor(gateway, role);
      },
    }),
  );
  // Last: body-parser's refusals (bad JSON, too large, bad UTF-8) as coded JSON, never Express's HTML page with a stack.
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const refusal = bodyRefusal(err);
    if (refusal.status >= 500) log.error({ err }, 'internal error in an HTTP request');
    res
      .status(refusal.status)
      .json({ errors: [{ message: refusal.message, extensions: { code: refusal.code } }] });
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${port}/graphql`,
    port,
    httpServer,
    close() {
      closing ??= apollo.stop();
      return closing;
    },
  };
}
