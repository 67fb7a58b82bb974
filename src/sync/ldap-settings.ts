/**
 * The LDAP layer's settings of one connection: its stored (or entered) settings and its secrets
 * in clear, for one run or one test. One builder, so that the sync, testConnection and the
 * `dirgate test-connection` command hand the LDAP layer the same fields, and a field added to
 * DirectoryAccess is added here once.
 */
import type { LdapSettings } from '../ldap/types.js';
import type { DirectoryAccess } from '../model/connection.js';

export interface ClearSecrets {
  /** SIMPLE: the bind password; null otherwise. */
  readonly bindPassword: string | null;
  /** KERBEROS: the keytab file's bytes; null otherwise. */
  readonly keytab: Uint8Array | null;
}

export function ldapSettingsOf(access: DirectoryAccess, secrets: ClearSecrets): LdapSettings {
  const kerberos = access.auth === 'KERBEROS';
  return {
    domain: access.domain,
    searchBase: access.searchBase,
    servers: access.servers,
    tls: access.tls,
    caCertificate: access.caCertificate,
    tlsVerify: access.tlsVerify,
    allowPlaintextBind: access.allowPlaintextBind,
    auth: access.auth,
    // Each method gets only its own secret, whatever a record edited outside the API holds.
    bindDn: kerberos ? null : access.bindDn,
    bindPassword: kerberos ? null : secrets.bindPassword,
    keytab: kerberos ? secrets.keytab : null,
    keytabPrincipal: kerberos ? access.keytabPrincipal : null,
    kdcs: kerberos ? access.kdcs : [],
    includeContacts: access.includeContacts,
    overrides: access.overrides,
  };
}
