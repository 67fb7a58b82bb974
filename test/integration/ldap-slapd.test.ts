/**
 * The LDAP layer against a private slapd with an AD-like schema (objectGUID
 * written in the data, users inetOrgPerson + user, 1,000-entry size limit
 * for the reader so paging is required).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dataset, generateDirectory } from '../../scripts/directories/generator.js';
import { type SlapdInstance, startSlapd } from '../../scripts/directories/slapd.js';
import {
  BindError,
  DEFAULT_LIMITS,
  LdapError,
  type LdapLimits,
  type LdapSettings,
  NoServerAvailableError,
  openSession,
  type RawEntry,
  TlsError,
  testConnection,
} from '../../src/ldap/index.js';
import type { PrincipalKind } from '../../src/model/principal.js';

let slapd: SlapdInstance;
let dataset: Dataset;

const LIMITS: LdapLimits = {
  ...DEFAULT_LIMITS,
  connectTimeoutMs: 3000,
  operationTimeoutMs: 10_000,
  pageSize: 500,
};

function settingsFor(overrides: Partial<LdapSettings> = {}): LdapSettings {
  return {
    domain: 'corp.test',
    searchBase: slapd.baseDn,
    servers: [slapd.url],
    tls: 'NONE',
    caCertificate: null,
    tlsVerify: true,
    bindDn: slapd.reader.dn,
    bindPassword: slapd.reader.password,
    includeContacts: true,
    overrides: {},
    ...overrides,
  };
}

async function readAll(settings: LdapSettings, limits = LIMITS) {
  const session = await openSession(settings, limits);
  try {
    const byKind: Record<PrincipalKind, RawEntry[]> = { USER: [], GROUP: [], CONTACT: [] };
    const pages: Record<PrincipalKind, number> = { USER: 0, GROUP: 0, CONTACT: 0 };
    const kinds: PrincipalKind[] = ['USER', 'GROUP', 'CONTACT'];
    // Concurrently, as the sync engine may: each read has its own connection.
    const stats = await Promise.all(
      kinds.map((kind) =>
        session.read(kind, (entries) => {
          pages[kind]++;
          byKind[kind].push(...entries);
        }),
      ),
    );
    return { session, byKind, pages, stats };
  } finally {
    await session.close();
  }
}

beforeAll(async () => {
  dataset = generateDirectory({
    users: 1200,
    groups: 30,
    contacts: 60,
    seed: 'ldap-slapd',
    baseDn: 'dc=corp,dc=test',
    largeGroupSize: 1100,
  });
  slapd = await startSlapd({ dataset });
}, 60_000);

afterAll(async () => {
  await slapd?.dispose();
});

describe('reading slapd', () => {
  it('reads every user, group and contact over plain LDAP, paged past the size limit', async () => {
    const { session, byKind, pages, stats } = await readAll(settingsFor());
    expect(session.flavour).toBe('LDAP');
    expect(session.netbiosName).toBeNull();
    expect(session.server).toBe(slapd.url);

    expect(byKind.USER).toHaveLength(dataset.users.length);
    expect(byKind.GROUP).toHaveLength(dataset.groups.length);
    expect(byKind.CONTACT).toHaveLength(dataset.contacts.length);
    // 1,200 users at 500 per page; the reader's 1,000-entry limit would refuse an unpaged read.
    expect(pages.USER).toBeGreaterThanOrEqual(3);
    expect(stats.map((s) => s.skipped)).toEqual([0, 0, 0]);

    const users = new Map(byKind.USER.map((u) => [u.guid, u]));
    for (const expected of dataset.users) {
      const got = users.get(expected.guid);
      expect(got, expected.dn).toBeDefined();
      expect(got?.samAccountName).toBe(expected.sAMAccountName);
      expect(got?.userPrincipalName).toBe(expected.userPrincipalName);
      expect(got?.userAccountControl).toBe(expected.userAccountControl);
      expect(got?.mail).toBe(expected.mail);
      expect(got?.proxyAddresses).toEqual(expected.proxyAddresses);
      expect(got?.displayName).toBe(expected.displayName);
    }
    const groups = new Map(byKind.GROUP.map((g) => [g.guid, g]));
    for (const expected of dataset.groups) {
      expect(new Set(groups.get(expected.guid)?.memberDns.map((dn) => dn.toLowerCase()))).toEqual(
        new Set(expected.members.map((dn) => dn.toLowerCase())),
      );
    }
    const contacts = new Set(byKind.CONTACT.map((c) => c.guid));
    for (const expected of dataset.contacts) expect(contacts.has(expected.guid)).toBe(true);
  }, 60_000);

  it('reads over LDAPS with the CA bundle', async () => {
    const { byKind } = await readAll(
      settingsFor({ servers: [slapd.ldapsUrl], tls: 'LDAPS', caCertificate: slapd.certificates.ca.pem }),
    );
    expect(byKind.USER).toHaveLength(dataset.users.length);
  }, 60_000);

  it('reads over StartTLS with the CA bundle', async () => {
    const { byKind } = await readAll(
      settingsFor({ tls: 'STARTTLS', caCertificate: slapd.certificates.ca.pem }),
    );
    expect(byKind.GROUP).toHaveLength(dataset.groups.length);
  }, 60_000);

  it('refuses a certificate from an unknown CA, over LDAPS and StartTLS', async () => {
    for (const tls of ['LDAPS', 'STARTTLS'] as const) {
      const settings = settingsFor({
        servers: [tls === 'LDAPS' ? slapd.ldapsUrl : slapd.url],
        tls,
        caCertificate: slapd.certificates.unknownCa.pem,
      });
      const err = await openSession(settings, LIMITS).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NoServerAvailableError);
      const cause = (err as NoServerAvailableError).causes[0];
      expect(cause).toBeInstanceOf(TlsError);
      expect(cause?.code).toBe('TLS_UNTRUSTED_CERTIFICATE');
      expect(cause?.step).toBe('TLS');
    }
  });

  it('accepts an unverified certificate only when verification is off', async () => {
    const settings = settingsFor({ servers: [slapd.ldapsUrl], tls: 'LDAPS', tlsVerify: false });
    const session = await openSession(settings, LIMITS);
    await session.close();
  });

  it('rejects a wrong password as BindError without trying further servers', async () => {
    const settings = settingsFor({ bindPassword: 'wrong-password', servers: [slapd.url, slapd.url] });
    const err = await openSession(settings, LIMITS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BindError);
    expect((err as BindError).code).toBe('INVALID_CREDENTIALS');
    expect((err as BindError).message).not.toContain('wrong-password');
  });

  it('refuses an empty password with a DN instead of binding unauthenticated', async () => {
    const err = await openSession(settingsFor({ bindPassword: '' }), LIMITS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BindError);
    expect((err as BindError).code).toBe('EMPTY_PASSWORD');
  });

  it('falls over to the next configured server', async () => {
    const session = await openSession(settingsFor({ servers: ['ldap://127.0.0.1:1', slapd.url] }), LIMITS);
    expect(session.server).toBe(slapd.url);
    await session.close();
  });

  it('stops a read promptly on abort', async () => {
    const session = await openSession(settingsFor(), { ...LIMITS, pageSize: 100 });
    const controller = new AbortController();
    let pages = 0;
    const started = performance.now();
    const err = await session
      .read(
        'USER',
        async () => {
          pages++;
          if (pages === 2) controller.abort();
        },
        controller.signal,
      )
      .catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortedError');
    expect(pages).toBe(2);
    expect(performance.now() - started).toBeLessThan(5000);
    // The session still serves other reads on fresh connections.
    const stats = await session.read('CONTACT', () => {});
    expect(stats.entries).toBe(dataset.contacts.length);
    await session.close();
  });
});

describe('a server dying mid-read', () => {
  /** Reads users in pages of 100; while the first page is handled, `duringFirstPage` runs, then slapd dies. */
  async function readUntilKilled(duringFirstPage: () => Promise<void>) {
    const session = await openSession(settingsFor(), { ...LIMITS, pageSize: 100 });
    let pages = 0;
    try {
      const err = await session
        .read('USER', async () => {
          pages++;
          if (pages !== 1) return;
          await duringFirstPage();
          await slapd.kill();
        })
        .catch((e: unknown) => e);
      return { err, pages };
    } finally {
      await session.close();
      await slapd.start();
    }
  }

  it('fails the read as CONNECTION_LOST and the session never falls over to a reconnect', async () => {
    const { err, pages } = await readUntilKilled(async () => {});
    expect(err).toBeInstanceOf(LdapError);
    expect((err as LdapError).code).toBe('CONNECTION_LOST');
    // The second page was asked for before the first was handed over: it may have arrived.
    expect(pages).toBeGreaterThanOrEqual(1);
    expect(pages).toBeLessThanOrEqual(2);
  });

  it('has the next page asked for while the caller still decodes the current one', async () => {
    // Long enough for a page of 100 to arrive on loopback, had it been asked for.
    const { err, pages } = await readUntilKilled(() => new Promise((resolve) => setTimeout(resolve, 500)));
    expect((err as LdapError).code).toBe('CONNECTION_LOST');
    // Page 2 had arrived while page 1 was decoded; page 3, asked for then, never came.
    expect(pages).toBe(2);
  });
});

describe('testConnection against slapd', () => {
  it('reports every step and the counts', async () => {
    const report = await testConnection(
      settingsFor({ servers: [slapd.ldapsUrl], tls: 'LDAPS', caCertificate: slapd.certificates.ca.pem }),
      LIMITS,
    );
    expect(report.ok).toBe(true);
    expect(report.error).toBeNull();
    expect(report.flavour).toBe('LDAP');
    expect(report.steps.map((s) => s.step)).toEqual(['TCP', 'TLS', 'BIND', 'SEARCH']);
    expect(report.steps.every((s) => s.ok)).toBe(true);
    expect(report.users).toBe(dataset.users.length);
    expect(report.groups).toBe(dataset.groups.length);
    expect(report.contacts).toBe(dataset.contacts.length);
  });

  it('reports a TLS failure at the TLS step', async () => {
    const report = await testConnection(
      settingsFor({
        servers: [slapd.ldapsUrl],
        tls: 'LDAPS',
        caCertificate: slapd.certificates.unknownCa.pem,
      }),
      LIMITS,
    );
    expect(report.ok).toBe(false);
    expect(report.steps.at(-1)).toMatchObject({ step: 'TLS', ok: false });
    expect(report.error).toMatch(/certificate/);
  });

  it('reports a refused connection at the TCP step and bad credentials at BIND', async () => {
    const refused = await testConnection(settingsFor({ servers: ['ldap://127.0.0.1:1'] }), LIMITS);
    expect(refused.ok).toBe(false);
    expect(refused.steps.at(-1)).toMatchObject({ step: 'TCP', ok: false });

    const wrong = await testConnection(settingsFor({ bindPassword: 'nope-nope' }), LIMITS);
    expect(wrong.ok).toBe(false);
    expect(wrong.steps.at(-1)).toMatchObject({ step: 'BIND', ok: false });
    expect(JSON.stringify(wrong)).not.toContain('nope-nope');
  });
});
