/** Collecting graphql-ws subscription results in tests. */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

export interface Collector<T> {
  /** Every result received so far, in order. */
  readonly received: readonly T[];
  /** Errors the server sent for this subscription. */
  readonly errors: readonly unknown[];
  /** Resolves with the first received result (already received or coming) matching `test`. */
  until(test: (value: T) => boolean, timeoutMs?: number, what?: string): Promise<T>;
  stop(): void;
}

/**
 * Subscribes and collects. Resolves once the subscription has had time to be
 * registered on the server (graphql-ws acknowledges connections, not
 * subscriptions), so events caused after this are seen.
 */
export async function collect<T, V extends Record<string, unknown>>(
  client: Client,
  doc: TypedDocumentNode<T, V>,
  variables: V,
): Promise<Collector<T>> {
  const received: T[] = [];
  const errors: unknown[] = [];
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
  };
  const unsubscribe = client.subscribe<T>(
    { query: print(doc), variables },
    {
      next: (result) => {
        if (result.errors?.length) errors.push(...result.errors);
        if (result.data) received.push(result.data as T);
        wake();
      },
      error: (err) => {
        errors.push(describe(err));
        wake();
      },
      complete: () => wake(),
    },
  );
  await new Promise((r) => setTimeout(r, 300));
  return {
    received,
    errors,
    until(test, timeoutMs = 30_000, what = 'a matching event') {
      return new Promise<T>((resolve, reject) => {
        const check = () => {
          const hit = received.find(test);
          if (hit !== undefined) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(hit);
          } else if (errors.length > 0) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`subscription failed: ${JSON.stringify(errors)}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${what} within ${timeoutMs} ms; received ${JSON.stringify(received)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    stop: unsubscribe,
  };
}

/** Errors, close events and GraphQL errors as readable values. */
function describe(err: unknown): unknown {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  if (Array.isArray(err)) return err;
  if (err && typeof err === 'object' && 'code' in err) {
    const e = err as { code: unknown; reason?: unknown };
    return `closed ${String(e.code)} ${String(e.reason ?? '')}`;
  }
  return err;
}

/** A graphql-ws client for `url` (http or ws), with the token in connection_init as RUNTIME.md says. */
export function wsClient(url: string, token: string | null): Client {
  return createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: false,
  });
}
