/**
 * KERBEROS connections that fail, each failure provoked for real against the
 * shared Samba DC's KDC (#17; run under flock /tmp/dirgate-samba.lock):
 * the KDC unreachable, a principal the KDC does not know, a keytab of an old
 * key version, a server URL without an SPN, a GSSAPI bind over TLS (Samba
 * refuses every layer there). Each is seen in testConnection (a KERBEROS
 * step before BIND, or BIND itself, failed, its message starting with the
 * code) and as the `error` of a sync run. Clock skew needs a gateway process
 * under libfaketime: kerberos-process.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { kerberosFixture, keytabKvnos, kinitWithKeytab } from '../support/kerberos.js';

describe('the Kerberos fixture, seen by MIT kinit (what the errors below rest on)', () => {
  it('svc-dirgate and svc-second get tickets from their keytabs', () => {
    for (const name of ['dirgate', 'second'] as const) {
      const result = kinitWithKeytab(name);
      expect(result.status, result.output).toBe(0);
    }
  });

  it("svc-stale's keytab is of an older key version: the KDC refuses its preauthentication", () => {
    const result = kinitWithKeytab('stale');
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/Preauthentication failed/);
    expect(keytabKvnos(kerberosFixture().keytabs.stale)).toEqual([2]);
  });

  it("svc-gone's principal is unknown to the KDC", () => {
    const result = kinitWithKeytab('gone');
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/not found in Kerberos database/);
  });
});
