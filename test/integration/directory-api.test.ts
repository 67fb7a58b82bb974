/**
 * The directory API over HTTP against directories synced from private slapd
 * instances (and the shared Samba AD DC when it runs): autocomplete by
 * address, name word and account name with its ranking, kind and domain
 * scoping and Unicode folding; lookups, lists with cursor pagination,
 * nested membership through a chain and a cycle; DataLoader batching; every
 * limit refused with its code; reader allowed, no token refused.
 *
 * Expectations are computed from the generated datasets, not from the
 * service: `expectedSuggestions` ranks by the rules of the issue (exact
 * before prefix; address, then name, then account; primary before aliases;
 * enabled before disabled; then alphabetically).
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { Kind } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Dataset,
  type DirectoryEntry,
  duplicateKey,
  expectedAddresses,
  expectedPrimaryEmail,
  expectedTransitiveMembers,
  generateDirectory,
  type UserEntry,
} from '../../scripts/directories/generator.js';
import { type SlapdInstance, startSlapd } from '../../scripts/directories/slapd.js';
import {
  AddConnectionDocument,
  AddressWithPrincipalsDocument,
  AutocompleteDocument,
  type AutocompleteQuery,
  ClusterNodesDocument,
  ConnectionsDocument,
  ContactIdsPageDocument,
  DomainsDocument,
  DuplicateFindingsDocument,
  GroupIdsPageDocument,
  GroupMembersDocument,
  IsMemberDocument,
  MemberOfIdsDocument,
  PrincipalByIdDocument,
  PrincipalsByEmailDocument,
  SyncRunsDocument,
  TooCostlyDocument,
  TooDeepDocument,
  UserIdsPageDocument,
  UsersDocument,
  UsersWithGroupsDocument,
} from '../gql/graphql.js';
import { directories } from '../support/directories.js';
import { type GraphQLResponse, startTestGateway, type TestGateway } from '../support/gateway.js';
import { sambaSettings, syncNow } from '../support/sync.js';

const DOMAIN_A = 'branch.test';
const DOMAIN_B = 'partner.test';
/** An account name no address, name word or other account starts with. */
const ODD_ACCOUNT = 'zz-ops-4711';

let slapdA: SlapdInstance;
let slapdB: SlapdInstance;
let datasetA: Dataset;
let datasetB: Dataset;
let gw: TestGateway;
let connA: string;
let connB: string;
/** The shared Samba DC's connection, when the global setup started it. */
let connSamba: string | null = null;
let oddUser: UserEntry;
const batches: { loader: string; keys: readonly string[] }[] = [];

/** Queries as the reader role: every read of this file must be allowed to it. */
function read<T, V>(doc: TypedDocumentNode<T, V>, vars: V): Promise<T> {
  return gw.ok(doc, vars, gw.readerToken);
}

function idOf(connectionId: string, entry: DirectoryEntry): string {
  return `${connectionId}:${entry.guid}`;
}

function codeOf(res: GraphQLResponse<unknown>): unknown {
  return res.errors?.[0]?.extensions?.code;
}

// ---------------------------------------------------------------------------
// The ranking oracle, from the dataset.

const fold = duplicateKey;
const WORD_SEPARATORS = /[\s\p{P}]+/u;

function words(text: string): string[] {
  return fold(text)
    .split(WORD_SEPARATORS)
    .filter((w) => w.length > 0);
}

/** Each word of a name and each run of words from one word to the end. */
function nameKeys(displayName: string): string[] {
  const w = words(displayName).slice(0, 12);
  const keys = new Set(w);
  for (let i = 0; i < w.length - 1; i++) keys.add(w.slice(i).join(' '));
  return [...keys];
}

function accountKeys(entry: DirectoryEntry): string[] {
  if (entry.kind === 'contact') return [];
  const keys = [fold(entry.sAMAccountName.trim())];
  if (entry.kind === 'user') {
    const upn = entry.userPrincipalName.trim();
    const at = upn.lastIndexOf('@');
    keys.push(fold(at > 0 ? upn.slice(0, at) : upn));
  }
  return keys.filter((k) => k.length > 0);
}

const KIND = { user: 'USER', group: 'GROUP', contact: 'CONTACT' } as const;

function enabledOf(entry: DirectoryEntry): boolean {
  return entry.kind !== 'user' || (entry.userAccountControl & 2) === 0;
}

interface Ranked {
  readonly address: string;
  readonly id: string;
  /** 0: an exact match (whole address, name word or account), 1: a prefix match. */
  readonly pass: number;
  /** What matched: 0 address, 1 display name, 2 account name. */
  readonly tier: number;
  /** 0 primary enabled, 1 primary disabled, 2 alias enabled, 3 alias disabled. */
  readonly cls: number;
  readonly folded: string;
}

/** Every suggestion of the dataset for `prefix`, best first. */
function rankSuggestions(
  dataset: Dataset,
  connectionId: string,
  prefix: string,
  kinds: readonly string[] | null = null,
): Ranked[] {
  const aq = fold(prefix.trim());
  const wq = words(prefix).join(' ');
  const ranked: Ranked[] = [];
  for (const entry of [...dataset.users, ...dataset.groups, ...dataset.contacts]) {
    if (kinds && !kinds.includes(KIND[entry.kind])) continue;
    const id = idOf(connectionId, entry);
    const primary = expectedPrimaryEmail(entry);
    const names = nameKeys(entry.displayName);
    const accounts = accountKeys(entry);
    for (const address of expectedAddresses(entry)) {
      const folded = fold(address.trim());
      const tiers = [true, false].flatMap((exact) => {
        const hit = (key: string, q: string) => q.length > 0 && (exact ? key === q : key.startsWith(q));
        return [hit(folded, aq), names.some((k) => hit(k, wq)), accounts.some((k) => hit(k, aq))];
      });
      const at = tiers.indexOf(true);
      if (at < 0) continue;
      const cls = (primary !== null && fold(primary) === folded ? 0 : 2) + (enabledOf(entry) ? 0 : 1);
      ranked.push({ address, id, pass: Math.floor(at / 3), tier: at % 3, cls, folded });
    }
  }
  const key = (r: Ranked) => [r.pass, r.tier, r.cls, r.folded, r.address, r.id];
  return ranked.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) {
      const x = ka[i] as number | string;
      const y = kb[i] as number | string;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  });
}

const keyOf = (r: Ranked) => `${r.address}|${r.id}`;

/** The first `first` suggestions of the dataset for `prefix`, as `address|id`. */
function expectedSuggestions(
  dataset: Dataset,
  connectionId: string,
  prefix: string,
  first: number,
  kinds: readonly string[] | null = null,
): string[] {
  return rankSuggestions(dataset, connectionId, prefix, kinds).slice(0, first).map(keyOf);
}

/** Name words and given names of the dataset: queries to look for ranking cases among. */
function candidateQueries(dataset: Dataset): string[] {
  const out = new Set<string>();
  for (const e of [...dataset.users, ...dataset.groups, ...dataset.contacts]) {
    for (const w of words(e.displayName)) out.add(w);
  }
  return [...out].sort();
}

/** The first query whose 50 best suggestions show `shows`, where plain alphabetical order would not. */
function findCase(
  dataset: Dataset,
  connectionId: string,
  shows: (top: Ranked[]) => boolean,
  minLength = 1,
): string {
  for (const q of candidateQueries(dataset)) {
    if (q.length < minLength) continue;
    if (shows(rankSuggestions(dataset, connectionId, q).slice(0, 50))) return q;
  }
  throw new Error('the dataset holds no such case');
}

async function suggest(
  prefix: string,
  options: { first?: number; kinds?: ('USER' | 'GROUP' | 'CONTACT')[]; domain?: string } = {},
): Promise<AutocompleteQuery['autocomplete']> {
  return (
    await read(AutocompleteDocument, {
      prefix,
      first: options.first ?? 50,
      kinds: options.kinds ?? null,
      domain: options.domain ?? null,
    })
  ).autocomplete;
}

const asKeys = (list: AutocompleteQuery['autocomplete']) => list.map((s) => `${s.address}|${s.principal.id}`);

// ---------------------------------------------------------------------------

beforeAll(async () => {
  const generated = generateDirectory({
    users: 1200,
    groups: 30,
    contacts: 120,
    seed: 'directory-api',
    baseDn: 'dc=branch,dc=test',
    largeGroupSize: 150,
    duplicates: { emailAddresses: 4 },
  });
  // One user gets an account name that is no prefix of any address or name.
  const odd = generated.users.find(
    (u, i) => i >= 100 && u.mail !== null && u.userAccountControl === 512 && u.proxyAddresses.length > 1,
  );
  if (!odd) throw new Error('no user to rename');
  oddUser = { ...odd, sAMAccountName: ODD_ACCOUNT, userPrincipalName: `${ODD_ACCOUNT}@${DOMAIN_A}` };
  datasetA = { ...generated, users: generated.users.map((u) => (u === odd ? oddUser : u)) };
  datasetB = generateDirectory({
    users: 60,
    groups: 8,
    contacts: 20,
    seed: 'directory-api-partner',
    baseDn: 'dc=partner,dc=test',
    largeGroupSize: 0,
    indexOffset: 20_000,
  });
  [slapdA, slapdB] = await Promise.all([
    startSlapd({ dataset: datasetA, baseDn: datasetA.baseDn }),
    startSlapd({ dataset: datasetB, baseDn: datasetB.baseDn }),
  ]);
  gw = await startTestGateway({ onLoaderBatch: (loader, keys) => void batches.push({ loader, keys }) });

  const add = async (name: string, domain: string, slapd: SlapdInstance, baseDn: string) =>
    (
      await gw.ok(AddConnectionDocument, {
        input: {
          name,
          domain,
          searchBase: baseDn,
          servers: [slapd.url],
          bindDn: slapd.reader.dn,
          bindPassword: slapd.reader.password,
          allowPlaintextBind: true,
          includeContacts: true,
        },
      })
    ).addConnection.id;
  connA = await add('Branch', DOMAIN_A, slapdA, datasetA.baseDn);
  connB = await add('Partner', DOMAIN_B, slapdB, datasetB.baseDn);
  expect((await syncNow(gw, connA)).status).toBe('SUCCEEDED');
  expect((await syncNow(gw, connB)).status).toBe('SUCCEEDED');

  const { samba, certificates } = directories();
  if (samba && certificates) {
    const added = await gw.ok(AddConnectionDocument, {
      input: {
        name: 'Samba',
        ...sambaSettings(samba, certificates.caPem),
        includeContacts: true,
      },
    });
    connSamba = added.addConnection.id;
    expect((await syncNow(gw, connSamba)).status).toBe('SUCCEEDED');
  }
});

afterAll(async () => {
  await gw?.dispose();
  await Promise.all([slapdA?.dispose(), slapdB?.dispose()]);
});

describe('autocomplete', () => {
  it('finds an address by its start, in any case, and only what starts so', async () => {
    const user = datasetA.users.find((u, i) => i > 10 && u.mail && u.proxyAddresses.length > 1) as UserEntry;
    const primary = expectedPrimaryEmail(user) as string;
    const alias = expectedAddresses(user).find((a) => a !== primary) as string;
    const local = primary.slice(0, primary.indexOf('@') + 1);
    for (const prefix of [local, local.toUpperCase(), primary.toUpperCase()]) {
      const got = await suggest(prefix, { domain: DOMAIN_A });
      expect(asKeys(got), prefix).toEqual([`${primary}|${idOf(connA, user)}`]);
    }
    const aliasStart = alias.slice(0, alias.indexOf('@') - 1).toUpperCase();
    const got = await suggest(aliasStart, { domain: DOMAIN_A });
    expect(asKeys(got)).toContain(`${alias}|${idOf(connA, user)}`);
    expect(asKeys(got)).toEqual(expectedSuggestions(datasetA, connA, aliasStart, 50));
  });

  it('finds a display-name word in the middle of the name', async () => {
    // Contacts are named "Given Surname (Company)": the surname is a middle word.
    const contact = datasetA.contacts[5];
    if (!contact) throw new Error('no contacts');
    const surname = contact.sn;
    expect(contact.displayName.indexOf(surname)).toBeGreaterThan(0);
    const got = await suggest(surname.toUpperCase(), { kinds: ['CONTACT'], domain: DOMAIN_A });
    expect(asKeys(got)).toContain(`${contact.mail}|${idOf(connA, contact)}`);
    expect(asKeys(got)).toEqual(expectedSuggestions(datasetA, connA, surname, 50, ['CONTACT']));
    // The surname and the start of the company narrow it down.
    const phrase = `${surname} ${contact.company.slice(0, 3)}`;
    const narrowed = await suggest(phrase, { kinds: ['CONTACT'], domain: DOMAIN_A });
    expect(asKeys(narrowed)).toContain(`${contact.mail}|${idOf(connA, contact)}`);
    expect(asKeys(narrowed)).toEqual(expectedSuggestions(datasetA, connA, phrase, 50, ['CONTACT']));
    expect(narrowed.every((s) => s.principal.displayName.includes(contact.company))).toBe(true);
  });

  it('finds a user by account name alone, primary address first', async () => {
    const id = idOf(connA, oddUser);
    const all = expectedAddresses(oddUser);
    const primary = expectedPrimaryEmail(oddUser) as string;
    expect(all.length).toBeGreaterThan(1);
    for (const prefix of ['zz-ops', ODD_ACCOUNT.toUpperCase()]) {
      const got = await suggest(prefix);
      expect(got.map((s) => s.principal.id)).toEqual(all.map(() => id));
      expect(got[0]?.address).toBe(primary);
      expect(new Set(got.map((s) => s.address))).toEqual(new Set(all));
    }
  });

  it('scopes by kind', async () => {
    // Users' aliases and contacts' addresses both start with the given name.
    const given = datasetA.contacts[0]?.mail?.split('.')[0];
    if (!given) throw new Error('no contact address');
    const everything = await suggest(given, { domain: DOMAIN_A });
    expect(new Set(everything.map((s) => s.principal.kind))).toEqual(new Set(['USER', 'CONTACT']));
    for (const kind of ['CONTACT', 'USER'] as const) {
      const scoped = await suggest(given, { kinds: [kind], domain: DOMAIN_A });
      expect(scoped.length).toBeGreaterThan(0);
      expect(scoped.every((s) => s.principal.kind === kind)).toBe(true);
      expect(asKeys(scoped)).toEqual(expectedSuggestions(datasetA, connA, given, 50, [kind]));
    }
    const groups = await suggest('grp-', { kinds: ['GROUP'], domain: DOMAIN_A });
    expect(groups.length).toBeGreaterThan(0);
    expect(groups.every((s) => s.principal.kind === 'GROUP')).toBe(true);
  });

  it('scopes by domain', async () => {
    // A given name both directories use, matched by name word and alias in each.
    const givenA = new Set(datasetA.users.map((u) => u.givenName));
    const shared = datasetB.users.find((u) => givenA.has(u.givenName) && /^[A-Za-z]+$/.test(u.givenName));
    if (!shared) throw new Error('no shared given name');
    const prefix = shared.givenName;
    const connectionOf = (s: { principal: { id: string } }) =>
      s.principal.id.slice(0, s.principal.id.indexOf(':'));

    const inA = await suggest(prefix, { domain: DOMAIN_A.toUpperCase() });
    const inB = await suggest(prefix, { domain: DOMAIN_B });
    expect(inA.length).toBeGreaterThan(0);
    expect(inB.length).toBeGreaterThan(0);
    expect(new Set(inA.map(connectionOf))).toEqual(new Set([connA]));
    expect(new Set(inB.map(connectionOf))).toEqual(new Set([connB]));
    expect(asKeys(inB)).toEqual(expectedSuggestions(datasetB, connB, prefix, 50));
    expect(await suggest(prefix, { domain: 'nowhere.test' })).toEqual([]);

    // Unscoped, an address of the partner domain is found too.
    const alias = expectedAddresses(shared).find((a) => a.toLowerCase().startsWith(prefix.toLowerCase()));
    if (!alias) throw new Error('no alias');
    expect(asKeys(await suggest(alias))).toContain(`${alias}|${idOf(connB, shared)}`);
  });

  it.runIf(directories().samba !== null)(
    'scopes by domain across LDAP and Active Directory connections',
    async () => {
      const samba = directories().samba;
      if (!samba || !connSamba) throw new Error('no Samba connection');
      const connectionOf = (s: { principal: { id: string } }) =>
        s.principal.id.slice(0, s.principal.id.indexOf(':'));
      // Both name their mail addresses from given names; "a" starts plenty in each.
      const inSamba = await suggest('a', { domain: samba.domain });
      const inA = await suggest('a', { domain: DOMAIN_A });
      expect(inSamba.length).toBe(50);
      expect(new Set(inSamba.map(connectionOf))).toEqual(new Set([connSamba]));
      expect(new Set(inA.map(connectionOf))).toEqual(new Set([connA]));
      const both = await suggest('a', { kinds: ['USER'] });
      expect(both.every((s) => s.principal.kind === 'USER')).toBe(true);
    },
  );

  it('ranks exact matches before prefix matches', async () => {
    // A query with an exact match (a whole name word, say) that sorts alphabetically after
    // a prefix match: ranked first anyway.
    const q = findCase(datasetA, connA, (top) =>
      top.some((e) => e.pass === 0 && top.some((p) => p.pass === 1 && p.folded < e.folded)),
    );
    const expected = rankSuggestions(datasetA, connA, q).slice(0, 50);
    const got = asKeys(await suggest(q.toUpperCase(), { domain: DOMAIN_A }));
    expect(got).toEqual(expected.map(keyOf));
    const lastExact = expected.map((r) => r.pass).lastIndexOf(0);
    const firstPrefix = expected.findIndex((r) => r.pass === 1);
    expect(lastExact).toBeGreaterThanOrEqual(0);
    expect(lastExact).toBeLessThan(firstPrefix);
  });

  it('ranks primary addresses before aliases', async () => {
    // A query matching owners' primaries and aliases in one tier, some alias sorting
    // alphabetically before some primary.
    const sameTier = (a: Ranked, b: Ranked) => a.pass === b.pass && a.tier === b.tier;
    // A name word of three letters or more: users' primaries and aliases, not a group's.
    const q = findCase(
      datasetA,
      connA,
      (top) =>
        top.some((p) => p.cls < 2 && top.some((a) => a.cls >= 2 && sameTier(a, p) && a.folded < p.folded)),
      3,
    );
    const expected = rankSuggestions(datasetA, connA, q).slice(0, 50);
    const got = await suggest(q, { domain: DOMAIN_A });
    expect(asKeys(got)).toEqual(expected.map(keyOf));
    const primaries = new Set(
      [...datasetA.users, ...datasetA.groups, ...datasetA.contacts].map(
        (e) => `${expectedPrimaryEmail(e)}|${idOf(connA, e)}`,
      ),
    );
    // Within each tier, every primary before every alias.
    for (const tier of new Set(expected.map((r) => `${r.pass}/${r.tier}`))) {
      const inTier = got.filter((_, i) => `${expected[i]?.pass}/${expected[i]?.tier}` === tier);
      const isPrimary = asKeys(inTier).map((k) => primaries.has(k));
      expect(isPrimary.lastIndexOf(true) < isPrimary.indexOf(false) || !isPrimary.includes(false), q).toBe(
        true,
      );
    }
  });

  it('ranks enabled users before disabled ones', async () => {
    // Users' primary addresses are <initial><surname><n>@: users of one stem share a prefix.
    const byStem = new Map<string, UserEntry[]>();
    for (const u of datasetA.users) {
      if (!u.mail) continue;
      const stem = u.sAMAccountName.replace(/\d+$/, '');
      byStem.set(stem, [...(byStem.get(stem) ?? []), u]);
    }
    let found: { stem: string; disabled: UserEntry; enabled: UserEntry } | null = null;
    for (const [stem, users] of byStem) {
      if (users.length > 20) continue;
      const disabled = users.find((u) => u.userAccountControl === 514);
      const enabled = users.find(
        (u) => u.userAccountControl === 512 && fold(u.mail as string) > fold(disabled?.mail ?? '\uffff'),
      );
      if (disabled && enabled) {
        found = { stem, disabled, enabled };
        break;
      }
    }
    if (!found) throw new Error('no stem with an enabled user sorting after a disabled one');
    const got = await suggest(found.stem, { domain: DOMAIN_A });
    const keys = asKeys(got);
    const at = (u: UserEntry) => keys.indexOf(`${u.mail}|${idOf(connA, u)}`);
    expect(at(found.enabled)).toBeGreaterThanOrEqual(0);
    expect(at(found.disabled)).toBeGreaterThan(at(found.enabled));
    expect(got.find((s) => s.principal.id === idOf(connA, found.disabled))?.principal).toMatchObject({
      enabled: false,
    });
    expect(keys).toEqual(expectedSuggestions(datasetA, connA, found.stem, 50));
  });

  it('folds case and Unicode normalization: Müller, MÜ and Mu\u0308', async () => {
    const mueller = datasetA.users.filter((u) => u.displayName.normalize('NFC').includes('Müller'));
    expect(mueller.length).toBeGreaterThan(0);
    const lists = [];
    for (const prefix of ['mü', 'MÜ', 'mu\u0308', 'MU\u0308']) {
      lists.push(asKeys(await suggest(prefix, { domain: DOMAIN_A })));
    }
    expect(lists[0]?.length).toBe(50);
    for (const list of lists) expect(list).toEqual(lists[0]);
    expect(lists[0]).toEqual(expectedSuggestions(datasetA, connA, 'mü', 50));

    // A user whose name arrived decomposed, found by a composed query and the reverse.
    const decomposed = mueller.find((u) => u.displayName !== u.displayName.normalize('NFC'));
    const composed = mueller.find((u) => u.displayName === u.displayName.normalize('NFC'));
    if (!decomposed || !composed) throw new Error('no decomposed and composed Müller');
    for (const [user, query] of [
      [decomposed, `${decomposed.givenName} MÜLLER`],
      [composed, `${composed.givenName.toUpperCase()} Mu\u0308ller`],
    ] as const) {
      const got = await suggest(query, { kinds: ['USER'], domain: DOMAIN_A });
      expect(got.map((s) => s.principal.id)).toContain(idOf(connA, user));
      expect(asKeys(got)).toEqual(expectedSuggestions(datasetA, connA, query, 50, ['USER']));
    }
  });
});

describe('lookups', () => {
  it('principalsByEmail and address find the owner in any case, and duplicated owners all', async () => {
    const user = datasetA.users[20] as UserEntry;
    const primary = expectedPrimaryEmail(user) as string;
    for (const address of [primary, primary.toUpperCase(), ` ${primary} `]) {
      const found = (await read(PrincipalsByEmailDocument, { address })).principalsByEmail;
      expect(found.map((p) => p.id)).toEqual([idOf(connA, user)]);
      expect(found[0]?.primaryEmail).toBe(primary);
      expect([...(found[0]?.emails ?? [])].sort()).toEqual([...expectedAddresses(user)].sort());
    }
    const info = (await read(AddressWithPrincipalsDocument, { address: primary.toUpperCase() })).address;
    expect(info).toMatchObject({
      duplicated: false,
      personalBackupAllowed: true,
      personalListsAllowed: true,
    });
    expect(info?.principals.map((p) => p.id)).toEqual([idOf(connA, user)]);

    const planted = datasetA.planted.emailAddresses[0];
    if (!planted) throw new Error('no planted address');
    const shared = (await read(AddressWithPrincipalsDocument, { address: planted.spellings[1] as string }))
      .address;
    expect(shared?.duplicated).toBe(true);
    expect(shared?.personalBackupAllowed).toBe(false);
    expect(new Set(shared?.principals.map((p) => p.id))).toEqual(
      new Set(planted.entries.map((e) => `${connA}:${e.guid}`)),
    );
    expect(
      (await read(PrincipalsByEmailDocument, { address: 'nobody@branch.test' })).principalsByEmail,
    ).toEqual([]);
    expect((await read(AddressWithPrincipalsDocument, { address: 'nobody@branch.test' })).address).toBeNull();
  });

  it('principal(id) returns each kind with its fields, and null for an unknown id', async () => {
    const user = datasetA.users.find((u) => u.userAccountControl === 514) as UserEntry;
    const got = (await read(PrincipalByIdDocument, { id: idOf(connA, user) })).principal;
    expect(got).toMatchObject({
      __typename: 'User',
      kind: 'USER',
      dn: user.dn,
      displayName: user.displayName,
      samAccountName: user.sAMAccountName,
      userPrincipalName: user.userPrincipalName,
      enabled: false,
      connection: { id: connA },
    });
    const contact = datasetA.contacts[3];
    const group = datasetA.groups[9];
    if (!contact || !group) throw new Error('dataset too small');
    expect((await read(PrincipalByIdDocument, { id: idOf(connA, contact) })).principal).toMatchObject({
      __typename: 'Contact',
      primaryEmail: contact.mail,
    });
    expect((await read(PrincipalByIdDocument, { id: idOf(connA, group) })).principal).toMatchObject({
      __typename: 'Group',
      displayName: group.displayName,
    });
    expect((await read(PrincipalByIdDocument, { id: `${connA}:no-such-guid` })).principal).toBeNull();
  });
});

type IdPage = {
  totalCount: number;
  pageInfo: { endCursor?: string | null; hasNextPage: boolean };
  nodes: { id: string }[];
};

/** Walks every page; fails on a repeat. */
async function walk(fetch: (after: string | null) => Promise<IdPage>) {
  const ids: string[] = [];
  const totals = new Set<number>();
  let after: string | null = null;
  let pages = 0;
  for (;;) {
    const page: IdPage = await fetch(after);
    pages++;
    totals.add(page.totalCount);
    ids.push(...page.nodes.map((n) => n.id));
    if (!page.pageInfo.hasNextPage) break;
    expect(page.pageInfo.endCursor).toBeTruthy();
    after = page.pageInfo.endCursor ?? null;
    if (pages > 1000) throw new Error('pagination does not end');
  }
  expect(new Set(ids).size).toBe(ids.length);
  expect(totals.size).toBe(1);
  return { ids, totalCount: [...totals][0] as number, pages };
}

function searchMatches(entry: DirectoryEntry, search: string): boolean {
  const q = fold(search.trim());
  const texts = [entry.displayName, ...expectedAddresses(entry)];
  if (entry.kind !== 'contact') texts.push(entry.sAMAccountName);
  if (entry.kind === 'user') texts.push(entry.userPrincipalName);
  return texts.some((t) => fold(t).includes(q));
}

describe('lists', () => {
  it('pages through every user, group and contact exactly once', async () => {
    const users = await walk(
      async (after) => (await read(UserIdsPageDocument, { connectionId: connA, first: 97, after })).users,
    );
    expect(users.totalCount).toBe(datasetA.users.length);
    expect(new Set(users.ids)).toEqual(new Set(datasetA.users.map((u) => idOf(connA, u))));
    expect(users.pages).toBe(Math.ceil(datasetA.users.length / 97));

    const groups = await walk(
      async (after) => (await read(GroupIdsPageDocument, { connectionId: connA, first: 7, after })).groups,
    );
    expect(groups.totalCount).toBe(datasetA.groups.length);
    expect(new Set(groups.ids)).toEqual(new Set(datasetA.groups.map((g) => idOf(connA, g))));

    const contacts = await walk(
      async (after) =>
        (await read(ContactIdsPageDocument, { connectionId: connA, first: 50, after })).contacts,
    );
    expect(contacts.totalCount).toBe(datasetA.contacts.length);
    expect(new Set(contacts.ids)).toEqual(new Set(datasetA.contacts.map((c) => idOf(connA, c))));

    // A page one short of the whole list leaves exactly one for the next.
    const oneLeft = await walk(
      async (after) =>
        (await read(GroupIdsPageDocument, { connectionId: connA, first: datasetA.groups.length - 1, after }))
          .groups,
    );
    expect(oneLeft.pages).toBe(2);
    expect(new Set(oneLeft.ids)).toEqual(new Set(groups.ids));

    // Without a connection: both directories' users (and Samba's when it runs).
    const sambaUsers =
      connSamba === null
        ? 0
        : (await read(UserIdsPageDocument, { connectionId: connSamba, first: 0 })).users.totalCount;
    const all = await walk(async (after) => (await read(UserIdsPageDocument, { first: 500, after })).users);
    expect(all.ids).toEqual(expect.arrayContaining(datasetB.users.map((u) => idOf(connB, u))));
    expect(all.totalCount).toBe(datasetA.users.length + datasetB.users.length + sambaUsers);
    expect(all.ids).toHaveLength(all.totalCount);
  });

  it('searches case- and normalization-insensitively, every match once with its total', async () => {
    for (const search of ['Mu\u0308LLER', 'müller']) {
      const expected = datasetA.users.filter((u) => searchMatches(u, search)).map((u) => idOf(connA, u));
      expect(expected.length).toBeGreaterThan(10);
      const got = await walk(
        async (after) =>
          (await read(UserIdsPageDocument, { connectionId: connA, search, first: 9, after })).users,
      );
      expect(got.totalCount).toBe(expected.length);
      expect(new Set(got.ids)).toEqual(new Set(expected));
    }
    const contact = datasetA.contacts[7];
    if (!contact) throw new Error('no contacts');
    const search = contact.company.toUpperCase();
    const expected = datasetA.contacts.filter((c) => searchMatches(c, search)).map((c) => idOf(connA, c));
    const got = await walk(
      async (after) =>
        (await read(ContactIdsPageDocument, { connectionId: connA, search, first: 4, after })).contacts,
    );
    expect(got.totalCount).toBe(expected.length);
    expect(new Set(got.ids)).toEqual(new Set(expected));
    const groupSearch = 'grp-';
    const groups = await walk(
      async (after) =>
        (await read(GroupIdsPageDocument, { connectionId: connA, search: groupSearch, first: 6, after }))
          .groups,
    );
    expect(groups.totalCount).toBe(datasetA.groups.filter((g) => searchMatches(g, groupSearch)).length);
  });
});

describe('membership', () => {
  const groupByDn = () => new Map(datasetA.groups.map((g) => [g.dn, g]));
  const entryByDn = () =>
    new Map<string, DirectoryEntry>(
      [...datasetA.users, ...datasetA.groups, ...datasetA.contacts].map((e) => [e.dn, e]),
    );
  const idsOfDns = (dns: Iterable<string>) => {
    const byDn = entryByDn();
    return new Set([...dns].map((dn) => idOf(connA, byDn.get(dn) as DirectoryEntry)));
  };

  async function allMembers(groupId: string, transitive: boolean, first: number) {
    const got = await walk(async (after) => {
      const res = await read(GroupMembersDocument, { id: groupId, transitive, first, after });
      if (res.principal?.__typename !== 'Group') throw new Error(`${groupId} is not a group`);
      return res.principal.members;
    });
    return got;
  }

  it('pages members directly and transitively, down a chain three levels deep', async () => {
    const large = groupByDn().get(datasetA.structure.largeGroup as string);
    if (!large) throw new Error('no large group');
    const direct = await allMembers(idOf(connA, large), false, 40);
    expect(direct.totalCount).toBe(large.members.length);
    expect(new Set(direct.ids)).toEqual(idsOfDns(large.members));

    const [top, middle, bottom] = datasetA.structure.chain.map((dn) => groupByDn().get(dn));
    if (!top || !middle || !bottom) throw new Error('no chain');
    const topDirect = await allMembers(idOf(connA, top), false, 2);
    expect(new Set(topDirect.ids)).toEqual(idsOfDns(top.members));
    expect(topDirect.ids).not.toContain(idOf(connA, bottom));
    const topAll = await allMembers(idOf(connA, top), true, 3);
    const expected = idsOfDns(expectedTransitiveMembers(datasetA, top.dn));
    expect(new Set(topAll.ids)).toEqual(expected);
    expect(topAll.totalCount).toBe(expected.size);
    // The bottom group's members (a contact among them) are reached from the top.
    for (const dn of bottom.members) expect(topAll.ids).toContain(idsOfDns([dn]).values().next().value);
  });

  it('follows a membership cycle without hanging, with the right sets', async () => {
    const cycle = datasetA.structure.cycle.map((dn) => groupByDn().get(dn));
    expect(cycle).toHaveLength(3);
    for (const group of cycle) {
      if (!group) throw new Error('no cycle');
      const expected = idsOfDns(expectedTransitiveMembers(datasetA, group.dn));
      const got = await allMembers(idOf(connA, group), true, 2);
      // Every group of the cycle and every user member of any of them; the generator's
      // closure counts the group itself, which a cycle makes its own member.
      const withoutSelf = new Set([...expected].filter((id) => id !== idOf(connA, group)));
      const gotSet = new Set(got.ids);
      gotSet.delete(idOf(connA, group));
      expect(gotSet).toEqual(withoutSelf);
      for (const other of cycle)
        if (other !== group) expect(got.ids).toContain(idOf(connA, other as DirectoryEntry));
    }
  });

  it('memberOf lists direct and transitive groups', async () => {
    const groups = datasetA.groups;
    const [, , bottom] = datasetA.structure.chain;
    const bottomGroup = groupByDn().get(bottom as string);
    const user = (bottomGroup?.members ?? [])
      .map((dn) => datasetA.users.find((u) => u.dn === dn))
      .find((u) => u !== undefined);
    if (!user) throw new Error('no user in the chain');
    const cycleUser = datasetA.users.find(
      (u) => u.dn === groupByDn().get(datasetA.structure.cycle[1] as string)?.members[0],
    );
    const contact = datasetA.contacts[0] as DirectoryEntry;
    for (const entry of [user, cycleUser, contact, groupByDn().get(datasetA.structure.cycle[0] as string)]) {
      if (!entry) throw new Error('missing entry');
      const direct = new Set(groups.filter((g) => g.members.includes(entry.dn)).map((g) => idOf(connA, g)));
      const transitive = new Set(
        groups
          .filter((g) => expectedTransitiveMembers(datasetA, g.dn).has(entry.dn))
          .map((g) => idOf(connA, g)),
      );
      const got = (await read(MemberOfIdsDocument, { id: idOf(connA, entry) })).principal;
      expect(new Set(got?.direct.map((g) => g.id)), entry.dn).toEqual(direct);
      const gotTransitive = new Set(got?.transitive.map((g) => g.id));
      // A group in a cycle is, transitively, a member of itself; either answer is fine for itself.
      gotTransitive.delete(idOf(connA, entry));
      transitive.delete(idOf(connA, entry));
      expect(gotTransitive, entry.dn).toEqual(transitive);
    }
    // The user at the bottom of the chain is in all three groups of it, transitively.
    const chainIds = datasetA.structure.chain.map((dn) => idOf(connA, groupByDn().get(dn) as DirectoryEntry));
    const got = (await read(MemberOfIdsDocument, { id: idOf(connA, user) })).principal;
    expect(got?.transitive.map((g) => g.id)).toEqual(expect.arrayContaining(chainIds));
  });

  it('isMember answers direct, nested, through a cycle, and false', async () => {
    const byDn = groupByDn();
    const [top, , bottom] = datasetA.structure.chain.map(
      (dn) => byDn.get(dn) as DirectoryEntry & { members: string[] },
    );
    const userOf = (group: { members: readonly string[] } | undefined) =>
      datasetA.users.find((u) => group?.members.includes(u.dn) && expectedPrimaryEmail(u) !== null);
    const bottomUser = userOf(bottom);
    const topUser = userOf(top);
    if (!top || !bottom || !bottomUser || !topUser) throw new Error('no chain users');
    const is = async (address: string, group: DirectoryEntry) =>
      (await read(IsMemberDocument, { address, groupId: idOf(connA, group) })).isMember;

    expect(await is(expectedPrimaryEmail(topUser) as string, top)).toBe(true);
    expect(await is((expectedPrimaryEmail(bottomUser) as string).toUpperCase(), top)).toBe(true);
    const bottomAlias = expectedAddresses(bottomUser).at(-1) as string;
    expect(await is(bottomAlias, top)).toBe(true);
    expect(await is(bottomAlias, bottom)).toBe(true);
    // Not a member: a user in no group of the chain.
    const outsider = datasetA.users.find(
      (u) => expectedPrimaryEmail(u) !== null && !expectedTransitiveMembers(datasetA, top.dn).has(u.dn),
    ) as UserEntry;
    expect(await is(expectedPrimaryEmail(outsider) as string, top)).toBe(false);
    expect(await is('nobody@branch.test', top)).toBe(false);

    // Through the cycle: cycle[2]'s member is in cycle[0] and cycle[1].
    const cycle = datasetA.structure.cycle.map((dn) => byDn.get(dn));
    const cycleUser = userOf(cycle[2]);
    if (!cycleUser) throw new Error('no cycle user');
    for (const group of cycle)
      expect(await is(expectedPrimaryEmail(cycleUser) as string, group as DirectoryEntry)).toBe(true);

    // An unknown group and a group id that names a user are refused with a code.
    for (const groupId of [`${connA}:no-such-group`, idOf(connA, topUser)]) {
      const res = await gw.request(IsMemberDocument, { address: 'x@branch.test', groupId }, gw.readerToken);
      expect(codeOf(res)).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.extensions?.field).toBe('groupId');
    }
  });
});

describe('DataLoader', () => {
  it('a page of 100 users with their connection and groups costs one batch of each', async () => {
    batches.length = 0;
    const res = await read(UsersWithGroupsDocument, { first: 100 });
    expect(res.users.nodes).toHaveLength(100);
    const byLoader = new Map<string, (readonly string[])[]>();
    for (const b of batches) byLoader.set(b.loader, [...(byLoader.get(b.loader) ?? []), b.keys]);
    // `connections` is the one settings read behind every connection lookup of the request.
    expect([...byLoader.keys()].sort()).toEqual(['connection', 'connections', 'memberOf']);
    expect(byLoader.get('connections')).toHaveLength(1);
    expect(byLoader.get('memberOf')).toHaveLength(1);
    expect(new Set(byLoader.get('memberOf')?.[0])).toEqual(new Set(res.users.nodes.map((n) => n.id)));
    expect(byLoader.get('connection')).toHaveLength(1);
    expect(new Set(byLoader.get('connection')?.[0])).toEqual(
      new Set(res.users.nodes.map((n) => n.connection.id)),
    );
    // And the loaders answered correctly.
    const sample = res.users.nodes.find((n) => n.id.startsWith(`${connA}:`));
    const entry = datasetA.users.find((u) => sample && idOf(connA, u) === sample.id);
    if (!sample || !entry) throw new Error('no branch user on the first page');
    expect(new Set(sample.memberOf.map((g) => g.id))).toEqual(
      new Set(datasetA.groups.filter((g) => g.members.includes(entry.dn)).map((g) => idOf(connA, g))),
    );
  });

  it('keeps loaders per request: a second request batches again', async () => {
    batches.length = 0;
    await read(UsersWithGroupsDocument, { first: 5 });
    await read(UsersWithGroupsDocument, { first: 5 });
    expect(batches.filter((b) => b.loader === 'memberOf')).toHaveLength(2);
  });
});

describe('limits', () => {
  const expectCode = (res: GraphQLResponse<unknown>, code: string) => {
    expect(res.errors?.length, JSON.stringify(res.errors)).toBeGreaterThan(0);
    expect(codeOf(res), JSON.stringify(res.errors)).toBe(code);
    expect(JSON.stringify(res.errors)).not.toMatch(/\n\s+at /);
  };
  const groupId = () => idOf(connA, datasetA.groups[0] as DirectoryEntry);

  it('caps page sizes at 500 and autocomplete at 50', async () => {
    expect((await read(UserIdsPageDocument, { connectionId: connA, first: 500 })).users.nodes).toHaveLength(
      500,
    );
    expectCode(await gw.request(UserIdsPageDocument, { first: 501 }, gw.readerToken), 'LIMIT_EXCEEDED');
    expectCode(await gw.request(GroupIdsPageDocument, { first: 501 }, gw.readerToken), 'LIMIT_EXCEEDED');
    expectCode(await gw.request(ContactIdsPageDocument, { first: 10_000 }, gw.readerToken), 'LIMIT_EXCEEDED');
    expectCode(
      await gw.request(GroupMembersDocument, { id: groupId(), first: 501 }, gw.readerToken),
      'LIMIT_EXCEEDED',
    );
    expect(await suggest('a', { first: 50 })).toHaveLength(50);
    expectCode(
      await gw.request(AutocompleteDocument, { prefix: 'a', first: 51 }, gw.readerToken),
      'LIMIT_EXCEEDED',
    );
    expectCode(await gw.request(UserIdsPageDocument, { first: -1 }, gw.readerToken), 'BAD_USER_INPUT');
  });

  it('caps the prefix length at 256', async () => {
    expect(await suggest('a'.repeat(256))).toEqual([]);
    const res = await gw.request(AutocompleteDocument, { prefix: 'a'.repeat(257) }, gw.readerToken);
    expectCode(res, 'LIMIT_EXCEEDED');
    expect(res.errors?.[0]?.extensions?.field).toBe('prefix');
  });

  it('refuses a query too deep and a query too costly before running them', async () => {
    batches.length = 0;
    expectCode(await gw.request(TooDeepDocument, { id: groupId() }, gw.readerToken), 'LIMIT_EXCEEDED');
    expectCode(await gw.request(TooCostlyDocument, {}, gw.readerToken), 'LIMIT_EXCEEDED');
    expect(batches).toEqual([]);
  });

  it('refuses a malformed cursor as bad input', async () => {
    const valid = (await read(UserIdsPageDocument, { connectionId: connA, first: 1 })).users.pageInfo
      .endCursor;
    expect(valid).toBeTruthy();
    for (const after of ['garbage', 'not base64 at all!', Buffer.from('["v1",1,2]').toString('base64url')]) {
      const users = await gw.request(UserIdsPageDocument, { first: 5, after }, gw.readerToken);
      expectCode(users, 'BAD_USER_INPUT');
      expect(users.errors?.[0]?.extensions).toMatchObject({ field: 'after', reason: 'INVALID_CURSOR' });
      const members = await gw.request(
        GroupMembersDocument,
        { id: groupId(), first: 5, after },
        gw.readerToken,
      );
      expectCode(members, 'BAD_USER_INPUT');
    }
  });

  it('refuses text that is not valid Unicode, and keeps serving', async () => {
    const r = gw.readerToken;
    const refused: [GraphQLResponse<unknown>, string][] = [
      [await gw.request(AutocompleteDocument, { prefix: 'ab\ud800' }, r), 'prefix'],
      [await gw.request(AutocompleteDocument, { prefix: '\udc00' }, r), 'prefix'],
      [await gw.request(PrincipalsByEmailDocument, { address: '\ud800@branch.test' }, r), 'address'],
      [await gw.request(AddressWithPrincipalsDocument, { address: 'x\udc00' }, r), 'address'],
      [await gw.request(IsMemberDocument, { address: '\ud800', groupId: groupId() }, r), 'address'],
      [await gw.request(UserIdsPageDocument, { search: 'mü\ud800' }, r), 'search'],
    ];
    for (const [res, field] of refused) {
      expectCode(res, 'BAD_USER_INPUT');
      expect(res.errors?.[0]?.extensions?.field).toBe(field);
    }
    expect(await suggest('mü')).not.toHaveLength(0);
  });
});

describe('compiled queries', () => {
  /** The same operation under a name no request used yet, so that its first run is interpreted. */
  function renamed<T, V>(doc: TypedDocumentNode<T, V>, name: string): TypedDocumentNode<T, V> {
    return {
      ...doc,
      definitions: doc.definitions.map((d) =>
        d.kind === Kind.OPERATION_DEFINITION ? { ...d, name: { kind: Kind.NAME, value: name } } : d,
      ),
    } as TypedDocumentNode<T, V>;
  }

  async function answered(): Promise<number> {
    const metric = await gw.gateway.metrics.compiledQueries.get();
    return metric.values.find((v) => v.labels.outcome === 'answered')?.value ?? 0;
  }

  it('answer every directory read exactly as the interpreter does, loaders batching the same', async () => {
    const user = datasetA.users.find((u) => expectedPrimaryEmail(u)) as UserEntry;
    const group = datasetA.groups.find((g) => g.members.includes(user.dn)) as DirectoryEntry;
    const address = expectedPrimaryEmail(user) as string;
    const reads: [TypedDocumentNode<unknown, Record<string, unknown>>, Record<string, unknown>][] = [
      [AutocompleteDocument, { prefix: address.slice(0, 2), first: 20 }],
      [PrincipalByIdDocument, { id: idOf(connA, user) }],
      [MemberOfIdsDocument, { id: idOf(connA, user) }],
      [GroupMembersDocument, { id: idOf(connA, group), transitive: true, first: 50 }],
      [IsMemberDocument, { address, groupId: idOf(connA, group) }],
      [AddressWithPrincipalsDocument, { address }],
      [PrincipalsByEmailDocument, { address: address.toUpperCase() }],
      [UserIdsPageDocument, { connectionId: connA, first: 7 }],
      [UsersWithGroupsDocument, { first: 100 }],
      // Enums in arguments, a domain filter.
      [AutocompleteDocument, { prefix: 'a', first: 15, kinds: ['USER', 'CONTACT'], domain: DOMAIN_A }],
      // DateTime scalars, nested objects, lists of runs.
      [ConnectionsDocument, {}],
      [SyncRunsDocument, { connectionId: connA, last: 5 }],
      [DomainsDocument, {}],
      [DuplicateFindingsDocument, {}],
      [ClusterNodesDocument, {}],
    ] as never;
    for (const [i, [doc, vars]] of reads.entries()) {
      const op = renamed(doc, `CompiledCheck${i}`);
      batches.length = 0;
      const before = await answered();
      const interpreted = await read(op, vars);
      const interpretedBatches = batches.splice(0).map((b) => b.loader);
      expect(await answered()).toBe(before);
      const compiled = await read(op, vars);
      const compiledBatches = batches.splice(0).map((b) => b.loader);
      expect(await answered()).toBe(before + 1);
      // The local node's lastSeenAt is "now": the one value that may differ between two runs.
      const stable = (answer: unknown) =>
        JSON.parse(JSON.stringify(answer, (k, v) => (k === 'lastSeenAt' ? typeof v : v)));
      expect(stable(compiled)).toEqual(stable(interpreted));
      expect(compiledBatches.sort()).toEqual(interpretedBatches.sort());
    }
  });

  it('answer errors with the same codes as the interpreter', async () => {
    const op = renamed(AutocompleteDocument, 'CompiledCheckErrors');
    const limits = [
      await gw.request(op, { prefix: 'a', first: 51 }, gw.readerToken),
      await gw.request(op, { prefix: 'a', first: 51 }, gw.readerToken),
      await gw.request(op, { prefix: 'a\ud800' }, gw.readerToken),
    ];
    expect(limits.map(codeOf)).toEqual(['LIMIT_EXCEEDED', 'LIMIT_EXCEEDED', 'BAD_USER_INPUT']);
    expect(limits[1]?.errors).toEqual(limits[0]?.errors);
  });
});

describe('authorization', () => {
  it('refuses every directory query without a token, with 401', async () => {
    const id = idOf(connA, datasetA.users[0] as DirectoryEntry);
    const requests: Promise<GraphQLResponse<unknown>>[] = [
      gw.request(AutocompleteDocument, { prefix: 'a' }, null),
      gw.request(PrincipalsByEmailDocument, { address: 'a@branch.test' }, null),
      gw.request(PrincipalByIdDocument, { id }, null),
      gw.request(UsersDocument, { first: 1 }, null),
      gw.request(IsMemberDocument, { address: 'a@branch.test', groupId: id }, null),
      gw.request(AutocompleteDocument, { prefix: 'a' }, 'not-a-token-at-all-0123456789'),
    ];
    for (const res of await Promise.all(requests)) {
      expect(res.status).toBe(401);
      expect(codeOf(res)).toBe('UNAUTHENTICATED');
      expect(res.data ?? null).toBeNull();
    }
  });
});
