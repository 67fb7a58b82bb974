/**
 * What dirgate reads from any directory, run against each real server (as
 * Keyv runs one suite against each adapter): directory-read-slapd.test.ts
 * and directory-read-samba.test.ts call `describeDirectoryRead` with their
 * server, and keep beside it what only that server shows.
 *
 * Two layers, the same data: the LDAP layer's session (every kind paged
 * past the size limit, TLS both ways with the CA and refused without it,
 * bind failures, failover, abort, testConnection step by step), then full
 * syncs through the GraphQL API (every generated object with its id,
 * addresses and account, the large group, nesting up and down, StartTLS,
 * an unknown CA failing the run while the last good snapshot stays served).
 * Expectations come from the generated dataset, not from the service.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Dataset,
  datasetCounts,
  expectedAddresses,
  expectedPrimaryEmail,
} from '../../scripts/directories/generator.js';
import {
  BindError,
  DEFAULT_LIMITS,
  type DirectoryFlavour,
  type LdapLimits,
  type LdapSettings,
  NoServerAvailableError,
  openSession,
  type RawEntry,
  TlsError,
  testConnection,
} from '../../src/ldap/index.js';
import { PRINCIPAL_KINDS, type PrincipalKind } from '../../src/model/principal.js';
import {
  AddConnectionDocument,
  DeleteConnectionDocument,
  GroupMembersDocument,
  PrincipalByIdDocument,
  PrincipalsByEmailDocument,
  UpdateConnectionDocument,
  UsersDocument,
  type UsersQuery,
} from '../gql/graphql.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { syncNow } from '../support/sync.js';

/** A directory server loaded with a generated dataset, as the suite reaches it. */
export interface DirectoryTarget {
  /** `ldap://…`: StartTLS. */
  readonly url: string;
  /** `ldaps://…` */
  readonly ldapsUrl: string;
  readonly baseDn: string;
  /** The DNS and mail domain of the connection. */
  readonly domain: string;
  /** A size-limited account that binds by DN. */
  readonly reader: { readonly dn: string; readonly password: string };
  /** The CA that signed the server's certificate, and one that signed nothing it serves. */
  readonly caPem: string;
  readonly unknownCaPem: string;
  /** What the server was loaded with. */
  readonly dataset: Dataset;
  /** What a session should detect. */
  readonly flavour: DirectoryFlavour;
  /** The NetBIOS name the directory states (Active Directory), or null. */
  readonly netbiosName: string | null;
  /**
   * How many users and groups of its own the server may hold beside the
   * generated ones (AD: Administrator, krbtgt, the built-in groups…).
   */
  readonly ownObjects: { readonly users: number; readonly groups: number };
}

const LIMITS: LdapLimits = {
  ...DEFAULT_LIMITS,
  connectTimeoutMs: 5000,
  operationTimeoutMs: 20_000,
  pageSize: 500,
};
/** Nothing listens there. */
const DEAD_LDAPS = 'ldaps://127.0.0.1:1';

/** How the LDAP layer reaches `target`: LDAPS with the CA, as the reader, every kind; `overrides` on top. */
export function ldapSettings(target: DirectoryTarget, overrides: Partial<LdapSettings> = {}): LdapSettings {
  return {
    domain: target.domain,
    searchBase: target.baseDn,
    servers: [target.ldapsUrl],
    tls: 'LDAPS',
    caCertificate: target.caPem,
    tlsVerify: true,
    allowPlaintextBind: false,
    auth: 'SIMPLE',
    bindDn: target.reader.dn,
    bindPassword: target.reader.password,
    keytab: null,
    keytabPrincipal: null,
    kdcs: [],
    includeContacts: true,
    overrides: {},
    ...overrides,
  };
}

/** Calls the suite's tests for `name`; `target` is asked for once the global setup has run. */
export function describeDirectoryRead(name: string, target: () => DirectoryTarget): void {
  let t: DirectoryTarget;
  let dataset: Dataset;

  beforeAll(() => {
    t = target();
    dataset = t.dataset;
  });

  const settingsFor = (overrides: Partial<LdapSettings> = {}) => ldapSettings(t, overrides);

  /** The counts a read or a sync should find: every generated object, plus at most the server's own. */
  function expectCounts(found: { users: number | null; groups: number | null; contacts: number | null }) {
    const { users, groups, contacts } = datasetCounts(dataset);
    expect(found.users).toBeGreaterThanOrEqual(users);
    expect(found.users).toBeLessThanOrEqual(users + t.ownObjects.users);
    expect(found.groups).toBeGreaterThanOrEqual(groups);
    expect(found.groups).toBeLessThanOrEqual(groups + t.ownObjects.groups);
    expect(found.contacts).toBe(contacts);
  }

  /** Every kind at once, as the sync engine reads them: each read on a connection of its own. */
  async function readAll(settings: LdapSettings, limits = LIMITS) {
    const session = await openSession(settings, limits);
    try {
      const byKind: Record<PrincipalKind, RawEntry[]> = { USER: [], GROUP: [], CONTACT: [] };
      const pages: Record<PrincipalKind, number> = { USER: 0, GROUP: 0, CONTACT: 0 };
      const stats = await Promise.all(
        PRINCIPAL_KINDS.map((kind) =>
          session.read(kind, (entries) => {
            pages[kind]++;
            byKind[kind].push(...entries);
          }),
        ),
      );
      const counts = {
        users: byKind.USER.length,
        groups: byKind.GROUP.length,
        contacts: byKind.CONTACT.length,
      };
      return { session, byKind, pages, stats, counts };
    } finally {
      await session.close();
    }
  }

  const lower = (dns: readonly string[] | undefined) => new Set(dns?.map((dn) => dn.toLowerCase()));

  describe(`${name} through the LDAP layer`, () => {
    it('reads every user, group and contact over LDAPS, paged past the size limit', async () => {
      const { session, byKind, pages, stats, counts } = await readAll(settingsFor());
      expect(session.flavour).toBe(t.flavour);
      expect(session.netbiosName).toBe(t.netbiosName);
      expect(session.server).toBe(t.ldapsUrl);
      expectCounts(counts);
      // The reader may not read more than its size limit unpaged: every page was asked for.
      expect(pages.USER).toBeGreaterThanOrEqual(Math.ceil(dataset.users.length / LIMITS.pageSize));
      expect(stats.map((s) => s.skipped)).toEqual([0, 0, 0]);

      const users = new Map(byKind.USER.map((u) => [u.guid, u]));
      for (const expected of dataset.users) {
        const got = users.get(expected.guid);
        expect(got, expected.dn).toBeDefined();
        expect(got?.samAccountName).toBe(expected.sAMAccountName);
        expect(got?.userPrincipalName).toBe(expected.userPrincipalName);
        expect(got?.userAccountControl).toBe(expected.userAccountControl);
        expect(got?.mail).toBe(expected.mail);
        expect([...(got?.proxyAddresses ?? [])].sort()).toEqual([...expected.proxyAddresses].sort());
        expect(got?.displayName).toBe(expected.displayName);
      }
      const groups = new Map(byKind.GROUP.map((g) => [g.guid, g]));
      for (const expected of dataset.groups) {
        expect(lower(groups.get(expected.guid)?.memberDns), expected.dn).toEqual(lower(expected.members));
      }
      const contacts = new Set(byKind.CONTACT.map((c) => c.guid));
      for (const expected of dataset.contacts) expect(contacts.has(expected.guid), expected.dn).toBe(true);
    });

    it('reads the large group with every member', async () => {
      const large = dataset.groups.find((g) => g.dn === dataset.structure.largeGroup);
      if (!large) throw new Error('no large group in the dataset');
      expect(large.members.length).toBeGreaterThan(1500);
      const session = await openSession(settingsFor(), { ...LIMITS, rangeSize: 500 });
      try {
        const groups: RawEntry[] = [];
        await session.read('GROUP', (entries) => void groups.push(...entries));
        const got = groups.find((g) => g.guid === large.guid);
        expect(got?.memberDns).toHaveLength(large.members.length);
        expect(lower(got?.memberDns)).toEqual(lower(large.members));
      } finally {
        await session.close();
      }
    });

    it('reads over StartTLS with the CA', async () => {
      const { counts } = await readAll(settingsFor({ servers: [t.url], tls: 'STARTTLS' }));
      expectCounts(counts);
    });

    it('refuses a certificate from an unknown CA, over LDAPS and StartTLS', async () => {
      for (const tls of ['LDAPS', 'STARTTLS'] as const) {
        const settings = settingsFor({
          servers: [tls === 'LDAPS' ? t.ldapsUrl : t.url],
          tls,
          caCertificate: t.unknownCaPem,
        });
        const err = await openSession(settings, LIMITS).catch((e: unknown) => e);
        expect(err, tls).toBeInstanceOf(NoServerAvailableError);
        const cause = (err as NoServerAvailableError).causes[0];
        expect(cause, tls).toBeInstanceOf(TlsError);
        expect(cause?.code).toBe('TLS_UNTRUSTED_CERTIFICATE');
        expect(cause?.step).toBe('TLS');
      }
    });

    it('accepts a certificate it cannot verify only when verification is off', async () => {
      const session = await openSession(settingsFor({ caCertificate: null, tlsVerify: false }), LIMITS);
      expect(session.server).toBe(t.ldapsUrl);
      await session.close();
    });

    it('rejects a wrong password as BindError without trying further servers', async () => {
      const settings = settingsFor({ bindPassword: 'Wrong-Passw0rd!', servers: [t.ldapsUrl, t.ldapsUrl] });
      const err = await openSession(settings, LIMITS).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BindError);
      expect((err as BindError).code).toBe('INVALID_CREDENTIALS');
      expect((err as BindError).message).not.toContain('Wrong-Passw0rd!');
    });

    it('refuses an empty password with a DN instead of binding unauthenticated', async () => {
      const err = await openSession(settingsFor({ bindPassword: '' }), LIMITS).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BindError);
      expect((err as BindError).code).toBe('EMPTY_PASSWORD');
    });

    it('falls over to the next configured server', async () => {
      const session = await openSession(settingsFor({ servers: [DEAD_LDAPS, t.ldapsUrl] }), LIMITS);
      expect(session.server).toBe(t.ldapsUrl);
      await session.close();
    });

    it('stops a read promptly on abort, and the session goes on serving', async () => {
      const session = await openSession(settingsFor(), { ...LIMITS, pageSize: 100 });
      try {
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
        // Other reads run on fresh connections.
        const stats = await session.read('CONTACT', () => {});
        expect(stats.entries).toBe(dataset.contacts.length);
      } finally {
        await session.close();
      }
    });

    it('testConnection reports every step and the counts', async () => {
      const report = await testConnection(settingsFor(), LIMITS);
      expect(report.error).toBeNull();
      expect(report.ok).toBe(true);
      expect(report.flavour).toBe(t.flavour);
      expect(report.server).toBe(t.ldapsUrl);
      expect(report.steps.map((s) => s.step)).toEqual(['TCP', 'TLS', 'BIND', 'SEARCH']);
      expect(report.steps.every((s) => s.ok)).toBe(true);
      expectCounts(report);
    });

    it('testConnection reports an unknown CA at the TLS step', async () => {
      const report = await testConnection(settingsFor({ caCertificate: t.unknownCaPem }), LIMITS);
      expect(report.ok).toBe(false);
      expect(report.steps.at(-1)).toMatchObject({ step: 'TLS', ok: false });
      expect(report.error).toMatch(/certificate/);
    });

    it('testConnection reports a refused connection at TCP and bad credentials at BIND', async () => {
      const refused = await testConnection(settingsFor({ servers: [DEAD_LDAPS] }), LIMITS);
      expect(refused.ok).toBe(false);
      expect(refused.steps.at(-1)).toMatchObject({ step: 'TCP', ok: false });

      const wrong = await testConnection(settingsFor({ bindPassword: 'nope-nope' }), LIMITS);
      expect(wrong.ok).toBe(false);
      expect(wrong.steps.at(-1)).toMatchObject({ step: 'BIND', ok: false });
      expect(JSON.stringify(wrong)).not.toContain('nope-nope');
    });
  });

  /** A connection to the target as the API takes it: LDAPS with the CA, as the reader. */
  const connectionInput = (input: Record<string, unknown> = {}) => ({
    name: name,
    domain: t.domain,
    searchBase: t.baseDn,
    servers: [t.ldapsUrl],
    tls: 'LDAPS' as const,
    caCertificate: t.caPem,
    bindDn: t.reader.dn,
    bindPassword: t.reader.password,
    includeContacts: true,
    ...input,
  });

  describe(`${name} synced through the API`, () => {
    let gw: TestGateway;
    let id: string;
    const guidId = (guid: string | undefined) => `${id}:${guid}`;

    beforeAll(async () => {
      // Ranges smaller than the large group: Active Directory hands it over in several.
      gw = await startTestGateway({ env: { DIRGATE_LDAP_RANGE_SIZE: '500' } });
      id = (await gw.ok(AddConnectionDocument, { input: connectionInput() })).addConnection.id;
    });

    afterAll(async () => {
      await gw?.dispose();
    });

    async function allUsers() {
      const out: UsersQuery['users']['nodes'] = [];
      let after: string | null = null;
      do {
        const page: UsersQuery['users'] = (
          await gw.ok(UsersDocument, { connectionId: id, first: 500, after })
        ).users;
        out.push(...page.nodes);
        after = page.pageInfo.hasNextPage ? (page.pageInfo.endCursor ?? null) : null;
      } while (after);
      return out;
    }

    it('caches every generated object with its id, addresses, account and state', async () => {
      const c = await syncNow(gw, id);
      expect(c.status, c.lastSync?.error ?? '').toBe('SUCCEEDED');
      expect(c.activeServer).toBe(t.ldapsUrl);
      expectCounts({ users: c.userCount, groups: c.groupCount, contacts: c.contactCount });
      expect(c.lastSuccessfulSync?.id).toBe(c.lastSync?.id);
      expect(c.lastSync?.changes?.addedCount).toBe(c.userCount + c.groupCount + c.contactCount);

      const users = await allUsers();
      expect(users).toHaveLength(c.userCount);
      const byDn = new Map(users.map((u) => [u.dn.toLowerCase(), u]));
      let disabled = 0;
      for (const entry of dataset.users) {
        const u = byDn.get(entry.dn.toLowerCase());
        expect(u, entry.dn).toBeDefined();
        expect(u?.id).toBe(guidId(entry.guid));
        expect(u?.primaryEmail).toBe(expectedPrimaryEmail(entry));
        expect([...(u?.emails ?? [])].sort()).toEqual([...expectedAddresses(entry)].sort());
        expect(u?.__typename).toBe('User');
        if (u?.__typename !== 'User') continue;
        expect(u.enabled).toBe((entry.userAccountControl & 2) === 0);
        if (!u.enabled) disabled++;
        expect(u.samAccountName).toBe(entry.sAMAccountName);
        expect(u.ntlmName).toBe(t.netbiosName ? `${t.netbiosName}\\${entry.sAMAccountName}` : null);
      }
      // Disabled users are marked, and kept.
      expect(disabled).toBe(datasetCounts(dataset).disabled);
      expect(disabled).toBeGreaterThan(0);
    });

    it('finds each kind by its address, in any case, with the addresses the directory holds', async () => {
      const samples = [dataset.users[0], dataset.users[7], dataset.contacts[3], dataset.groups[2]];
      let checked = 0;
      for (const entry of samples) {
        if (!entry) throw new Error('dataset too small');
        const primary = expectedPrimaryEmail(entry);
        if (!primary) continue;
        const found = (await gw.ok(PrincipalsByEmailDocument, { address: primary.toUpperCase() }))
          .principalsByEmail;
        const mine = found.find((p) => p.dn.toLowerCase() === entry.dn.toLowerCase());
        expect(mine, entry.dn).toBeDefined();
        expect(mine?.id).toBe(guidId(entry.guid));
        expect(mine?.primaryEmail).toBe(primary);
        expect([...(mine?.emails ?? [])].sort()).toEqual([...expectedAddresses(entry)].sort());
        checked++;
      }
      expect(checked).toBeGreaterThan(1);
    });

    it('serves the large group with every member', async () => {
      const large = dataset.groups.find((g) => g.dn === dataset.structure.largeGroup);
      if (!large) throw new Error('no large group in the dataset');
      const res = await gw.ok(GroupMembersDocument, { id: guidId(large.guid), first: 1 });
      const members = res.principal?.__typename === 'Group' ? res.principal.members : null;
      expect(large.members.length).toBeGreaterThan(1500);
      expect(members?.totalCount).toBe(large.members.length);
    });

    it('follows nested groups three levels deep, down from the top and up from the bottom', async () => {
      const [top, middle, bottom] = dataset.structure.chain.map((dn) =>
        dataset.groups.find((g) => g.dn === dn),
      );
      if (!top || !middle || !bottom) throw new Error('no chain in the dataset');

      const members = async (transitive: boolean) => {
        const res = await gw.ok(GroupMembersDocument, { id: guidId(top.guid), transitive, first: 500 });
        return new Set(
          res.principal?.__typename === 'Group' ? res.principal.members.nodes.map((n) => n.id) : [],
        );
      };
      expect((await members(false)).has(guidId(bottom.guid))).toBe(false);
      expect((await members(true)).has(guidId(bottom.guid))).toBe(true);

      const res = await gw.ok(PrincipalByIdDocument, { id: guidId(bottom.guid) });
      const ids = (list: readonly { id: string }[] | undefined) => new Set((list ?? []).map((g) => g.id));
      expect(ids(res.principal?.memberOf).has(guidId(middle.guid))).toBe(true);
      expect(ids(res.principal?.memberOf).has(guidId(top.guid))).toBe(false);
      expect(ids(res.principal?.transitiveMemberOf).has(guidId(top.guid))).toBe(true);
    });
  });

  describe(`${name}: TLS to the directory through the API`, () => {
    let gw: TestGateway;

    beforeAll(async () => {
      gw = await startTestGateway();
    });

    afterAll(async () => {
      await gw?.dispose();
    });

    it('syncs over StartTLS with the given CA', async () => {
      const { addConnection } = await gw.ok(AddConnectionDocument, {
        input: connectionInput({ name: 'StartTLS', servers: [t.url], tls: 'STARTTLS' }),
      });
      const c = await syncNow(gw, addConnection.id);
      expect(c.status, c.lastSync?.error ?? '').toBe('SUCCEEDED');
      expect(c.activeServer).toBe(t.url);
      expectCounts({ users: c.userCount, groups: c.groupCount, contacts: c.contactCount });
      await gw.ok(DeleteConnectionDocument, { id: addConnection.id });
    });

    it('fails a run on a certificate signed by an unknown CA, keeping the last good snapshot', async () => {
      const { addConnection } = await gw.ok(AddConnectionDocument, {
        input: connectionInput({ name: 'Users', searchBase: dataset.containers.user }),
      });
      const good = await syncNow(gw, addConnection.id);
      expect(good.status, good.lastSync?.error ?? '').toBe('SUCCEEDED');
      expect(good.userCount).toBe(dataset.users.length);
      await gw.ok(UpdateConnectionDocument, {
        id: addConnection.id,
        // A change of whom to trust comes with the bind password again (#16).
        input: { caCertificate: t.unknownCaPem, bindPassword: t.reader.password },
      });
      const failed = await syncNow(gw, addConnection.id);
      expect(failed.status).toBe('FAILED');
      expect(failed.lastSync?.error).toMatch(/certificate|TLS/i);
      expect(failed.userCount).toBe(good.userCount);
      expect(failed.lastSuccessfulSync?.id).toBe(good.lastSuccessfulSync?.id);
    });
  });
}
