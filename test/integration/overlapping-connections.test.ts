/**
 * Overlapping connections against Active Directory (the shared Samba DC):
 * a connection to the domain and one to an OU under it (a unique search
 * base, not a disjoint one). Every OU user is then two accounts to the mail
 * gateway: one Kerberos name and one NTLM name each held by two accounts,
 * which is how such duplicates arise within one AD domain (it refuses two
 * objects with one UPN or sAMAccountName). Those findings hold both
 * accounts and say `sameObject`, are pushed over graphql-ws, and the
 * connections name each other in `overlapsWith`; planted duplicates of
 * different objects keep `sameObject` false. Deleting the OU connection
 * restores exactly the findings of the domain connection alone.
 */
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duplicateKey } from '../../scripts/directories/generator.js';
import {
  AddConnectionDocument,
  ConnectionByIdDocument,
  DeleteConnectionDocument,
  DuplicateFindingsDocument,
  type DuplicateFindingsQuery,
  DuplicateWarningsDocument,
  type DuplicateWarningsSubscription,
  NodeDocument,
  PrincipalByIdDocument,
  UsersDocument,
} from '../gql/graphql.js';
import { datasetFor, directories, sharedSamba } from '../support/directories.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { type Collector, collect } from '../support/subscriptions.js';
import { sambaSettings, syncNow } from '../support/sync.js';

type Finding = DuplicateFindingsQuery['duplicateFindings'][number];
type Warning = DuplicateWarningsSubscription['duplicateWarnings'];

const skip = directories().samba === null;

let gw: TestGateway;
let ws: Client;
let domainId: string;
let ouId: string | null = null;
/** The findings with the domain connection alone. */
let alone: Finding[];

async function findings(): Promise<Finding[]> {
  return (await gw.ok(DuplicateFindingsDocument, { kind: null, connectionId: null })).duplicateFindings;
}

/** A finding as compared before and after: everything but when it was first detected. */
function comparable(f: Finding) {
  return {
    id: f.id,
    kind: f.kind,
    value: f.value,
    sameObject: f.sameObject,
    connectionIds: f.connectionIds,
    principals: f.principals.map((p) => p.id).sort(),
  };
}

/** How many directory objects a finding's principals are. */
const objectsOf = (f: Finding) => new Set(f.principals.map((p) => p.guid)).size;

async function userIds(connectionId: string): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  do {
    const page: {
      nodes: readonly { id: string }[];
      pageInfo: { endCursor?: string | null; hasNextPage: boolean };
    } = (await gw.ok(UsersDocument, { connectionId, first: 500, after })).users;
    ids.push(...page.nodes.map((n) => n.id));
    after = page.pageInfo.hasNextPage ? (page.pageInfo.endCursor ?? null) : null;
  } while (after);
  return ids;
}

async function addSamba(name: string, searchBase?: string): Promise<string> {
  const samba = sharedSamba();
  const settings = sambaSettings(samba, directories().certificates?.caPem ?? null);
  const added = await gw.ok(AddConnectionDocument, {
    input: { name, ...settings, searchBase: searchBase ?? settings.searchBase, includeContacts: true },
  });
  return added.addConnection.id;
}

beforeAll(async () => {
  if (skip) return;
  gw = await startTestGateway({ env: { DIRGATE_NODE_NAME: 'overlap-node' } });
  ws = gw.ws(gw.readerToken);
  domainId = await addSamba('corp-domain');
  expect((await syncNow(gw, domainId)).status).toBe('SUCCEEDED');
  alone = await findings();
}, 300_000);

afterAll(async () => {
  await gw?.dispose();
});

describe.skipIf(skip)('a domain connection and an OU connection of the shared Samba DC', () => {
  const dataset = skip ? null : datasetFor(sharedSamba().dataset);
  const ou = dataset?.containers.user as string;
  let warnings: Collector<{ duplicateWarnings: Warning }>;
  let ouUsers: string[];
  let both: Finding[];

  it('finds only real duplicates with the domain connection alone', () => {
    expect(alone.length).toBeGreaterThan(0);
    for (const f of alone) expect(f.sameObject, f.value).toBe(false);
    const keys = (kind: string) => alone.filter((f) => f.kind === kind).map((f) => duplicateKey(f.value));
    for (const p of dataset?.planted.groupNames ?? []) expect(keys('GROUP_NAME')).toContain(p.key);
    expect(keys('KERBEROS_NAME')).toEqual([]);
    expect(keys('NTLM_NAME')).toEqual([]);
  });

  it('syncs an OU connection beside it, which reads the same users again', async () => {
    warnings = await collect(ws, DuplicateWarningsDocument, { connectionId: null });
    ouId = await addSamba('staff-ou', ou);
    expect((await syncNow(gw, ouId)).status).toBe('SUCCEEDED');
    ouUsers = await userIds(ouId);
    expect(ouUsers.length).toBeGreaterThanOrEqual(dataset?.users.length ?? 0);
    const domainUsers = new Set(await userIds(domainId));
    const missing = ouUsers.filter((id) => !domainUsers.has(`${domainId}:${id.slice(`${ouId}:`.length)}`));
    expect(missing).toEqual([]);
    both = await findings();
  });

  it('puts every OU user in a Kerberos and an NTLM finding holding both accounts, sameObject', async () => {
    const prefix = `${ouId}:`;
    for (const kind of ['KERBEROS_NAME', 'NTLM_NAME'] as const) {
      const byPrincipal = new Map<string, Finding>();
      for (const f of both.filter((x) => x.kind === kind))
        for (const p of f.principals) byPrincipal.set(p.id, f);
      for (const id of ouUsers) {
        const f = byPrincipal.get(id);
        expect(f, `${kind} of ${id}`).toBeDefined();
        expect(f?.principals.map((p) => p.id).sort()).toEqual(
          [id, `${domainId}:${id.slice(prefix.length)}`].sort(),
        );
        expect(f?.sameObject).toBe(true);
        expect(f?.connectionIds).toEqual([domainId, ouId].sort());
      }
      // And nothing else: one AD domain has each name once.
      expect(both.filter((x) => x.kind === kind)).toHaveLength(ouUsers.length);
    }
    // The seed's consequences, on each account: no personal Backup, no personal lists.
    const sample = ouUsers[Math.floor(ouUsers.length / 2)] as string;
    for (const id of [sample, `${domainId}:${sample.slice(prefix.length)}`]) {
      const p = (await gw.ok(PrincipalByIdDocument, { id })).principal;
      expect(p?.__typename === 'User' && p.ntlmName).toBe(
        `${sharedSamba().netbiosName}\\${p?.__typename === 'User' ? p.samAccountName : ''}`,
      );
      expect(p?.__typename === 'User' ? [p.personalBackupAllowed, p.personalListsAllowed] : null).toEqual([
        false,
        false,
      ]);
    }
  });

  it('keeps sameObject false on planted duplicates of different objects, and lists both accounts of each', () => {
    for (const f of both) {
      const accounts = f.principals.length;
      // sameObject exactly when fewer objects than accounts.
      expect(f.sameObject, `${f.kind} ${f.value}`).toBe(objectsOf(f) < accounts);
    }
    // Groups and contacts are outside the OU: their planted duplicates are unchanged.
    const untouched = both.filter((f) => !f.connectionIds.includes(ouId as string));
    expect(untouched.map(comparable)).toEqual(
      alone.filter((f) => untouched.some((u) => u.id === f.id)).map(comparable),
    );
    for (const [kind, planted] of [
      ['GROUP_NAME', dataset?.planted.groupNames ?? []],
      ['CONTACT_NAME', dataset?.planted.contactNames ?? []],
    ] as const) {
      expect(planted.length).toBeGreaterThan(0);
      for (const p of planted) {
        const f = both.find((x) => x.kind === kind && duplicateKey(x.value) === p.key);
        expect(f?.sameObject, p.key).toBe(false);
        expect(f?.principals.map((x) => x.connection.id)).toEqual(p.entries.map(() => domainId));
      }
    }
    // A planted user-name duplicate: two objects, each through both connections.
    for (const planted of dataset?.planted.userNames ?? []) {
      const f = both.find((x) => x.kind === 'USER_NAME' && duplicateKey(x.value) === planted.key);
      expect(f?.principals, planted.key).toHaveLength(2 * planted.entries.length);
      expect(objectsOf(f as Finding)).toBe(planted.entries.length);
      expect(f?.sameObject).toBe(true);
    }
  });

  it('names the overlap on both connections and warns in the node table', async () => {
    const domain = (await gw.ok(ConnectionByIdDocument, { id: domainId })).connection;
    const staff = (await gw.ok(ConnectionByIdDocument, { id: ouId as string })).connection;
    expect(domain?.overlapsWith).toEqual([{ id: ouId, name: 'staff-ou' }]);
    expect(staff?.overlapsWith).toEqual([{ id: domainId, name: 'corp-domain' }]);
    const node = (await gw.ok(NodeDocument)).node;
    expect(node.hasWarning).toBe(true);
    expect(node.duplicateFindings.filter((f) => f.sameObject).length).toBe(
      both.filter((f) => f.sameObject).length,
    );
  });

  it('pushed the new findings over graphql-ws, sameObject with them', async () => {
    const pushed = await warnings.until(
      (w) => w.duplicateWarnings.connectionId === ouId,
      30_000,
      'a duplicate warning of the OU connection',
    );
    const added = new Map(pushed.duplicateWarnings.added.map((f) => [f.id, f]));
    const accountNames = both.filter((x) => x.kind === 'KERBEROS_NAME' || x.kind === 'NTLM_NAME');
    expect(accountNames).toHaveLength(2 * ouUsers.length);
    for (const f of accountNames) {
      const got = added.get(f.id);
      expect(got, f.value).toBeDefined();
      expect(got?.sameObject).toBe(true);
      expect(got?.principals.map((p) => p.id).sort()).toEqual(f.principals.map((p) => p.id).sort());
    }
    expect(pushed.duplicateWarnings.node).toBe('overlap-node');
  });

  it('restores exactly the findings of the domain connection alone once the OU connection is deleted', async () => {
    const before = warnings.received.length;
    expect((await gw.ok(DeleteConnectionDocument, { id: ouId as string })).deleteConnection).toBe(true);
    const after = await findings();
    expect(after.map(comparable)).toEqual(alone.map(comparable));
    expect((await gw.ok(ConnectionByIdDocument, { id: domainId })).connection?.overlapsWith).toEqual([]);
    const resolved = await warnings.until(
      (w) => w.duplicateWarnings.connectionId === ouId && w.duplicateWarnings.resolved.length > 0,
      30_000,
      'the resolution pushed',
    );
    expect(warnings.received.length).toBeGreaterThan(before);
    const gone = new Set(resolved.duplicateWarnings.resolved);
    for (const f of both.filter((x) => x.kind === 'KERBEROS_NAME')) expect(gone).toContain(f.id);
    warnings.stop();
  });
});
