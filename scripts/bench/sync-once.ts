/**
 * One full sync in a process of its own, so its peak memory is its own:
 * prints one JSON line with the sync time, counts, detection time and peak
 * RSS. Used by scripts/bench/run.ts.
 *
 *   tsx scripts/bench/sync-once.ts <ldap-url> <base> <bind-dn> <password> <data-dir>
 */
import { createGateway } from '../../src/app.js';
import { loadConfig } from '../../src/config/environment.js';
import { createLogger } from '../../src/logging.js';

const [url, base, bindDn, password, dataDir] = process.argv.slice(2);
if (!url || !base || !bindDn || !password || !dataDir)
  throw new Error('usage: sync-once URL BASE BIND_DN PASSWORD DATA_DIR');

const config = loadConfig({
  DIRGATE_DATA_DIR: dataDir,
  DIRGATE_SCHEDULER: 'false',
  DIRGATE_LOG_LEVEL: process.env.DIRGATE_LOG_LEVEL ?? 'warn',
  DIRGATE_NODE_NAME: 'bench',
});
const gateway = await createGateway(config, createLogger(config.logLevel));
const { connections, engine, directory } = gateway.services;
const c = await connections.add({
  name: 'bench',
  domain: 'corp.test',
  searchBase: base,
  servers: [url],
  bindDn,
  bindPassword: password,
  // The bench's slapd is plain ldap:// on loopback.
  allowPlaintextBind: true,
  includeContacts: true,
});
// When each phase of the run began (the engine reports every change of phase), for the breakdown.
const phaseStarts = new Map<string, number>();
engine.on('run', (r) => {
  if (!phaseStarts.has(r.phase)) phaseStarts.set(r.phase, performance.now());
});
const started = performance.now();
const cpuBefore = process.cpuUsage();
await engine.start(c.id, 'MANUAL');
const run = await engine.wait(c.id);
const ended = performance.now();
const syncMs = ended - started;
// Every thread of the process: main, V8's collector helpers, SQLite's.
const cpu = process.cpuUsage(cpuBefore);
const view = directory.view;
const at = (phase: string) => phaseStarts.get(phase) ?? Number.NaN;
console.log(
  JSON.stringify({
    status: run?.status,
    error: run?.error,
    syncMs,
    counts: run?.counts,
    detectionMs: view.timings.duplicates,
    viewBuildMs: view.timings.total,
    findings: view.findings.length,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    cpuMs: (cpu.user + cpu.system) / 1000,
    // Bound to every entry read; then the snapshot is built and written and its indexes built.
    readMs: at('BUILDING') - at('READING'),
    afterReadMs: ended - at('BUILDING'),
  }),
);
await gateway.stop();
