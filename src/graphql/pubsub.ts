/**
 * Subscription events. In one process an in-memory EventTarget carries
 * them; with DIRGATE_PUBSUB=redis://… every event is published to Redis and
 * dispatched from there, so a subscriber on any node sees every node's
 * events (each exactly once, its own included).
 *
 * Redis is outside the process: it restarts, and anyone who can reach it
 * can publish on our channels. So the clients reconnect (and resubscribe)
 * on their own, an event that cannot be published is delivered to this
 * node's subscribers only, and a message that is not JSON or not the shape
 * of its topic is dropped with a log line instead of reaching a resolver.
 */

import { createPubSub, type PubSub } from '@graphql-yoga/subscription';
import { z } from 'zod';
import { DUPLICATE_KINDS } from '../model/finding.js';
import { type Logger, silentLogger } from '../model/logger.js';
import type { FindingRecord } from '../model/node.js';
import { PRINCIPAL_KINDS } from '../model/principal.js';
import type { SyncRunRecord } from '../model/run.js';
import { createManagedRedis } from '../store/redis-client.js';

export interface DuplicateWarningPayload {
  readonly node: string;
  readonly connectionId: string;
  readonly added: readonly FindingRecord[];
  readonly resolved: readonly string[];
}

export interface SyncEventPayload {
  readonly node: string;
  readonly run: SyncRunRecord;
}

/** Another node changed connection settings: reconcile schedules and caches. */
export interface SettingsChangedPayload {
  readonly node: string;
  readonly connectionId: string;
  readonly change: 'added' | 'updated' | 'deleted';
}

export type Topics = {
  DUPLICATE_WARNINGS: [DuplicateWarningPayload];
  SYNC_EVENTS: [SyncEventPayload];
  SETTINGS_CHANGED: [SettingsChangedPayload];
};

export const TOPICS = {
  DUPLICATE_WARNINGS: 'DUPLICATE_WARNINGS',
  SYNC_EVENTS: 'SYNC_EVENTS',
  SETTINGS_CHANGED: 'SETTINGS_CHANGED',
} as const;

export interface EventBus {
  readonly pubsub: PubSub<Topics>;
  close(): Promise<void>;
}

const CHANNEL_PREFIX = 'dirgate:';

const counts = z.object({
  users: z.number(),
  groups: z.number(),
  contacts: z.number(),
  addresses: z.number(),
});
const changes = z.object({
  added: z.array(z.string()),
  updated: z.array(z.string()),
  removed: z.array(z.string()),
  // Absent from nodes that predate it.
  removedObjects: z
    .array(z.object({ id: z.string(), kind: z.enum(PRINCIPAL_KINDS), name: z.string() }))
    .optional(),
  addedCount: z.number(),
  updatedCount: z.number(),
  removedCount: z.number(),
});
const runFields = {
  id: z.string(),
  connectionId: z.string(),
  node: z.string(),
  trigger: z.enum(['SCHEDULE', 'MANUAL', 'STARTUP']),
  startedAt: z.iso.datetime(),
  server: z.string().nullable(),
  counts: counts.nullable(),
  changes: changes.nullable(),
  progress: z.number(),
};
const ended = { phase: z.literal('DONE'), finishedAt: z.iso.datetime() };
/** One shape per status, as SyncRunRecord is. */
const syncRun = z.discriminatedUnion('status', [
  z.object({
    ...runFields,
    status: z.literal('RUNNING'),
    phase: z.enum(['CONNECTING', 'READING', 'BUILDING', 'SAVING', 'DETECTING']),
    finishedAt: z.null(),
    error: z.null(),
  }),
  z.object({ ...runFields, ...ended, status: z.literal('SUCCEEDED'), counts, error: z.null() }),
  z.object({ ...runFields, ...ended, status: z.literal('HELD'), counts, changes, error: z.string() }),
  z.object({
    ...runFields,
    ...ended,
    status: z.literal('FAILED'),
    error: z.string(),
    // Absent from nodes that predate it.
    failedPhase: z.enum(['CONNECTING', 'READING', 'BUILDING', 'SAVING', 'DETECTING']).optional(),
  }),
]);
const finding = z.object({
  id: z.string(),
  kind: z.enum(DUPLICATE_KINDS),
  value: z.string(),
  principalIds: z.array(z.string()),
  connectionIds: z.array(z.string()),
  detectedAt: z.iso.datetime(),
  // Absent from nodes that predate it.
  sameObject: z.boolean().optional(),
});

/**
 * What each topic's payload must hold: everything its resolvers read (a
 * run's dates, counts and enums), so that no stray message fails inside
 * one. Unknown fields are dropped, so newer nodes may add some.
 */
const PAYLOADS: { readonly [T in keyof Topics]: z.ZodType<Topics[T][0]> } = {
  DUPLICATE_WARNINGS: z.object({
    node: z.string(),
    connectionId: z.string(),
    added: z.array(finding),
    resolved: z.array(z.string()),
  }),
  SYNC_EVENTS: z.object({ node: z.string(), run: syncRun }),
  SETTINGS_CHANGED: z.object({
    node: z.string(),
    connectionId: z.string(),
    change: z.enum(['added', 'updated', 'deleted']),
  }),
};

function isTopic(name: string): name is keyof Topics {
  return Object.hasOwn(PAYLOADS, name);
}

/** The payload of a message received on `channel`, or why it is dropped. */
export function parseEventMessage(
  channel: string,
  message: string,
): { topic: keyof Topics; payload: unknown } | { error: string } {
  const topic = channel.startsWith(CHANNEL_PREFIX) ? channel.slice(CHANNEL_PREFIX.length) : '';
  if (!isTopic(topic)) return { error: 'unknown channel' };
  let data: unknown;
  try {
    data = JSON.parse(message);
  } catch {
    return { error: 'not JSON' };
  }
  const parsed = PAYLOADS[topic].safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { error: `not a ${topic} event: ${issue?.path.join('.') || '(top)'}: ${issue?.message ?? '?'}` };
  }
  return { topic, payload: parsed.data };
}

/** Dropped messages are logged one line each, at most this many per minute (a flood is one line more). */
const DROP_LOGS_PER_MINUTE = 20;
const DROPPED_EXCERPT = 200;

function dropLogger(logger: Logger): (channel: string, message: string, reason: string) => void {
  let windowStart = 0;
  let logged = 0;
  let suppressed = 0;
  return (channel, message, reason) => {
    const now = Date.now();
    if (now - windowStart >= 60_000) {
      if (suppressed > 0) logger.warn({ suppressed }, 'dropped more malformed event messages (not logged)');
      windowStart = now;
      logged = 0;
      suppressed = 0;
    }
    if (logged >= DROP_LOGS_PER_MINUTE) {
      suppressed++;
      return;
    }
    logged++;
    logger.warn(
      {
        channel,
        reason,
        bytes: message.length,
        message: message.length > DROPPED_EXCERPT ? `${message.slice(0, DROPPED_EXCERPT)}…` : message,
      },
      'dropped a malformed event message',
    );
  };
}

interface Publisher {
  publish(channel: string, message: string): Promise<unknown>;
}

/**
 * An EventTarget whose dispatches travel through Redis pub/sub; listeners
 * hear what Redis delivers. A publish that fails (Redis down) never reaches
 * the caller, the sync engine: the event goes to this node's subscribers
 * only, and the first failure of an outage is logged.
 */
function redisEventTarget(publisher: Publisher, local: EventTarget, logger: Logger): EventTarget {
  let failing = false;
  const deliverLocally = (type: string, data: unknown, err: unknown) => {
    if (!failing) {
      failing = true;
      logger.warn(
        { err: err instanceof Error ? err.message : String(err) },
        "publishing to Redis failed: events reach this node's subscribers only until it is back",
      );
    }
    local.dispatchEvent(new CustomEvent(type, { detail: data }));
  };
  return {
    addEventListener: local.addEventListener.bind(local),
    removeEventListener: local.removeEventListener.bind(local),
    dispatchEvent(event: Event): boolean {
      const data = (event as CustomEvent<unknown>).detail;
      try {
        publisher.publish(CHANNEL_PREFIX + event.type, JSON.stringify(data)).then(
          () => {
            if (failing) logger.info({}, 'publishing to Redis works again');
            failing = false;
          },
          (err: unknown) => deliverLocally(event.type, data, err),
        );
      } catch (err) {
        deliverLocally(event.type, data, err);
      }
      return true;
    },
  };
}

export async function createEventBus(
  redisUrl: string | null,
  logger: Logger = silentLogger,
): Promise<EventBus> {
  if (!redisUrl) return { pubsub: createPubSub<Topics>(), close: async () => {} };
  // Publishing fails at once while Redis is down (delivered locally instead); the subscriber's
  // subscription is restored by node-redis on every reconnect.
  const publisher = createManagedRedis(redisUrl, { logger, role: 'event publisher', failFastOffline: true });
  const subscriber = createManagedRedis(redisUrl, {
    logger,
    role: 'event subscriber',
    failFastOffline: false,
  });
  const dropped = dropLogger(logger);
  const local = new EventTarget();
  try {
    await publisher.client.connect();
    await subscriber.client.connect();
    await subscriber.client.pSubscribe(`${CHANNEL_PREFIX}*`, (message: string, channel: string) => {
      const parsed = parseEventMessage(channel, message);
      if ('error' in parsed) {
        dropped(channel, message, parsed.error);
        return;
      }
      local.dispatchEvent(new CustomEvent(parsed.topic, { detail: parsed.payload }));
    });
  } catch (err) {
    await Promise.all([subscriber.close(), publisher.close()]);
    throw err;
  }
  const target = redisEventTarget(publisher.client, local, logger);
  return {
    pubsub: createPubSub<Topics>({ eventTarget: target as never }),
    close: async () => {
      await Promise.all([subscriber.close(), publisher.close()]);
    },
  };
}
