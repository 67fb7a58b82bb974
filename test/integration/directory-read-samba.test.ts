/**
 * Reading Active Directory: the shared directory suite against the shared
 * hardened Samba AD DC of the global setup (fixed ports: never start
 * another here), and what only AD shows: range retrieval of the
 * 1,600-member group, binds by UPN and NETBIOS\user, TLS required for
 * simple binds, AD's reasons for a refused bind, and discovery by SRV.
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
  TlsRequiredError,
  testConnection,
} from '../../src/ldap/index.js';
import { TestConnectionDocument } from '../gql/graphql.js';
import { datasetFor, directories, type SambaInfo, sharedSamba } from '../support/directories.js';
import { startTestGateway } from '../support/gateway.js';
import { type DirectoryTarget, describeDirectoryRead, ldapSettings } from './directory-read.suite.js';

const LIMITS: LdapLimits = { ...DEFAULT_LIMITS, connectTimeoutMs: 5000, operationTimeoutMs: 20_000 };

function sambaTarget(): DirectoryTarget {
  const samba = sharedSamba();
  const certificates = directories().certificates;
  if (!certificates) throw new Error('no shared certificates');
  return {
    url: samba.url,
    ldapsUrl: samba.ldapsUrl,
    baseDn: samba.baseDn,
    domain: samba.domain,
    reader: samba.reader,
    caPem: certificates.caPem,
    unknownCaPem: certificates.unknownCaPem,
    dataset: datasetFor(samba.dataset),
    flavour: 'ACTIVE_DIRECTORY',
    netbiosName: samba.netbiosName,
    // Administrator, Guest, krbtgt and the test accounts; the groups of CN=Users and CN=Builtin.
    ownObjects: { users: 9, groups: 45 },
  };
}

describeDirectoryRead('Samba AD', sambaTarget);

describe('what only Active Directory shows', () => {
  let samba: SambaInfo;
  let dataset: Dataset;

  beforeAll(() => {
    samba = sharedSamba();
    dataset = datasetFor(samba.dataset);
  });

  const settingsFor = (overrides: Partial<LdapSettings> = {}) => ldapSettings(sambaTarget(), overrides);

  it('reads the 1,600-member group through several ranged requests', async () => {
    const large = dataset.groups.find((g) => g.dn === dataset.structure.largeGroup);
    if (!large) throw new Error('no large group in the Samba dataset');
    const session = await openSession(settingsFor(), { ...LIMITS, rangeSize: 500 });
    try {
      const groups: RawEntry[] = [];
      const stats = await session.read('GROUP', (entries) => void groups.push(...entries));
      // 0-499 rides in the paged search; 500-999, 1000-1499 and 1500-* follow per group.
      expect(stats.rangedRequests).toBeGreaterThan(1);
      expect(groups.find((g) => g.guid === large.guid)?.memberDns).toHaveLength(1600);
    } finally {
      await session.close();
    }
  });

  it('binds with a UPN and with NETBIOS\\user', async () => {
    for (const bindDn of [samba.reader.userPrincipalName, samba.reader.ntlmName]) {
      const session = await openSession(settingsFor({ bindDn }), LIMITS);
      expect(session.flavour, bindDn).toBe('ACTIVE_DIRECTORY');
      await session.close();
    }
  });

  it('reports TLS required, not bad credentials, for a plain simple bind', async () => {
    if (samba.allowPlainBind) {
      // This run's DC was started with DIRGATE_SAMBA_PLAIN_BIND=1: plain binds are allowed.
      const session = await openSession(
        settingsFor({ servers: [samba.url], tls: 'NONE', allowPlaintextBind: true }),
        LIMITS,
      );
      await session.close();
      return;
    }
    for (const password of [samba.reader.password, 'wrong-password']) {
      const err = await openSession(
        // Allowed here, so that the DC's own refusal is what is seen and mapped.
        settingsFor({ servers: [samba.url], tls: 'NONE', bindPassword: password, allowPlaintextBind: true }),
        LIMITS,
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NoServerAvailableError);
      const cause = (err as NoServerAvailableError).causes[0];
      expect(cause).toBeInstanceOf(TlsRequiredError);
      expect(cause?.step).toBe('BIND');
    }
  });

  it('says through the API that TLS is required, not that the password is wrong', async () => {
    if (samba.allowPlainBind) return;
    const gw = await startTestGateway();
    try {
      const { testConnection: report } = await gw.ok(TestConnectionDocument, {
        input: {
          name: 'Plain',
          domain: samba.domain,
          searchBase: samba.baseDn,
          servers: [samba.url],
          tls: 'NONE',
          bindDn: samba.reader.userPrincipalName,
          bindPassword: samba.reader.password,
          // Allowed, so that the DC's refusal (strongAuthRequired) is what the report shows.
          allowPlaintextBind: true,
        },
      });
      expect(report.ok).toBe(false);
      expect(report.steps.find((s) => !s.ok)?.step).toBe('BIND');
      expect(report.error).toMatch(/TLS|encryption/i);
    } finally {
      await gw.dispose();
    }
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

  it('testConnection walks DNS (SRV), TCP, TLS, BIND and SEARCH', async () => {
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
  });
});
