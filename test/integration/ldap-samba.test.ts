/**
 * The LDAP layer against a hardened Samba AD DC: AD flavour detection, the
 * NetBIOS name, binary objectGUIDs, TLS required for simple binds, LDAPS and
 * StartTLS with our CA, and range retrieval of a 1,600-member group.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../../scripts/directories/generator.js';
import {
  BindError,
  DEFAULT_LIMITS,
  type LdapLimits,
  type LdapSettings,
  NoServerAvailableError,
  openSession,
  type RawEntry,
  TlsError,
  TlsRequiredError,
  testConnection,
} from '../../src/ldap/index.js';
import type { PrincipalKind } from '../../src/model/principal.js';
import {
  type CertificateInfo,
  datasetFor,
  directories,
  type SambaInfo,
  sharedSamba,
} from '../support/directories.js';

// The one shared DC of the global setup (fixed ports: never start another here).
let samba: SambaInfo;
let certificates: CertificateInfo;
let dataset: Dataset;

const LIMITS: LdapLimits = { ...DEFAULT_LIMITS, connectTimeoutMs: 5000, operationTimeoutMs: 20_000 };

function settingsFor(overrides: Partial<LdapSettings> = {}): LdapSettings {
  return {
    domain: samba.domain,
    searchBase: samba.baseDn,
    servers: [samba.ldapsUrl],
    tls: 'LDAPS',
    caCertificate: certificates.caPem,
    tlsVerify: true,
    bindDn: samba.reader.dn,
    bindPassword: samba.reader.password,
    includeContacts: true,
    overrides: {},
    ...overrides,
  };
}

async function readKinds(settings: LdapSettings, limits = LIMITS) {
  const session = await openSession(settings, limits);
  try {
    const byKind: Record<PrincipalKind, RawEntry[]> = { USER: [], GROUP: [], CONTACT: [] };
    const kinds: PrincipalKind[] = ['USER', 'GROUP', 'CONTACT'];
    const stats = await Promise.all(
      kinds.map((kind) => session.read(kind, (entries) => void byKind[kind].push(...entries))),
    );
    return { flavour: session.flavour, netbiosName: session.netbiosName, byKind, stats };
  } finally {
    await session.close();
  }
}

beforeAll(() => {
  samba = sharedSamba();
  const shared = directories().certificates;
  if (!shared) throw new Error('no shared certificates');
  certificates = shared;
  dataset = datasetFor(samba.dataset);
});

describe('reading Samba AD', () => {
  it('reads all kinds over LDAPS with the CA, as Active Directory', async () => {
    const { flavour, netbiosName, byKind, stats } = await readKinds(settingsFor());
    expect(flavour).toBe('ACTIVE_DIRECTORY');
    expect(netbiosName).toBe(samba.netbiosName);
    expect(stats.map((s) => s.skipped)).toEqual([0, 0, 0]);

    const users = new Map(byKind.USER.map((u) => [u.guid, u]));
    // Samba adds its own accounts (Administrator, krbtgt, the reader…): every dataset user is there.
    for (const expected of dataset.users) {
      const got = users.get(expected.guid);
      expect(got, expected.dn).toBeDefined();
      expect(got?.samAccountName).toBe(expected.sAMAccountName);
      expect(got?.userAccountControl !== null && ((got?.userAccountControl ?? 0) & 2) !== 0).toBe(
        (expected.userAccountControl & 2) !== 0,
      );
      expect(got?.proxyAddresses).toEqual(expect.arrayContaining([...expected.proxyAddresses]));
    }
    const contacts = new Set(byKind.CONTACT.map((c) => c.guid));
    for (const expected of dataset.contacts) expect(contacts.has(expected.guid)).toBe(true);
    const groups = new Map(byKind.GROUP.map((g) => [g.guid, g]));
    for (const expected of dataset.groups) {
      expect(new Set(groups.get(expected.guid)?.memberDns.map((dn) => dn.toLowerCase()))).toEqual(
        new Set(expected.members.map((dn) => dn.toLowerCase())),
      );
    }
  }, 120_000);

  it('reads the 1,600-member group through several ranged requests', async () => {
    const largeDn = dataset.structure.largeGroup;
    expect(largeDn).not.toBeNull();
    const large = dataset.groups.find((g) => g.dn === largeDn);
    const session = await openSession(settingsFor(), { ...LIMITS, rangeSize: 500 });
    try {
      const groups: RawEntry[] = [];
      const stats = await session.read('GROUP', (entries) => void groups.push(...entries));
      // 0-499 rides in the paged search; 500-999, 1000-1499 and 1500-* follow per group.
      expect(stats.rangedRequests).toBeGreaterThan(1);
      const got = groups.find((g) => g.guid === large?.guid);
      expect(got?.memberDns).toHaveLength(1600);
      expect(new Set(got?.memberDns.map((dn) => dn.toLowerCase()))).toEqual(
        new Set(large?.members.map((dn) => dn.toLowerCase())),
      );
    } finally {
      await session.close();
    }
  }, 120_000);

  it('reads over StartTLS', async () => {
    const { byKind } = await readKinds(settingsFor({ servers: [samba.url], tls: 'STARTTLS' }));
    expect(byKind.CONTACT.length).toBeGreaterThanOrEqual(dataset.contacts.length);
  }, 120_000);

  it('binds with a UPN and with NETBIOS\\user', async () => {
    for (const bindDn of [samba.reader.userPrincipalName, samba.reader.ntlmName]) {
      const session = await openSession(settingsFor({ bindDn }), LIMITS);
      expect(session.flavour).toBe('ACTIVE_DIRECTORY');
      await session.close();
    }
  });
});

describe('Samba refusals', () => {
  it('reports TLS required, not bad credentials, for a plain simple bind', async () => {
    if (samba.allowPlainBind) {
      // This run's DC was started with DIRGATE_SAMBA_PLAIN_BIND=1: plain binds are allowed.
      const session = await openSession(settingsFor({ servers: [samba.url], tls: 'NONE' }), LIMITS);
      await session.close();
      return;
    }
    for (const password of [samba.reader.password, 'wrong-password']) {
      const err = await openSession(
        settingsFor({ servers: [samba.url], tls: 'NONE', bindPassword: password }),
        LIMITS,
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NoServerAvailableError);
      const cause = (err as NoServerAvailableError).causes[0];
      expect(cause).toBeInstanceOf(TlsRequiredError);
      expect(cause?.step).toBe('BIND');
    }
  });

  it('refuses a server certificate from an unknown CA', async () => {
    const err = await openSession(settingsFor({ caCertificate: certificates.unknownCaPem }), LIMITS).catch(
      (e: unknown) => e,
    );
    const cause = (err as NoServerAvailableError).causes[0];
    expect(cause).toBeInstanceOf(TlsError);
    expect(cause?.code).toBe('TLS_UNTRUSTED_CERTIFICATE');
  });

  it('explains wrong passwords and disabled accounts', async () => {
    const wrong = await openSession(settingsFor({ bindPassword: 'Wrong-Passw0rd!' }), LIMITS).catch(
      (e: unknown) => e,
    );
    expect(wrong).toBeInstanceOf(BindError);
    expect((wrong as BindError).adDataCode).toBe('52e');
    const disabled = await openSession(
      settingsFor({ bindDn: samba.disabledUser.dn, bindPassword: samba.disabledUser.password }),
      LIMITS,
    ).catch((e: unknown) => e);
    expect(disabled).toBeInstanceOf(BindError);
    expect((disabled as BindError).adDataCode).toBe('533');
    expect((disabled as BindError).message).toMatch(/disabled/);
  });
});

describe('testConnection against Samba', () => {
  it('walks DNS (SRV), TCP, TLS, BIND and SEARCH', async () => {
    const report = await testConnection(settingsFor({ servers: [] }), {
      ...LIMITS,
      dnsServers: [samba.dnsServer],
    });
    expect(report.error).toBeNull();
    expect(report.ok).toBe(true);
    expect(report.flavour).toBe('ACTIVE_DIRECTORY');
    expect(report.server).toBe('ldaps://dc1.corp.test:636');
    expect(report.steps.map((s) => s.step)).toEqual(['DNS', 'DNS', 'TCP', 'TLS', 'BIND', 'SEARCH']);
    expect(report.users).toBeGreaterThanOrEqual(dataset.users.length);
    expect(report.groups).toBeGreaterThanOrEqual(dataset.groups.length);
    expect(report.contacts).toBe(dataset.contacts.length);
  }, 60_000);
});
