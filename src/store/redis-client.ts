/**
 * The node-redis clients of the settings store and the event bus, made to
 * outlive Redis. Every client has an `error` listener (without one, node-redis
 * re-emits a lost connection as an uncaught exception), reconnects with a
 * bounded, jittered backoff for as long as the process runs, and logs one
 * line when the connection is lost and one when it is back, however many
 * attempts lie between. node-redis itself resubscribes the channels of a
 * subscriber when it reconnects.
 */
import { createClient } from '@keyv/redis';
import type { Logger } from '../model/logger.js';
import { MIN_TLS_VERSION } from '../model/tls.js';

export type RedisClient = ReturnType<typeof createClient>;

export interface ManagedRedisOptions {
  readonly logger: Logger;
  /** What the client is for, in its log lines ("settings store", "event subscriber"). */
  readonly role: string;
  /**
   * Commands fail at once while the connection is down (instead of waiting in
   * node-redis's offline queue until Redis is back, which would hang every
   * caller for the whole outage).
   */
  readonly failFastOffline: boolean;
}

export interface ManagedRedis {
  readonly client: RedisClient;
  /** Closes gracefully if Redis answers within `timeoutMs`, else drops the socket; never throws. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * The first connection gives up after this long: a gateway must not hang at
 * start on a wrong URL or a Redis that is not there (its supervisor restarts
 * it), and a signal during start-up must still end it in time.
 */
const FIRST_CONNECT_MS = 5_000;
const BACKOFF_CAP_MS = 5_000;

/**
 * 100 ms doubling up to 5 s, each delay drawn from its upper half so that the
 * nodes of a cluster do not reconnect in lockstep after a Redis restart.
 */
export function reconnectDelay(retries: number): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, 100 * 2 ** Math.min(retries, 16));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** The URL without its password, for log lines. */
export function redactRedisUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

export function createManagedRedis(url: string, options: ManagedRedisOptions): ManagedRedis {
  const { logger, role } = options;
  const where = redactRedisUrl(url);
  let everReady = false;
  let firstAttemptAt: number | null = null;
  let lostAt: number | null = null;
  let closing = false;
  const client: RedisClient = createClient({
    url,
    disableOfflineQueue: options.failFastOffline,
    socket: {
      // rediss://: TLS 1.2 at least, whatever NODE_OPTIONS lowered the process default to.
      ...(url.startsWith('rediss://') ? { tls: true as const, minVersion: MIN_TLS_VERSION } : {}),
      connectTimeout: 5_000,
      reconnectStrategy: (retries: number, cause: Error) => {
        if (closing) return false;
        const delay = reconnectDelay(retries);
        if (!everReady) {
          firstAttemptAt ??= Date.now();
          if (Date.now() - firstAttemptAt + delay > FIRST_CONNECT_MS) {
            // Reset, so that the next connect() (a later store operation) gets its own bound.
            firstAttemptAt = null;
            return new Error(`${role}: Redis at ${where} unreachable: ${cause.message}`);
          }
        }
        return delay;
      },
    },
  });
  client.on('error', (err: unknown) => {
    if (closing) return;
    const message = err instanceof Error ? err.message || err.name : String(err);
    if (lostAt === null) {
      lostAt = Date.now();
      logger.warn({ role, redis: where, err: message }, 'redis connection lost; reconnecting');
    } else {
      logger.debug({ role, redis: where, err: message }, 'redis still unreachable');
    }
  });
  client.on('ready', () => {
    everReady = true;
    firstAttemptAt = null;
    if (lostAt !== null) {
      logger.info({ role, redis: where, downMs: Date.now() - lostAt }, 'redis connection restored');
      lostAt = null;
    }
  });
  return {
    client,
    async close(timeoutMs = 1_000): Promise<void> {
      closing = true;
      if (!client.isOpen) return;
      let timer: NodeJS.Timeout | undefined;
      const closed = await Promise.race([
        client.close().then(
          () => true,
          () => false,
        ),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      // Redis down: a graceful close would wait for replies that never come.
      if (!closed) client.destroy();
    },
  };
}
