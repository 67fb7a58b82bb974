/**
 * `dirgate connections add` and `update`: the addConnection and
 * updateConnection mutations of the running gateway, every input field a
 * flag. A field the API refuses (BAD_USER_INPUT names it) is reported as
 * the flag that set it, with the API's reason; nothing is changed then.
 */
import { ApiError, GATEWAY_OPTION, type GatewayApi, gatewayApi, JSON_OPTION } from '../api.js';
import { type Command, oneArgument, type ParsedValues, UsageError } from '../command.js';
import { type ApiConnection, CONNECTION_FIELDS, resolveConnection } from '../connections-api.js';
import { cliConfig } from '../context.js';
import { json, line, print } from '../output.js';
import { CONNECTION_OPTIONS, flagOf, inputFromFlags, UPDATE_ONLY_OPTIONS } from './connection-flags.js';
import { formatConnection } from './connection-show.js';

/** What to type instead, for refusals whose API wording speaks of input fields. */
const HINTS: Readonly<Record<string, string>> = {
  PASSWORD_REQUIRED: 'give --password-file again, or --no-password to bind without one',
  KEYTAB_REQUIRED: 'give --keytab FILE (again)',
  IMMUTABLE: 'add a connection instead (dirgate connections add)',
};

/** A refused field, told as its flag: `--schedule: "x" is not a cron expression (INVALID_CRON)`. */
export class RefusedFlagError extends Error {}

async function mutate<T>(
  api: GatewayApi,
  values: ParsedValues,
  query: string,
  variables: Record<string, unknown>,
): Promise<T> {
  try {
    return await api.call<T>(query, variables);
  } catch (err) {
    const refused = err instanceof ApiError ? err.badInput() : null;
    if (!refused) throw err;
    // The API's message starts with the field's name; the flag replaces it.
    const why = refused.message.startsWith(`${refused.field}: `)
      ? refused.message.slice(refused.field.length + 2)
      : refused.message;
    const hint = refused.reason ? HINTS[refused.reason] : undefined;
    throw new RefusedFlagError(
      `${flagOf(refused.field, values)}: ${why} (refused by the gateway: ${refused.field}${refused.reason ? `, ${refused.reason}` : ''})${hint ? `; ${hint}` : ''}`,
    );
  }
}

function report(values: ParsedValues, verb: string, conn: ApiConnection): number {
  if (values.json) process.stdout.write(json(conn));
  else print(process.stdout, line`${verb} connection ${conn.name} (${conn.id})`, ...formatConnection(conn));
  return 0;
}

const DESCRIPTION_TAIL = `
The password is read from --password-file FILE, --password-file - (standard
input) or DIRGATE_BIND_PASSWORD, never from the command line. A Kerberos
connection (--auth kerberos) takes no password: --keytab FILE gives the
service account's keytab (ktpass, msktutil or samba-tool domain
exportkeytab --principal=ACCOUNT@REALM), checked by the gateway and sealed
there; --kdc HOST[:PORT] names the KDCs (default: DNS SRV records of the
keytab's realm). A value the gateway refuses is named by its flag, with the
reason (exit status 1).`;

export const connectionsAddCommand: Command = {
  name: 'connections add',
  summary: 'Adds a connection on the running gateway.',
  description: `
Adds a connection through the running gateway's API (addConnection, with
the data folder's admin token) and shows it. Required: --name, --base, and
--url (repeat for several servers) or --srv (DNS SRV discovery).
${DESCRIPTION_TAIL}

Example:
  dirgate connections add --name corp --base dc=corp,dc=test \\
    --url ldaps://dc1.corp.test --ca corp-ca.pem \\
    --bind-dn svc-mail@corp.test --password-file /run/secrets/bind --contacts

  dirgate connections add --name corp-krb --base dc=corp,dc=test \\
    --url ldap://dc1.corp.test --keytab svc-dirgate.keytab --kdc dc1.corp.test`,
  options: { ...CONNECTION_OPTIONS, gateway: GATEWAY_OPTION, json: JSON_OPTION },
  async run(values) {
    const input = await inputFromFlags(values, 'add');
    const api = await gatewayApi(values, cliConfig(values));
    const { addConnection } = await mutate<{ addConnection: ApiConnection }>(
      api,
      values,
      `mutation CliAddConnection($input: AddConnectionInput!) { addConnection(input: $input) { ${CONNECTION_FIELDS} } }`,
      { input },
    );
    return report(values, 'added', addConnection);
  },
};

export const connectionsUpdateCommand: Command = {
  name: 'connections update',
  arguments: 'ID|NAME',
  summary: 'Changes settings of a connection on the running gateway.',
  description: `
Changes only what the flags say, through the running gateway's API
(updateConnection), and shows the result. A change of where or how the
connection binds (--url, --srv, --tls, --ca, --no-ca, --no-tls-verify,
--bind-dn) needs the password given again (or --no-password): the stored
one is kept only for the settings it was given with; for a Kerberos
connection the same changes and --kdc need --keytab again. --auth switches
the method: to kerberos drops the password, away from it drops the keytab.
The domain cannot be changed (add a connection for the other domain).
${DESCRIPTION_TAIL}`,
  options: { ...CONNECTION_OPTIONS, ...UPDATE_ONLY_OPTIONS, gateway: GATEWAY_OPTION, json: JSON_OPTION },
  async run(values, positionals) {
    const ref = oneArgument(positionals, 'connection (its id or name)');
    const input = await inputFromFlags(values, 'update');
    if (Object.keys(input).length === 0) throw new UsageError('nothing to change: give a flag (see --help)');
    const api = await gatewayApi(values, cliConfig(values));
    const { id } = await resolveConnection(api, ref);
    const { updateConnection } = await mutate<{ updateConnection: ApiConnection }>(
      api,
      values,
      `mutation CliUpdateConnection($id: ID!, $input: UpdateConnectionInput!) { updateConnection(id: $id, input: $input) { ${CONNECTION_FIELDS} } }`,
      { id, input },
    );
    return report(values, 'updated', updateConnection);
  },
};
