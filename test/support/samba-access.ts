/**
 * How tests reach the shared Samba AD DC: LDAPS with the test CA, as the
 * LDAP layer's settings for an account, or as an ldapts client bound as
 * Administrator (the tests' own writes: OUs, users, groups).
 */
import { Client } from 'ldapts';
import type { LdapSettings } from '../../src/ldap/types.js';
import { directories, type SambaInfo } from './directories.js';

/** The LDAP layer's settings for `who` on the DC: LDAPS with the test CA, every kind, the domain root. */
export function sambaLdapSettings(samba: SambaInfo, who: { dn: string; password: string }): LdapSettings {
  return {
    domain: samba.domain,
    searchBase: samba.baseDn,
    servers: [samba.ldapsUrl],
    tls: 'LDAPS',
    caCertificate: directories().certificates?.caPem ?? null,
    tlsVerify: true,
    allowPlaintextBind: false,
    auth: 'SIMPLE',
    bindDn: who.dn,
    bindPassword: who.password,
    keytab: null,
    keytabPrincipal: null,
    kdcs: [],
    includeContacts: true,
    overrides: {},
  };
}

/** An ldapts client bound as Administrator over LDAPS: for the changes a test makes itself. */
export async function sambaAdminClient(samba: SambaInfo): Promise<Client> {
  const client = new Client({
    url: samba.ldapsUrl,
    tlsOptions: { ca: [directories().certificates?.caPem ?? ''] },
  });
  await client.bind(samba.admin.dn, samba.admin.password);
  return client;
}
