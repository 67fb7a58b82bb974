/**
 * The incremental figures of `npm run bench` (#18), against a private slapd
 * holding the bench's dataset:
 *
 *  - `incrementalBesideFull`: ten changes written as the directory's admin
 *    (3 users added, 3 addresses changed, 2 groups' members changed, 1 user
 *    renamed, 1 deleted), then `startSync(mode: INCREMENTAL)`, then a full
 *    run of the same directory; three turns. The runs' own times (finishedAt
 *    − startedAt), the wall clock from the mutation to the end the API
 *    reports, and the entries read (`progress`), the incremental run checked
 *    to be one (mode, no fallback) listing exactly the ten changes, and the
 *    full run after it finding nothing left to change.
 *  - `changeToAutocomplete`: with the gateway as `npm start` starts it
 *    (schedules on, the connection at its default incrementalSchedule), a new
 *    user with a unique address written, then `autocomplete` polled over HTTP
 *    every 250 ms until the address is suggested.
 *
 * The gateway runs as its own process (test/support/gateway-process.ts) and
 * logs at `info`, so each run's `sync phase …` lines (ms per phase) are kept
 * for the report.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'ldapts';
import { type GatewayProcess, spawnGateway } from '../../test/support/gateway-process.js';
import {
  addEntry,
  changeValues,
  deleteEntry,
  modifyEntry,
  moveEntry,
} from '../../test/support/slapd-edits.js';
import { slapdSettings } from '../../test/support/sync.js';
import type { Dataset } from '../directories/generator.js';
import { guidFromBytes, guidToBytes } from '../directories/identifiers.js';
import type { SlapdInstance } from '../directories/slapd.js';
import { type CpuSpent, cpuBetween, cpuRecorder, cpuSample } from './cpu.js';

/** The run's fields the bench reads. */
interface BenchRun {
  readonly id: string;
  readonly status: string;
  readonly mode: string;
  readonly trigger: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly progress: number;
  readonly error: string | null;
  readonly fallbackReason: string | null;
  readonly fallbackMessage: string | null;
  readonly deletionCheck: string | null;
  readonly changes: { addedCount: number; updatedCount: number; removedCount: number } | null;
}

const RUN_FIELDS = `id status mode trigger startedAt finishedAt progress error fallbackReason fallbackMessage
  deletionCheck changes { addedCount updatedCount removedCount }`;

/** One GraphQL request as the admin; throws on errors. Small queries: the poll must not load the gateway. */
export async function post<T>(
  gw: GatewayProcess,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await gw.token()}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (body.errors?.length || !body.data) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function addConnection(gw: GatewayProcess, slapd: SlapdInstance): Promise<string> {
  const { addConnection } = await post<{ addConnection: { id: string } }>(
    gw,
    'mutation($input: AddConnectionInput!) { addConnection(input: $input) { id } }',
    { input: { name: 'bench', domain: 'corp.test', ...slapdSettings(slapd), includeContacts: true } },
  );
  return addConnection.id;
}

async function runById(gw: GatewayProcess, connectionId: string, runId: string): Promise<BenchRun | null> {
  const { syncRuns } = await post<{ syncRuns: BenchRun[] }>(
    gw,
    `query($c: ID!) { syncRuns(connectionId: $c, last: 5) { ${RUN_FIELDS} } }`,
    { c: connectionId },
  );
  return syncRuns.find((r) => r.id === runId) ?? null;
}

/** Polls until no run of the connection is in progress (NEVER counts as not begun when `first`). */
async function untilIdle(gw: GatewayProcess, connectionId: string, first = false): Promise<void> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const { connection } = await post<{ connection: { status: string } | null }>(
      gw,
      'query($id: ID!) { connection(id: $id) { status } }',
      { id: connectionId },
    );
    if (!connection) throw new Error(`connection ${connectionId} is gone`);
    if (connection.status !== 'RUNNING' && !(first && connection.status === 'NEVER')) return;
    if (Date.now() > deadline) throw new Error(`no run of ${connectionId} ended in 300 s`);
    await sleep(20);
  }
}

interface TimedRun {
  readonly run: BenchRun;
  /** finishedAt − startedAt, as the API reports them. */
  readonly runMs: number;
  /** From sending startSync to the poll seeing the run ended. */
  readonly wallMs: number;
  /** CPU the gateway and slapd spent meanwhile, and how busy the machine was. */
  readonly cpu: CpuSpent;
}

/** startSync(mode) through the API, waited for; the run as recorded. */
async function timedSync(
  gw: GatewayProcess,
  slapd: SlapdInstance,
  connectionId: string,
  mode: 'FULL' | 'INCREMENTAL',
): Promise<TimedRun> {
  const pids = [gw.child.pid, slapd.pid];
  const before = await cpuSample(pids);
  const t = performance.now();
  const { startSync } = await post<{ startSync: { id: string }[] }>(
    gw,
    'mutation($c: ID, $m: SyncMode) { startSync(connectionId: $c, mode: $m) { id } }',
    { c: connectionId, m: mode },
  );
  await untilIdle(gw, connectionId);
  const wallMs = performance.now() - t;
  const cpu = cpuBetween(before, await cpuSample(pids));
  const runId = startSync[0]?.id;
  const run = runId ? await runById(gw, connectionId, runId) : null;
  if (!run) throw new Error(`the ${mode} run is not recorded`);
  if (run.status !== 'SUCCEEDED') throw new Error(`the ${mode} run ended ${run.status}: ${run.error}`);
  const runMs = Date.parse(run.finishedAt ?? '') - Date.parse(run.startedAt);
  return { run, runMs, wallMs, cpu };
}

interface Expected {
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
}

/**
 * The objects each turn of changes touches, disjoint between turns: users in
 * no group for the rename and the delete (a deleted member also changes its
 * groups, and the ten must be exactly ten), small groups for the members.
 */
function changeTargets(dataset: Dataset, turn: number) {
  const inGroups = new Set<string>();
  for (const g of dataset.groups) for (const m of g.members) inGroups.add(m.toLowerCase());
  const loners = dataset.users.filter((u) => !inGroups.has(u.dn.toLowerCase()));
  const special = new Set([
    dataset.structure.largeGroup,
    ...dataset.structure.chain,
    ...dataset.structure.cycle,
  ]);
  const small = dataset.groups.filter(
    (g) => !special.has(g.dn) && g.members.length >= 2 && g.members.length <= 50,
  );
  const pick = <T>(list: readonly T[], i: number): T => {
    const v = list[(i * 7919) % list.length];
    if (v === undefined) throw new Error('the dataset is too small for the incremental bench');
    return v;
  };
  const k = turn * 8;
  return {
    addressed: [pick(loners, k), pick(loners, k + 1), pick(loners, k + 2)],
    joining: pick(loners, k + 3),
    renamed: pick(loners, k + 4),
    deleted: pick(loners, k + 5),
    joined: pick(small, turn * 2),
    left: pick(small, turn * 2 + 1),
  };
}

function newUser(label: string, address: string) {
  const guid = guidFromBytes(randomBytes(16));
  const account = address.split('@')[0] ?? label;
  return {
    guid,
    attributes: {
      objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'user'],
      cn: label,
      sn: label.split(' ').pop() ?? label,
      displayName: label,
      mail: address,
      sAMAccountName: account.slice(0, 20),
      userPrincipalName: address,
      userAccountControl: '512',
      objectGUID: guidToBytes(guid),
    },
  };
}

/** Ten changes as the directory's admin; what the incremental run must list. */
export async function tenChanges(
  slapd: SlapdInstance,
  dataset: Dataset,
  turn: number,
  tag: string,
): Promise<Expected> {
  const t = changeTargets(dataset, turn);
  const users = dataset.containers.user;
  for (let i = 0; i < 3; i++) {
    const label = `Bench Newcomer ${tag}${turn}x${i}`;
    const user = newUser(label, `newcomer.${tag}${turn}x${i}@corp.test`);
    await addEntry(slapd, `cn=${label},${users}`, user.attributes);
  }
  for (const [i, u] of t.addressed.entries()) {
    const address = `moved.${tag}${turn}x${i}.${u.sAMAccountName}@corp.test`;
    await modifyEntry(slapd, u.dn, {
      mail: [address],
      proxyAddresses: [`SMTP:${address}`, ...u.proxyAddresses.filter((a) => !a.startsWith('SMTP:'))],
    });
  }
  await changeValues(slapd, t.joined.dn, 'member', { add: [t.joining.dn] });
  const leaving = t.left.members[0];
  if (!leaving) throw new Error('no member to remove');
  await changeValues(slapd, t.left.dn, 'member', { remove: [leaving] });
  await moveEntry(slapd, t.renamed.dn, `cn=${t.renamed.cn} Renamed ${tag}${turn},${users}`);
  await deleteEntry(slapd, t.deleted.dn);
  return { added: 3, updated: 6, removed: 1 };
}

/**
 * The `sync phase …` lines the gateway logged for one run, on one line (`read 120 ms (entries 14); …`),
 * with the `directory view built` line logged during the run (whether the view was patched or built
 * whole, and its timings).
 */
function phaseLines(gw: GatewayProcess, runId: string): string {
  const quiet = new Set([
    'level',
    'time',
    'pid',
    'hostname',
    'msg',
    'name',
    'component',
    'server',
    'connectionId',
    'runId',
    'phase',
    'ms',
    'node',
  ]);
  const extras = (entry: Record<string, unknown>) =>
    Object.entries(entry)
      .filter(([k, v]) => !quiet.has(k) && v !== undefined)
      .map(
        ([k, v]) =>
          `${k} ${typeof v === 'number' ? fmt(v, 0) : typeof v === 'object' ? JSON.stringify(v) : String(v)}`,
      )
      .join(', ');
  const parts: string[] = [];
  let during = false;
  for (const line of gw.output().split('\n')) {
    if (!line.includes('"sync phase') && !line.includes('"directory view built')) continue;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (entry.msg === 'directory view built') {
      if (during) parts.push(`[view ${extras(entry)}]`);
      continue;
    }
    if (entry.runId !== runId) continue;
    during = entry.phase !== 'index';
    const extra = extras(entry);
    parts.push(`${String(entry.phase)} ${String(entry.ms)} ms${extra ? ` (${extra})` : ''}`);
  }
  return parts.length ? parts.join('; ') : '(no phase lines logged)';
}

/** `gateway 120 ms CPU, slapd 80 ms, machine 95% busy`: where a run's wall time went. */
function cpuLine(cpu: CpuSpent | null): string {
  if (!cpu) return 'CPU not sampled';
  const [gateway = 0, directory = 0] = cpu.processes;
  return `CPU: gateway ${fmt(gateway)} ms, slapd ${fmt(directory)} ms, both cores ${fmt(cpu.machineBusy * 100)}% busy (all tenants)`;
}

/**
 * slapd's own cost of a change filter over the whole base, as the reader, outside any run: what an
 * incremental read's `(modifyTimestamp>=…)` searches cost the directory, whatever the gateway does.
 */
async function changeFilterCost(slapd: SlapdInstance): Promise<string> {
  const client = new Client({ url: slapd.url, timeout: 30_000 });
  try {
    await client.bind(slapd.reader.dn, slapd.reader.password);
    const since = new Date(Date.now() - 600_000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
    const before = await cpuSample([slapd.pid]);
    const t = performance.now();
    const { searchEntries } = await client.search(slapd.baseDn, {
      scope: 'sub',
      filter: `(&(objectClass=inetOrgPerson)(modifyTimestamp>=${since}Z))`,
      attributes: ['1.1'],
      paged: { pageSize: 1000 },
    });
    const ms = performance.now() - t;
    const [slapdMs = 0] = cpuBetween(before, await cpuSample([slapd.pid])).processes;
    return `(&(objectClass=inetOrgPerson)(modifyTimestamp>=10 minutes ago)) as the reader: ${fmt(ms)} ms, slapd CPU ${fmt(slapdMs)} ms, ${searchEntries.length} entries`;
  } finally {
    await client.unbind();
  }
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function withGateway<T>(
  env: Record<string, string>,
  body: (gw: GatewayProcess) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'dirgate-bench-incr-'));
  const gw = await spawnGateway(dir, { DIRGATE_LOG_LEVEL: 'info', ...env });
  try {
    return await body(gw);
  } finally {
    gw.child.kill('SIGTERM');
    await gw.exited;
    await rm(dir, { recursive: true, force: true });
  }
}

export interface BesideFullOptions {
  readonly slapd: SlapdInstance;
  readonly dataset: Dataset;
  /** What the slapd offers for deletions, for the heading. */
  readonly label: string;
  /** Distinguishes this directory's changes from another bench's on a copy of the same dataset. */
  readonly tag: string;
  readonly turns?: number;
}

/** Incremental beside full, best of `turns` each, in turns; prints the figures. */
export async function incrementalBesideFull(options: BesideFullOptions): Promise<void> {
  const { slapd, dataset, label, tag } = options;
  const turns = options.turns ?? 3;
  // Schedules off: only the bench's runs, none of the scheduler's in between.
  await withGateway({ DIRGATE_SCHEDULER: 'false' }, async (gw) => {
    const connectionId = await addConnection(gw, slapd);
    const first = await timedSync(gw, slapd, connectionId, 'FULL');
    const incrementals: (TimedRun & { expected: Expected })[] = [];
    const fulls: TimedRun[] = [];
    for (let turn = 0; turn < turns; turn++) {
      const expected = await tenChanges(slapd, dataset, turn, tag);
      const inc = await timedSync(gw, slapd, connectionId, 'INCREMENTAL');
      incrementals.push({ ...inc, expected });
      fulls.push(await timedSync(gw, slapd, connectionId, 'FULL'));
    }
    const best = <R extends TimedRun>(list: R[]): R => list.reduce((b, r) => (r.runMs < b.runMs ? r : b));
    const inc = best(incrementals);
    const full = best(fulls);
    const problems: string[] = [];
    for (const [i, r] of incrementals.entries()) {
      const c = r.run.changes;
      if (r.run.mode !== 'INCREMENTAL' || r.run.fallbackReason)
        problems.push(`turn ${i + 1} ran ${r.run.mode} (${r.run.fallbackReason}: ${r.run.fallbackMessage})`);
      if (
        c?.addedCount !== r.expected.added ||
        c.updatedCount !== r.expected.updated ||
        c.removedCount !== r.expected.removed
      )
        problems.push(`turn ${i + 1} listed ${JSON.stringify(c)}, not ${JSON.stringify(r.expected)}`);
    }
    for (const [i, r] of fulls.entries()) {
      const c = r.run.changes;
      if (c && c.addedCount + c.updatedCount + c.removedCount > 0)
        problems.push(`the full run after turn ${i + 1} still changed ${JSON.stringify(c)}`);
    }
    const each = incrementals.map((r, i) => fmt(r.runMs / (fulls[i] as TimedRun).runMs, 3)).join(', ');
    const c = inc.run.changes;
    console.log(`-- incremental beside full, ${label}: 10 changes a turn, best of ${turns} each, in turns`);
    console.log(
      `first full run                      ${fmt(first.runMs).padStart(8)} ms  (${fmt(first.run.progress)} entries read)`,
    );
    console.log(
      `full run (best of ${turns})                ${fmt(full.runMs).padStart(8)} ms  (wall ${fmt(full.wallMs)} ms; ${fmt(full.run.progress)} entries read)`,
    );
    console.log(
      `incremental run (best of ${turns})         ${fmt(inc.runMs).padStart(8)} ms  (wall ${fmt(inc.wallMs)} ms from the mutation; ${fmt(inc.run.progress)} entries read)`,
    );
    console.log(
      `  incremental / full, time          ${fmt(inc.runMs / full.runMs, 3).padStart(8)} x   (target < 0.1; each turn: ${each}; wall ${fmt(inc.wallMs / full.wallMs, 3)})`,
    );
    console.log(
      `  incremental / full, entries read  ${fmt(inc.run.progress / full.run.progress, 4).padStart(8)} x   (target < 0.1)`,
    );
    console.log(
      `  mode ${inc.run.mode}, fallback ${inc.run.fallbackReason ?? 'none'}, deletionCheck ${inc.run.deletionCheck ?? 'none'} (each turn: ${incrementals.map((r) => r.run.deletionCheck ?? 'none').join(', ')}; entries read ${incrementals.map((r) => fmt(r.run.progress)).join(', ')}); changes added ${c?.addedCount}, updated ${c?.updatedCount}, removed ${c?.removedCount} (want 3, 6, 1)`,
    );
    console.log(
      `  ${problems.length ? `PROBLEMS: ${problems.join('; ')}` : 'every turn: INCREMENTAL, exactly the 10 changes; the full run after it found nothing more'}`,
    );
    console.log(`  phases, incremental: ${phaseLines(gw, inc.run.id)}`);
    console.log(`    ${cpuLine(inc.cpu)}`);
    console.log(`  phases, full:        ${phaseLines(gw, full.run.id)}`);
    console.log(`    ${cpuLine(full.cpu)}`);
    console.log(`  slapd alone: ${await changeFilterCost(slapd)}\n`);
  });
}

export interface ChangeToAutocompleteOptions {
  readonly slapd: SlapdInstance;
  readonly dataset: Dataset;
  readonly trials?: number;
  /** Between the trials' writes, so that they fall at different points of the schedule's minute. */
  readonly spacingMs?: number;
}

/**
 * Change → autocomplete under the default schedule: each trial writes a new
 * user with a unique address and polls autocomplete for it every 250 ms. The
 * trials run side by side, written `spacingMs` apart, so that three of them
 * take one or two minutes of the schedule rather than three.
 */
export async function changeToAutocomplete(options: ChangeToAutocompleteOptions): Promise<void> {
  const { slapd, dataset } = options;
  const trials = options.trials ?? 3;
  const spacingMs = options.spacingMs ?? 20_000;
  // As `npm start` starts it: schedules on, the connection at its default incrementalSchedule.
  await withGateway({}, async (gw) => {
    const connectionId = await addConnection(gw, slapd);
    await untilIdle(gw, connectionId, true);
    const { connection } = await post<{
      connection: { incrementalSchedule: string | null; schedule: string };
    }>(gw, 'query($id: ID!) { connection(id: $id) { incrementalSchedule schedule } }', { id: connectionId });
    const users = dataset.containers.user;
    const began = Date.now();
    const recorder = cpuRecorder([gw.child.pid, slapd.pid]);
    const one = async (trial: number) => {
      await sleep(trial * spacingMs);
      const address = `latency.${trial}.${randomBytes(4).toString('hex')}@corp.test`;
      const label = `Latency Probe ${trial}`;
      await addEntry(slapd, `cn=${label},${users}`, newUser(label, address).attributes);
      const written = Date.now();
      const deadline = written + 180_000;
      for (;;) {
        const { autocomplete } = await post<{ autocomplete: { address: string }[] }>(
          gw,
          'query($p: String!) { autocomplete(prefix: $p, first: 10) { address } }',
          { p: address },
        );
        if (autocomplete.some((s) => s.address.toLowerCase() === address)) break;
        if (Date.now() > deadline) return { trial, ms: Number.POSITIVE_INFINITY, secondInMinute: 0 };
        await sleep(250);
      }
      return { trial, ms: Date.now() - written, secondInMinute: new Date(written).getUTCSeconds() };
    };
    const results = await Promise.all(Array.from({ length: trials }, (_, i) => one(i)));
    // The run that served the last trial is recorded as ended just after it serves.
    await untilIdle(gw, connectionId);
    await sleep(300);
    await recorder.stop();
    const { syncRuns } = await post<{ syncRuns: BenchRun[] }>(
      gw,
      `query($c: ID!) { syncRuns(connectionId: $c, last: 20) { ${RUN_FIELDS} } }`,
      { c: connectionId },
    );
    const during = syncRuns.filter((r) => Date.parse(r.startedAt) >= began);
    const times = results.map((r) => r.ms);
    const incrementalRuns = during.filter((r) => r.mode === 'INCREMENTAL' && r.finishedAt);
    const runMs = incrementalRuns.map((r) => Date.parse(r.finishedAt ?? '') - Date.parse(r.startedAt));
    console.log(
      `-- change → autocomplete, gateway as npm start runs it (incrementalSchedule ${connection?.incrementalSchedule ?? 'off'}, schedule ${connection?.schedule}), ${trials} trials written ${fmt(spacingMs / 1000)} s apart, polled every 250 ms`,
    );
    console.log(
      `  each trial                        ${results.map((r) => `${fmt(r.ms / 1000, 1)} s (written at :${String(r.secondInMinute).padStart(2, '0')})`).join(', ')}`,
    );
    console.log(
      `  best / worst                      ${fmt(Math.min(...times) / 1000, 1).padStart(8)} s / ${fmt(Math.max(...times) / 1000, 1)} s  (target < 70 s)`,
    );
    console.log(
      `  runs meanwhile                    ${during.map((r) => `${r.trigger} ${r.mode} ${r.status}`).join(', ') || 'none'}; the incremental ones took ${runMs.map((ms) => `${fmt(ms)} ms`).join(', ')}`,
    );
    for (const r of incrementalRuns.filter((r) => (r.changes?.addedCount ?? 0) > 0))
      console.log(
        `  phases of a run that served a trial: ${phaseLines(gw, r.id)}\n    ${cpuLine(recorder.between(Date.parse(r.startedAt), Date.parse(r.finishedAt ?? '')))}`,
      );
    // The same gateway, one more user, an incremental run started by hand: whether a scheduled
    // run costs what a manual one does in this process.
    const address = `latency.manual.${randomBytes(4).toString('hex')}@corp.test`;
    await addEntry(
      slapd,
      `cn=Latency Probe Manual,${users}`,
      newUser('Latency Probe Manual', address).attributes,
    );
    await untilIdle(gw, connectionId);
    try {
      const manual = await timedSync(gw, slapd, connectionId, 'INCREMENTAL');
      console.log(
        `  the same gateway, 1 user added, startSync(INCREMENTAL): ${fmt(manual.runMs)} ms (${manual.run.deletionCheck}; ${fmt(manual.run.progress)} entries read): ${phaseLines(gw, manual.run.id)}\n    ${cpuLine(manual.cpu)}`,
      );
    } catch (err) {
      // A scheduled run may have begun at the same instant: this line is only a comparison.
      console.log(
        `  the same gateway, startSync(INCREMENTAL) by hand: not measured (${(err as Error).message})`,
      );
    }
    console.log('');
  });
}
