/**
 * The TLS options of LDAPS and StartTLS, in one place.
 *
 * Trust: with a CA bundle set on the connection, only that bundle is trusted,
 * as OpenLDAP's TLS_CACERT and SSSD's ldap_tls_cacert do. Adding it to the
 * public roots would let any public CA (or whatever the host's trust store
 * holds) vouch for the directory the gateway sends its password to. Without
 * a bundle, Node's default trust applies (its roots, NODE_EXTRA_CA_CERTS,
 * the system store with --use-system-ca). Node uses neither its roots nor the
 * extra certificates once `ca` is given.
 */
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { MIN_TLS_VERSION } from '../model/tls.js';
import type { LdapSettings } from './types.js';

export function tlsOptionsFor(
  settings: Pick<LdapSettings, 'tlsVerify' | 'caCertificate'>,
  host: string,
): ConnectionOptions {
  const ca = settings.caCertificate?.trim() ?? '';
  return {
    host,
    rejectUnauthorized: settings.tlsVerify,
    minVersion: MIN_TLS_VERSION,
    // SNI must not carry an IP address (RFC 6066); `host` alone drives the identity check then.
    ...(isIP(host) === 0 ? { servername: host } : {}),
    ...(ca !== '' ? { ca } : {}),
  };
}
