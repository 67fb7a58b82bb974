/**
 * `dirgate sync`: one synchronization in the foreground, with a progress
 * bar on a terminal and a summary at the end.
 *
 * Where it runs:
 * - a gateway answers on this configuration's address (or --url /
 *   DIRGATE_URL is given): the sync runs THERE, started with the startSync
 *   mutation with the data folder's admin token and followed over the API.
 *   The running node's cache is the one refreshed, its one-sync-per-
 *   connection rule holds, and its readers and subscribers see the run.
 * - no gateway answers (or --local): the engine runs in this process on
 *   the data folder's stores, and owns the folder meanwhile
 *   (src/store/data-folder-lock.ts): if a gateway owns it (one answering on
 *   another address, say), the command refuses and changes nothing. A
 *   gateway started later serves the result.
 *
 * Exit status: 0 when every run succeeded, 1 when one failed, 2 when one
 * was held for confirmation (it would remove too much of the cache).
 */
import { type Config, commandSettings } from '../../config/environment.js';
import { createLogger } from '../../logging.js';
import type { SnapshotCounts } from '../../model/principal.js';
import type { RunChanges, SyncMode, SyncRunRecord } from '../../model/run.js';
import { answers, GatewayApi } from '../api.js';
import { type Command, type ParsedValues, stringOption, UsageError } from '../command.js';
import { adminToken, cliConfig, gatewayBase, requireDataDir } from '../context.js';
import { formatDuration, json, line, Progress, paint, print, type Styled } from '../output.js';

/** What the summary needs of a run, from the engine or from the API alike. */
interface RunView {
  readonly id: string;
  readonly connectionId: string;
  readonly status: string;
  readonly phase: string;
  readonly progress: number;
  readonly server: string | null;
  readonly error: string | null;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly counts: SnapshotCounts | null;
  readonly changes: Pick<RunChanges, 'addedCount' | 'updatedCount' | 'removedCount'> | null;
  /** Absent from runs of gateways that predate incremental runs. */
  readonly mode?: string;
  readonly fallback?: string | null;
  readonly fallbackReason?: string | null;
}

interface Target {
  readonly id: string;
  readonly name: string;
  /** Entries of the previous snapshot: the progress bar's 100 %. */
  readonly expected: number | null;
}

interface Outcome {
  readonly where: string;
  readonly targets: readonly Target[];
  readonly runs: readonly RunView[];
  readonly findings: readonly string[];
}

function exitCode(runs: readonly RunView[]): number {
  if (runs.some((r) => r.status === 'FAILED')) return 1;
  if (runs.some((r) => r.status === 'HELD')) return 2;
  return 0;
}

export function summary(outcome: Outcome, stream: NodeJS.WriteStream = process.stdout): Styled[] {
  const c = paint(stream);
  const lines: Styled[] = [];
  for (const run of outcome.runs) {
    const target = outcome.targets.find((t) => t.id === run.connectionId);
    const took = run.finishedAt
      ? formatDuration(Date.parse(run.finishedAt) - Date.parse(run.startedAt))
      : '?';
    const status =
      run.status === 'SUCCEEDED'
        ? c.green(run.status)
        : run.status === 'HELD'
          ? c.yellow(run.status)
          : c.red(run.status);
    const fellBack = run.fallbackReason ?? run.fallback ?? null;
    const mode =
      run.mode === 'INCREMENTAL'
        ? ' (incremental)'
        : fellBack
          ? ` (full: incremental not possible, ${fellBack})`
          : '';
    lines.push(
      line`${c.bold(target?.name ?? run.connectionId)} ${status}${mode} in ${took}${run.server ? ` from ${run.server}` : ''}`,
    );
    if (run.counts) {
      const { users, groups, contacts, addresses } = run.counts;
      lines.push(line`  users ${users} · groups ${groups} · contacts ${contacts} · addresses ${addresses}`);
    }
    if (run.changes) {
      const { addedCount, updatedCount, removedCount } = run.changes;
      lines.push(line`  changes: ${addedCount} added, ${updatedCount} updated, ${removedCount} removed`);
    }
    if (run.error) lines.push(line`  ${run.status === 'HELD' ? c.yellow(run.error) : c.red(run.error)}`);
    lines.push(line`  run ${run.id}`);
  }
  const byKind = new Map<string, number>();
  for (const kind of outcome.findings) byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
  const kinds = [...byKind].map(([k, n]) => `${k} ${n}`).join(', ');
  lines.push(
    outcome.findings.length
      ? c.yellow(`duplicate findings on this node: ${outcome.findings.length} (${kinds})`)
      : line`no duplicate findings on this node`,
  );
  lines.push(c.dim(`(ran ${outcome.where})`));
  return lines;
}

function follow(progress: Progress, targets: readonly Target[], run: RunView): void {
  const target = targets.find((t) => t.id === run.connectionId);
  progress.update(
    target?.name ?? run.connectionId,
    run.phase,
    run.progress || (run.counts ? run.counts.users + run.counts.groups + run.counts.contacts : 0),
    target?.expected ?? null,
    (run.finishedAt ? Date.parse(run.finishedAt) : Date.now()) - Date.parse(run.startedAt),
  );
}

/** The connection --connection names: its id, else its name (exactly, then ignoring case). */
function chooseConnection<C extends { readonly id: string; readonly name: string }>(
  all: readonly C[],
  ref: string,
): C[] {
  for (const same of [
    (c: C) => c.id === ref,
    (c: C) => c.name === ref,
    (c: C) => c.name.toLowerCase() === ref.toLowerCase(),
  ]) {
    const found = all.filter(same);
    if (found.length > 1) throw new UsageError(`${found.length} connections are named "${ref}": give the id`);
    if (found.length === 1) return found;
  }
  return [];
}

// ---------------------------------------------------------------- in-process

async function runLocal(
  config: Config,
  connectionId: string | undefined,
  verbose: boolean,
  mode: SyncMode,
): Promise<Outcome> {
  requireDataDir(config);
  const tty = process.stderr.isTTY === true;
  // On a terminal the progress bar says what the phase lines would; --verbose shows both.
  const level = tty && !verbose ? 'warn' : verbose && config.logLevel === 'info' ? 'debug' : config.logLevel;
  const logger = createLogger(level, { fd: 2 });
  // The whole gateway, loaded only for an in-process run: every other command starts without it.
  await import('reflect-metadata');
  const { createGateway } = await import('../../app.js');
  const gateway = await createGateway(config, logger, {
    reconcileMs: 3_600_000,
    owner: 'dirgate sync --local',
  });
  const progress = new Progress();
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    progress.end();
    process.stderr.write('dirgate: interrupted; stopping the run (the last good cache is kept)\n');
    // Stopping aborts the runs; their waits below then resolve as FAILED.
    void gateway.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const { connections, engine, directory } = gateway.services;
    const all = await connections.list();
    const chosen = connectionId ? chooseConnection(all, connectionId) : all;
    if (connectionId && chosen.length === 0) {
      throw new UsageError(`no connection ${connectionId} in ${config.dataDir} (see: dirgate connections)`);
    }
    if (chosen.length === 0) throw new UsageError(`no connections in ${config.dataDir}`);
    const targets: Target[] = chosen.map((c) => {
      const counts = engine.state(c.id).counts;
      const total = counts.users + counts.groups + counts.contacts;
      return { id: c.id, name: c.name, expected: total > 0 ? total : null };
    });
    const onRun = (run: SyncRunRecord) => {
      if (targets.some((t) => t.id === run.connectionId)) follow(progress, targets, run);
    };
    if (!verbose || !tty) engine.on('run', onRun);
    const started = await Promise.all(targets.map((t) => engine.start(t.id, 'MANUAL', mode)));
    const finished: RunView[] = [];
    for (const run of started) finished.push((await engine.wait(run.connectionId)) ?? run);
    engine.off('run', onRun);
    progress.end();
    return {
      where: `in this process on ${config.dataDir}`,
      targets,
      runs: finished,
      findings: directory.findings().map((f) => f.kind),
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await gateway.stop();
  }
}

// ---------------------------------------------------------------- over the API

const RUN_FIELDS = `id connectionId status phase progress server error startedAt finishedAt mode fallbackReason
  counts { users groups contacts addresses } changes { addedCount updatedCount removedCount }`;

interface ApiConnection {
  id: string;
  name: string;
  userCount: number;
  groupCount: number;
  contactCount: number;
  lastSync: RunView | null;
}

async function runRemote(
  api: GatewayApi,
  connectionId: string | undefined,
  mode: SyncMode,
): Promise<Outcome> {
  const listQuery = `query CliConnections { connections { id name userCount groupCount contactCount lastSync { ${RUN_FIELDS} } } }`;
  const before = (await api.call<{ connections: ApiConnection[] }>(listQuery)).connections;
  const chosen = connectionId ? chooseConnection(before, connectionId) : before;
  if (connectionId && chosen.length === 0)
    throw new UsageError(`no connection ${connectionId} at ${api.base}`);
  if (chosen.length === 0) throw new UsageError(`no connections at ${api.base}`);
  const targets: Target[] = chosen.map((c) => {
    const total = c.userCount + c.groupCount + c.contactCount;
    return { id: c.id, name: c.name, expected: total > 0 ? total : null };
  });
  const started = (
    await api.call<{ startSync: RunView[] }>(
      `mutation CliStartSync($connectionId: ID, $mode: SyncMode) { startSync(connectionId: $connectionId, mode: $mode) { ${RUN_FIELDS} } }`,
      { connectionId: connectionId ? (chosen[0]?.id ?? null) : null, mode },
    )
  ).startSync;
  const progress = new Progress();
  const pending = new Map(started.map((r) => [r.id, r]));
  const finished = new Map<string, RunView>();
  while (pending.size > 0) {
    const now = (await api.call<{ connections: ApiConnection[] }>(listQuery)).connections;
    for (const run of [...pending.values()]) {
      const last = now.find((c) => c.id === run.connectionId)?.lastSync;
      if (!now.some((c) => c.id === run.connectionId)) {
        pending.delete(run.id);
        finished.set(run.id, {
          ...run,
          status: 'FAILED',
          error: 'the connection was deleted during the run',
        });
      } else if (last && last.id === run.id) {
        follow(progress, targets, last);
        if (last.status !== 'RUNNING') {
          pending.delete(run.id);
          finished.set(run.id, last);
        }
      }
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 200));
  }
  progress.end();
  const findings = (
    await api.call<{ duplicateFindings: { kind: string }[] }>(
      'query CliFindings { duplicateFindings { kind } }',
    )
  ).duplicateFindings.map((f) => f.kind);
  return {
    where: `on the gateway at ${api.base}`,
    targets,
    runs: started.map((r) => finished.get(r.id) ?? r),
    findings,
  };
}

// ---------------------------------------------------------------- the command

export const syncCommand: Command = {
  name: 'sync',
  summary: 'Runs one synchronization now, in the foreground, and prints a summary.',
  description: `
Syncs one connection (--connection ID) or all of them. If a gateway answers
on this configuration's address (HOST:PORT, or --url / DIRGATE_URL), the
run happens on that gateway through its API (startSync), authenticated with
the data folder's admin token, so the running node's cache is refreshed.
Otherwise (or with --local) the sync engine runs in this process on the data
folder (DIRGATE_DATA_DIR), which it then owns: if a gateway owns the folder,
it refuses and changes nothing. A gateway started later serves the result.
With --incremental the run reads only what changed since the last one (a
run that cannot be incremental reads everything and says why).
A progress bar shows on a terminal; the summary goes to standard output.
Exit status: 0 succeeded, 1 failed, 2 held for confirmation (confirmSync).`,
  options: {
    connection: {
      type: 'string',
      short: 'c',
      value: 'ID|NAME',
      help: 'the connection to sync (default: all)',
    },
    url: {
      type: 'string',
      value: 'URL',
      help: 'the gateway to run the sync on (default: $DIRGATE_URL or HOST:PORT)',
    },
    local: { type: 'boolean', help: 'run the engine in this process even if a gateway answers' },
    incremental: { type: 'boolean', help: 'read only what changed since the last run' },
    json: { type: 'boolean', help: 'print the outcome as JSON instead of a summary' },
    verbose: { type: 'boolean', short: 'v', help: 'log every phase (in-process runs)' },
  },
  async run(values: ParsedValues) {
    const connectionId = stringOption(values, 'connection');
    const url = stringOption(values, 'url');
    const mode: SyncMode = values.incremental === true ? 'INCREMENTAL' : 'FULL';
    const config = cliConfig(values, { DIRGATE_SCHEDULER: 'false' });
    if (values.local && url) throw new UsageError('--local and --url exclude each other');
    let outcome: Outcome;
    const base = gatewayBase(config, url);
    const explicit = url !== undefined || commandSettings().gatewayUrl !== null;
    if (!values.local && (await answers(base))) {
      outcome = await runRemote(new GatewayApi(base, await adminToken(config)), connectionId, mode);
    } else if (explicit && !values.local) {
      throw new UsageError(`no gateway answers at ${base}/readyz`);
    } else {
      outcome = await runLocal(config, connectionId, values.verbose === true, mode);
    }
    if (values.json) process.stdout.write(json(outcome));
    else print(process.stdout, ...summary(outcome));
    return exitCode(outcome.runs);
  },
};
