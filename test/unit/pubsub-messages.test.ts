/** What the event bus accepts from Redis, and how its clients back off. */
import { describe, expect, it } from 'vitest';
import { parseEventMessage } from '../../src/graphql/pubsub.js';
import type { SyncRunRecord } from '../../src/model/run.js';
import { reconnectDelay, redactRedisUrl } from '../../src/store/redis-client.js';

const run: SyncRunRecord = {
  id: 'run-1',
  connectionId: 'c1',
  node: 'node-a',
  trigger: 'MANUAL',
  status: 'SUCCEEDED',
  phase: 'DONE',
  startedAt: '2025-01-01T00:00:00.000Z',
  finishedAt: '2025-01-01T00:00:01.000Z',
  server: 'ldap://127.0.0.1:389',
  counts: { users: 1, groups: 0, contacts: 0, addresses: 1 },
  error: null,
  changes: { added: ['c1:a'], updated: [], removed: [], addedCount: 1, updatedCount: 0, removedCount: 0 },
  progress: 1,
};

describe('parseEventMessage', () => {
  it('passes the events nodes publish', () => {
    expect(parseEventMessage('dirgate:SYNC_EVENTS', JSON.stringify({ node: 'node-a', run }))).toEqual({
      topic: 'SYNC_EVENTS',
      payload: { node: 'node-a', run },
    });
    const warning = {
      node: 'node-a',
      connectionId: 'c1',
      added: [
        {
          id: 'f1',
          kind: 'EMAIL_ADDRESS',
          value: 'a@corp.test',
          principalIds: ['c1:a', 'c1:b'],
          connectionIds: ['c1'],
          detectedAt: '2025-01-01T00:00:00.000Z',
        },
      ],
      resolved: ['f0'],
    };
    expect(parseEventMessage('dirgate:DUPLICATE_WARNINGS', JSON.stringify(warning))).toEqual({
      topic: 'DUPLICATE_WARNINGS',
      payload: warning,
    });
    const change = { node: 'node-b', connectionId: 'c1', change: 'deleted' };
    expect(parseEventMessage('dirgate:SETTINGS_CHANGED', JSON.stringify(change))).toEqual({
      topic: 'SETTINGS_CHANGED',
      payload: change,
    });
  });

  it("carries a finding's sameObject, and takes findings of nodes that predate it", () => {
    const finding = {
      id: 'f1',
      kind: 'KERBEROS_NAME',
      value: 'anna@corp.test',
      principalIds: ['c1:g1', 'c2:g1'],
      connectionIds: ['c1', 'c2'],
      detectedAt: '2025-01-01T00:00:00.000Z',
    };
    for (const added of [[{ ...finding, sameObject: true }], [finding]]) {
      const warning = { node: 'node-a', connectionId: 'c2', added, resolved: [] };
      expect(parseEventMessage('dirgate:DUPLICATE_WARNINGS', JSON.stringify(warning))).toEqual({
        topic: 'DUPLICATE_WARNINGS',
        payload: warning,
      });
    }
    const wrong = { node: 'n', connectionId: 'c', added: [{ ...finding, sameObject: 'yes' }], resolved: [] };
    expect(parseEventMessage('dirgate:DUPLICATE_WARNINGS', JSON.stringify(wrong))).toMatchObject({
      error: expect.stringContaining('added.0.sameObject'),
    });
  });

  it("carries the names of a run's removed objects, and takes runs of nodes that predate them", () => {
    const named: SyncRunRecord = {
      ...run,
      changes: {
        added: [],
        updated: [],
        removed: ['c1:b'],
        removedObjects: [{ id: 'c1:b', kind: 'GROUP', name: 'Sales' }],
        addedCount: 0,
        updatedCount: 0,
        removedCount: 1,
      },
    };
    for (const r of [named, run]) {
      expect(parseEventMessage('dirgate:SYNC_EVENTS', JSON.stringify({ node: 'node-a', run: r }))).toEqual({
        topic: 'SYNC_EVENTS',
        payload: { node: 'node-a', run: r },
      });
    }
    const wrong = {
      ...named,
      changes: { ...named.changes, removedObjects: [{ id: 'x', kind: 'ROBOT', name: 'y' }] },
    };
    expect(parseEventMessage('dirgate:SYNC_EVENTS', JSON.stringify({ node: 'n', run: wrong }))).toMatchObject(
      {
        error: expect.stringContaining('run.changes.removedObjects.0.kind'),
      },
    );
  });

  it('drops fields it does not know (a newer node may send more)', () => {
    const parsed = parseEventMessage(
      'dirgate:SETTINGS_CHANGED',
      JSON.stringify({ node: 'n', connectionId: 'c', change: 'added', extra: 1 }),
    );
    expect(parsed).toEqual({
      topic: 'SETTINGS_CHANGED',
      payload: { node: 'n', connectionId: 'c', change: 'added' },
    });
  });

  it.each([
    ['dirgate:SYNC_EVENTS', 'garbage', 'not JSON'],
    ['dirgate:SYNC_EVENTS', '', 'not JSON'],
    ['dirgate:SYNC_EVENTS', 'null', 'not a SYNC_EVENTS event'],
    ['dirgate:SYNC_EVENTS', '{"node":"x","run":{}}', 'run.status'],
    [
      'dirgate:SYNC_EVENTS',
      JSON.stringify({ node: 'x', run: { ...run, startedAt: 'yesterday' } }),
      'run.startedAt',
    ],
    ['dirgate:SYNC_EVENTS', JSON.stringify({ node: 'x', run: { ...run, status: 'DONE' } }), 'run.status'],
    ['dirgate:DUPLICATE_WARNINGS', '{"node":"x","connectionId":"c","added":[{}],"resolved":[]}', 'added.0'],
    ['dirgate:SETTINGS_CHANGED', '{"node":"x","connectionId":"c","change":"wiped"}', 'change'],
    ['dirgate:SETTINGS_CHANGED', '[]', 'not a SETTINGS_CHANGED event'],
    ['dirgate:OTHER', '{}', 'unknown channel'],
    ['dirgate:__proto__', '{}', 'unknown channel'],
    ['elsewhere', '{}', 'unknown channel'],
  ])('drops %s %s (%s)', (channel, message, reason) => {
    const parsed = parseEventMessage(channel, message);
    expect('error' in parsed && parsed.error).toContain(reason);
  });
});

describe('reconnectDelay', () => {
  it('doubles from about 100 ms and never exceeds 5 s', () => {
    for (let retries = 0; retries < 100; retries++) {
      const ceiling = Math.min(5000, 100 * 2 ** retries);
      const d = reconnectDelay(retries);
      expect(d).toBeGreaterThanOrEqual(ceiling / 2);
      expect(d).toBeLessThanOrEqual(ceiling);
    }
  });
});

describe('redactRedisUrl', () => {
  it('hides a password in the URL', () => {
    expect(redactRedisUrl('redis://:secret@127.0.0.1:6379/2')).toBe('redis://***@127.0.0.1:6379/2');
    expect(redactRedisUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});
