/**
 * Composition: opens the stores, loads the persisted cache, wires the sync
 * engine, the live directory, the node table, schedules and events. No
 * HTTP here (see server.ts); tests build a gateway in-process with this.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from './config/environment.js';
import type { Secrets } from './config/secrets.js';
import { AutocompleteWorker } from './directory/autocomplete/index.js';
import { LiveDirectory } from './directory/live-directory.js';
import { NodeTable } from './directory/node-table.js';
import { createEventBus, type EventBus, TOPICS } from './graphql/pubsub.js';
import type { GatewayServices } from './graphql/services.js';
import type { LdapLimits } from './ldap/types.js';
import type { AppLogger } from './logging.js';
import { Metrics } from './metrics.js';
import { observeMetrics, restoreLastSuccess } from './metrics-observer.js';
import { runStopSteps } from './stop-steps.js';
import { CacheStore } from './store/cache-store.js';
import { lockDataFolder } from './store/data-folder-lock.js';
import { loadCheckedSecrets } from './store/key-check.js';
import { openKvStore } from './store/kv-store.js';
import { SecretBox } from './store/secret-box.js';
import { SettingsStore } from './store/settings-store.js';
import { ConnectionService } from './sync/connection-service.js';
import { Scheduler } from './sync/scheduler.js';
import { SettingsFollower } from './sync/settings-follower.js';
import { SnapshotSet } from './sync/snapshot-set.js';
import { SyncEngine } from './sync/sync-engine.js';

export interface GatewayOptions {
  readonly onLoaderBatch?: (loader: string, keys: readonly string[]) => void;
  /** Aborted by a signal during start-up: start-up stops at its next step (StartupAborted). */
  readonly signal?: AbortSignal;
  /** Who takes the data folder, as its lock's owner file says (default `dirgate gateway`). */
  readonly owner?: string;
  /** How often settings are re-read to catch changes made on other nodes (default 10 s). */
  readonly reconcileMs?: number;
  readonly heartbeatMs?: number;
}

export interface Gateway {
  readonly config: Config;
  readonly secrets: Secrets;
  readonly services: GatewayServices;
  readonly metrics: Metrics;
  readonly logger: AppLogger;
  /** True once the persisted cache is loaded and requests can be answered. */
  readonly ready: boolean;
  stop(): Promise<void>;
}

/** A signal came during start-up; what was opened is left for the exiting process to drop. */
export class StartupAborted extends Error {
  constructor() {
    super('start-up stopped by a signal');
    this.name = 'StartupAborted';
  }
}

/**
 * Takes the data folder (one process at a time: RUNTIME.md) and builds the
 * gateway on it; the folder is let go when the gateway stops or fails to start.
 */
export async function createGateway(
  config: Config,
  logger: AppLogger,
  options: GatewayOptions = {},
): Promise<Gateway> {
  const lock = await lockDataFolder(config.dataDir, {
    command: options.owner ?? 'dirgate gateway',
    node: config.nodeName,
  });
  let gateway: Gateway;
  try {
    gateway = await assembleGateway(config, logger, options);
  } catch (err) {
    await lock.release();
    throw err;
  }
  const stop = gateway.stop;
  return Object.defineProperties(gateway, {
    stop: { value: () => stop().finally(() => lock.release()) },
  });
}

async function assembleGateway(config: Config, logger: AppLogger, options: GatewayOptions): Promise<Gateway> {
  const checkpoint = () => {
    if (options.signal?.aborted) throw new StartupAborted();
  };
  const settingsUri = config.configStore ?? `sqlite://${path.join(config.dataDir, 'settings.sqlite')}`;
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const settings = new SettingsStore(
    await openKvStore(settingsUri, 'dirgate-settings', {
      logger: logger.child({ node: config.nodeName, component: 'settings' }),
    }),
  );
  // The key is decided against what the settings hold: a missing key file is not replaced while
  // sealed passwords exist, and a node with another key than the cluster's does not start.
  const secrets = await loadCheckedSecrets(config, settings, logger).catch(async (err: unknown) => {
    await settings.close().catch(() => {});
    throw err;
  });
  const cache = new CacheStore(
    await openKvStore(`sqlite://${path.join(config.dataDir, 'cache.sqlite')}`, 'dirgate-cache'),
  );
  const events: EventBus = await createEventBus(
    config.pubsub,
    logger.child({ node: config.nodeName, component: 'events' }),
  );
  const metrics = new Metrics({ operations: config.metricsOperations });
  const box = new SecretBox(secrets.secretKey);
  const snapshots = new SnapshotSet();
  const limits: LdapLimits = {
    dnsTimeoutMs: config.ldap.dnsTimeoutMs,
    connectTimeoutMs: config.ldap.connectTimeoutMs,
    operationTimeoutMs: config.ldap.operationTimeoutMs,
    pageSize: config.ldap.pageSize,
    rangeSize: config.ldap.rangeSize,
    dnsServers: config.dnsServers,
    maxMessageBytes: config.ldap.maxMessageBytes,
    maxEntries: config.ldap.maxEntries,
    maxValuesPerAttribute: config.ldap.maxValuesPerAttribute,
    kerberosFolder: path.join(config.dataDir, 'kerberos'),
  };
  const log = logger.child({ node: config.nodeName });
  const directoryLog = log.child({ component: 'directory' });
  const autocomplete = new AutocompleteWorker({ logger: directoryLog });
  const directory = new LiveDirectory({
    snapshots,
    cache,
    // A connection's domain never changes, and the engine knows every served connection's (an
    // orphan's too): no settings read per view build, none that an unreachable store could fail.
    connectionDomains: async (): Promise<Map<string, string>> =>
      new Map(engine.knownConnections().map((c) => [c.id, c.domain])),
    logger: directoryLog,
    autocomplete,
  });
  const engine = new SyncEngine({
    settings,
    cache,
    box,
    snapshots,
    consumer: directory,
    nodeName: config.nodeName,
    limits,
    deleteThreshold: config.deleteThreshold,
    runTimeoutMs: config.syncRunTimeoutMs,
    logger: log.child({ component: 'sync' }),
  });
  // A sync that reads ends in a view build: the worker starts meanwhile, not after. A run that
  // ends without one (failed, held) leaves nothing for it to do.
  engine.on('run', (run) => {
    if (run.phase === 'READING') autocomplete.warm();
    else if (run.status === 'FAILED' || run.status === 'HELD') autocomplete.stopIdle();
  });
  const nodes = new NodeTable({
    nodeName: config.nodeName,
    settings,
    engine,
    directory,
    logger: log,
    ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
  });
  const follower = new SettingsFollower({
    settings,
    engine,
    scheduler: config.scheduler ? new Scheduler(engine, log.child({ component: 'scheduler' })) : null,
    logger: log,
    nodeName: config.nodeName,
    ...(options.reconcileMs ? { intervalMs: options.reconcileMs } : {}),
    onReconciled: () => void nodes.publish(),
  });
  const connections = new ConnectionService({
    settings,
    box,
    engine,
    limits,
    nodeName: config.nodeName,
    minScheduleIntervalMs: config.minScheduleIntervalMs,
    onChange: (connectionId, change) => {
      events.pubsub.publish(TOPICS.SETTINGS_CHANGED, { node: config.nodeName, connectionId, change });
      void follower.reconcileLogged();
    },
  });

  observeMetrics(metrics, engine, directory);
  engine.on('run', (run) => events.pubsub.publish(TOPICS.SYNC_EVENTS, { node: config.nodeName, run }));
  engine.on('state', () => void nodes.publish());
  engine.on('orphans', () => void nodes.publish());
  directory.on('findings', (change) => {
    events.pubsub.publish(TOPICS.DUPLICATE_WARNINGS, { node: config.nodeName, ...change });
    void nodes.publish();
  });

  checkpoint();
  await engine.loadPersisted();
  checkpoint();
  restoreLastSuccess(metrics, engine);
  await directory.load();
  checkpoint();
  let ready = true;

  // Settings changed on another node: follow without waiting for the timer.
  const settingsFeed = events.pubsub.subscribe(TOPICS.SETTINGS_CHANGED);
  follower.follow(settingsFeed);
  nodes.start();
  await follower.reconcile(true);

  const services: GatewayServices = {
    nodeName: config.nodeName,
    connections,
    engine,
    directory,
    nodes,
    events,
    ...(options.onLoaderBatch ? { onLoaderBatch: options.onLoaderBatch } : {}),
  };

  let stopped: Promise<void> | null = null;
  return {
    config,
    secrets,
    services,
    metrics,
    logger,
    get ready() {
      return ready;
    },
    stop() {
      stopped ??= (async () => {
        ready = false;
        await runStopSteps(
          [
            { name: 'settings reconcile', run: () => follower.stop() },
            { name: 'running syncs', run: () => engine.shutdown(), capMs: 4_000 },
            { name: 'autocomplete worker', run: () => autocomplete.close() },
            { name: 'settings feed', run: async () => settingsFeed.return?.(undefined) },
            { name: 'node table', run: () => nodes.stop() },
            { name: 'events', run: () => events.close() },
            { name: 'cache store', run: () => cache.close() },
            { name: 'settings store', run: () => settings.close() },
          ],
          { budgetMs: 7_000, logger: log },
        );
      })();
      return stopped;
    },
  };
}
