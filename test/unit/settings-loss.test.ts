/**
 * A settings store that lacks a connection is not a deletion: the engine
 * over real stores (memory://) keeps serving such a cache, warns once, and
 * removes a cache only for a tombstone or a deletion through this node.
 */
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ConnectionRecord } from '../../src/model/connection.js';
import { NotFoundError } from '../../src/model/errors.js';
import type { Logger } from '../../src/model/logger.js';
import type { Snapshot } from '../../src/model/principal.js';
import { CacheStore } from '../../src/store/cache-store.js';
import { openKvStore } from '../../src/store/kv-store.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { SettingsStore } from '../../src/store/settings-store.js';
import { ConnectionService } from '../../src/sync/connection-service.js';
import { SnapshotSet } from '../../src/sync/snapshot-set.js';
import { SyncEngine } from '../../src/sync/sync-engine.js';
import { connectionRecord, SHORT_LIMITS } from '../support/connections.js';
import { principals, snapshotOf } from '../support/principals.js';

function connection(id: string, updatedAt = '2025-01-01T00:00:00.000Z'): ConnectionRecord {
  return connectionRecord({
    id,
    name: `conn ${id}`,
    domain: `${id}.test`,
    searchBase: `dc=${id},dc=test`,
    servers: ['ldap://127.0.0.1:1'],
    bindPasswordSealed: 'sealed-password-stand-in',
    updatedAt,
  });
}

function snapshot(connectionId: string, runId: string, size: number): Snapshot {
  const users = principals(size, (i) => ({
    connectionId,
    guid: `g${i}`,
    dn: `cn=u${i},dc=test`,
    displayName: `User ${i}`,
    emails: [`u${i}@test`],
    samAccountName: `u${i}`,
  }));
  return snapshotOf(connectionId, users, { runId });
}

interface Line {
  readonly level: 'info' | 'warn' | 'error' | 'debug';
  readonly obj: object;
  readonly msg: string | undefined;
}

function recordingLogger(lines: Line[]): Logger {
  const at =
    (level: Line['level']) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj, msg });
    };
  return { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}

describe('settings loss', () => {
  let settings: SettingsStore;
  let cache: CacheStore;
  let lines: Line[];

  beforeEach(async () => {
    settings = new SettingsStore(await openKvStore('memory://', 'dirgate-settings'));
    cache = new CacheStore(await openKvStore('memory://', 'dirgate-cache'));
    lines = [];
  });

  /** A node's engine over the shared stores, as after a start. */
  async function startEngine(): Promise<{
    engine: SyncEngine;
    snapshots: SnapshotSet;
    orphanEvents: string[][];
  }> {
    const snapshots = new SnapshotSet();
    const engine = new SyncEngine({
      settings,
      cache,
      box: new SecretBox(randomBytes(32)),
      consumer: { prepare: async () => ({ commit: async () => {} }) },
      snapshots,
      nodeName: 'node-a',
      limits: SHORT_LIMITS,
      deleteThreshold: 0.5,
      logger: recordingLogger(lines),
    });
    const orphanEvents: string[][] = [];
    engine.on('orphans', (ids) => orphanEvents.push([...ids]));
    await engine.loadPersisted();
    return { engine, snapshots, orphanEvents };
  }

  /** What a successful sync leaves in the cache. */
  async function cached(id: string, size: number): Promise<void> {
    const s = snapshot(id, `run-${id}`, size);
    await cache.beginStaging(s);
    await cache.writeStaging(s);
    await cache.promoteStaged(id, s.meta.runId);
    await cache.putState({
      connectionId: id,
      status: 'SUCCEEDED',
      activeServer: null,
      lastRun: null,
      lastSuccessfulRun: null,
      counts: s.meta.counts,
      heldRunId: null,
    });
  }

  const warnings = () => lines.filter((l) => l.level === 'warn');

  it('a listing without tombstones hides nothing; a tombstone hides the connection everywhere', async () => {
    await settings.putConnection(connection('a'));
    await settings.putConnection(connection('b'));
    expect((await settings.listConnections()).map((c) => c.id)).toEqual(['a', 'b']);
    // A deletion cut short between its two writes: the tombstone wins.
    await settings.putTombstone({ connectionId: 'b', deletedAt: new Date().toISOString(), node: 'node-b' });
    const listing = await settings.listing();
    expect(listing.connections.map((c) => c.id)).toEqual(['a']);
    expect([...listing.deleted.keys()]).toEqual(['b']);
    expect(await settings.getConnection('b')).toBeUndefined();
    expect((await settings.getConnection('a'))?.id).toBe('a');
    expect(listing.deleted.get('b')?.node).toBe('node-b');
  });

  it('keeps serving a cache whose connection the settings store lost, and loads it at start', async () => {
    await settings.putConnection(connection('a'));
    await cached('a', 3);
    const first = await startEngine();
    await first.engine.applyListing(await settings.listing());
    expect(first.snapshots.get('a')?.principals).toHaveLength(3);
    // The settings copy kept beside the cache has no bind password.
    const [copy] = await cache.getConnectionRecords(['a']);
    expect(copy?.domain).toBe('a.test');
    expect(copy?.bindPasswordSealed).toBeNull();

    // The store is flushed; the node restarts on the same cache.
    await settings.deleteConnection('a');
    const second = await startEngine();
    expect(second.snapshots.get('a')?.principals).toHaveLength(3);
    expect(second.engine.state('a').counts.users).toBe(3);
    expect(second.engine.orphanedConnections()).toEqual(['a']);
    expect(second.orphanEvents).toEqual([['a']]);
    // Its last known settings still serve (domain, name), without the password.
    expect(second.engine.orphanedConnection('a')?.domain).toBe('a.test');
    expect(second.engine.knownConnections().map((c) => c.id)).toEqual(['a']);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]?.obj).toMatchObject({ connectionId: 'a', name: 'conn a', domain: 'a.test' });
    expect(await cache.connectionIds()).toEqual(new Set(['a']));
  });

  it('warns once per connection, not at every reconcile, and resumes when it is listed again', async () => {
    await settings.putConnection(connection('a'));
    await settings.putConnection(connection('b'));
    await cached('a', 2);
    await cached('b', 4);
    const { engine, snapshots, orphanEvents } = await startEngine();
    await engine.applyListing(await settings.listing());
    expect(engine.orphanedConnections()).toEqual([]);

    await settings.deleteConnection('a');
    await settings.deleteConnection('b');
    for (let i = 0; i < 5; i++) await engine.applyListing(await settings.listing());
    expect(engine.orphanedConnections()).toEqual(['a', 'b']);
    expect(warnings().map((l) => (l.obj as { connectionId: string }).connectionId)).toEqual(['a', 'b']);
    expect(orphanEvents).toEqual([['a', 'b']]);
    expect(snapshots.current.size).toBe(2);

    // `a` comes back (an operator re-imports the settings): synced as before, no warning left.
    await settings.putConnection(connection('a'));
    await engine.applyListing(await settings.listing());
    expect(engine.orphanedConnections()).toEqual(['b']);
    expect(engine.orphanedConnection('a')).toBeUndefined();
    expect(orphanEvents.at(-1)).toEqual(['b']);
    expect(lines.some((l) => l.msg === 'the settings store lists the connection again')).toBe(true);

    // Lost again: warned again (once).
    await settings.deleteConnection('a');
    await engine.applyListing(await settings.listing());
    await engine.applyListing(await settings.listing());
    expect(warnings()).toHaveLength(3);
    expect(snapshots.current.size).toBe(2);
  });

  it('removes a cache when its connection has a tombstone, at reconcile and at start', async () => {
    await settings.putConnection(connection('a'));
    await settings.putConnection(connection('b'));
    await cached('a', 2);
    await cached('b', 2);
    const { engine, snapshots } = await startEngine();

    // Deleted on another node: tombstone, then the record.
    await settings.putTombstone({ connectionId: 'a', deletedAt: new Date().toISOString(), node: 'node-b' });
    await settings.deleteConnection('a');
    await engine.applyListing(await settings.listing());
    expect(snapshots.get('a')).toBeUndefined();
    expect(engine.hasState('a')).toBe(false);
    expect(await cache.connectionIds()).toEqual(new Set(['b']));
    expect(engine.orphanedConnections()).toEqual([]);

    // A node that was down meanwhile removes it as it starts.
    await cached('a', 2);
    const restarted = await startEngine();
    expect(restarted.snapshots.get('a')).toBeUndefined();
    expect(restarted.snapshots.get('b')?.principals).toHaveLength(2);
    expect(await cache.connectionIds()).toEqual(new Set(['b']));
    expect(warnings()).toEqual([]);
  });

  it('does not take a connection added after the listing was read for an orphan', async () => {
    const { engine } = await startEngine();
    const stale = await settings.listing();
    await settings.putConnection(connection('new'));
    // A run started through the API before any listing named the connection gives it a state.
    await engine.start('new', 'MANUAL');
    await engine.wait('new');
    await engine.applyListing(stale);
    expect(engine.orphanedConnections()).toEqual([]);
    // The run itself fails (no directory here); what matters is that nothing is taken for an orphan.
    expect(warnings().filter((w) => /lacks this connection/.test(w.msg ?? ''))).toEqual([]);
  });

  describe('deleteConnection', () => {
    async function service(engine: SyncEngine): Promise<ConnectionService> {
      return new ConnectionService({
        settings,
        box: new SecretBox(randomBytes(32)),
        engine,
        limits: SHORT_LIMITS,
        nodeName: 'node-a',
        onChange: () => {},
      });
    }

    it('writes a tombstone, then removes the settings and the cache', async () => {
      await settings.putConnection(connection('a'));
      await cached('a', 2);
      const { engine, snapshots } = await startEngine();
      const connections = await service(engine);
      expect(await connections.delete('a')).toBe(true);
      expect((await settings.listing()).deleted.get('a')).toMatchObject({
        connectionId: 'a',
        node: 'node-a',
      });
      expect(await settings.listConnections()).toEqual([]);
      expect(snapshots.get('a')).toBeUndefined();
      expect(await cache.connectionIds()).toEqual(new Set());
    });

    it("clears an orphan's cache though its settings are gone", async () => {
      await cached('a', 2);
      const { engine, snapshots, orphanEvents } = await startEngine();
      const connections = await service(engine);
      expect(connections.orphaned('a')).toBeUndefined(); // never listed here: no settings copy
      expect(engine.orphanedConnections()).toEqual(['a']);
      expect(await connections.delete('a')).toBe(true);
      expect((await settings.listing()).deleted.get('a')).toBeDefined();
      expect(snapshots.get('a')).toBeUndefined();
      expect(engine.orphanedConnections()).toEqual([]);
      expect(orphanEvents.at(-1)).toEqual([]);
      expect(await cache.connectionIds()).toEqual(new Set());
    });

    it('is NOT_FOUND for an id that is neither in the settings nor cached here', async () => {
      const { engine } = await startEngine();
      const connections = await service(engine);
      await expect(connections.delete('nothing')).rejects.toBeInstanceOf(NotFoundError);
      expect((await settings.listing()).deleted.get('nothing')).toBeUndefined();
    });
  });
});
