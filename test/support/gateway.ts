/**
 * A real gateway for tests: in-process (createGateway + startServer on an
 * ephemeral loopback port, with a private data folder) and reached only
 * over real HTTP and WebSocket.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import type { DestinationStream } from 'pino';
import WebSocket from 'ws';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config/environment.js';
import { createLogger } from '../../src/logging.js';
import { type RunningServer, type ServerOptions, startServer } from '../../src/server.js';

export const READER_TOKEN = 'reader-token-for-tests-0123456789';

export interface GraphQLResponse<T> {
  readonly status: number;
  readonly data: T | null | undefined;
  readonly errors:
    | readonly {
        message: string;
        path?: readonly (string | number)[];
        extensions?: Record<string, unknown>;
      }[]
    | undefined;
}

export interface TestGateway {
  readonly url: string;
  readonly wsUrl: string;
  readonly adminToken: string;
  readonly readerToken: string;
  readonly dataDir: string;
  readonly gateway: Gateway;
  /** Sends an operation over HTTP; `token: null` sends none. */
  request<T, V>(
    doc: TypedDocumentNode<T, V>,
    variables?: V,
    token?: string | null,
  ): Promise<GraphQLResponse<T>>;
  /** Like request, but fails the test on any error and returns the data. */
  ok<T, V>(doc: TypedDocumentNode<T, V>, variables?: V, token?: string | null): Promise<T>;
  /** A graphql-ws client authenticated with `token` (admin by default). */
  ws(token?: string | null): Client;
  /** Stops the server and the gateway, keeping the data folder. */
  stop(): Promise<void>;
  /** Stops, then removes the data folder. */
  dispose(): Promise<void>;
}

export interface TestGatewayOptions extends GatewayOptions {
  readonly env?: Record<string, string>;
  /** Reuse a data folder (restart tests); a fresh temporary one otherwise. */
  readonly dataDir?: string;
  readonly logLevel?: string;
  /** Log lines go here as JSON instead (tests that check what was logged). */
  readonly logStream?: DestinationStream;
  /** The HTTP server's options (lower transport limits). */
  readonly server?: ServerOptions;
}

export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'dirgate-test-')));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DIRGATE_DATA_DIR: dataDir,
    DIRGATE_READER_TOKEN: READER_TOKEN,
    DIRGATE_SCHEDULER: 'false',
    DIRGATE_NODE_NAME: 'test-node',
    DIRGATE_LOG_LEVEL: options.logLevel ?? process.env.DIRGATE_TEST_LOG_LEVEL ?? 'silent',
    ...options.env,
  });
  const logger = createLogger(config.logLevel, options.logStream ? { stream: options.logStream } : {});
  const gateway = await createGateway(config, logger, options);
  const server: RunningServer = await startServer(gateway, options.server);
  const adminToken = gateway.secrets.adminToken;
  const clients: Client[] = [];

  const request = async <T, V>(
    doc: TypedDocumentNode<T, V>,
    variables?: V,
    token: string | null = adminToken,
  ): Promise<GraphQLResponse<T>> => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query: print(doc), variables: variables ?? {} }),
    });
    const body = (await res.json()) as { data?: T | null; errors?: GraphQLResponse<T>['errors'] };
    return { status: res.status, data: body.data, errors: body.errors };
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const c of clients) await c.dispose();
    await server.close();
    await gateway.stop();
  };
  return {
    url: server.url,
    wsUrl: server.url.replace(/^http/, 'ws'),
    adminToken,
    readerToken: READER_TOKEN,
    dataDir,
    gateway,
    request,
    async ok(doc, variables, token) {
      const res = await request(doc, variables, token);
      if (res.errors?.length || !res.data) {
        throw new Error(`GraphQL errors (HTTP ${res.status}): ${JSON.stringify(res.errors)}`);
      }
      return res.data;
    },
    ws(token: string | null = adminToken) {
      const client = createClient({
        url: server.url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        retryAttempts: 0,
        lazy: false,
      });
      clients.push(client);
      return client;
    },
    stop,
    async dispose() {
      await stop();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
