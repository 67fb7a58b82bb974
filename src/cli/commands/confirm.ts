/**
 * `dirgate confirm RUN_ID`: applies a held run (confirmSync). A run is held
 * when it would remove more of the cache than the connection allows; until
 * confirmed the previous snapshot is served. `dirgate runs` shows what it
 * would remove.
 */
import { GATEWAY_OPTION, gatewayApi, JSON_OPTION } from '../api.js';
import { type Command, oneArgument, UsageError } from '../command.js';
import { type ApiRun, RUN_FIELDS } from '../connections-api.js';
import { cliConfig } from '../context.js';
import { json, line, print } from '../output.js';
import { statusColour } from './connection-show.js';

export const confirmCommand: Command = {
  name: 'confirm',
  arguments: 'RUN_ID',
  summary: 'Applies a run that was held because it would remove too much.',
  description: `
Applies the held run RUN_ID (confirmSync on the running gateway): its
snapshot is served from then on, and what it found removed is removed.
\`dirgate runs\` lists held runs and what each would remove; \`dirgate
connections show\` names a connection's held run. Keeping the current data
instead needs nothing: the held run is never applied, and the next run
(\`dirgate sync\`, or the schedule) is judged afresh.`,
  options: { gateway: GATEWAY_OPTION, json: JSON_OPTION },
  async run(values, positionals) {
    const runId = oneArgument(positionals, 'run id (see: dirgate runs)');
    const api = await gatewayApi(values, cliConfig(values));
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
