/**
 * A subscription's event backlog (src/graphql/websocket.ts boundedEvents):
 * drained from its source as events come, at most `maxPending` waiting for
 * the consumer, one more ends it; and the per-socket operation cap.
 */
import { createPubSub } from '@graphql-yoga/subscription';
import { describe, expect, it } from 'vitest';
import { boundedEvents, operationCapError } from '../../src/graphql/websocket.js';

const tick = () => new Promise((r) => setImmediate(r));

function source() {
  const pubsub = createPubSub<{ E: [number] }>();
  return { events: pubsub.subscribe('E'), publish: (n: number) => pubsub.publish('E', n) };
}

describe('boundedEvents', () => {
  it('passes events through in order while the consumer keeps up', async () => {
    const { events, publish } = source();
    const iter = boundedEvents(events, { maxPending: 2, onOverflow: () => expect.fail('overflow') })[
      Symbol.asyncIterator
    ]();
    const first = iter.next();
    await tick();
    publish(1);
    expect(await first).toEqual({ value: 1, done: false });
    for (const n of [2, 3]) publish(n);
    await tick();
    expect(await iter.next()).toEqual({ value: 2, done: false });
    expect(await iter.next()).toEqual({ value: 3, done: false });
    await iter.return?.();
  });

  it('drains the source while the consumer is away, and ends it (once) past maxPending', async () => {
    const { events, publish } = source();
    let overflows = 0;
    const iter = boundedEvents(events, { maxPending: 3, onOverflow: () => overflows++ })[
      Symbol.asyncIterator
    ]();
    await tick();
    // Over 1,024 events waiting in the source itself would throw inside publish: it never gets there.
    for (let n = 0; n < 2_000; n++) {
      publish(n);
      await tick();
    }
    expect(overflows).toBe(1);
    expect(await iter.next()).toEqual({ value: undefined, done: true });
    // The source has ended: its listener is gone, further events go nowhere.
    expect(await events.next()).toEqual({ value: undefined, done: true });
  });

  it('ends a consumer waiting for an event at once when returned', async () => {
    const { events } = source();
    const iter = boundedEvents(events, { maxPending: 3, onOverflow: () => {} })[Symbol.asyncIterator]();
    const waiting = iter.next();
    await tick();
    await iter.return?.();
    expect(await waiting).toEqual({ value: undefined, done: true });
  });

  it("passes the source's error on", async () => {
    async function* failing() {
      yield 1;
      throw new Error('source broke');
    }
    const iter = boundedEvents(failing(), { maxPending: 3, onOverflow: () => {} })[Symbol.asyncIterator]();
    expect(await iter.next()).toEqual({ value: 1, done: false });
    await expect(iter.next()).rejects.toThrow('source broke');
  });
});

describe('operationCapError', () => {
  it('lets up to the cap run and refuses the next with LIMIT_EXCEEDED', () => {
    expect(operationCapError(3, 3)).toBeUndefined();
    const refused = operationCapError(4, 3);
    expect(refused?.[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 3 });
  });
});
