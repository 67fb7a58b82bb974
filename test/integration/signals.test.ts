/**
 * SIGTERM and SIGINT in every state end the gateway with exit 0 within 10 s
 * (RUNTIME.md, "Signals"), started as the README starts it (npm start's
 * command, schedules on, production mode): after a successful sync, after
 * one that failed because the directory stopped, while a sync hangs on a
 * directory that stopped answering, with keep-alive HTTP clients and a
 * subscriber connected, during start-up at any moment (a large cache
 * loading), and through `npm start` itself. The cache is whole afterwards.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDirectory } from '../../scripts/directories/generator.js';
import { startRedis } from '../../scripts/directories/redis.js';
import { type SlapdInstance, startSlapd } from '../../scripts/directories/slapd.js';
import {
  AddConnectionDocument,
  ConnectionByIdDocument,
  StartSyncDocument,
  SyncEventsDocument,
  UsersDocument,
} from '../gql/graphql.js';
import { type FaultServer, hangAfterBindLdapServer } from '../support/fault-servers.js';
import {
  freePort,
  type GatewayProcess,
  launchGateway,
  spawnGateway,
  untilReady,
} from '../support/gateway-process.js';
import { collect, wsClient } from '../support/subscriptions.js';
import { slapdSettings, waitForFirstSync, waitForSync } from '../support/sync.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const USERS = 2000;
/** The contract's bound. */
const BOUND_MS = 10_000;

let slapd: SlapdInstance;
const processes: GatewayProcess[] = [];
const folders: string[] = [];

async function folder(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'dirgate-signals-'));
  folders.push(dir);
  return dir;
}

async function gateway(dataDir: string, env: Record<string, string> = {}): Promise<GatewayProcess> {
  const gw = await spawnGateway(dataDir, { DIRGATE_LOG_LEVEL: 'info', ...env });
  processes.push(gw);
  return gw;
}

/** Sends the signal; resolves with the exit and how long it took. */
async function signal(
  gw: GatewayProcess,
  sig: NodeJS.Signals,
): Promise<{ code: number | string; ms: number }> {
  const sent = Date.now();
  gw.child.kill(sig);
  const code = await Promise.race([
    gw.exited,
    new Promise<string>((r) => setTimeout(() => r('still running'), BOUND_MS + 5_000)),
  ]);
  return { code, ms: Date.now() - sent };
}

async function addSlapd(gw: GatewayProcess, directory: SlapdInstance, name: string): Promise<string> {
  const { addConnection } = await gw.ok(AddConnectionDocument, {
    input: { name, domain: 'corp.test', ...slapdSettings(directory), includeContacts: true },
  });
  return addConnection.id;
}

/** Keep-alive HTTP clients that each answered once and now hold an idle connection open. */
async function keepAliveClients(gw: GatewayProcess, count: number): Promise<Agent> {
  const agent = new Agent({ keepAlive: true, maxSockets: count });
  const token = await gw.token();
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        `${gw.base}/graphql`,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ query: '{ users(first: 1) { totalCount } }' }));
    });
  const statuses = await Promise.all(Array.from({ length: count }, once));
  expect(statuses.every((s) => s === 200)).toBe(true);
  return agent;
}

beforeAll(async () => {
  const dataset = generateDirectory({
    users: USERS,
    groups: 20,
    contacts: 30,
    seed: 'signals',
    baseDn: 'dc=corp,dc=test',
  });
  slapd = await startSlapd({ dataset });
});

afterAll(async () => {
  for (const p of processes)
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await slapd?.dispose();
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

describe('a signal once serving', () => {
  it('after a successful sync, with keep-alive clients and a subscriber: exit 0 within 10 s', async () => {
    const dir = await folder();
    const gw = await gateway(dir);
    const id = await addSlapd(gw, slapd, 'Synced');
    // Schedules are on: a new connection syncs at once, without a startSync.
    const synced = await waitForFirstSync(gw, id);
    expect(synced.status).toBe('SUCCEEDED');
    expect(synced.lastSync?.trigger).not.toBe('MANUAL');

    const agent = await keepAliveClients(gw, 8);
    const ws = wsClient(gw.url, await gw.token());
    const events = await collect(ws, SyncEventsDocument, {});
    const { code, ms } = await signal(gw, 'SIGTERM');
    expect(code).toBe(0);
    expect(ms).toBeLessThan(BOUND_MS);
    expect(gw.output()).toMatch(/"msg":"stopped"/);
    expect(gw.output()).not.toMatch(/took too long/);
    events.stop();
    agent.destroy();
    await ws.dispose();

    // Restarted: the cache is all there.
    const again = await gateway(dir);
    expect((await again.ok(UsersDocument, { connectionId: id, first: 1 })).users.totalCount).toBe(USERS);
    expect((await signal(again, 'SIGINT')).code).toBe(0);
  });

  it('after a sync failed because the directory stopped: exit 0 within 10 s', async () => {
    const own = await startSlapd({
      dataset: generateDirectory({
        users: 300,
        groups: 5,
        contacts: 5,
        seed: 'gone',
        baseDn: 'dc=corp,dc=test',
      }),
    });
    try {
      const dir = await folder();
      const gw = await gateway(dir);
      const id = await addSlapd(gw, own, 'Gone');
      expect((await waitForFirstSync(gw, id)).status).toBe('SUCCEEDED');
      await own.stop();
      await gw.ok(StartSyncDocument, { connectionId: id });
      const failed = await waitForSync(gw, id);
      expect(failed.status).toBe('FAILED');
      const { code, ms } = await signal(gw, 'SIGTERM');
      expect(code).toBe(0);
      expect(ms).toBeLessThan(BOUND_MS);
      // The directory is still gone at the restart: the start-up sync fails, the cache serves.
      const again = await gateway(dir);
      expect((await again.ok(UsersDocument, { connectionId: id, first: 1 })).users.totalCount).toBe(300);
      expect((await signal(again, 'SIGTERM')).code).toBe(0);
    } finally {
      await own.dispose();
    }
  });

  it('while a sync hangs on a directory that stopped answering: exit 0 within 10 s', async () => {
    let hanging: FaultServer | null = null;
    try {
      hanging = await hangAfterBindLdapServer();
      const dir = await folder();
      const gw = await gateway(dir);
      const { addConnection } = await gw.ok(AddConnectionDocument, {
        input: {
          name: 'Hangs',
          domain: 'corp.test',
          searchBase: 'dc=corp,dc=test',
          servers: [hanging.url],
          bindDn: 'cn=reader,dc=corp,dc=test',
          bindPassword: 'secret',
          allowPlaintextBind: true,
        },
      });
      // The schedule's own first run binds, then waits on a read that never comes back (the
      // operation bound is 30 s: far longer than the signal may take).
      for (;;) {
        const c = (await gw.ok(ConnectionByIdDocument, { id: addConnection.id })).connection;
        if (c?.status === 'RUNNING' && hanging.accepted() > 0) break;
        if (c?.status !== 'RUNNING' && c?.status !== 'NEVER') throw new Error(`the run ended: ${c?.status}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 500));
      expect((await gw.ok(ConnectionByIdDocument, { id: addConnection.id })).connection?.status).toBe(
        'RUNNING',
      );
      const { code, ms } = await signal(gw, 'SIGTERM');
      expect(code).toBe(0);
      expect(ms).toBeLessThan(BOUND_MS);
    } finally {
      await hanging?.close();
    }
  });
  it('with the shared settings and events on a Redis that went away: exit 0 within 10 s', async () => {
    const redis = await startRedis();
    try {
      const dir = await folder();
      const gw = await gateway(dir, { DIRGATE_CONFIG_STORE: redis.url, DIRGATE_PUBSUB: redis.url });
      const id = await addSlapd(gw, slapd, 'Shared');
      expect((await waitForFirstSync(gw, id)).status).toBe('SUCCEEDED');
      const ws = wsClient(gw.url, await gw.token());
      const events = await collect(ws, SyncEventsDocument, {});
      await redis.stop();
      // A sync started while Redis is gone: its events cannot be published, its settings not read.
      await gw.ok(StartSyncDocument, { connectionId: id }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 500));
      const { code, ms } = await signal(gw, 'SIGTERM');
      expect(code, gw.output()).toBe(0);
      expect(ms).toBeLessThan(BOUND_MS);
      events.stop();
      await ws.dispose();
    } finally {
      await redis.stop().catch(() => undefined);
    }
  });
});

describe('a signal during start-up', () => {
  it('at any moment while a large cache loads: exit 0 within 10 s, the cache whole at the next start', async () => {
    const big = await startSlapd({
      dataset: generateDirectory({
        users: 20_000,
        groups: 100,
        contacts: 200,
        seed: 'startup',
        baseDn: 'dc=corp,dc=test',
      }),
    });
    try {
      const dir = await folder();
      const gw = await gateway(dir);
      const id = await addSlapd(gw, big, 'Large');
      expect((await waitForFirstSync(gw, id, 120_000)).status).toBe('SUCCEEDED');
      expect((await signal(gw, 'SIGTERM')).code).toBe(0);

      // How long a start takes here, to spread the signals over it.
      const timed = await launchGateway(dir, { DIRGATE_LOG_LEVEL: 'info' });
      processes.push(timed);
      const began = Date.now();
      await untilReady(timed);
      const startMs = Date.now() - began;
      expect((await signal(timed, 'SIGTERM')).code).toBe(0);

      const outcomes: string[] = [];
      for (const share of [0.02, 0.1, 0.3, 0.5, 0.7, 0.9]) {
        const starting = await launchGateway(dir, { DIRGATE_LOG_LEVEL: 'info' });
        processes.push(starting);
        // Node's own bootstrap (the first ~50 ms, before any JavaScript runs) cannot handle a
        // signal; from the early-signal preload on, every moment can.
        await new Promise((r) => setTimeout(r, Math.max(150, startMs * share)));
        const sig: NodeJS.Signals = share < 0.5 ? 'SIGTERM' : 'SIGINT';
        const { code, ms } = await signal(starting, sig);
        expect(code, starting.output()).toBe(0);
        expect(ms).toBeLessThan(BOUND_MS);
        outcomes.push(/stopped during start-up/.test(starting.output()) ? 'during start-up' : 'serving');
      }
      // The signals did land during start-up (not all after it).
      expect(outcomes).toContain('during start-up');

      const after = await gateway(dir);
      const c = (await after.ok(ConnectionByIdDocument, { id })).connection;
      expect(c?.userCount).toBe(20_000);
      expect((await after.ok(UsersDocument, { connectionId: id, first: 1 })).users.totalCount).toBe(20_000);
      expect((await signal(after, 'SIGTERM')).code).toBe(0);
    } finally {
      await big.dispose();
    }
  });
});

it('`npm start` itself forwards SIGTERM and exits 0', async () => {
  const dir = await folder();
  const port = await freePort();
  const { NODE_ENV: _testMode, ...env } = process.env;
  const npm = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env: { ...env, PORT: String(port), HOST: '127.0.0.1', DIRGATE_DATA_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  npm.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  npm.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | string>((resolve) => {
    npm.once('exit', (code, sig) => resolve(code ?? sig ?? -1));
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) break;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`npm start did not serve:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const sent = Date.now();
  npm.kill('SIGTERM');
  const code = await Promise.race([
    exited,
    new Promise<string>((r) => setTimeout(() => r('running'), 15_000)),
  ]);
  if (code === 'running') npm.kill('SIGKILL');
  expect(code, out).toBe(0);
  expect(Date.now() - sent).toBeLessThan(BOUND_MS);
  expect(out).toMatch(/"msg":"stopped"/);
});
