/**
 * Reading OpenLDAP: the shared directory suite against the shared slapd (an
 * AD-like schema: objectGUID written in the data, users inetOrgPerson +
 * user, a 1,000-entry size limit for the reader so paging is required),
 * and what only slapd shows: plain LDAP, users sharing an account name
 * (Samba refuses them), values in the order written, and a server killed
 * in the middle of a read (a private slapd, as the shared one must stay up).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../../scripts/directories/generator.js';
import {
  DEFAULT_LIMITS,
  LdapError,
  type LdapLimits,
  openSession,
  type RawEntry,
} from '../../src/ldap/index.js';
import { plainSlapdSettings } from '../support/connections.js';
import { datasetFor, directories, type SlapdInfo, sharedSlapd } from '../support/directories.js';
import { privateSlapd } from '../support/fixtures.js';
import { type DirectoryTarget, describeDirectoryRead } from './directory-read.suite.js';

const LIMITS: LdapLimits = { ...DEFAULT_LIMITS, connectTimeoutMs: 3000, operationTimeoutMs: 10_000 };

function slapdTarget(): DirectoryTarget {
  const slapd = sharedSlapd();
  const certificates = directories().certificates;
  if (!certificates) throw new Error('no shared certificates');
  return {
    url: slapd.url,
    ldapsUrl: slapd.ldapsUrl,
    baseDn: slapd.baseDn,
    domain: 'corp.test',
    reader: slapd.reader,
    caPem: certificates.caPem,
    unknownCaPem: certificates.unknownCaPem,
    dataset: datasetFor(slapd.dataset),
    flavour: 'LDAP',
    netbiosName: null,
    ownObjects: { users: 0, groups: 0 },
  };
}

describeDirectoryRead('slapd', slapdTarget);

describe('what only slapd shows', () => {
  let slapd: SlapdInfo;
  let dataset: Dataset;

  beforeAll(() => {
    slapd = sharedSlapd();
    dataset = datasetFor(slapd.dataset);
  });

  async function readUsers(): Promise<Map<string, RawEntry>> {
    const session = await openSession(plainSlapdSettings(slapd), { ...LIMITS, pageSize: 500 });
    try {
      const users: RawEntry[] = [];
      await session.read('USER', (entries) => void users.push(...entries));
      expect(session.flavour).toBe('LDAP');
      return new Map(users.map((u) => [u.guid, u]));
    } finally {
      await session.close();
    }
  }

  it('reads every user over plain LDAP, their proxyAddresses in the order written', async () => {
    const users = await readUsers();
    expect(users.size).toBe(dataset.users.length);
    for (const expected of dataset.users) {
      expect(users.get(expected.guid)?.proxyAddresses, expected.dn).toEqual(expected.proxyAddresses);
    }
  });

  it('reads users that share an account or Kerberos name, each with its own spelling', async () => {
    const planted = [...dataset.planted.ntlmNames, ...dataset.planted.kerberosNames];
    expect(dataset.planted.ntlmNames.length).toBeGreaterThan(0);
    expect(dataset.planted.kerberosNames.length).toBeGreaterThan(0);
    const users = await readUsers();
    const byGuid = new Map(dataset.users.map((u) => [u.guid, u]));
    for (const duplicate of planted) {
      expect(duplicate.entries.length).toBeGreaterThan(1);
      for (const ref of duplicate.entries) {
        const expected = byGuid.get(ref.guid);
        const got = users.get(ref.guid);
        expect(got, ref.dn).toBeDefined();
        expect(got?.samAccountName).toBe(expected?.sAMAccountName);
        expect(got?.userPrincipalName).toBe(expected?.userPrincipalName);
      }
    }
  });
});

describe('a server dying mid-read', () => {
  const directory = privateSlapd({ users: 600, groups: 5, contacts: 5, seed: 'ldap-slapd' });

  /** Reads users in pages of 100; while the first page is handled, `duringFirstPage` runs, then slapd dies. */
  async function readUntilKilled(duringFirstPage: () => Promise<void>) {
    const { slapd } = directory;
    const session = await openSession(plainSlapdSettings(slapd), { ...LIMITS, pageSize: 100 });
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
