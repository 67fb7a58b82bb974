/**
 * Two Kerberos realms side by side in one gateway (#17; run under flock
 * /tmp/dirgate-samba.lock): the shared Samba DC's CORP.TEST (Heimdal KDC,
 * Samba's LDAP server) and an MIT realm OTHER.TEST with a slapd that
 * accepts its tickets through Cyrus SASL (test/support/mit-realm.ts).
 * Each connection has its own keytab, realm and KDC; the process has one
 * krb5.conf, in the data folder, naming both.
 *
 * slapd allows GSSAPI with no security layer over TLS, which Samba refuses:
 * so here the other half of the layer policy is checked — over StartTLS no
 * layer (TLS protects the session), on plain LDAP sealing — and the sealed
 * sync serves what a simple bind of the same directory serves.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type DnsmasqInstance, startDnsmasq } from '../../scripts/directories/dnsmasq.js';
import { generateDirectory } from '../../scripts/directories/generator.js';
import { type SlapdInstance, startSlapd } from '../../scripts/directories/slapd.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { kerberosFixture, keytabBase64 } from '../support/kerberos.js';
import {
  addKerberosConnection,
  type KerberosConnectionInput,
  kerberosInput,
  testKerberos,
  withoutConnectionIds,
} from '../support/kerberos-api.js';
import { ticketCacheFiles } from '../support/kerberos-leaks.js';
import { type MitRealm, startMitRealm } from '../support/mit-realm.js';
import { servedDirectory } from '../support/served-directory.js';
import { syncNow } from '../support/sync.js';

const NEVER = '0 0 1 1 *';
const OTHER = 'OTHER.TEST';
/** The slapd's DNS name: its SPN is ldap/<this>@OTHER.TEST, and the test's DNS resolves it. */
const OTHER_HOST = 'ldap.other.test';
const BASE = 'dc=other,dc=test';

let realm: MitRealm;
let slapd: SlapdInstance;
let dns: DnsmasqInstance;
let gw: TestGateway;
let cachesBefore: string[];
const dataset = generateDirectory({
  baseDn: BASE,
  users: 60,
  groups: 8,
  contacts: 6,
  seed: 'other-realm',
  largeGroupSize: 30,
});

function otherInput(fields: Partial<KerberosConnectionInput> = {}): KerberosConnectionInput {
  return {
    name: 'Other realm',
    domain: 'other.test',
    searchBase: BASE,
    servers: [`ldap://${OTHER_HOST}:${slapd.port}`],
    tls: 'NONE',
    auth: 'KERBEROS',
    keytab: readFileSync(realm.keytabs['svc-other'] as string).toString('base64'),
    kdcs: [realm.kdc],
    includeContacts: true,
    schedule: NEVER,
    ...fields,
  };
}

beforeAll(async () => {
  const k = kerberosFixture();
  cachesBefore = ticketCacheFiles();
  realm = await startMitRealm({ realm: OTHER, serviceHost: OTHER_HOST, clients: ['svc-other'] });
  slapd = await startSlapd({
    baseDn: BASE,
    dataset,
    kerberos: { keytab: realm.serviceKeytab, krb5Config: realm.krb5Config, host: OTHER_HOST, realm: OTHER },
  });
  // One DNS for the gateway: the DC's name and the slapd's, both on loopback.
  dns = await startDnsmasq({
    a: [
      { name: k.hostName, address: '127.0.0.1' },
      { name: OTHER_HOST, address: '127.0.0.1' },
    ],
  });
  gw = await startTestGateway({ env: { DIRGATE_DNS_SERVERS: dns.server } });
}, 60_000);

afterAll(async () => {
  await gw?.dispose();
  await dns?.stop();
  await slapd?.dispose();
  await realm?.stop();
});

describe('KERBEROS connections of two realms in one gateway', () => {
  let samba: string;
  let other: string;

  it('each syncs with its own keytab, realm and KDC, one after the other and then together', async () => {
    samba = (
      await addKerberosConnection(gw, {
        ...kerberosInput({ name: 'CORP realm', keytab: keytabBase64('dirgate') }),
        schedule: NEVER,
      })
    ).id;
    other = (await addKerberosConnection(gw, otherInput())).id;
    for (const id of [samba, other]) {
      const ended = await syncNow(gw, id, 120_000);
      expect(ended.status, ended.lastSync?.error ?? '').toBe('SUCCEEDED');
    }
    const together = await Promise.all([syncNow(gw, samba, 120_000), syncNow(gw, other, 120_000)]);
    for (const ended of together) expect(ended.status, ended.lastSync?.error ?? '').toBe('SUCCEEDED');
    const otherUsers = together[1]?.userCount;
    expect(otherUsers).toBe(dataset.users.length);
  });

  it('every run gets new tickets from the keys (so none can have ended, and none needs renewing): the KDC issues a TGT and a service ticket per run', async () => {
    const issued = (kind: 'AS_REQ' | 'TGS_REQ') =>
      realm
        .kdcLog()
        .split('\n')
        .filter(
          (line) => line.includes(kind) && line.includes('ISSUE') && line.includes(`svc-other@${OTHER}`),
        ).length;
    const before = { as: issued('AS_REQ'), tgs: issued('TGS_REQ') };
    for (let run = 0; run < 2; run++) {
      const ended = await syncNow(gw, other, 120_000);
      expect(ended.status, ended.lastSync?.error ?? '').toBe('SUCCEEDED');
    }
    expect(issued('AS_REQ') - before.as).toBeGreaterThanOrEqual(2);
    expect(issued('TGS_REQ') - before.tgs).toBeGreaterThanOrEqual(2);
  });

  it('the process has one krb5.conf, in the data folder, naming both realms and their KDCs', () => {
    const conf = readFileSync(path.join(gw.dataDir, 'kerberos', 'krb5.conf'), 'utf8');
    expect(conf).toContain(`${OTHER} = {\n    kdc = ${realm.kdc}\n  }`);
    expect(conf).toContain(`${kerberosFixture().realm} = {`);
    // Keys and tickets stay in memory: the file names no keytab or ticket cache file.
    expect(conf).not.toMatch(/FILE:|DIR:/);
    expect(ticketCacheFiles()).toEqual(cachesBefore);
  });

  it('the sealed sync of the other realm serves what the reader’s simple bind of the same slapd serves, object for object', async () => {
    // Another gateway: one gateway takes one connection per search base.
    const plainGw = await startTestGateway({ env: { DIRGATE_DNS_SERVERS: dns.server } });
    onTestFinished(() => plainGw.dispose());
    const simple = (
      await addKerberosConnection(plainGw, {
        ...otherInput({ name: 'Other realm, simple bind', auth: 'SIMPLE', keytab: null, kdcs: [] }),
        bindDn: slapd.reader.dn,
        bindPassword: slapd.reader.password,
        allowPlaintextBind: true,
      } as KerberosConnectionInput)
    ).id;
    const ended = await syncNow(plainGw, simple, 120_000);
    expect(ended.status, ended.lastSync?.error ?? '').toBe('SUCCEEDED');
    const sealed = withoutConnectionIds(await servedDirectory(gw, other), other);
    const plain = withoutConnectionIds(await servedDirectory(plainGw, simple), simple);
    expect(sealed.length).toBeGreaterThan(dataset.users.length);
    expect(sealed).toEqual(plain);
  });

  it('on plain LDAP the session is sealed; over StartTLS it takes no layer, TLS protecting it', async () => {
    const plain = await testKerberos(gw, otherInput());
    expect(plain.ok, plain.error ?? '').toBe(true);
    expect(plain.steps.find((s) => s.step === 'BIND')?.detail).toMatch(/SASL confidentiality/);
    expect(plain.steps.find((s) => s.step === 'KERBEROS')?.detail).toContain(`svc-other@${OTHER}`);
    const overTls = await testKerberos(
      gw,
      // The test certificate does not name ldap.other.test; what is checked here is the layer.
      { ...otherInput({ tls: 'STARTTLS' }), tlsVerify: false } as KerberosConnectionInput,
    );
    expect(overTls.ok, overTls.error ?? '').toBe(true);
    expect(overTls.steps.map((s) => s.step)).toEqual(['DNS', 'TCP', 'TLS', 'KERBEROS', 'BIND', 'SEARCH']);
    expect(overTls.steps.find((s) => s.step === 'BIND')?.detail).toMatch(/no SASL layer \(TLS\)/);
    expect(overTls.users).toBe(dataset.users.length);
  });

  it('a CORP.TEST keytab sent to the OTHER.TEST KDC is refused there (principal unknown), and CORP.TEST still works after', async () => {
    const crossed = await testKerberos(
      gw,
      otherInput({ keytab: keytabBase64('dirgate'), kdcs: [realm.kdc] }),
    );
    expect(crossed.ok).toBe(false);
    const failed = crossed.steps.find((s) => !s.ok);
    expect(failed?.step).toBe('KERBEROS');
    expect(failed?.detail).toMatch(/: KERBEROS_PRINCIPAL_UNKNOWN: .*svc-dirgate@CORP\.TEST/);
    // The krb5.conf names each realm's KDCs as the connection being opened gives them.
    const ended = await syncNow(gw, samba, 120_000);
    expect(ended.status, ended.lastSync?.error ?? '').toBe('SUCCEEDED');
  });
});
