/** `dirgate findings`: the duplicate findings the running gateway serves, and what each turns off. */
import { DUPLICATE_KINDS } from '../../model/finding.js';
import { GATEWAY_OPTION, gatewayApi, JSON_OPTION } from '../api.js';
import { type Command, stringOption, UsageError } from '../command.js';
import { resolveConnection } from '../connections-api.js';
import { cliConfig } from '../context.js';
import { ago, fields, json, line, paint, print, type Styled, table } from '../output.js';

interface ApiFinding {
  readonly id: string;
  readonly kind: string;
  readonly value: string;
  readonly consequence: string;
  readonly detectedAt: string;
  readonly sameObject: boolean;
  readonly connectionIds: readonly string[];
  readonly principals: readonly {
    readonly id: string;
    readonly kind: string;
    readonly displayName: string;
    readonly dn: string;
    readonly connection: { readonly id: string; readonly name: string };
  }[];
}

/** user-name, User_Name, USER_NAME → USER_NAME; refuses what is no kind. */
function kindOf(raw: string): string {
  const kind = raw.trim().toUpperCase().replace(/-/g, '_');
  if (!(DUPLICATE_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(`--type must be one of ${DUPLICATE_KINDS.join(', ')} (got "${raw}")`);
  }
  return kind;
}

export const findingsCommand: Command = {
  name: 'findings',
  summary: 'Shows the duplicate findings: values several directory objects share.',
  description: `
The duplicate findings the running gateway serves (duplicateFindings): a
name, Kerberos or NTLM name or address that more than one directory object
has, the objects, and what the duplicate turns off for them. Of one
connection (--connection ID or name) or all; of one kind (--type, e.g.
user-name or EMAIL_ADDRESS) or all.`,
  options: {
    connection: { type: 'string', short: 'c', value: 'ID|NAME', help: 'findings involving this connection' },
    type: { type: 'string', short: 't', value: 'KIND', help: `one kind: ${DUPLICATE_KINDS.join(', ')}` },
    gateway: GATEWAY_OPTION,
    json: JSON_OPTION,
  },
  async run(values) {
    const typeFlag = stringOption(values, 'type');
    const kind = typeFlag === undefined ? null : kindOf(typeFlag);
    const api = await gatewayApi(values, cliConfig(values));
    const ref = stringOption(values, 'connection');
    const connectionId = ref ? (await resolveConnection(api, ref)).id : null;
    const { duplicateFindings } = await api.call<{ duplicateFindings: ApiFinding[] }>(
      `query CliFindings($connectionId: ID, $kind: DuplicateKind) {
        duplicateFindings(connectionId: $connectionId, kind: $kind) {
          id kind value consequence detectedAt sameObject connectionIds
          principals { id kind displayName dn connection { id name } }
        }
      }`,
      { connectionId, kind },
    );
    if (values.json) {
      process.stdout.write(json(duplicateFindings));
      return 0;
    }
    if (duplicateFindings.length === 0) {
      print(process.stdout, line`no duplicate findings`);
      return 0;
    }
    const c = paint(process.stdout);
    const rows = duplicateFindings.map((f) => [
      f.kind,
      f.value,
      String(f.principals.length),
      [...new Set(f.principals.map((p) => p.connection.name))].join(', '),
      f.sameObject ? 'yes' : '',
      ago(f.detectedAt),
    ]);
    const out: Styled[] = [
      table(['KIND', 'VALUE', 'OBJECTS', 'CONNECTIONS', 'SAME OBJECT', 'DETECTED'], rows, [2]),
    ];
    for (const f of duplicateFindings) {
      out.push(
        line``,
        line`${c.bold(f.kind)} ${c.yellow(f.value)}: ${f.consequence}`,
        fields(f.principals.map((p) => [p.kind.toLowerCase(), line`${p.dn} (${p.connection.name})`])),
      );
    }
    print(process.stdout, ...out);
    return 0;
  },
};
