/**
 * The options every LDAPS and StartTLS handshake is made with: a connection's
 * CA bundle replaces the default trust (it is not added to Node's roots), and
 * TLS 1.2 is the floor whatever the process defaults say.
 */
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { tlsOptionsFor } from '../../src/ldap/tls-options.js';

const BUNDLE = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';

describe('tlsOptionsFor', () => {
  it('trusts only the connection bundle when one is set', () => {
    const options = tlsOptionsFor({ tlsVerify: true, caCertificate: `\n${BUNDLE}\n` }, 'dc1.corp.test');
    expect(options.ca).toBe(BUNDLE);
    const given = [options.ca].flat();
    expect(given.some((ca) => tls.rootCertificates.includes(String(ca)))).toBe(false);
  });

  it('leaves the default trust (roots, NODE_EXTRA_CA_CERTS, system store) without a bundle', () => {
    expect(tlsOptionsFor({ tlsVerify: true, caCertificate: null }, 'dc1.corp.test')).not.toHaveProperty('ca');
    expect(tlsOptionsFor({ tlsVerify: true, caCertificate: '  \n' }, 'dc1.corp.test')).not.toHaveProperty(
      'ca',
    );
  });

  it('asks for TLS 1.2 at least, with and without verification', () => {
    for (const tlsVerify of [true, false]) {
      const options = tlsOptionsFor({ tlsVerify, caCertificate: null }, '127.0.0.1');
      expect(options).toMatchObject({
        minVersion: 'TLSv1.2',
        rejectUnauthorized: tlsVerify,
        host: '127.0.0.1',
      });
    }
  });

  it('sends SNI for a host name, never for an IP address', () => {
    expect(tlsOptionsFor({ tlsVerify: true, caCertificate: null }, 'dc1.corp.test').servername).toBe(
      'dc1.corp.test',
    );
    expect(tlsOptionsFor({ tlsVerify: true, caCertificate: null }, '::1')).not.toHaveProperty('servername');
  });
});
