/**
 * Subscription events. In one process an in-memory EventTarget carries
 * them; with DIRGATE_PUBSUB=redis://… every event is published to Redis and
 * dispatched from there, so a subscriber on any node sees every node's
 * events (each exactly once, its own included).
 */

import { createPubSub, type PubSub } from '@graphql-yoga/subscription';
import { createClient } from '@keyv/redis';
import type { FindingRecord } from '../model/node.js';
import type { SyncRunRecord } from '../model/run.js';

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

interface Publisher {
  publish(channel: string, message: string): Promise<unknown>;
}

/** An EventTarget whose dispatches travel through Redis pub/sub; listeners hear what Redis delivers. */
function redisEventTarget(publisher: Publisher, local: EventTarget): EventTarget {
  return {
    addEventListener: local.addEventListener.bind(local),
    removeEventListener: local.removeEventListener.bind(local),
    dispatchEvent(event: Event): boolean {
      const data = (event as CustomEvent<unknown>).detail;
      publisher.publish(CHANNEL_PREFIX + event.type, JSON.stringify(data)).catch(() => {
        // Redis down: deliver locally so this node's subscribers still hear this node.
        local.dispatchEvent(new CustomEvent(event.type, { detail: data }));
      });
      return true;
    },
  };
}

export async function createEventBus(redisUrl: string | null): Promise<EventBus> {
  if (!redisUrl) return { pubsub: createPubSub<Topics>(), close: async () => {} };
  const publisher = createClient({ url: redisUrl });
  const subscriber = publisher.duplicate();
  await publisher.connect();
  await subscriber.connect();
  const local = new EventTarget();
  await subscriber.pSubscribe(`${CHANNEL_PREFIX}*`, (message, channel) => {
    local.dispatchEvent(
      new CustomEvent(channel.slice(CHANNEL_PREFIX.length), { detail: JSON.parse(message) }),
    );
  });
  const target = redisEventTarget(publisher, local);
  return {
    pubsub: createPubSub<Topics>({ eventTarget: target as never }),
    close: async () => {
      await subscriber.quit().catch(() => {});
      await publisher.quit().catch(() => {});
    },
  };
}
