/**
 * The one wrapper around Keyv. Keyv swallows store errors unless told not
 * to; here every failure throws, so a locked or read-only disk surfaces as
 * an error in the operation that hit it instead of silently losing a write.
 */
import { chmod } from 'node:fs/promises';
import KeyvRedis from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import Keyv from 'keyv';
import { type Logger, silentLogger } from '../model/logger.js';
import { createManagedRedis, type ManagedRedis } from './redis-client.js';

export class StoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreError';
  }
}

export interface KvStore {
  get<T>(key: string): Promise<T | undefined>;
  getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
  /** Every key of this store's namespace (with values); order unspecified. */
  entries<T>(): AsyncGenerator<[string, T]>;
  /** Every key of this store's namespace, without reading the values (cheap on SQLite). */
  keys(): Promise<string[]>;
  close(): Promise<void>;
}

export interface KvStoreOptions {
  /** Where a Redis store logs its lost and restored connections. */
  readonly logger?: Logger;
}

/** Opens `sqlite://path`, `redis://…`, or `memory://` under a namespace. */
export async function openKvStore(
  uri: string,
  namespace: string,
  options: KvStoreOptions = {},
): Promise<KvStore> {
  let adapter: KeyvSqlite | KeyvRedis<unknown> | Map<string, unknown>;
  let redis: ManagedRedis | null = null;
  if (uri.startsWith('sqlite://')) {
    const sqlite = new KeyvSqlite({ uri, busyTimeout: 5000 });
    const file = uri.slice('sqlite://'.length);
    // The cache holds the whole address book and sealed bind passwords: owner only.
    await sqlite.query('SELECT 1');
    if (file !== ':memory:') await chmod(file, 0o600);
    // WAL lets readers go on while a snapshot is written; synchronous=FULL keeps each commit durable.
    await sqlite.query('PRAGMA journal_mode=WAL');
    await sqlite.query('PRAGMA synchronous=FULL');
    adapter = sqlite;
  } else if (uri.startsWith('redis://') || uri.startsWith('rediss://')) {
    // Our own client: logged, reconnecting with a bounded backoff, and failing operations at once
    // while Redis is down (StoreError) rather than queueing them for the length of the outage.
    redis = createManagedRedis(uri, {
      logger: options.logger ?? silentLogger,
      role: `store ${namespace}`,
      failFastOffline: true,
    });
    adapter = new KeyvRedis(redis.client, { throwOnConnectError: true, throwOnErrors: true });
  } else if (uri === 'memory://') {
    adapter = new Map();
  } else {
    throw new StoreError(`unsupported store URI: ${uri.replace(/\/\/.*@/, '//***@')}`);
  }
  const keyv = new Keyv({
    store: adapter,
    namespace,
    throwOnErrors: true,
    serialize: (data) => JSON.stringify(data),
    deserialize: (data) => JSON.parse(data),
  });
  let lastError: unknown = null;
  // Keyv emits errors as well as throwing them; an unhandled 'error' event would crash the process.
  keyv.on('error', (err: unknown) => {
    lastError = err;
  });
  const wrap = async <T>(what: string, op: () => Promise<T>): Promise<T> => {
    try {
      return await op();
    } catch (err) {
      throw new StoreError(
        `store ${namespace}: ${what} failed: ${(err as Error).message ?? String(lastError)}`,
        {
          cause: err,
        },
      );
    }
  };
  const store: KvStore = {
    get: <T>(key: string) => wrap('get', () => keyv.get<T>(key)),
    getMany: <T>(keys: readonly string[]) =>
      wrap('getMany', async () => (keys.length === 0 ? [] : keyv.getMany<T>([...keys]))),
    set: (key, value) =>
      wrap('set', async () => {
        const ok = await keyv.set(key, value);
        if (!ok) throw new StoreError(`store ${namespace}: set ${key} was refused`);
      }),
    delete: (key) =>
      wrap('delete', async () => {
        await keyv.delete(key);
      }),
    async *entries<T>(): AsyncGenerator<[string, T]> {
      if (adapter instanceof KeyvRedis) {
        // @keyv/redis lists by SCAN, then MGET: a key deleted in between comes back as null,
        // which Keyv's own iterator fails on (it reads `.expires` of nothing). Skip those.
        let listed: [string, unknown][];
        try {
          listed = [];
          for await (const entry of adapter.iterator(namespace)) listed.push(entry);
        } catch (err) {
          throw new StoreError(`store ${namespace}: list failed: ${(err as Error).message}`, { cause: err });
        }
        for (const [key, raw] of listed) {
          if (typeof raw !== 'string') continue;
          const data = JSON.parse(raw) as { value: T; expires?: number | null };
          if (typeof data.expires === 'number' && Date.now() > data.expires) continue;
          // Keyv prefixes its keys with `namespace:` besides the adapter's own prefix.
          yield [key.startsWith(`${namespace}:`) ? key.slice(namespace.length + 1) : key, data.value];
        }
        return;
      }
      const iterator = keyv.iterator;
      if (!iterator) throw new StoreError(`store ${namespace}: cannot list keys`);
      for await (const [key, value] of iterator(undefined) as AsyncGenerator<[string, T]>) {
        yield [key, value];
      }
    },
    async keys(): Promise<string[]> {
      if (adapter instanceof KeyvSqlite) {
        // Keyv stores `namespace:key`; `_` and `%` in the namespace would be LIKE wildcards, so compare exactly.
        const prefix = `${namespace}:`;
        const rows = await wrap(
          'keys',
          () =>
            adapter.query(
              `SELECT key FROM ${adapter.opts.table} WHERE substr(key, 1, ?) = ?`,
              prefix.length,
              prefix,
            ) as Promise<{ key: string }[]>,
        );
        return rows.map((r) => r.key.slice(prefix.length));
      }
      const out: string[] = [];
      for await (const [key] of store.entries<unknown>()) out.push(key);
      return out;
    },
    close: () => wrap('close', () => (redis ? redis.close() : keyv.disconnect())),
  };
  return store;
}
