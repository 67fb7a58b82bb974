/**
 * Where an incremental run's time goes in the gateway: one in-process
 * gateway over a private slapd of the bench's dataset (with the access log),
 * a full run, the bench's ten changes, then one incremental run under V8's
 * CPU profiler. Prints the run's phases and the functions with the most
 * self time during it.
 *
 *   tsx scripts/bench/incremental-profile.ts [users] [top]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createGateway } from '../../src/app.js';
import { loadConfig } from '../../src/config/environment.js';
import { createLogger } from '../../src/logging.js';
import { generateDirectory } from '../directories/generator.js';
import { startSlapd } from '../directories/slapd.js';
import { tenChanges } from './incremental.js';

const USERS = Number(process.argv[2] ?? 100_000);
const TOP = Number(process.argv[3] ?? 30);

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly hitCount?: number;
  readonly children?: number[];
}

const dataset = generateDirectory({
  users: USERS,
  groups: Math.round(USERS / 10),
  contacts: Math.round(USERS / 5),
  seed: 'bench',
  baseDn: 'dc=corp,dc=test',
});
const slapd = await startSlapd({ dataset, accessLog: true });
const dataDir = await mkdtemp(path.join(tmpdir(), 'dirgate-incr-profile-'));
try {
  const config = loadConfig({
    DIRGATE_DATA_DIR: dataDir,
    DIRGATE_SCHEDULER: 'false',
    DIRGATE_LOG_LEVEL: 'info',
    DIRGATE_NODE_NAME: 'profile',
  });
  const gateway = await createGateway(config, createLogger(config.logLevel));
  const { connections, engine } = gateway.services;
  const c = await connections.add({
    name: 'bench',
    domain: 'corp.test',
    searchBase: slapd.baseDn,
    servers: [slapd.url],
    bindDn: slapd.reader.dn,
    bindPassword: slapd.reader.password,
    allowPlaintextBind: true,
    includeContacts: true,
  });
  await engine.start(c.id, 'MANUAL');
  await engine.wait(c.id);
  await tenChanges(slapd, dataset, 0, 'f');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  const t = performance.now();
  await engine.start(c.id, 'MANUAL', 'INCREMENTAL');
  const run = await engine.wait(c.id);
  const ms = performance.now() - t;
  const { profile } = (await session.post('Profiler.stop')) as unknown as {
    profile: { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[] };
  };
  session.disconnect();
  // Shares of the samples taken while the process was busy (idle and the profiler's own left out).
  const self = new Map<string, number>();
  let busy = 0;
  for (const node of profile.nodes) {
    const { functionName, url } = node.callFrame;
    if (functionName === '(idle)' || functionName === '(program)') continue;
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/work\/main\//, '') || '(native)'}`;
    self.set(key, (self.get(key) ?? 0) + (node.hitCount ?? 0));
    busy += node.hitCount ?? 0;
  }
  console.log(
    `incremental run: ${ms.toFixed(0)} ms, ${run?.mode}, ${JSON.stringify(run?.changes && { added: run.changes.addedCount, updated: run.changes.updatedCount, removed: run.changes.removedCount })}, deletionCheck ${run?.deletionCheck}`,
  );
  console.log(`self time by function, share of the busy samples, top ${TOP}:`);
  for (const [key, hits] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP))
    console.log(`${((hits / Math.max(1, busy)) * 100).toFixed(1).padStart(6)} %  ${key}`);
  await gateway.stop();
} finally {
  await slapd.dispose();
  await rm(dataDir, { recursive: true, force: true });
}
