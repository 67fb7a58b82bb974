/**
 * Syncs from the shared Samba Active Directory domain controller through
 * the GraphQL API: LDAPS with the test CA and StartTLS (the hardened DC
 * refuses simple binds without TLS), the NetBIOS name the directory states,
 * AD's binary objectGUIDs, and the 1,600-member group read by range
 * retrieval in chunks smaller than the group.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Dataset,
  expectedAddresses,
  expectedPrimaryEmail,
} from '../../scripts/directories/generator.js';
import {
  AddConnectionDocument,
  DeleteConnectionDocument,
  GroupMembersDocument,
  PrincipalByIdDocument,
  TestConnectionDocument,
  UpdateConnectionDocument,
  UsersDocument,
  type UsersQuery,
} from '../gql/graphql.js';
import { datasetFor, directories, type SambaInfo, sharedSamba } from '../support/directories.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { syncNow } from '../support/sync.js';

let samba: SambaInfo;
let dataset: Dataset;
let caPem: string;

beforeAll(() => {
  samba = sharedSamba();
  dataset = datasetFor(samba.dataset);
  caPem = directories().certificates?.caPem ?? '';
});

const connectionInput = (extra: Record<string, unknown>) => ({
  name: 'Samba AD',
  domain: samba.domain,
  searchBase: samba.baseDn,
  bindDn: samba.reader.userPrincipalName,
  bindPassword: samba.reader.password,
  includeContacts: true,
  caCertificate: caPem,
  ...extra,
});

async function allUsers(gw: TestGateway, connectionId: string) {
  const out: UsersQuery['users']['nodes'] = [];
  let after: string | null = null;
  do {
    const page: UsersQuery['users'] = (await gw.ok(UsersDocument, { connectionId, first: 500, after })).users;
    out.push(...page.nodes);
    after = page.pageInfo.hasNextPage ? (page.pageInfo.endCursor ?? null) : null;
  } while (after);
  return out;
}

describe('a full sync from Samba AD over LDAPS, ranges smaller than the largest group', () => {
  let gw: TestGateway;
  let id: string;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { DIRGATE_LDAP_RANGE_SIZE: '500' } });
    const { addConnection } = await gw.ok(AddConnectionDocument, {
      input: connectionInput({ servers: [samba.ldapsUrl], tls: 'LDAPS' }),
    });
    id = addConnection.id;
    return () => gw.dispose();
  });

  it('caches every generated object, with AD GUIDs and addresses', async () => {
    const c = await syncNow(gw, id);
    expect(c.status, c.lastSync?.error ?? '').toBe('SUCCEEDED');
    expect(c.activeServer).toBe(samba.ldapsUrl);
    const users = await allUsers(gw, id);
    const byDn = new Map(users.map((u) => [u.dn.toLowerCase(), u]));
    for (const entry of dataset.users) {
      const u = byDn.get(entry.dn.toLowerCase());
      expect(u, entry.dn).toBeDefined();
      expect(u?.id).toBe(`${id}:${entry.guid}`);
      expect(u?.primaryEmail).toBe(expectedPrimaryEmail(entry));
      expect([...(u?.emails ?? [])].sort()).toEqual([...expectedAddresses(entry)].sort());
      if (u?.__typename === 'User') {
        expect(u.enabled).toBe((entry.userAccountControl & 2) === 0);
        expect(u.samAccountName).toBe(entry.sAMAccountName);
        expect(u.ntlmName).toBe(`${samba.netbiosName}\\${entry.sAMAccountName}`);
      }
    }
    // Only the DC's own accounts (Administrator, krbtgt, Guest, the test binds) come on top.
    const generated = new Set(dataset.users.map((u) => u.dn.toLowerCase()));
    const extra = users.filter((u) => !generated.has(u.dn.toLowerCase()));
    expect(extra.length).toBeLessThan(10);
    expect(c.groupCount).toBeGreaterThanOrEqual(dataset.groups.length);
    expect(c.contactCount).toBe(dataset.contacts.length);
  });

  it('reads the 1,600-member group in full through ranges of 500', async () => {
    const large = dataset.groups.find((g) => g.dn === dataset.structure.largeGroup);
    if (!large) throw new Error('no large group in the Samba dataset');
    const res = await gw.ok(GroupMembersDocument, { id: `${id}:${large.guid}`, first: 1 });
    const members = res.principal?.__typename === 'Group' ? res.principal.members : null;
    expect(large.members.length).toBeGreaterThan(1500);
    expect(members?.totalCount).toBe(large.members.length);
  });

  it('follows nested groups from a member up the chain', async () => {
    const [top, middle, bottom] = dataset.structure.chain;
    const bottomGroup = dataset.groups.find((g) => g.dn === bottom);
    if (!bottomGroup || !top || !middle) throw new Error('no chain');
    const res = await gw.ok(PrincipalByIdDocument, { id: `${id}:${bottomGroup.guid}` });
    const names = (list: readonly { id: string }[] | undefined) => new Set((list ?? []).map((g) => g.id));
    const topGroup = dataset.groups.find((g) => g.dn === top);
    const middleGroup = dataset.groups.find((g) => g.dn === middle);
    expect(names(res.principal?.memberOf).has(`${id}:${middleGroup?.guid}`)).toBe(true);
    expect(names(res.principal?.memberOf).has(`${id}:${topGroup?.guid}`)).toBe(false);
    expect(names(res.principal?.transitiveMemberOf).has(`${id}:${topGroup?.guid}`)).toBe(true);
  });
});

describe('TLS to a hardened domain controller', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
    return () => gw.dispose();
  });

  it('syncs over StartTLS with the given CA', async () => {
    const { addConnection } = await gw.ok(AddConnectionDocument, {
      input: connectionInput({ name: 'StartTLS', servers: [samba.url], tls: 'STARTTLS' }),
    });
    const c = await syncNow(gw, addConnection.id);
    expect(c.status, c.lastSync?.error ?? '').toBe('SUCCEEDED');
    expect(c.userCount).toBeGreaterThanOrEqual(dataset.users.length);
    await gw.ok(DeleteConnectionDocument, { id: addConnection.id });
  });

  it('says TLS is required, not that the password is wrong, for a plain simple bind', async () => {
    if (samba.allowPlainBind) return;
    const { testConnection } = await gw.ok(TestConnectionDocument, {
      input: connectionInput({ servers: [samba.url], tls: 'NONE', caCertificate: null }),
    });
    expect(testConnection.ok).toBe(false);
    expect(testConnection.steps.find((s) => !s.ok)?.step).toBe('BIND');
    expect(testConnection.error).toMatch(/TLS|encryption/i);
  });

  it('refuses a certificate signed by an unknown CA, and keeps the last good snapshot', async () => {
    const { addConnection } = await gw.ok(AddConnectionDocument, {
      input: connectionInput({
        name: 'LDAPS',
        searchBase: `CN=Users,${samba.baseDn}`,
        servers: [samba.ldapsUrl],
        tls: 'LDAPS',
      }),
    });
    const good = await syncNow(gw, addConnection.id);
    expect(good.status).toBe('SUCCEEDED');
    const unknownCa = directories().certificates?.unknownCaPem ?? '';
    await gw.ok(UpdateConnectionDocument, { id: addConnection.id, input: { caCertificate: unknownCa } });
    const failed = await syncNow(gw, addConnection.id);
    expect(failed.status).toBe('FAILED');
    expect(failed.lastSync?.error).toMatch(/certificate|TLS/i);
    expect(failed.userCount).toBe(good.userCount);
    expect(failed.lastSuccessfulSync?.id).toBe(good.lastSuccessfulSync?.id);
  });
});
