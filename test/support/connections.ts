/**
 * Stored connection records for tests that need settings, not a directory
 * (the engine over in-memory stores, the key check, the store faults): one
 * factory, every field overridable, beside the principal factory.
 */

import type { LdapConnection } from '../../src/ldap/client.js';
import { readKind } from '../../src/ldap/reader.js';
import type { SchemaMap } from '../../src/ldap/schema-map.js';
import type { LdapLimits, LdapSettings, RawEntry } from '../../src/ldap/types.js';
import type { ConnectionRecord } from '../../src/model/connection.js';

/**
 * Connection `c1` of corp.test: one plain LDAP server, anonymous, no sealed
 * password, contacts not read, every 30 minutes (no incremental runs: the
 * records these tests store go straight to the engine), enabled, created and
 * updated 2025-01-01, unless `fields` say otherwise.
 */
export function connectionRecord(fields: Partial<ConnectionRecord> = {}): ConnectionRecord {
  const bindDn = fields.bindDn ?? null;
  return {
    id: 'c1',
    name: 'Corp',
    domain: 'corp.test',
    searchBase: 'dc=corp,dc=test',
    servers: ['ldap://dc1.corp.test'],
    tls: 'NONE',
    caCertificate: null,
    tlsVerify: true,
    allowPlaintextBind: false,
    // As a stored record reads: the method follows the bind name unless given.
    auth: bindDn ? 'SIMPLE' : 'ANONYMOUS',
    bindDn: null,
    bindPasswordSealed: null,
    keytabSealed: null,
    keytabPrincipal: null,
    kdcs: [],
    includeContacts: false,
    schedule: '*/30 * * * *',
    incrementalSchedule: null,
    enabled: true,
    deleteThreshold: null,
    overrides: {},
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    ...fields,
  };
}

/** Short LDAP bounds, for engines whose reader is a fake or whose servers never answer. */
export const SHORT_LIMITS: LdapLimits = {
  dnsTimeoutMs: 1000,
  connectTimeoutMs: 1000,
  operationTimeoutMs: 1000,
  pageSize: 100,
  rangeSize: 100,
  dnsServers: [],
  maxMessageBytes: 16 * 1024 * 1024,
  maxEntries: 1_000_000,
  maxValuesPerAttribute: 1_000_000,
  kerberosFolder: null,
};

/** How the LDAP layer reaches a test slapd: plain LDAP (its simple bind allowed), as its reader, every kind. */
export function plainSlapdSettings(slapd: {
  readonly url: string;
  readonly baseDn: string;
  readonly reader: { readonly dn: string; readonly password: string };
}): LdapSettings {
  return {
    domain: 'corp.test',
    searchBase: slapd.baseDn,
    servers: [slapd.url],
    tls: 'NONE',
    caCertificate: null,
    tlsVerify: true,
    allowPlaintextBind: true,
    auth: 'SIMPLE',
    bindDn: slapd.reader.dn,
    bindPassword: slapd.reader.password,
    keytab: null,
    keytabPrincipal: null,
    kdcs: [],
    includeContacts: true,
    overrides: {},
  };
}

/** Every user, group and contact under `searchBase` as the full read decodes them, by guid. */
export async function readEverything(options: {
  readonly connection: LdapConnection;
  readonly schema: SchemaMap;
  readonly searchBase: string;
  readonly limits: LdapLimits;
}): Promise<Map<string, RawEntry>> {
  const all = new Map<string, RawEntry>();
  for (const kind of ['USER', 'GROUP', 'CONTACT'] as const) {
    await readKind({
      ...options,
      kind,
      onPage: (entries) => {
        for (const entry of entries) all.set(entry.guid, entry);
      },
    });
  }
  return all;
}
