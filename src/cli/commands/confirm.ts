/**
 * `dirgate confirm RUN_ID` applies a held run (confirmSync); `dirgate
 * discard RUN_ID` drops it (discardSync). A run is held when it would
 * remove more of the cache than the connection allows; until it is
 * settled the previous snapshot is served. `dirgate runs` shows what it
 * would remove.
 */
import { GATEWAY_OPTION, type GatewayApi, gatewayApi, JSON_OPTION } from '../api.js';
import { type Command, oneArgument, UsageError } from '../command.js';
import { type ApiRun, RUN_FIELDS } from '../connections-api.js';
import { cliConfig } from '../context.js';
import { json, line, print } from '../output.js';
import { statusColour } from './connection-show.js';

/** The connection holding run `runId`, or a refusal naming the runs that are held. */
async function heldOn(api: GatewayApi, runId: string): Promise<{ id: string; name: string }> {
  const { connections } = await api.call<{
    connections: { id: string; name: string; heldRunId: string | null }[];
  }>('query CliHeldRuns { connections { id name heldRunId } }');
  const held = connections.find((c) => c.heldRunId === runId);
  if (!held) {
    const others = connections.filter((c) => c.heldRunId).map((c) => `${c.heldRunId} (${c.name})`);
    throw new UsageError(
      `run ${runId} is not held on any connection${others.length ? `; held: ${others.join(', ')}` : ' (none is held)'}`,
    );
  }
  return held;
}

export const confirmCommand: Command = {
  name: 'confirm',
  arguments: 'RUN_ID',
  summary: 'Applies a run that was held because it would remove too much.',
  description: `
Applies the held run RUN_ID (confirmSync on the running gateway): its
snapshot is served from then on, and what it found removed is removed.
\`dirgate runs\` lists held runs and what each would remove; \`dirgate
connections show\` names a connection's held run. To keep the current data
instead: \`dirgate discard RUN_ID\`.`,
  options: { gateway: GATEWAY_OPTION, json: JSON_OPTION },
  async run(values, positionals) {
    const runId = oneArgument(positionals, 'run id (see: dirgate runs)');
    const api = await gatewayApi(values, cliConfig(values));
    const held = await heldOn(api, runId);
    const { confirmSync } = await api.call<{ confirmSync: ApiRun }>(
      `mutation CliConfirm($connectionId: ID!, $runId: ID!) { confirmSync(connectionId: $connectionId, runId: $runId) { ${RUN_FIELDS} } }`,
      { connectionId: held.id, runId },
    );
    if (values.json) {
      process.stdout.write(json(confirmSync));
      return 0;
    }
    const status = statusColour(process.stdout);
    const ch = confirmSync.changes;
    print(
      process.stdout,
      line`confirmed run ${runId} of ${held.name}: ${status(confirmSync.status)}`,
      ...(ch
        ? [line`  changes: ${ch.addedCount} added, ${ch.updatedCount} updated, ${ch.removedCount} removed`]
        : []),
      ...(confirmSync.counts
        ? [
            line`  now served: ${confirmSync.counts.users} users, ${confirmSync.counts.groups} groups, ${confirmSync.counts.contacts} contacts`,
          ]
        : []),
    );
    return 0;
  },
};

export const discardCommand: Command = {
  name: 'discard',
  arguments: 'RUN_ID',
  summary: 'Drops a held run and keeps the data served before it.',
  description: `
Drops the held run RUN_ID (discardSync on the running gateway): what it read
is thrown away, the data served before it stays, and the run is recorded as
failed ("discarded by an administrator"). The next run (\`dirgate sync\`,
or the schedule) compares with the served data again, and is held again if
the directory still lacks as much. \`dirgate runs\` lists held runs and what
each would remove; \`dirgate confirm RUN_ID\` applies one instead.`,
  options: { gateway: GATEWAY_OPTION, json: JSON_OPTION },
  async run(values, positionals) {
    const runId = oneArgument(positionals, 'run id (see: dirgate runs)');
    const api = await gatewayApi(values, cliConfig(values));
    const held = await heldOn(api, runId);
    const { discardSync } = await api.call<{ discardSync: ApiRun }>(
      `mutation CliDiscard($connectionId: ID!, $runId: ID!) { discardSync(connectionId: $connectionId, runId: $runId) { ${RUN_FIELDS} } }`,
      { connectionId: held.id, runId },
    );
    if (values.json) {
      process.stdout.write(json(discardSync));
      return 0;
    }
    const status = statusColour(process.stdout);
    print(
      process.stdout,
      line`discarded run ${runId} of ${held.name}: ${status(discardSync.status)}`,
      line`  ${discardSync.error ?? ''}`,
    );
    return 0;
  },
};
