/**
 * KERBEROS connections through the GraphQL API, for the Kerberos tests
 * (#17). The operations are written here against the contract
 * (../shared/contract/schema-next.graphql, "next: Kerberos") rather than in
 * test/operations, so that they name exactly the fields these tests check;
 * their result types are declared beside them.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parse } from 'graphql';
import { type KeytabName, kerberosFixture, kerberosServerUrl, keytabBase64 } from './kerberos.js';
import type { ServedObject } from './served-directory.js';
import type { GraphQLClient } from './sync.js';

export type AuthMethod = 'ANONYMOUS' | 'SIMPLE' | 'KERBEROS';

/** AddConnectionInput with the Kerberos fields (only what these tests set). */
export interface KerberosConnectionInput {
  readonly name: string;
  readonly domain: string;
  readonly searchBase: string;
  readonly servers: readonly string[];
  readonly tls: 'NONE' | 'STARTTLS' | 'LDAPS';
  readonly caCertificate?: string | null;
  readonly auth: AuthMethod;
  readonly keytab?: string | null;
  readonly kdcs?: readonly string[];
  readonly bindDn?: string | null;
  readonly bindPassword?: string | null;
  readonly includeContacts?: boolean;
  readonly schedule?: string;
  readonly incrementalSchedule?: string;
}

export interface KerberosRun {
  readonly id: string;
  readonly status: string;
  readonly trigger: string;
  readonly mode: string;
  readonly error: string | null;
  readonly server: string | null;
  readonly counts: {
    readonly users: number;
    readonly groups: number;
    readonly contacts: number;
    readonly addresses: number;
  } | null;
}

export interface KerberosConnectionView {
  readonly id: string;
  readonly name: string;
  readonly servers: readonly string[];
  readonly tls: string;
  readonly auth: AuthMethod;
  readonly hasKeytab: boolean;
  readonly keytabPrincipal: string | null;
  readonly kdcs: readonly string[];
  readonly bindDn: string | null;
  readonly hasBindPassword: boolean;
  readonly status: string;
  readonly activeServer: string | null;
  readonly userCount: number;
  readonly groupCount: number;
  readonly contactCount: number;
  readonly lastSync: KerberosRun | null;
}

export interface TestStep {
  readonly step: string;
  readonly ok: boolean;
  readonly detail: string | null;
}

export interface KerberosTestReport {
  readonly ok: boolean;
  readonly server: string | null;
  readonly error: string | null;
  readonly users: number | null;
  readonly groups: number | null;
  readonly contacts: number | null;
  readonly steps: readonly TestStep[];
}

const CONNECTION_FIELDS = `
  id name servers tls auth hasKeytab keytabPrincipal kdcs bindDn hasBindPassword status activeServer
  userCount groupCount contactCount
  lastSync { id status trigger mode error server counts { users groups contacts addresses } }
`;

function document<T, V>(source: string): TypedDocumentNode<T, V> {
  return parse(source) as TypedDocumentNode<T, V>;
}

export const AddKerberosConnection = document<
  { addConnection: KerberosConnectionView },
  { input: KerberosConnectionInput }
>(
  `mutation AddKerberosConnection($input: AddConnectionInput!) { addConnection(input: $input) { ${CONNECTION_FIELDS} } }`,
);

export const KerberosConnectionById = document<{ connection: KerberosConnectionView | null }, { id: string }>(
  `query KerberosConnectionById($id: ID!) { connection(id: $id) { ${CONNECTION_FIELDS} } }`,
);

export const TestKerberosConnection = document<
  { testConnection: KerberosTestReport },
  { input: KerberosConnectionInput }
>(
  `mutation TestKerberosConnection($input: AddConnectionInput!) { testConnection(input: $input) { ok server error users groups contacts steps { step ok detail } } }`,
);

/**
 * The shared DC's whole domain over a sealed GSSAPI session as svc-dirgate:
 * `ldap://dc1.corp.test:389` (the SPN comes from that name), no TLS, the
 * keytab, the DC's KDC; `fields` on top.
 */
export function kerberosInput(
  fields: Partial<KerberosConnectionInput> & { readonly keytabOf?: KeytabName } = {},
): KerberosConnectionInput {
  const k = kerberosFixture();
  const { keytabOf, ...rest } = fields;
  return {
    name: 'Samba Kerberos',
    domain: 'corp.test',
    searchBase: 'DC=corp,DC=test',
    servers: [kerberosServerUrl()],
    tls: 'NONE',
    auth: 'KERBEROS',
    keytab: keytabBase64(keytabOf ?? 'dirgate'),
    kdcs: [k.kdc],
    includeContacts: true,
    ...rest,
  };
}

/** The gateway environment a KERBEROS connection to the DC needs: Samba's DNS resolves dc1.corp.test. */
export function kerberosGatewayEnv(): Record<string, string> {
  return { DIRGATE_DNS_SERVERS: kerberosFixture().dnsServer };
}

export async function addKerberosConnection(
  gw: GraphQLClient,
  input: KerberosConnectionInput,
): Promise<KerberosConnectionView> {
  return (await gw.ok(AddKerberosConnection, { input })).addConnection;
}

export async function kerberosConnection(gw: GraphQLClient, id: string): Promise<KerberosConnectionView> {
  const { connection } = await gw.ok(KerberosConnectionById, { id });
  if (!connection) throw new Error(`connection ${id} is gone`);
  return connection;
}

export async function testKerberos(
  gw: GraphQLClient,
  input: KerberosConnectionInput,
): Promise<KerberosTestReport> {
  return (await gw.ok(TestKerberosConnection, { input })).testConnection;
}

/**
 * A served directory with the connection's part taken out of every id
 * (`<connection>:<guid>` → `<guid>`), in id order: what two connections
 * reading the same objects must agree on.
 */
export function withoutConnectionIds(objects: readonly ServedObject[], connectionId: string): ServedObject[] {
  const prefix = `${connectionId}:`;
  const strip = (id: string) => (id.startsWith(prefix) ? id.slice(prefix.length) : `foreign ${id}`);
  return objects
    .map((o) => ({
      principal: { ...o.principal, id: strip(o.principal.id) },
      members: o.members.map(strip).sort(),
    }))
    .sort((a, b) => (a.principal.id < b.principal.id ? -1 : a.principal.id > b.principal.id ? 1 : 0));
}

interface TypeRef {
  readonly kind: string;
  readonly ofType?: TypeRef | null;
}

const ConnectionFieldsIntrospection = document<
  { __type: { fields: { name: string; args: { name: string }[]; type: TypeRef }[] } | null },
  Record<string, never>
>(
  '{ __type(name: "Connection") { fields { name args { name } type { kind ofType { kind ofType { kind ofType { kind } } } } } } }',
);

function isLeaf(type: TypeRef | null | undefined): boolean {
  if (!type) return false;
  if (type.kind === 'SCALAR' || type.kind === 'ENUM') return true;
  return (type.kind === 'NON_NULL' || type.kind === 'LIST') && isLeaf(type.ofType);
}

/** Every Connection field without arguments whose value is a scalar or an enum (or lists of them), as the schema has them. */
export async function connectionLeafFields(gw: GraphQLClient): Promise<string[]> {
  const { __type } = await gw.ok(ConnectionFieldsIntrospection, {});
  if (!__type) throw new Error('no Connection type in the schema');
  return __type.fields.filter((f) => f.args.length === 0 && isLeaf(f.type)).map((f) => f.name);
}

/** The JSON of `connections { <fields> }`: what a client asking for everything gets back. */
export async function everyConnectionField(gw: GraphQLClient, fields: readonly string[]): Promise<string> {
  const all = document<{ connections: Record<string, unknown>[] }, Record<string, never>>(
    `{ connections { ${fields.join(' ')} } }`,
  );
  return JSON.stringify(await gw.ok(all, {}));
}
