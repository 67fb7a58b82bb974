/**
 * `dirgate connections delete ID|NAME`: deleteConnection on the running
 * gateway, after saying what goes with it (the cached users, groups and
 * contacts, the run history). On a terminal it asks (y/N) unless --yes;
 * without one it needs --yes, so that a script never deletes by accident.
 */
import { GATEWAY_OPTION, gatewayApi, JSON_OPTION } from '../api.js';
import { type Command, oneArgument, UsageError } from '../command.js';
import { fetchConnection, resolveConnection } from '../connections-api.js';
import { cliConfig } from '../context.js';
import { json, line, paint, print } from '../output.js';
import { confirm, interactive } from '../prompt.js';

export const connectionsDeleteCommand: Command = {
  name: 'connections delete',
  arguments: 'ID|NAME',
  summary: 'Deletes a connection and everything cached from it.',
  description: `
Deletes the connection through the running gateway's API (deleteConnection):
its settings, its stored password, every cached user, group and contact it
synchronized, and its run history, on every node. Says what it removes
first; on a terminal it asks for confirmation unless --yes is given, and
without a terminal it refuses unless --yes is given.`,
  options: {
    yes: { type: 'boolean', short: 'y', help: 'delete without asking' },
    gateway: GATEWAY_OPTION,
    json: JSON_OPTION,
  },
  async run(values, positionals) {
    const ref = oneArgument(positionals, 'connection (its id or name)');
    const api = await gatewayApi(values, cliConfig(values));
    const conn = await fetchConnection(api, (await resolveConnection(api, ref)).id);
    const c = paint(process.stderr);
    const what = line`connection ${c.bold(conn.name)} (${conn.id}) of ${conn.domain.name}, base ${conn.searchBase}: its settings and stored password, its cached ${conn.userCount} users, ${conn.groupCount} groups and ${conn.contactCount} contacts, and its run history`;
    if (values.yes !== true) {
      if (!interactive()) {
        throw new UsageError(
          `not on a terminal, so not asking: add --yes to delete ${conn.name} (${conn.id}) and with it ${conn.userCount} users, ${conn.groupCount} groups and ${conn.contactCount} contacts from the cache`,
        );
      }
      print(process.stderr, line`This deletes ${what}.`);
      if (!(await confirm('Delete it?'))) {
        print(process.stderr, line`nothing deleted`);
        return 1;
      }
    }
    await api.call<{ deleteConnection: boolean }>(
      'mutation CliDeleteConnection($id: ID!) { deleteConnection(id: $id) }',
      {
        id: conn.id,
      },
    );
    const counts = { users: conn.userCount, groups: conn.groupCount, contacts: conn.contactCount };
    if (values.json) process.stdout.write(json({ deleted: conn.id, name: conn.name, removed: counts }));
    else print(process.stdout, line`deleted ${what}`);
    return 0;
  },
};
