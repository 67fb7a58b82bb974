/**
 * What the admin commands ask the gateway about connections and runs: the
 * fields they select, the shapes that come back, and finding a connection
 * by id or by name.
 */
import type { GatewayApi } from './api.js';
import { UsageError } from './command.js';

export const RUN_FIELDS = `id connectionId node trigger status phase progress server error startedAt finishedAt
  counts { users groups contacts addresses }
  changes { addedCount updatedCount removedCount added updated removed removedObjects { id kind name } }`;

export interface ApiRun {
  readonly id: string;
  readonly connectionId: string;
  readonly node: string;
  readonly trigger: string;
  readonly status: string;
  readonly phase: string;
  readonly progress: number;
  readonly server: string | null;
  readonly error: string | null;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly counts: {
    readonly users: number;
    readonly groups: number;
    readonly contacts: number;
    readonly addresses: number;
  } | null;
  readonly changes: {
    readonly addedCount: number;
    readonly updatedCount: number;
    readonly removedCount: number;
    readonly added: readonly string[];
    readonly updated: readonly string[];
    readonly removed: readonly string[];
    /** The removed objects as the run recorded them (named although no longer served). */
    readonly removedObjects: readonly RecordedObject[];
  } | null;
}

/** An object a run removed, as it recorded it. */
export interface RecordedObject {
  readonly id: string;
  readonly kind: string;
  readonly name: string;
}

export const CONNECTION_FIELDS = `id name domain { name } searchBase servers tls tlsVerify hasCaCertificate
  allowPlaintextBind auth bindDn hasBindPassword hasKeytab keytabPrincipal kdcs includeContacts userFilter groupFilter contactFilter
  netbiosName schedule incrementalSchedule changeTracking enabled deleteThreshold status activeServer userCount groupCount contactCount
  heldRunId overlapsWith { id name } lastSync { ${RUN_FIELDS} } lastSuccessfulSync { id finishedAt }`;

export interface ApiConnection {
  readonly id: string;
  readonly name: string;
  readonly domain: { readonly name: string };
  readonly searchBase: string;
  readonly servers: readonly string[];
  readonly tls: string;
  readonly tlsVerify: boolean;
  readonly hasCaCertificate: boolean;
  readonly allowPlaintextBind: boolean;
  readonly auth: 'ANONYMOUS' | 'SIMPLE' | 'KERBEROS';
  readonly bindDn: string | null;
  readonly hasBindPassword: boolean;
  readonly hasKeytab: boolean;
  readonly keytabPrincipal: string | null;
  readonly kdcs: readonly string[];
  readonly includeContacts: boolean;
  readonly userFilter: string | null;
  readonly groupFilter: string | null;
  readonly contactFilter: string | null;
  readonly netbiosName: string | null;
  readonly schedule: string;
  readonly incrementalSchedule: string | null;
  readonly changeTracking: string;
  readonly enabled: boolean;
  readonly deleteThreshold: number | null;
  readonly status: string;
  readonly activeServer: string | null;
  readonly userCount: number;
  readonly groupCount: number;
  readonly contactCount: number;
  readonly heldRunId: string | null;
  readonly overlapsWith: readonly { readonly id: string; readonly name: string }[];
  readonly lastSync: ApiRun | null;
  readonly lastSuccessfulSync: { readonly id: string; readonly finishedAt: string | null } | null;
}

export interface ConnectionRef {
  readonly id: string;
  readonly name: string;
}

export async function listConnections(api: GatewayApi): Promise<ConnectionRef[]> {
  return (
    await api.call<{ connections: ConnectionRef[] }>('query CliConnectionNames { connections { id name } }')
  ).connections;
}

/**
 * The connection an operator named: its id, else its name (exactly, then ignoring case). Two
 * connections of that name are refused: the operator gives the id.
 */
export async function resolveConnection(api: GatewayApi, ref: string): Promise<ConnectionRef> {
  const all = await listConnections(api);
  const byId = all.find((c) => c.id === ref);
  if (byId) return byId;
  for (const same of [
    (c: ConnectionRef) => c.name === ref,
    (c: ConnectionRef) => c.name.toLowerCase() === ref.toLowerCase(),
  ]) {
    const found = all.filter(same);
    if (found.length === 1 && found[0]) return found[0];
    if (found.length > 1) {
      throw new UsageError(
        `${found.length} connections are named "${ref}": give the id (${found.map((c) => c.id).join(', ')})`,
      );
    }
  }
  throw new UsageError(`no connection "${ref}" at ${api.base} (see: dirgate connections)`);
}

export async function fetchConnection(api: GatewayApi, id: string): Promise<ApiConnection> {
  const { connection } = await api.call<{ connection: ApiConnection | null }>(
    `query CliConnection($id: ID!) { connection(id: $id) { ${CONNECTION_FIELDS} } }`,
    { id },
  );
  if (!connection) throw new UsageError(`no connection ${id} at ${api.base}`);
  return connection;
}

export interface PrincipalName {
  readonly kind: string;
  readonly displayName: string;
  readonly primaryEmail: string | null;
  readonly dn: string;
}

/** At most this many principals per query: the API bounds the aliases of one field. */
const PRINCIPALS_PER_QUERY = 40;

/** The principals of these ids as the gateway serves them now; null for one it no longer holds. */
export async function principalNames(
  api: GatewayApi,
  ids: readonly string[],
): Promise<Map<string, PrincipalName | null>> {
  const names = new Map<string, PrincipalName | null>();
  const wanted = [...new Set(ids)];
  for (let at = 0; at < wanted.length; at += PRINCIPALS_PER_QUERY) {
    const batch = wanted.slice(at, at + PRINCIPALS_PER_QUERY);
    const params = batch.map((_, i) => `$i${i}: ID!`).join(', ');
    const selections = batch
      .map((_, i) => `p${i}: principal(id: $i${i}) { kind displayName primaryEmail dn }`)
      .join(' ');
    const variables = Object.fromEntries(batch.map((id, i) => [`i${i}`, id]));
    const data = await api.call<Record<string, PrincipalName | null>>(
      `query CliPrincipals(${params}) { ${selections} }`,
      variables,
    );
    batch.forEach((id, i) => {
      names.set(id, data[`p${i}`] ?? null);
    });
  }
  return names;
}
