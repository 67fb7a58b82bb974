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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteConnectionDocument } from '../gql/graphql.js';
import { directories } from '../support/directories.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { kerberosFixture, keytabKvnos, kinitWithKeytab } from '../support/kerberos.js';
import {
  addKerberosConnection,
  type KerberosConnectionInput,
  kerberosGatewayEnv,
  kerberosInput,
  testKerberos,
} from '../support/kerberos-api.js';
import { startTcpRelay } from '../support/kerberos-leaks.js';
import { syncNow } from '../support/sync.js';

const NEVER = '0 0 1 1 *';

describe('the Kerberos fixture, seen by MIT kinit (what the errors below rest on)', () => {
  it('svc-dirgate and svc-second get tickets from their keytabs', async () => {
    for (const name of ['dirgate', 'second'] as const) {
      const result = await kinitWithKeytab(name);
      expect(result.status, result.output).toBe(0);
    }
  });

  it("svc-stale's keytab is of an older key version: the KDC refuses its preauthentication", async () => {
    const result = await kinitWithKeytab('stale');
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/Preauthentication failed/);
    expect(keytabKvnos(kerberosFixture().keytabs.stale)).toEqual([2]);
  });

  it("svc-gone's principal is unknown to the KDC", async () => {
    const result = await kinitWithKeytab('gone');
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/not found in Kerberos database/);
  });
});

/** A failure case: the connection's settings, and where and how it must fail. */
interface Case {
  readonly code: string;
  readonly step: 'KERBEROS' | 'BIND';
  readonly title: string;
  input(): KerberosConnectionInput;
  /** More than the code, on the message. */
  readonly message?: RegExp[];
}

describe('KERBEROS failures, each provoked for real, in testConnection and in a sync run', () => {
  let gw: TestGateway;
  /** A relay in front of the KDC that worked, then stopped: its port is the KDC gone away. */
  let stoppedKdc: string;

  beforeAll(async () => {
    gw = await startTestGateway({ env: kerberosGatewayEnv() });
    const k = kerberosFixture();
    const relay = await startTcpRelay(Number(k.kdc.split(':')[1]));
    // The relay itself works (MIT's kinit through it) before it is taken away.
    const through = await kinitWithKeytab('dirgate', relay.address);
    expect(through.status, through.output).toBe(0);
    expect(relay.connections).toBeGreaterThan(0);
    await relay.stop();
    stoppedKdc = relay.address;
  });

  afterAll(async () => {
    await gw?.dispose();
  });

  const cases: Case[] = [
    {
      code: 'KDC_UNREACHABLE',
      step: 'KERBEROS',
      title: 'the KDC stopped (a relay to it, stopped)',
      input: () => kerberosInput({ kdcs: [stoppedKdc] }),
    },
    {
      code: 'KERBEROS_PRINCIPAL_UNKNOWN',
      step: 'KERBEROS',
      title: "svc-gone's keytab (the account deleted after the export)",
      input: () => kerberosInput({ keytabOf: 'gone' }),
      message: [/svc-gone@CORP\.TEST/],
    },
    {
      code: 'KERBEROS_KEY_MISMATCH',
      step: 'KERBEROS',
      title: "svc-stale's keytab (its password changed after the export)",
      input: () => kerberosInput({ keytabOf: 'stale' }),
      // The keytab holds kvno 2 (klist, above); the message names it and the likely cause.
      message: [/(kvno|key version)\D{0,12}2\b/i, /password/i, /export/i],
    },
    {
      code: 'SPN_MISSING',
      step: 'KERBEROS',
      title: 'ldap://127.0.0.1 (no ldap/127.0.0.1 in the realm; never a reverse lookup)',
      input: () => kerberosInput({ servers: [`ldap://127.0.0.1:${kerberosFixture().ldapPort}`] }),
      message: [/ldap\/127\.0\.0\.1/],
    },
    {
      code: 'SASL_LAYER_REFUSED',
      step: 'BIND',
      title: 'GSSAPI over StartTLS (Samba refuses every layer over TLS)',
      input: () =>
        kerberosInput({ tls: 'STARTTLS', caCertificate: directories().certificates?.caPem ?? null }),
    },
    {
      code: 'SASL_LAYER_REFUSED',
      step: 'BIND',
      title: 'GSSAPI over LDAPS',
      input: () =>
        kerberosInput({
          servers: [`ldaps://${kerberosFixture().hostName}:636`],
          tls: 'LDAPS',
          caCertificate: directories().certificates?.caPem ?? null,
        }),
    },
  ];

  for (const c of cases) {
    it(`${c.code} (${c.title}): testConnection fails at ${c.step}, and so does a sync run`, async () => {
      const code = new RegExp(`\\b${c.code}: `);
      const report = await testKerberos(gw, c.input());
      expect(report.ok).toBe(false);
      const failed = report.steps.find((s) => !s.ok);
      expect(failed?.step, JSON.stringify(report.steps)).toBe(c.step);
      // Everything before the failed step went through; a KERBEROS failure stops before any BIND.
      const before = report.steps.slice(0, report.steps.indexOf(failed as NonNullable<typeof failed>));
      expect(before.every((s) => s.ok)).toBe(true);
      if (c.step === 'KERBEROS') expect(before.map((s) => s.step)).not.toContain('BIND');
      else expect(before.map((s) => s.step)).toContain('KERBEROS');
      // The step's detail is `<url>: <message>`, and the message starts with the code.
      expect(failed?.detail).toMatch(new RegExp(`^\\S+: ${c.code}: `));
      expect(report.error).toMatch(code);
      for (const m of c.message ?? []) expect(report.error).toMatch(m);

      const added = await addKerberosConnection(gw, {
        ...c.input(),
        name: `${c.code} ${c.step}`,
        schedule: NEVER,
      });
      const ended = await syncNow(gw, added.id, 120_000);
      expect(ended.status).toBe('FAILED');
      expect(ended.lastSync?.status).toBe('FAILED');
      expect(ended.lastSync?.error).toMatch(code);
      for (const m of c.message ?? []) expect(ended.lastSync?.error).toMatch(m);
      // One connection per search base and domain: make room for the next case.
      await gw.ok(DeleteConnectionDocument, { id: added.id });
    });
  }
});
