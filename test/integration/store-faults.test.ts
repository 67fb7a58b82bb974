/**
 * A store that fails each write of a sync in turn (issue #13): the real
 * SyncEngine, CacheStore and LiveDirectory over a KvStore that wraps the
 * real SQLite store and throws a StoreError at one chosen write, reading
 * from a private slapd.
 *
 * Snapshot A is synced once and its SQLite file kept. The directory is then
 * changed (users added and removed, under the hold threshold) and a clean
 * sync from a copy of A's file lists every write (set and delete) a sync to
 * snapshot B makes. Then, for every write index i, from a fresh copy of A's
 * file: the i-th write throws once ("once"), or it and every later write
 * throw ("from": the disk went away), and
 *  1. the run ends FAILED or SUCCEEDED, never RUNNING, with no crash and no
 *     unhandled rejection (and a run that failed once, the store working
 *     again for its clean-up, leaves no chunk or staging record behind);
 *  2. what is served in memory (the SnapshotSet and the LiveDirectory view)
 *     is one whole snapshot, A or B, and the connection state agrees with it
 *     (SUCCEEDED serves B, FAILED serves A);
 *  3. a restart over the same file (fresh store, cache and engine) loads the
 *     same whole snapshot, restores a state that is not RUNNING and agrees,
 *     keeps no run RUNNING in the history, and its sweep leaves no chunk but
 *     the pointer's (or a complete staging record's); when a staging record
 *     survived, a sync that fails right after dropping it (at its first
 *     chunk) leaves the pointer's snapshot whole;
 *  4. the next sync of the restarted node succeeds, serves B, and leaves the
 *     pointer's chunks only.
 * Two directories: a few hundred objects (one chunk) and just over 5,000
 * (CHUNK_SIZE in cache-store.ts: two chunks, written concurrently); and
 * the few hundred again with B made by an INCREMENTAL run (#18), whose
 * snapshot is written as a delta on top of A's chunks: the same four
 * checks hold for its writes, and its next run is incremental too.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dataset, generateDirectory } from '../../scripts/directories/generator.js';
import { type SlapdInstance, startSlapd } from '../../scripts/directories/slapd.js';
import { LiveDirectory } from '../../src/directory/live-directory.js';
import type { LdapLimits } from '../../src/ldap/types.js';
import type { ConnectionRecord } from '../../src/model/connection.js';
import type { Logger } from '../../src/model/logger.js';
import type { PrincipalRecord, Snapshot, SnapshotCounts, SnapshotMeta } from '../../src/model/principal.js';
import type { SyncMode, SyncRunRecord } from '../../src/model/run.js';
import { CacheStore } from '../../src/store/cache-store.js';
import { type KvStore, openKvStore, StoreError } from '../../src/store/kv-store.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { SettingsStore } from '../../src/store/settings-store.js';
import { SnapshotSet } from '../../src/sync/snapshot-set.js';
import { SyncEngine } from '../../src/sync/sync-engine.js';
import { connectionRecord } from '../support/connections.js';

const NS = 'dirgate-cache';
const SQLITE_FILES = ['cache.sqlite', 'cache.sqlite-wal', 'cache.sqlite-shm'];
const DOMAIN = 'corp.test';
const BASE_DN = 'dc=corp,dc=test';
const LIMITS: LdapLimits = {
  dnsTimeoutMs: 3000,
  connectTimeoutMs: 5000,
  operationTimeoutMs: 30_000,
  pageSize: 1000,
  rangeSize: 1500,
  dnsServers: [],
  maxMessageBytes: 16 * 1024 * 1024,
  maxEntries: 1_000_000,
  maxValuesPerAttribute: 1_000_000,
  kerberosFolder: null,
};

// ---------------------------------------------------------------------------------------------
// The fault-injecting store

interface WriteCall {
  readonly op: 'set' | 'delete';
  readonly key: string;
}

/**
 * Which writes throw: the `at`-th (0-based, counted from arm()) only, or it
 * and every later one (`persist`); or the first write that `first` matches.
 */
type FaultPlan =
  | { readonly at: number; readonly persist: boolean }
  | { readonly first: (call: WriteCall) => boolean };

/**
 * Passes everything to the real store, counts the writes made since arm()
 * (attempts, including those it fails) and throws a StoreError, as a
 * failing disk would, where the plan says. Reads are never failed.
 */
class FaultyKvStore implements KvStore {
  readonly writes: WriteCall[] = [];
  private counting = false;
  private plan: FaultPlan | null = null;
  private fired = false;

  constructor(private readonly inner: KvStore) {}

  /** Starts counting writes from 0; with a plan, fails them as it says. */
  arm(plan: FaultPlan | null): void {
    this.writes.length = 0;
    this.counting = true;
    this.plan = plan;
    this.fired = false;
  }

  private write(op: WriteCall['op'], key: string): void {
    if (!this.counting) return;
    const i = this.writes.length;
    this.writes.push({ op, key });
    const plan = this.plan;
    if (!plan) return;
    let fail: boolean;
    if ('at' in plan) fail = i === plan.at || (plan.persist && i > plan.at);
    else {
      fail = !this.fired && plan.first({ op, key });
      if (fail) this.fired = true;
    }
    if (fail) {
      throw new StoreError(
        `store ${NS}: ${op} failed: SQLITE_IOERR: disk I/O error (injected at write ${i})`,
      );
    }
  }

  get<T>(key: string): Promise<T | undefined> {
    return this.inner.get<T>(key);
  }

  getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]> {
    return this.inner.getMany<T>(keys);
  }

  async set(key: string, value: unknown): Promise<void> {
    this.write('set', key);
    await this.inner.set(key, value);
  }

  async delete(key: string): Promise<void> {
    this.write('delete', key);
    await this.inner.delete(key);
  }

  entries<T>(): AsyncGenerator<[string, T]> {
    return this.inner.entries<T>();
  }

  keys(): Promise<string[]> {
    return this.inner.keys();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

// ---------------------------------------------------------------------------------------------
// A node: store, cache, engine and live directory over one SQLite file

interface LogLine {
  readonly level: 'info' | 'warn' | 'error' | 'debug';
  readonly msg: string;
  readonly obj: object;
}

function recordingLogger(lines: LogLine[]): Logger {
  const at =
    (level: LogLine['level']) =>
    (obj: object, msg = ''): void => {
      lines.push({ level, msg, obj });
    };
  return { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}

interface Node {
  readonly kv: FaultyKvStore;
  readonly cache: CacheStore;
  readonly snapshots: SnapshotSet;
  readonly directory: LiveDirectory;
  readonly engine: SyncEngine;
  readonly logs: LogLine[];
}

interface Shared {
  readonly settings: SettingsStore;
  readonly box: SecretBox;
  readonly connectionId: string;
}

/** Opens a node on the cache file of `dir` and loads what it holds, as a starting gateway does. */
async function openNode(dir: string, shared: Shared): Promise<Node> {
  const kv = new FaultyKvStore(await openKvStore(`sqlite://${path.join(dir, 'cache.sqlite')}`, NS));
  const cache = new CacheStore(kv);
  const snapshots = new SnapshotSet();
  const logs: LogLine[] = [];
  const logger = recordingLogger(logs);
  const directory = new LiveDirectory({
    snapshots,
    cache,
    connectionDomains: async () => new Map([[shared.connectionId, DOMAIN]]),
    logger,
  });
  const engine = new SyncEngine({
    settings: shared.settings,
    cache,
    box: shared.box,
    snapshots,
    consumer: directory,
    nodeName: 'store-faults',
    limits: LIMITS,
    deleteThreshold: 0.5,
    logger,
  });
  await engine.loadPersisted();
  await directory.load();
  return { kv, cache, snapshots, directory, engine, logs };
}

async function closeNode(node: Node): Promise<void> {
  await node.engine.shutdown();
  await node.cache.close();
}

async function syncOnce(node: Node, connectionId: string, mode: SyncMode = 'FULL'): Promise<SyncRunRecord> {
  const started = await node.engine.start(connectionId, 'MANUAL', mode);
  const ended = await node.engine.wait(connectionId);
  if (!ended) throw new Error(`run ${started.id} was not tracked`);
  return ended;
}

async function copySqlite(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const f of SQLITE_FILES) {
    if (existsSync(path.join(from, f))) await copyFile(path.join(from, f), path.join(to, f));
  }
}

// ---------------------------------------------------------------------------------------------
// What a whole snapshot is

interface Whole {
  readonly name: 'A' | 'B';
  readonly runId: string;
  readonly guids: ReadonlySet<string>;
  readonly counts: SnapshotCounts;
  /** Of every principal's fields, in id order: equal fingerprints, equal content. */
  readonly fingerprint: string;
}

function fingerprint(principals: readonly PrincipalRecord[]): string {
  const rows = [...principals]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((p) => [
      p.id,
      p.connectionId,
      p.guid,
      p.kind,
      p.dn,
      p.displayName,
      p.primaryEmail,
      p.emails,
      p.samAccountName,
      p.userPrincipalName,
      p.enabled,
      [...p.memberIds].sort(),
    ]);
  return createHash('sha256').update(JSON.stringify(rows)).digest('hex');
}

function whole(name: Whole['name'], snapshot: Snapshot): Whole {
  return {
    name,
    runId: snapshot.meta.runId,
    guids: new Set(snapshot.principals.map((p) => p.guid)),
    counts: snapshot.meta.counts,
    fingerprint: fingerprint(snapshot.principals),
  };
}

function sameGuids(principals: readonly PrincipalRecord[], w: Whole): boolean {
  return principals.length === w.guids.size && principals.every((p) => w.guids.has(p.guid));
}

/** Which whole snapshot `principals` is (count and GUID set equal exactly), or null for anything else. */
function identify(principals: readonly PrincipalRecord[], a: Whole, b: Whole): Whole | null {
  if (sameGuids(principals, a)) return a;
  if (sameGuids(principals, b)) return b;
  return null;
}

// ---------------------------------------------------------------------------------------------
// The pointer and staging records as stored (the layout of cache-store.ts)

/** The base chunks' run (absent: the record's own run) and the deltas on top. */
interface StoredLayout {
  readonly chunks: number;
  readonly base?: string;
  readonly deltas?: readonly string[];
}

interface StoredPointer extends StoredLayout {
  readonly meta: SnapshotMeta;
}

interface StoredStaging extends StoredLayout {
  readonly runId: string;
  readonly meta: SnapshotMeta | null;
}

/**
 * What is wrong with the chunks and deltas on disk: one that neither the
 * pointer nor a complete staging record uses (a sweep leaves none), or one
 * that the pointer or a complete staging record names and that is missing.
 */
async function chunkProblems(kv: KvStore, connectionId: string): Promise<string[]> {
  const pointer = await kv.get<StoredPointer>(`snapshot:${connectionId}`);
  const staging = await kv.get<StoredStaging>(`staging:${connectionId}`);
  const used = new Set<string>();
  const use = (runId: string, layout: StoredLayout): void => {
    for (let i = 0; i < layout.chunks; i++) used.add(`chunk:${connectionId}:${layout.base ?? runId}:${i}`);
    for (const d of layout.deltas ?? []) used.add(`delta:${connectionId}:${d}`);
  };
  if (pointer) use(pointer.meta.runId, pointer);
  if (staging?.meta) use(staging.runId, staging);
  const present = new Set((await kv.keys()).filter((k) => k.startsWith('chunk:') || k.startsWith('delta:')));
  const problems: string[] = [];
  for (const k of present) if (!used.has(k)) problems.push(`stray ${k}`);
  for (const k of used) if (!present.has(k)) problems.push(`missing ${k}`);
  if (staging && !staging.meta) problems.push(`an incomplete staging record of run ${staging.runId}`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Checks

/** Accumulates problems of one case, each named with the case, so that one run reports them all. */
class Problems {
  readonly list: string[] = [];
  constructor(private readonly label: string) {}
  check(ok: boolean, what: string): boolean {
    if (!ok) this.list.push(`${this.label}: ${what}`);
    return ok;
  }
}

function sameCounts(x: SnapshotCounts, y: SnapshotCounts): boolean {
  return (
    x.users === y.users && x.groups === y.groups && x.contacts === y.contacts && x.addresses === y.addresses
  );
}

/**
 * What `node` serves for the connection is one whole snapshot, A or B, in
 * the SnapshotSet and the directory view alike, and the connection state
 * agrees with it. Returns which one, or null.
 */
function checkServed(p: Problems, where: string, node: Node, connectionId: string, a: Whole, b: Whole) {
  const snapshot = node.snapshots.get(connectionId);
  if (!p.check(snapshot !== undefined, `${where}: no snapshot served`) || !snapshot) return null;
  const served = identify(snapshot.principals, a, b);
  if (
    !p.check(
      served !== null,
      `${where}: the served snapshot (${snapshot.principals.length} principals, run ${snapshot.meta.runId}) is neither A (${a.guids.size}) nor B (${b.guids.size})`,
    ) ||
    !served
  )
    return null;
  p.check(
    fingerprint(snapshot.principals) === served.fingerprint,
    `${where}: the GUIDs are ${served.name}'s, the content is not`,
  );
  p.check(
    sameCounts(snapshot.meta.counts, served.counts),
    `${where}: snapshot counts are not ${served.name}'s`,
  );

  const view = node.directory.view;
  p.check(
    view.snapshotMeta(connectionId)?.runId === snapshot.meta.runId,
    `${where}: the directory view serves run ${view.snapshotMeta(connectionId)?.runId}, the snapshot set ${snapshot.meta.runId}`,
  );
  p.check(
    view.size === served.guids.size,
    `${where}: the view holds ${view.size}, ${served.name} ${served.guids.size}`,
  );
  let missing = 0;
  for (const guid of served.guids) if (view.byId(`${connectionId}:${guid}`) === null) missing++;
  p.check(missing === 0, `${where}: ${missing} principals of ${served.name} are not in the view`);
  p.check(
    sameCounts(view.counts(connectionId), served.counts),
    `${where}: the view's counts are not ${served.name}'s`,
  );

  const state = node.engine.state(connectionId);
  p.check(state.status !== 'RUNNING', `${where}: the connection state is RUNNING`);
  p.check(state.lastRun?.status !== 'RUNNING', `${where}: the state's last run is RUNNING`);
  p.check(
    sameCounts(state.counts, served.counts),
    `${where}: state counts ${JSON.stringify(state.counts)} are not ${served.name}'s ${JSON.stringify(served.counts)}`,
  );
  p.check(
    state.lastSuccessfulRun?.id === snapshot.meta.runId,
    `${where}: lastSuccessfulRun ${state.lastSuccessfulRun?.id} is not the served run ${snapshot.meta.runId}`,
  );
  if (state.status === 'SUCCEEDED') {
    p.check(
      state.lastRun?.id === snapshot.meta.runId,
      `${where}: SUCCEEDED, but its last run ${state.lastRun?.id} is not the served ${snapshot.meta.runId}`,
    );
  }
  return served;
}

// ---------------------------------------------------------------------------------------------
// Scenarios

interface Scenario {
  readonly name: string;
  readonly users: number;
  readonly groups: number;
  readonly contacts: number;
  readonly added: number;
  readonly removed: number;
  /** How B is made, and the next run after the faults. */
  readonly mode: SyncMode;
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'a few hundred objects (one chunk)',
    users: 300,
    groups: 20,
    contacts: 30,
    added: 25,
    removed: 20,
    mode: 'FULL',
  },
  {
    name: 'just over 5,000 objects (two chunks)',
    users: 4960,
    groups: 40,
    contacts: 40,
    added: 30,
    removed: 20,
    mode: 'FULL',
  },
  {
    name: 'a few hundred objects, B by an incremental run (a delta)',
    users: 300,
    groups: 20,
    contacts: 30,
    added: 25,
    removed: 20,
    mode: 'INCREMENTAL',
  },
];

let unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
});

async function deleteEntries(slapd: SlapdInstance, dns: readonly string[]): Promise<void> {
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.admin.dn, slapd.admin.password);
    for (const dn of dns) await client.del(dn);
  } finally {
    await client.unbind();
  }
}

/** The writes of a clean sync, as labels without run ids: `set chunk:B:0`. */
function labelOf(call: WriteCall, connectionId: string, runA: string): string {
  const key = call.key
    .replaceAll(connectionId, 'C')
    .replaceAll(runA, 'A')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'B');
  return `${call.op} ${key}`;
}

for (const scenario of SCENARIOS) {
  describe(`a store failing each write of a sync in turn: ${scenario.name}`, () => {
    let root: string;
    let slapd: SlapdInstance;
    let dataset: Dataset;
    let shared: Shared;
    let baseline: string;
    let a: Whole;
    let b: Whole;
    /** The writes of a clean sync from A to B, labelled. */
    let writes: string[] = [];

    beforeAll(async () => {
      root = await mkdtemp(path.join(tmpdir(), 'dirgate-store-faults-'));
      const seed = `store-faults-${scenario.users}`;
      dataset = generateDirectory({
        users: scenario.users,
        groups: scenario.groups,
        contacts: scenario.contacts,
        seed,
        baseDn: BASE_DN,
      });
      slapd = await startSlapd({ dataset });
      const key = randomBytes(32);
      const box = new SecretBox(key);
      const settings = new SettingsStore(await openKvStore('memory://', 'dirgate-settings'));
      const now = new Date().toISOString();
      const id = randomUUID();
      const unsealed = connectionRecord({
        id,
        name: 'OpenLDAP',
        domain: DOMAIN,
        searchBase: slapd.baseDn,
        servers: [slapd.url],
        bindDn: slapd.reader.dn,
        allowPlaintextBind: true,
        includeContacts: true,
        createdAt: now,
        updatedAt: now,
      });
      const connection: ConnectionRecord = {
        ...unsealed,
        bindPasswordSealed: box.seal(slapd.reader.password, unsealed),
      };
      await settings.putConnection(connection);
      shared = { settings, box, connectionId: connection.id };

      // Snapshot A, and its SQLite file kept aside (closed: WAL checkpointed).
      const first = path.join(root, 'first');
      await mkdir(first);
      const node = await openNode(first, shared);
      const runA = await syncOnce(node, connection.id);
      expect(runA.status).toBe('SUCCEEDED');
      const snapshotA = node.snapshots.get(connection.id);
      if (!snapshotA) throw new Error('snapshot A is not served');
      a = whole('A', snapshotA);
      expect(a.guids.size).toBe(scenario.users + scenario.groups + scenario.contacts);
      await closeNode(node);
      baseline = path.join(root, 'baseline');
      await copySqlite(first, baseline);

      // The directory changes: users added (a second generated set) and removed, under the hold threshold.
      await slapd.load(
        generateDirectory({
          users: scenario.added,
          groups: 0,
          contacts: 0,
          seed: `${seed}-added`,
          baseDn: BASE_DN,
          indexOffset: 1_000_000,
          largeGroupSize: 0,
        }),
      );
      await deleteEntries(
        slapd,
        dataset.users.slice(0, scenario.removed).map((u) => u.dn),
      );

      // A clean sync from a copy of A: the writes it makes, and snapshot B.
      const dry = path.join(root, 'dry');
      await copySqlite(baseline, dry);
      const clean = await openNode(dry, shared);
      clean.kv.arm(null);
      const runB = await syncOnce(clean, connection.id, scenario.mode);
      expect(runB.status).toBe('SUCCEEDED');
      writes = clean.kv.writes.map((w) => labelOf(w, connection.id, a.runId));
      if (scenario.mode === 'INCREMENTAL') {
        // Incremental indeed, and written as a delta: no chunk.
        expect(runB.mode).toBe('INCREMENTAL');
        expect(runB.fallback).toBeUndefined();
        expect(writes).toContain('set delta:C:B');
        expect(writes.filter((w) => w.startsWith('set chunk:'))).toEqual([]);
      }
      const snapshotB = clean.snapshots.get(connection.id);
      if (!snapshotB) throw new Error('snapshot B is not served');
      b = whole('B', snapshotB);
      expect(b.guids.size).toBe(a.guids.size + scenario.added - scenario.removed);
      expect(b.fingerprint).not.toBe(a.fingerprint);
      await closeNode(clean);
      console.log(
        `[store-faults] ${scenario.name}: a clean sync A→B makes ${writes.length} writes:\n  ${writes.join('\n  ')}`,
      );
    });

    afterAll(async () => {
      await shared?.settings.close();
      await slapd?.dispose();
      if (root) await rm(root, { recursive: true, force: true });
    });

    /** One case: from A's file, the plan's writes fail during the sync to B; checks 1 to 4. */
    async function runCase(plan: { at: number; persist: boolean }, p: Problems): Promise<string> {
      const id = shared.connectionId;
      const dir = await mkdtemp(path.join(root, `case-${plan.at}-`));
      unhandled = [];
      try {
        await copySqlite(baseline, dir);
        const node = await openNode(dir, shared);
        const before = checkServed(p, 'before the sync', node, id, a, b);
        p.check(before?.name === 'A', 'the copy of A does not serve A');

        // 1. The run ends, FAILED or SUCCEEDED.
        node.kv.arm(plan);
        const ended = await syncOnce(node, id, scenario.mode);
        p.check(
          node.kv.writes.length > plan.at,
          `the sync made ${node.kv.writes.length} writes: the fault at ${plan.at} never fired`,
        );
        const hit = node.kv.writes[plan.at];
        if (hit) {
          p.check(
            labelOf(hit, id, a.runId) === writes[plan.at],
            `the failed write was ${labelOf(hit, id, a.runId)}, the clean sync's was ${writes[plan.at]}`,
          );
        }
        p.check(
          ended.status === 'FAILED' || ended.status === 'SUCCEEDED',
          `the run ended ${ended.status} (${ended.error})`,
        );
        if (ended.status === 'FAILED') {
          p.check(
            /injected/.test(ended.error ?? ''),
            `FAILED without naming the store fault: ${ended.error}`,
          );
        }
        p.check((await node.engine.wait(id)) === null, 'the engine still runs the sync');
        p.check(
          node.engine.state(id).lastRun?.id === ended.id,
          `the state's last run is ${node.engine.state(id).lastRun?.id}, not ${ended.id}`,
        );
        for (const r of await node.engine.runs(id, 10)) {
          p.check(r.status !== 'RUNNING', `run ${r.id === ended.id ? 'B' : r.id} is listed RUNNING`);
        }
        const crashed = node.logs.filter((l) => l.msg === 'sync run crashed');
        p.check(crashed.length === 0, `the run crashed: ${JSON.stringify(crashed.map((l) => l.obj))}`);
        if (!plan.persist && ended.status === 'FAILED') {
          // The store works again for the run's own clean-up: it leaves nothing of itself behind.
          const leftovers = await chunkProblems(node.kv, id);
          p.check(leftovers.length === 0, `after the failed run's clean-up: ${leftovers.join(', ')}`);
          p.check(
            (await node.kv.get(`staging:${id}`)) === undefined,
            "after the failed run's clean-up, a staging record is left",
          );
        }

        // 2. One whole snapshot is served, and the outcome says which.
        const served = checkServed(p, 'after the faulted sync', node, id, a, b);
        if (served) {
          p.check(
            (served.name === 'B') === (ended.status === 'SUCCEEDED'),
            `the run ended ${ended.status} and ${served.name} is served`,
          );
        }
        const servedRun = node.snapshots.get(id)?.meta.runId;
        await closeNode(node);

        // 3. A restart over the same file.
        const restarted = await openNode(dir, shared);
        let loaded: Whole | null = null;
        let keptStaging = false;
        try {
          loaded = checkServed(p, 'after the restart', restarted, id, a, b);
          if (served && loaded) {
            p.check(
              loaded.name === served.name,
              `${served.name} was served before the restart, ${loaded.name} after`,
            );
            p.check(
              restarted.snapshots.get(id)?.meta.runId === servedRun,
              'the restart serves another run than the one served before it',
            );
          }
          for (const r of await restarted.engine.runs(id, 10)) {
            p.check(
              r.status !== 'RUNNING',
              `after the restart, run ${r.id === ended.id ? 'B' : r.id} is listed RUNNING`,
            );
          }
          const swept = await restarted.cache.sweep();
          p.check(swept === 0, `a second sweep after loadPersisted removed ${swept} chunks`);
          const onDisk = await chunkProblems(restarted.kv, id);
          p.check(onDisk.length === 0, `after the restart's sweep: ${onDisk.join(', ')}`);

          // A staging record the restart kept is dropped by the next run first (beginStaging): one
          // that fails right after (its first chunk write) must leave the pointer's snapshot whole.
          if ((await restarted.kv.get(`staging:${id}`)) !== undefined) {
            keptStaging = true;
            restarted.kv.arm({ first: (w) => w.op === 'set' && w.key.startsWith('chunk:') });
            const cut = await syncOnce(restarted, id);
            p.check(cut.status === 'FAILED', `a sync failing at its first chunk ended ${cut.status}`);
            const afterCut = await chunkProblems(restarted.kv, id);
            p.check(
              afterCut.length === 0,
              `after a sync that failed at its first chunk: ${afterCut.join(', ')}`,
            );
            let reloaded: Snapshot | null = null;
            try {
              reloaded = await restarted.cache.loadSnapshot(id);
            } catch (err) {
              p.check(
                false,
                `after a sync that failed at its first chunk, the snapshot is unreadable: ${err}`,
              );
            }
            if (reloaded && loaded) {
              p.check(
                identify(reloaded.principals, a, b)?.name === loaded.name,
                `after a sync that failed at its first chunk, the stored snapshot is not ${loaded.name}`,
              );
            }
          }

          // 4. The next sync succeeds and serves B, leaving only the pointer's chunks.
          restarted.kv.arm(null);
          const next = await syncOnce(restarted, id, scenario.mode);
          p.check(next.status === 'SUCCEEDED', `the next sync ended ${next.status} (${next.error})`);
          if (scenario.mode === 'INCREMENTAL')
            p.check(next.fallback === undefined, `the next sync ran in full: ${next.fallback}`);
          const after = checkServed(p, 'after the next sync', restarted, id, a, b);
          p.check(after?.name === 'B', `the next sync serves ${after?.name ?? 'no whole snapshot'}`);
          p.check(
            restarted.snapshots.get(id)?.meta.runId === next.id,
            'the next sync does not serve its own run',
          );
          const left = await chunkProblems(restarted.kv, id);
          p.check(left.length === 0, `after the next sync: ${left.join(', ')}`);
          p.check(
            (await restarted.kv.get(`staging:${id}`)) === undefined,
            'after the next sync, a staging record is left',
          );
        } finally {
          await closeNode(restarted);
        }
        p.check(unhandled.length === 0, `unhandled rejections: ${unhandled.map(String).join('; ')}`);
        const kept = keptStaging ? ' (kept a staging record: a sync failing after it was run)' : '';
        return `${ended.status}, serving ${served?.name ?? '?'}; after a restart ${loaded?.name ?? '?'}${kept}`;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }

    for (const persist of [false, true]) {
      const mode = persist ? 'it and every later write fail (the disk went away)' : 'it fails once';
      it(`each write of the sync in turn: ${mode}`, async () => {
        expect(writes.length).toBeGreaterThan(0);
        const problems: string[] = [];
        const outcomes: string[] = [];
        const started = Date.now();
        for (let at = 0; at < writes.length; at++) {
          const p = new Problems(`write ${at} (${writes[at]}), ${persist ? 'from then on' : 'once'}`);
          let outcome = 'threw';
          try {
            outcome = await runCase({ at, persist }, p);
          } catch (err) {
            p.check(false, `threw: ${(err as Error).stack ?? String(err)}`);
          }
          problems.push(...p.list);
          outcomes.push(`${String(at).padStart(2)} ${writes[at]}: ${outcome}`);
        }
        console.log(
          `[store-faults] ${scenario.name}, ${mode}: ${writes.length} cases in ${Date.now() - started} ms\n  ${outcomes.join('\n  ')}`,
        );
        expect(problems).toEqual([]);
      });
    }
  });
}
