/**
 * What the LDAP layer takes and gives. Only src/ldap talks LDAP; the sync
 * engine depends on these types and the functions of src/ldap/index.ts.
 */
import type { DirectoryAccess } from '../model/connection.js';
import type { PrincipalKind } from '../model/principal.js';

// A connection's stored settings (src/model) say how it is read; the LDAP layer takes them as they are.
export type { MappedAttribute, ReadOverrides, TlsMode } from '../model/connection.js';

/** Everything needed to reach and read one connection's directory: its settings and its password in clear. */
export interface LdapSettings extends DirectoryAccess {
  readonly bindPassword: string | null;
  /** KERBEROS: the keytab file's bytes, in clear only here (unsealed for the run); null otherwise. */
  readonly keytab: Uint8Array | null;
}

/** Time bounds and sizes of one session; every step is bounded. */
export interface LdapLimits {
  /** DNS SRV lookup, per server asked (default 3000 ms). */
  readonly dnsTimeoutMs: number;
  /** TCP connect plus TLS handshake (default 5000 ms). */
  readonly connectTimeoutMs: number;
  /** Each LDAP operation: bind, StartTLS, one page of a search (default 30000 ms). */
  readonly operationTimeoutMs: number;
  /** Paged-results page size (default 1000). */
  readonly pageSize: number;
  /**
   * Range size asked for large multi-valued attributes (default 1500, AD's
   * MaxValRange). Tests set it lower to exercise range retrieval on servers
   * that would return everything at once.
   */
  readonly rangeSize: number;
  /** DNS servers (`host:port`) for SRV discovery; empty: the system resolver. */
  readonly dnsServers: readonly string[];
  /**
   * Largest LDAP message accepted, in bytes (default 64 MiB): checked on the
   * length field, before anything of the message is buffered.
   */
  readonly maxMessageBytes: number;
  /** Entries (and continuation references) one run may receive, all kinds together (default 2,000,000). */
  readonly maxEntries: number;
  /** Values of one attribute of one entry, range retrieval included (default 1,000,000). */
  readonly maxValuesPerAttribute: number;
  /**
   * Where this process keeps its Kerberos configuration (the data folder's `kerberos/`: the
   * krb5.conf naming each realm's KDCs; no keys or tickets, those stay in memory). Null: KERBEROS
   * connections fail with KERBEROS_UNAVAILABLE.
   */
  readonly kerberosFolder: string | null;
}

export type DirectoryFlavour = 'ACTIVE_DIRECTORY' | 'LDAP';

/** One object as read, decoded but not yet interpreted. */
export interface RawEntry {
  readonly kind: PrincipalKind;
  /** objectGUID in AD's string form, or entryUUID. */
  readonly guid: string;
  readonly dn: string;
  readonly displayName: string;
  readonly mail: string | null;
  /** proxyAddresses exactly as stored, prefixes and case kept. */
  readonly proxyAddresses: readonly string[];
  readonly samAccountName: string | null;
  readonly userPrincipalName: string | null;
  readonly userAccountControl: number | null;
  /** Groups: member DNs, complete (range retrieval already done). */
  readonly memberDns: readonly string[];
}

/** KERBEROS (tickets from the keytab, before BIND) is only taken by KERBEROS connections. */
export type ConnectionStep = 'DNS' | 'TCP' | 'TLS' | 'KERBEROS' | 'BIND' | 'SEARCH';

export interface StepReport {
  readonly step: ConnectionStep;
  readonly ok: boolean;
  readonly ms: number;
  readonly detail: string | null;
}

export interface ConnectionTestReport {
  readonly ok: boolean;
  readonly server: string | null;
  readonly flavour: DirectoryFlavour | null;
  readonly steps: readonly StepReport[];
  readonly error: string | null;
  readonly users: number | null;
  readonly groups: number | null;
  readonly contacts: number | null;
}

/**
 * The ids a snapshot holds (RawEntry.guid form), as an incremental read asks
 * of them: a few lookups, and, only when ids are compared, every one. A Set
 * is one; the sync layer passes a lookup it keeps from run to run instead of
 * building a Set of the whole snapshot each time.
 */
export interface KnownIds {
  has(id: string): boolean;
  [Symbol.iterator](): Iterator<string>;
}
