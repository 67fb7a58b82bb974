/** `dirgate connections`: the data folder's connections and this node's state of each, as a table. */
import type { Command } from '../command.js';
import { cliConfig, openStores } from '../context.js';
import { ago, json, print, table } from '../output.js';
import { connectionsDeleteCommand } from './connection-delete.js';
import { connectionsAddCommand, connectionsUpdateCommand } from './connection-edit.js';
import { connectionsShowCommand, statusColour } from './connection-show.js';

export const connectionsCommand: Command = {
  name: 'connections',
  summary: "Lists the connections and this node's sync state of each.",
  description: `
Reads the data folder directly (works with or without a running gateway):
connection settings from the settings store (or DIRGATE_CONFIG_STORE), the
sync state from this node's cache. Bind passwords and keytabs are never shown.
Adding, changing, showing and deleting one goes through the running
gateway's API (the commands below), so that every node follows.`,
  subcommands: [
    connectionsAddCommand,
    connectionsUpdateCommand,
    connectionsShowCommand,
    connectionsDeleteCommand,
  ],
  options: {
    json: { type: 'boolean', help: 'print JSON instead of a table' },
  },
  async run(values) {
    const config = cliConfig(values);
    const stores = await openStores(config);
    try {
      const connections = await stores.settings.listConnections();
      const rows = await Promise.all(
        connections.map(async (c) => ({ c, state: await stores.cache.getState(c.id) })),
      );
      if (values.json) {
        const out = rows.map(({ c, state }) => ({
          id: c.id,
          name: c.name,
          domain: c.domain,
          searchBase: c.searchBase,
          servers: c.servers,
          tls: c.tls,
          auth: c.auth,
          enabled: c.enabled,
          schedule: c.schedule,
          status: state?.status ?? 'NEVER',
          counts: state?.counts ?? null,
          lastRun: state?.lastRun ?? null,
          lastSuccessfulRun: state?.lastSuccessfulRun?.finishedAt ?? null,
        }));
        process.stdout.write(json(out));
        return 0;
      }
      if (rows.length === 0) {
        process.stdout.write(`no connections in ${config.dataDir}\n`);
        return 0;
      }
      const colour = statusColour(process.stdout);
      const body = rows.map(({ c: conn, state }) => [
        conn.id,
        conn.name,
        conn.domain,
        conn.servers.length ? conn.servers.join(',') : 'SRV',
        conn.tls,
        conn.enabled ? conn.schedule : 'disabled',
        colour(state?.status ?? 'NEVER'),
        String(state?.counts.users ?? 0),
        String(state?.counts.groups ?? 0),
        String(state?.counts.contacts ?? 0),
        ago(state?.lastSuccessfulRun?.finishedAt),
        state?.lastRun?.status === 'FAILED' ? (state.lastRun.error ?? '') : '',
      ]);
      print(
        process.stdout,
        table(
          [
            'ID',
            'NAME',
            'DOMAIN',
            'SERVERS',
            'TLS',
            'SCHEDULE',
            'STATUS',
            'USERS',
            'GROUPS',
            'CONTACTS',
            'LAST SUCCESS',
            'ERROR',
          ],
          body,
          [7, 8, 9],
        ),
      );
      return 0;
    } finally {
      await stores.close();
    }
  },
};
