/** Helpers for tests that drive syncs through the API. */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import {
  AddConnectionDocument,
  type AddConnectionInput,
  ConnectionByIdDocument,
  StartSyncDocument,
  type SyncMode,
} from '../gql/graphql.js';

/** Anything that sends typed operations and fails on errors: an in-process gateway or a spawned one. */
export interface GraphQLClient {
  ok<T, V>(doc: TypedDocumentNode<T, V>, variables?: V): Promise<T>;
}

type ConnectionView = NonNullable<Awaited<ReturnType<typeof connectionOf>>>;

async function connectionOf(gw: GraphQLClient, id: string) {
  return (await gw.ok(ConnectionByIdDocument, { id })).connection;
}

/** Polls the connection until `ended` holds for its status; returns it as the API shows it then. */
async function pollConnection(
  gw: GraphQLClient,
  id: string,
  timeoutMs: number,
  ended: (status: ConnectionView['status']) => boolean,
): Promise<ConnectionView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await connectionOf(gw, id);
    if (!c) throw new Error(`connection ${id} is gone`);
    if (ended(c.status)) return c;
    if (Date.now() > deadline) throw new Error(`no run of ${id} ended within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls the connection until no run is in progress; returns it as the API shows it then. */
export function waitForSync(gw: GraphQLClient, id: string, timeoutMs = 120_000): Promise<ConnectionView> {
  return pollConnection(gw, id, timeoutMs, (status) => status !== 'RUNNING');
}

/**
 * Waits for the first run of a connection that the gateway starts on its own (schedules on: a
 * new connection syncs at once) to end: NEVER counts as not begun yet, unlike waitForSync.
 */
export function waitForFirstSync(
  gw: GraphQLClient,
  id: string,
  timeoutMs = 120_000,
): Promise<ConnectionView> {
  return pollConnection(gw, id, timeoutMs, (status) => status !== 'RUNNING' && status !== 'NEVER');
}

/** Starts a sync through the API (FULL unless told) and waits for its end. */
export async function syncNow(
  gw: GraphQLClient,
  id: string,
  timeoutMs?: number,
  mode: SyncMode = 'FULL',
): Promise<ConnectionView> {
  await gw.ok(StartSyncDocument, { connectionId: id, mode });
  return waitForSync(gw, id, timeoutMs);
}

/** Where and how a connection reaches the test Samba DC: LDAPS with the test CA, as its reader. */
export function sambaSettings(
  samba: {
    readonly domain: string;
    readonly baseDn: string;
    readonly ldapsUrl: string;
    readonly reader: { readonly dn: string; readonly password: string };
  },
  caPem: string | null,
) {
  return {
    domain: samba.domain,
    searchBase: samba.baseDn,
    servers: [samba.ldapsUrl],
    tls: 'LDAPS' as const,
    caCertificate: caPem,
    bindDn: samba.reader.dn,
    bindPassword: samba.reader.password,
  };
}

/** Where and how a connection reaches a test slapd: its URL and base, bound as its size-limited reader, without TLS. */
export function slapdSettings(slapd: {
  readonly url: string;
  readonly baseDn: string;
  readonly reader: { readonly dn: string; readonly password: string };
}) {
  return {
    searchBase: slapd.baseDn,
    servers: [slapd.url],
    bindDn: slapd.reader.dn,
    bindPassword: slapd.reader.password,
    // The test slapd listens on plain ldap:// on loopback; its password bind must be allowed.
    allowPlaintextBind: true,
  };
}

/**
 * Adds a connection to a test slapd through the API: `OpenLDAP`, domain
 * corp.test, contacts included, `input` on top. Returns its id.
 */
export async function addSlapdConnection(
  gw: GraphQLClient,
  slapd: Parameters<typeof slapdSettings>[0],
  input: Partial<AddConnectionInput> = {},
): Promise<string> {
  const { addConnection } = await gw.ok(AddConnectionDocument, {
    input: {
      name: 'OpenLDAP',
      domain: 'corp.test',
      ...slapdSettings(slapd),
      includeContacts: true,
      ...input,
    },
  });
  return addConnection.id;
}
