/** `dirgate connections show ID|NAME`: one connection's settings and this node's state of it. */
import { GATEWAY_OPTION, gatewayApi, JSON_OPTION } from '../api.js';
import { type Command, oneArgument } from '../command.js';
import { type ApiConnection, fetchConnection, resolveConnection } from '../connections-api.js';
import { cliConfig } from '../context.js';
import { ago, fields, formatDuration, json, line, paint, print, type Styled } from '../output.js';

export function statusColour(stream: NodeJS.WriteStream) {
  const c = paint(stream);
  return (status: string): Styled =>
    status === 'SUCCEEDED'
      ? c.green(status)
      : status === 'FAILED'
        ? c.red(status)
        : status === 'HELD' || status === 'RUNNING'
          ? c.yellow(status)
          : line`${status}`;
}

export function runDuration(run: { readonly startedAt: string; readonly finishedAt: string | null }): string {
  return run.finishedAt ? formatDuration(Date.parse(run.finishedAt) - Date.parse(run.startedAt)) : 'running';
}

/** The settings and state, as `label  value` lines under the name. */
export function formatConnection(conn: ApiConnection, stream: NodeJS.WriteStream = process.stdout): Styled[] {
  const c = paint(stream);
  const status = statusColour(stream);
  const filters = [
    conn.userFilter ? `users ${conn.userFilter}` : null,
    conn.groupFilter ? `groups ${conn.groupFilter}` : null,
    conn.contactFilter ? `contacts ${conn.contactFilter}` : null,
  ].filter((f) => f !== null);
  const last = conn.lastSync;
  const tls = `${conn.tls.toLowerCase()}${conn.tls === 'NONE' ? '' : conn.tlsVerify ? ' (certificate verified)' : ' (certificate NOT verified)'}`;
  const bind = conn.bindDn
    ? `${conn.bindDn} (${conn.hasBindPassword ? 'password set' : 'no password'})`
    : conn.hasBindPassword
      ? 'anonymous (a password is set)'
      : 'anonymous';
  const kerberos = conn.auth === 'KERBEROS';
  return [
    line`${c.bold(conn.name)}  ${c.dim(conn.id)}`,
    fields([
      ['domain', conn.domain.name],
      ['search base', conn.searchBase],
      ['servers', conn.servers.length ? conn.servers.join(', ') : `DNS SRV records of ${conn.domain.name}`],
      ['tls', tls],
      ['CA bundle', conn.hasCaCertificate ? 'set (trusted for this connection)' : 'none'],
      ['plaintext bind', conn.allowPlaintextBind ? 'allowed' : null],
      ['auth', conn.auth.toLowerCase()],
      ['bind', kerberos ? null : bind],
      ['keytab', kerberos ? (conn.hasKeytab ? 'set' : 'NOT set (upload one: --keytab FILE)') : null],
      ['principal', kerberos ? conn.keytabPrincipal : null],
      ['KDCs', kerberos ? (conn.kdcs.length ? conn.kdcs.join(', ') : 'DNS SRV records of the realm') : null],
      ['contacts', conn.includeContacts ? 'read' : 'not read'],
      ['filters', filters.length ? filters.join('; ') : 'the defaults'],
      ['NetBIOS name', conn.netbiosName],
      ['schedule', conn.enabled ? conn.schedule : `${conn.schedule} (disabled: by hand only)`],
      [
        'incremental',
        conn.incrementalSchedule === null
          ? 'off (full syncs only)'
          : conn.changeTracking === 'NONE'
            ? `${conn.incrementalSchedule} (the directory tracks no changes: full syncs only)`
            : `${conn.incrementalSchedule}${conn.changeTracking === 'UNKNOWN' ? '' : ` (${conn.changeTracking})`}`,
      ],
      [
        'delete threshold',
        conn.deleteThreshold === null
          ? 'the node default'
          : `${Math.round(conn.deleteThreshold * 1000) / 10}%`,
      ],
      ['status', status(conn.status)],
      ['cached', `${conn.userCount} users, ${conn.groupCount} groups, ${conn.contactCount} contacts`],
      ['server', conn.activeServer],
      [
        'last run',
        last
          ? line`${status(last.status)} ${ago(last.finishedAt ?? last.startedAt)} · ${last.trigger.toLowerCase()} · ${runDuration(last)} · run ${last.id}`
          : 'never',
      ],
      [last?.status === 'HELD' ? 'held because' : 'last error', last?.error ? c.red(last.error) : null],
      ['last success', ago(conn.lastSuccessfulSync?.finishedAt)],
      [
        'held run',
        conn.heldRunId
          ? line`${conn.heldRunId} (dirgate confirm or dirgate discard ${conn.heldRunId})`
          : null,
      ],
      ['overlaps with', conn.overlapsWith.length ? conn.overlapsWith.map((o) => o.name).join(', ') : null],
    ]),
  ];
}

export const connectionsShowCommand: Command = {
  name: 'connections show',
  arguments: 'ID|NAME',
  summary: "Shows one connection's settings and state.",
  description: `
Asks the running gateway (its API, with the data folder's admin token) for
the connection named by its id or its name. The bind password and the
keytab are never shown, only whether one is set (and the keytab's principal).`,
  options: {
    gateway: GATEWAY_OPTION,
    json: JSON_OPTION,
  },
  async run(values, positionals) {
    const ref = oneArgument(positionals, 'connection (its id or name)');
    const api = await gatewayApi(values, cliConfig(values));
    const conn = await fetchConnection(api, (await resolveConnection(api, ref)).id);
    if (values.json) process.stdout.write(json(conn));
    else print(process.stdout, ...formatConnection(conn));
    return 0;
  },
};
