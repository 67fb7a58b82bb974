/**
 * Duplicate detection end to end: private slapds loaded with generated data
 * (every kind planted, or none), synced through the API, and the findings,
 * the flags on the objects, the address info and the node table compared
 * with exactly what the generator planted. Fixing the directory and syncing
 * again resolves a finding; deleting a connection resolves its findings.
 * The shared Samba AD DC shows the NTLM name as AD states it (CORP\sam).
 */
import path from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Dataset,
  duplicateKey,
  type GeneratorOptions,
  generateDirectory,
  type PlantedDuplicate,
  type PlantedDuplicates,
} from '../../scripts/directories/generator.js';
import { type SlapdInstance, startSlapd } from '../../scripts/directories/slapd.js';
import type { ConnectionRecord } from '../../src/model/connection.js';
import { openKvStore } from '../../src/store/kv-store.js';
import {
  AddConnectionDocument,
  AddressDocument,
  ContactsDocument,
  DeleteConnectionDocument,
  DuplicateFindingsDocument,
  type DuplicateFindingsQuery,
  type DuplicateKind,
  GroupsDocument,
  NodeDocument,
  type PrincipalFieldsFragment,
  UsersDocument,
} from '../gql/graphql.js';
import { datasetFor, directories, sharedSamba } from '../support/directories.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { modifyEntry } from '../support/slapd-edits.js';
import { sambaSettings, slapdSettings, syncNow } from '../support/sync.js';

type Finding = DuplicateFindingsQuery['duplicateFindings'][number];

const KIND_OF: Readonly<Record<keyof PlantedDuplicates, DuplicateKind>> = {
  userNames: 'USER_NAME',
  groupNames: 'GROUP_NAME',
  contactNames: 'CONTACT_NAME',
  kerberosNames: 'KERBEROS_NAME',
  ntlmNames: 'NTLM_NAME',
  emailAddresses: 'EMAIL_ADDRESS',
};
const PLANTED_KEYS = Object.keys(KIND_OF) as (keyof PlantedDuplicates)[];

const BASE: GeneratorOptions = {
  users: 160,
  groups: 24,
  contacts: 40,
  seed: 'duplicates-it',
  baseDn: 'dc=corp,dc=test',
  largeGroupSize: 0,
};
const PLANTED_COUNTS = {
  userNames: 4,
  groupNames: 4,
  contactNames: 4,
  kerberosNames: 3,
  ntlmNames: 3,
  emailAddresses: 8,
};

let gw: TestGateway;
const slapds: SlapdInstance[] = [];

beforeAll(async () => {
  gw = await startTestGateway();
});

afterAll(async () => {
  await gw?.dispose();
  for (const s of slapds) await s.dispose();
});

async function slapdWith(dataset: Dataset): Promise<SlapdInstance> {
  const s = await startSlapd({ dataset });
  slapds.push(s);
  return s;
}

async function addConnection(name: string, slapd: SlapdInstance): Promise<string> {
  const added = await gw.ok(AddConnectionDocument, {
    input: {
      name,
      domain: 'corp.test',
      ...slapdSettings(slapd),
      includeContacts: true,
    },
  });
  return added.addConnection.id;
}

async function findings(kind?: DuplicateKind, connectionId?: string): Promise<Finding[]> {
  return (await gw.ok(DuplicateFindingsDocument, { kind: kind ?? null, connectionId: connectionId ?? null }))
    .duplicateFindings;
}

/** A finding as comparable to a planted duplicate: its folded value and every object's id. */
function shape(f: Finding): { key: string; ids: string[] } {
  return { key: duplicateKey(f.value), ids: f.principals.map((p) => p.id).sort() };
}

function plantedShape(
  connectionId: string,
  p: PlantedDuplicate,
  keyOf: (key: string) => string = (k) => k,
): { key: string; ids: string[] } {
  return { key: keyOf(p.key), ids: p.entries.map((e) => `${connectionId}:${e.guid}`).sort() };
}

const byKey = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);

interface Page {
  readonly nodes: readonly PrincipalFieldsFragment[];
  readonly pageInfo: { readonly endCursor?: string | null; readonly hasNextPage: boolean };
}

/** Every user, group and contact of the connection as the API serves them, by id. */
async function allPrincipals(connectionId: string): Promise<Map<string, PrincipalFieldsFragment>> {
  const out = new Map<string, PrincipalFieldsFragment>();
  const fetchers: ((after: string | null) => Promise<Page>)[] = [
    async (after) => (await gw.ok(UsersDocument, { connectionId, first: 500, after })).users,
    async (after) => (await gw.ok(GroupsDocument, { connectionId, first: 500, after })).groups,
    async (after) => (await gw.ok(ContactsDocument, { connectionId, first: 500, after })).contacts,
  ];
  for (const fetchPage of fetchers) {
    let after: string | null = null;
    do {
      const page: Page = await fetchPage(after);
      for (const node of page.nodes) out.set(node.id, node);
      after = page.pageInfo.hasNextPage ? (page.pageInfo.endCursor ?? null) : null;
    } while (after);
  }
  return out;
}

function flags(p: PrincipalFieldsFragment | undefined) {
  if (!p) throw new Error('principal not served');
  return {
    spoofingProtection: p.spoofingProtection,
    personalBackupAllowed: p.__typename === 'User' ? p.personalBackupAllowed : null,
    personalListsAllowed: p.__typename === 'User' ? p.personalListsAllowed : null,
  };
}

async function nodeRow() {
  return (await gw.ok(NodeDocument)).node;
}

describe('clean data', () => {
  let dataset: Dataset;
  let slapd: SlapdInstance;
  let connectionId: string;

  beforeAll(async () => {
    dataset = generateDirectory({ ...BASE, seed: 'duplicates-it-clean', indexOffset: 20_000 });
    slapd = await slapdWith(dataset);
    connectionId = await addConnection('clean', slapd);
  });

  it('finds nothing where nothing was planted, and the node shows no warning', async () => {
    expect((await syncNow(gw, connectionId)).status).toBe('SUCCEEDED');
    expect(await findings()).toEqual([]);
    const node = await nodeRow();
    expect(node.hasWarning).toBe(false);
    expect(node.duplicateFindings).toEqual([]);
    expect(node.connections.map((c) => c.id)).toContain(connectionId);
  });

  it('finds a duplicate made in the directory, and resolves it once the directory is fixed', async () => {
    const [a, b] = dataset.users;
    if (!a || !b) throw new Error('dataset too small');
    const id = (guid: string) => `${connectionId}:${guid}`;
    // b takes a's name, spelled in upper case and decomposed: only case and normalization differ.
    const spelled = a.displayName.toUpperCase().normalize('NFD');
    await modifyEntry(slapd, b.dn, { displayName: [spelled] });
    await syncNow(gw, connectionId);

    const found = await findings();
    expect(found.map(shape)).toEqual([
      { key: duplicateKey(a.displayName), ids: [id(a.guid), id(b.guid)].sort() },
    ]);
    expect(found[0]?.kind).toBe('USER_NAME');
    let node = await nodeRow();
    expect(node.hasWarning).toBe(true);
    expect(node.duplicateFindings.map((f) => f.id)).toEqual(found.map((f) => f.id));
    const principals = await allPrincipals(connectionId);
    expect(flags(principals.get(id(b.guid)))).toEqual({
      spoofingProtection: false,
      personalBackupAllowed: false,
      personalListsAllowed: false,
    });

    await modifyEntry(slapd, b.dn, { displayName: [b.displayName] });
    await syncNow(gw, connectionId);
    expect(await findings()).toEqual([]);
    node = await nodeRow();
    expect(node.hasWarning).toBe(false);
    expect(node.duplicateFindings).toEqual([]);
    expect(flags((await allPrincipals(connectionId)).get(id(b.guid)))).toEqual({
      spoofingProtection: true,
      personalBackupAllowed: true,
      personalListsAllowed: true,
    });
  });

  afterAll(async () => {
    if (connectionId) await gw.ok(DeleteConnectionDocument, { id: connectionId });
  });
});

describe('planted duplicates of every kind', () => {
  let dataset: Dataset;
  let slapd: SlapdInstance;
  let connectionId: string;
  let principals: Map<string, PrincipalFieldsFragment>;
  const id = (guid: string) => `${connectionId}:${guid}`;

  beforeAll(async () => {
    dataset = generateDirectory({ ...BASE, duplicates: PLANTED_COUNTS });
    slapd = await slapdWith(dataset);
    connectionId = await addConnection('planted', slapd);
    expect((await syncNow(gw, connectionId)).status).toBe('SUCCEEDED');
    principals = await allPrincipals(connectionId);
  });

  it('plants case-only and normalization-only spellings (so the checks below mean something)', () => {
    const all = [...dataset.planted.userNames, ...dataset.planted.emailAddresses];
    const caseOnly = all.filter((p) =>
      p.spellings.some((s) => s !== p.spellings[0] && s.toLowerCase() === p.spellings[0]?.toLowerCase()),
    );
    const nfdOnly = all.filter((p) =>
      p.spellings.some((s) => s !== p.spellings[0] && s.normalize('NFC') === p.spellings[0]),
    );
    expect(caseOnly.length).toBeGreaterThan(0);
    expect(nfdOnly.length).toBeGreaterThan(0);
    // The directory hands the decomposed spelling back as written.
    const nfdUser = dataset.planted.userNames
      .flatMap((p) => p.entries.map((e, i) => ({ e, s: p.spellings[i] as string })))
      .find(({ s }) => s !== s.normalize('NFC'));
    expect(nfdUser).toBeDefined();
    expect(principals.get(id(nfdUser?.e.guid ?? ''))?.displayName).toBe(nfdUser?.s);
  });

  for (const planted of PLANTED_KEYS.filter((k) => k !== 'ntlmNames')) {
    it(`finds every planted ${KIND_OF[planted]} with every object involved, and nothing else`, async () => {
      const kind = KIND_OF[planted];
      expect(dataset.planted[planted].length).toBe(PLANTED_COUNTS[planted]);
      const found = await findings(kind);
      expect(found.every((f) => f.kind === kind)).toBe(true);
      expect(found.map(shape).sort(byKey)).toEqual(
        dataset.planted[planted].map((p) => plantedShape(connectionId, p)).sort(byKey),
      );
      for (const f of found) {
        expect(f.connectionIds).toEqual([connectionId]);
        expect(f.consequence.length).toBeGreaterThan(0);
        expect(Number.isNaN(Date.parse(String(f.detectedAt)))).toBe(false);
      }
    });
  }

  it('finds no NTLM duplicates where the directory states no NetBIOS name (plain LDAP)', async () => {
    expect(await findings('NTLM_NAME')).toEqual([]);
    const user = dataset.planted.ntlmNames[0]?.entries[0];
    if (!user) throw new Error('no planted NTLM duplicate');
    const p = principals.get(id(user.guid));
    expect(p?.__typename === 'User' ? p.ntlmName : 'not a user').toBeNull();
  });

  it('finds nothing else at all: the findings are exactly the planted ones', async () => {
    const all = await findings();
    const expected = PLANTED_KEYS.filter((k) => k !== 'ntlmNames').reduce(
      (n, k) => n + dataset.planted[k].length,
      0,
    );
    expect(all.length).toBe(expected);
  });

  it('turns off exactly what DESIGN.md says on each object', () => {
    const expectFlags = (guid: string, want: ReturnType<typeof flags>, why: string) =>
      expect(flags(principals.get(id(guid))), why).toEqual(want);
    for (const p of dataset.planted.userNames)
      for (const e of p.entries)
        expectFlags(
          e.guid,
          { spoofingProtection: false, personalBackupAllowed: false, personalListsAllowed: false },
          `user name ${p.key}`,
        );
    for (const p of [...dataset.planted.groupNames, ...dataset.planted.contactNames])
      for (const e of p.entries)
        expectFlags(
          e.guid,
          { spoofingProtection: false, personalBackupAllowed: null, personalListsAllowed: null },
          `name ${p.key}`,
        );
    for (const p of dataset.planted.kerberosNames)
      for (const e of p.entries)
        expectFlags(
          e.guid,
          { spoofingProtection: true, personalBackupAllowed: false, personalListsAllowed: false },
          `kerberos ${p.key}`,
        );
    // An address duplicate acts on the address, not on its owners.
    for (const p of dataset.planted.emailAddresses)
      for (const e of p.entries) {
        const want =
          e.kind === 'user'
            ? { spoofingProtection: true, personalBackupAllowed: true, personalListsAllowed: true }
            : { spoofingProtection: true, personalBackupAllowed: null, personalListsAllowed: null };
        expectFlags(e.guid, want, `address ${p.key}`);
      }
    // Everyone not planted keeps everything.
    const involved = new Set(
      PLANTED_KEYS.filter((k) => k !== 'emailAddresses' && k !== 'ntlmNames').flatMap((k) =>
        dataset.planted[k].flatMap((p) => p.entries.map((e) => id(e.guid))),
      ),
    );
    let untouched = 0;
    for (const [pid, p] of principals) {
      if (involved.has(pid)) continue;
      untouched++;
      expect(p.spoofingProtection, pid).toBe(true);
      if (p.__typename === 'User') {
        expect(p.personalBackupAllowed, pid).toBe(true);
        expect(p.personalListsAllowed, pid).toBe(true);
      }
    }
    expect(untouched).toBeGreaterThan(100);
  });

  it('marks a duplicated address in AddressInfo, in every spelling, and leaves a clean one alone', async () => {
    for (const p of dataset.planted.emailAddresses) {
      for (const spelling of p.spellings) {
        const info = (await gw.ok(AddressDocument, { address: spelling })).address;
        expect(info, spelling).toMatchObject({
          duplicated: true,
          personalBackupAllowed: false,
          personalListsAllowed: false,
        });
        expect(info?.principals.map((x) => x.id).sort()).toEqual(p.entries.map((e) => id(e.guid)).sort());
      }
    }
    const involved = new Set(dataset.planted.emailAddresses.flatMap((p) => p.entries.map((e) => e.guid)));
    const clean = dataset.users.find((u) => u.mail && !involved.has(u.guid));
    if (!clean?.mail) throw new Error('no clean address');
    expect((await gw.ok(AddressDocument, { address: clean.mail })).address).toMatchObject({
      duplicated: false,
      personalBackupAllowed: true,
      personalListsAllowed: true,
      principals: [{ id: id(clean.guid) }],
    });
  });

  it('filters by kind and by connection', async () => {
    const all = await findings();
    expect((await findings(undefined, connectionId)).map((f) => f.id).sort()).toEqual(
      all.map((f) => f.id).sort(),
    );
    expect(await findings(undefined, 'no-such-connection')).toEqual([]);
    // Arguments left out entirely mean "any", as null does.
    expect((await gw.ok(DuplicateFindingsDocument, {})).duplicateFindings.map((f) => f.id).sort()).toEqual(
      all.map((f) => f.id).sort(),
    );
    expect(
      (await gw.ok(DuplicateFindingsDocument, { connectionId })).duplicateFindings.map((f) => f.id).sort(),
    ).toEqual(all.map((f) => f.id).sort());
    expect(await findings('GROUP_NAME', connectionId)).toHaveLength(PLANTED_COUNTS.groupNames);
    const node = await nodeRow();
    expect(node.hasWarning).toBe(true);
    expect(node.duplicateFindings.map((f) => f.id).sort()).toEqual(all.map((f) => f.id).sort());
  });

  it('uses the NetBIOS name once the connection states one, and finds the NTLM duplicates', async () => {
    // The API has no field for it yet: set ReadOverrides.netbiosName in the stored settings.
    const kv = await openKvStore(`sqlite://${path.join(gw.dataDir, 'settings.sqlite')}`, 'dirgate-settings');
    try {
      const record = await kv.get<ConnectionRecord>(`connection:${connectionId}`);
      if (!record) throw new Error('connection not stored');
      await kv.set(`connection:${connectionId}`, {
        ...record,
        overrides: { ...record.overrides, netbiosName: 'CORP' },
      });
    } finally {
      await kv.close();
    }
    expect((await syncNow(gw, connectionId)).status).toBe('SUCCEEDED');
    const found = await findings('NTLM_NAME');
    expect(found.map(shape).sort(byKey)).toEqual(
      dataset.planted.ntlmNames
        .map((p) => plantedShape(connectionId, p, (k) => duplicateKey(`CORP\\${k}`)))
        .sort(byKey),
    );
    principals = await allPrincipals(connectionId);
    for (const p of dataset.planted.ntlmNames)
      p.entries.forEach((e, i) => {
        const u = principals.get(id(e.guid));
        expect(u?.__typename === 'User' ? u.ntlmName : null).toBe(`CORP\\${p.spellings[i]}`);
        expect(flags(u)).toEqual({
          spoofingProtection: true,
          personalBackupAllowed: false,
          personalListsAllowed: false,
        });
      });
  });

  it('resolves a finding fixed in the directory, and shrinks one that still has two objects', async () => {
    const before = await findings();
    const address = dataset.planted.emailAddresses[0];
    const triple = dataset.planted.userNames.find((p) => p.entries.length === 3);
    if (!address || !triple) throw new Error('nothing planted');
    const [ua, ub, uc] = triple.entries;
    if (!ua || !ub || !uc) throw new Error('not a triple');
    const addressFinding = before.find(
      (f) => f.kind === 'EMAIL_ADDRESS' && duplicateKey(f.value) === address.key,
    );
    const tripleFinding = before.find((f) => f.kind === 'USER_NAME' && duplicateKey(f.value) === triple.key);
    if (!addressFinding || !tripleFinding) throw new Error('planted findings missing');

    // The second owner of the address gets another one; the third user of the name another name.
    const second = address.entries[1];
    if (!second) throw new Error('no second owner');
    const secondEntry = [...dataset.users, ...dataset.groups, ...dataset.contacts].find(
      (e) => e.guid === second.guid,
    );
    if (!secondEntry) throw new Error('entry not in dataset');
    const otherProxies = secondEntry.proxyAddresses.filter((a) => duplicateKey(a.slice(5)) !== address.key);
    await modifyEntry(slapd, second.dn, {
      mail: [`fixed.${second.guid.slice(0, 8)}@corp.test`],
      ...(otherProxies.length > 0 ? { proxyAddresses: otherProxies } : {}),
    });
    if (otherProxies.length === 0 && secondEntry.proxyAddresses.length > 0) {
      const client = new Client({ url: slapd.url });
      await client.bind(slapd.admin.dn, slapd.admin.password);
      await client.modify(
        second.dn,
        new Change({ operation: 'delete', modification: new Attribute({ type: 'proxyAddresses' }) }),
      );
      await client.unbind();
    }
    await modifyEntry(slapd, uc.dn, { displayName: ['Someone Else Entirely'] });
    await syncNow(gw, connectionId);

    const after = await findings();
    expect(after.find((f) => f.id === addressFinding.id)).toBeUndefined();
    const shrunk = after.find((f) => f.id === tripleFinding.id);
    expect(shrunk?.principals.map((p) => p.id).sort()).toEqual([id(ua.guid), id(ub.guid)].sort());
    expect(after.length).toBe(before.length - 1);
    expect((await gw.ok(AddressDocument, { address: address.spellings[0] as string })).address).toMatchObject(
      {
        duplicated: false,
        personalBackupAllowed: true,
      },
    );
    principals = await allPrincipals(connectionId);
    expect(flags(principals.get(id(uc.guid)))).toEqual({
      spoofingProtection: true,
      personalBackupAllowed: true,
      personalListsAllowed: true,
    });
    expect((await nodeRow()).duplicateFindings.map((f) => f.id)).not.toContain(addressFinding.id);
  });

  it('resolves every finding of a deleted connection, and the node warning goes', async () => {
    expect((await findings()).length).toBeGreaterThan(0);
    expect((await gw.ok(DeleteConnectionDocument, { id: connectionId })).deleteConnection).toBe(true);
    expect(await findings()).toEqual([]);
    const node = await nodeRow();
    expect(node.hasWarning).toBe(false);
    expect(node.duplicateFindings).toEqual([]);
  });
});

describe('Active Directory (the shared Samba DC)', () => {
  it.skipIf(directories().samba === null)(
    'states the NetBIOS domain: users get CORP\\sam NTLM names, and its planted duplicates are found',
    async () => {
      const samba = sharedSamba();
      const certificates = directories().certificates;
      const dataset = datasetFor(samba.dataset);
      const added = await gw.ok(AddConnectionDocument, {
        input: {
          name: 'samba',
          ...sambaSettings(samba, certificates?.caPem ?? null),
          includeContacts: true,
        },
      });
      const connectionId = added.addConnection.id;
      try {
        expect((await syncNow(gw, connectionId)).status).toBe('SUCCEEDED');
        const principals = await allPrincipals(connectionId);
        const sample = dataset.users[3];
        if (!sample) throw new Error('dataset too small');
        const served = [...principals.values()].find((p) => p.dn.toLowerCase() === sample.dn.toLowerCase());
        expect(served?.__typename === 'User' ? served.ntlmName : null).toBe(
          `${samba.netbiosName}\\${sample.sAMAccountName}`,
        );
        // Samba's own objects (Administrator, krbtgt, …) are not in the dataset: compare only planted kinds by key.
        for (const planted of ['userNames', 'groupNames', 'contactNames', 'emailAddresses'] as const) {
          const found = (await findings(KIND_OF[planted], connectionId))
            .map((f) => duplicateKey(f.value))
            .sort();
          expect(found, planted).toEqual(dataset.planted[planted].map((p) => p.key).sort());
        }
        expect(await findings('NTLM_NAME', connectionId)).toEqual([]);
      } finally {
        await gw.ok(DeleteConnectionDocument, { id: connectionId });
      }
    },
  );
});
