/**
 * A pure, deterministic generator of directory data: users, groups and
 * contacts shaped like Active Directory objects, with the awkward parts a
 * gateway must survive (non-ASCII and decomposed names, non-mail proxy
 * addresses, disabled accounts, nested groups with a chain and a cycle, a
 * group above AD's 1,500-value range limit) and duplicates only where they
 * are asked for, recorded in `planted` so tests can assert exactly.
 *
 * Same options, same data: every random choice comes from a seeded stream.
 */
import { guidFromWords } from './identifiers.js';
import { asciiFold, COMPANIES, DEPARTMENTS, FIRST_NAMES, GROUP_SUFFIXES, LAST_NAMES } from './names.js';
import { createRandom, type Random, sampleIndices, shuffled } from './prng.js';

export type EntryKind = 'user' | 'group' | 'contact';

export interface DuplicateCounts {
  /** Users sharing a display name (exact, case-only or normalization-only). */
  readonly userNames: number;
  readonly groupNames: number;
  readonly contactNames: number;
  /** Users sharing a userPrincipalName (exact or case-only). */
  readonly kerberosNames: number;
  /**
   * Users sharing a sAMAccountName (exact or case-only). Samba refuses
   * these within one domain, so its loader rejects datasets with any.
   */
  readonly ntlmNames: number;
  /**
   * Addresses shared by two objects, rotating through: mail = mail, mail
   * against another's smtp: proxy, case-only, and NFC against NFD (i % 4);
   * and through user–user, user–contact and group–user pairs (i % 3).
   */
  readonly emailAddresses: number;
}

export interface GeneratorOptions {
  readonly users: number;
  readonly groups: number;
  readonly contacts: number;
  readonly seed: string | number;
  /** e.g. `dc=corp,dc=test`; an upper-case `DC=` base gives upper-case `CN=`/`OU=` RDNs, as AD spells them. */
  readonly baseDn: string;
  /** Mail and UPN domain; default the base DN's dc components joined (corp.test). */
  readonly mailDomain?: string;
  readonly duplicates?: Partial<DuplicateCounts>;
  /** Members of the large group (users only); default 1,600, capped at `users`; 0 for none. */
  readonly largeGroupSize?: number;
  /** Share of users with userAccountControl 514 (disabled); default 0.1. */
  readonly disabledShare?: number;
  /**
   * Shifts the numbers used in names, account names and addresses, so two
   * datasets with different offsets share no name or address (for tests
   * that sync two directories into one cache). Default 0.
   */
  readonly indexOffset?: number;
}

export interface ResolvedGeneratorOptions {
  readonly users: number;
  readonly groups: number;
  readonly contacts: number;
  readonly seed: string | number;
  readonly baseDn: string;
  readonly mailDomain: string;
  readonly duplicates: DuplicateCounts;
  readonly largeGroupSize: number;
  readonly disabledShare: number;
  readonly indexOffset: number;
}

interface EntryCommon {
  /** Position within its kind's list. */
  readonly index: number;
  /** objectGUID in AD's string form (lower-case hex). */
  readonly guid: string;
  readonly dn: string;
  /** The RDN value, unescaped. */
  readonly cn: string;
  readonly displayName: string;
  readonly mail: string | null;
  /** In the order written; `SMTP:` marks the primary. */
  readonly proxyAddresses: readonly string[];
  /** Written to slapd only; Samba keeps its own. */
  readonly uSNChanged: number;
  readonly whenChanged: string;
}

export interface UserEntry extends EntryCommon {
  readonly kind: 'user';
  readonly givenName: string;
  readonly sn: string;
  readonly sAMAccountName: string;
  readonly userPrincipalName: string;
  /** 512 enabled, 514 disabled (bit 2). */
  readonly userAccountControl: number;
  readonly objectSid: string;
}

export interface GroupEntry extends EntryCommon {
  readonly kind: 'group';
  readonly sAMAccountName: string;
  /** -2147483646 global security, -2147483640 universal security, 8 universal distribution. */
  readonly groupType: number;
  /** Direct members' DNs: users, contacts and groups. Never empty (groupOfNames needs one). */
  readonly members: readonly string[];
  readonly objectSid: string;
}

export interface ContactEntry extends EntryCommon {
  readonly kind: 'contact';
  readonly givenName: string;
  readonly sn: string;
  readonly company: string;
}

export type DirectoryEntry = UserEntry | GroupEntry | ContactEntry;

export interface EntryRef {
  readonly kind: EntryKind;
  readonly dn: string;
  readonly guid: string;
}

export interface PlantedDuplicate {
  /** duplicateKey() of every spelling: what a detector should group by. */
  readonly key: string;
  /** Each involved entry's spelling, in the order of `entries`. */
  readonly spellings: readonly string[];
  /** Every object involved (two, or three for every fourth name duplicate). */
  readonly entries: readonly EntryRef[];
}

export interface PlantedDuplicates {
  readonly userNames: readonly PlantedDuplicate[];
  readonly groupNames: readonly PlantedDuplicate[];
  readonly contactNames: readonly PlantedDuplicate[];
  readonly kerberosNames: readonly PlantedDuplicate[];
  readonly ntlmNames: readonly PlantedDuplicate[];
  readonly emailAddresses: readonly PlantedDuplicate[];
}

export interface DatasetStructure {
  /** DN of the group with `largeGroupSize` user members, or null. */
  readonly largeGroup: string | null;
  /** Three groups, each containing the next: chain[0] ⊃ chain[1] ⊃ chain[2]. Empty below 4 groups. */
  readonly chain: readonly string[];
  /** Three groups in a membership cycle: cycle[0] ⊃ cycle[1] ⊃ cycle[2] ⊃ cycle[0]. Empty below 7 groups. */
  readonly cycle: readonly string[];
}

export interface Dataset {
  readonly options: ResolvedGeneratorOptions;
  readonly baseDn: string;
  /** Containers (organizational units) of each kind. */
  readonly containers: Readonly<Record<EntryKind, string>>;
  /** S-1-5-21-… prefix of users' and groups' objectSid (slapd only). */
  readonly domainSid: string;
  readonly users: readonly UserEntry[];
  readonly groups: readonly GroupEntry[];
  readonly contacts: readonly ContactEntry[];
  readonly structure: DatasetStructure;
  readonly planted: PlantedDuplicates;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export const DEFAULT_LARGE_GROUP_SIZE = 1600;
export const DEFAULT_DISABLED_SHARE = 0.1;
export const GROUP_TYPES = {
  globalSecurity: -2147483646,
  universalSecurity: -2147483640,
  universalDistribution: 8,
} as const;

const NO_DUPLICATES: DuplicateCounts = {
  userNames: 0,
  groupNames: 0,
  contactNames: 0,
  kerberosNames: 0,
  ntlmNames: 0,
  emailAddresses: 0,
};

/**
 * The comparison key for duplicates, the same as src/model/text.ts foldKey:
 * NFKC, upper-then-lower case folding, NFC. Kept here so the generator
 * stays independent of the service's code.
 */
export function duplicateKey(value: string): string {
  return value.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFC');
}

/** RFC 4514 escaping of one RDN value. */
export function escapeRdnValue(value: string): string {
  let out = value.replace(/[\\,+"<>;=]/g, (ch) => `\\${ch}`);
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

function mailDomainOf(baseDn: string): string {
  const labels = baseDn
    .split(',')
    .map((part) => part.trim())
    .filter((part) => /^dc=/i.test(part))
    .map((part) => part.slice(3));
  return labels.length > 0 ? labels.join('.').toLowerCase() : 'example.test';
}

function nonNegativeInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`${name} must be a non-negative integer, got ${value}`);
  return value;
}

export function resolveOptions(options: GeneratorOptions): ResolvedGeneratorOptions {
  const users = nonNegativeInt('users', options.users);
  const duplicates: DuplicateCounts = { ...NO_DUPLICATES, ...options.duplicates };
  for (const [name, count] of Object.entries(duplicates)) nonNegativeInt(`duplicates.${name}`, count);
  const disabledShare = options.disabledShare ?? DEFAULT_DISABLED_SHARE;
  if (!(disabledShare >= 0 && disabledShare <= 1)) throw new Error('disabledShare must be within [0, 1]');
  return {
    users,
    groups: nonNegativeInt('groups', options.groups),
    contacts: nonNegativeInt('contacts', options.contacts),
    seed: options.seed,
    baseDn: options.baseDn,
    mailDomain: options.mailDomain ?? mailDomainOf(options.baseDn),
    duplicates,
    largeGroupSize: Math.min(
      nonNegativeInt('largeGroupSize', options.largeGroupSize ?? DEFAULT_LARGE_GROUP_SIZE),
      users,
    ),
    disabledShare,
    indexOffset: nonNegativeInt('indexOffset', options.indexOffset ?? 0),
  };
}

/** Hands out distinct names from a seeded pairing of two lists, suffixing a round number past the pairs. */
class NamePairs {
  private readonly firsts: readonly string[];
  private readonly lasts: readonly string[];

  constructor(random: Random) {
    this.firsts = shuffled(FIRST_NAMES, random);
    this.lasts = shuffled(LAST_NAMES, random);
  }

  at(n: number): { given: string; surname: string; round: number } {
    const f = this.firsts.length;
    const l = this.lasts.length;
    return {
      given: this.firsts[n % f] as string,
      surname: this.lasts[Math.floor(n / f) % l] as string,
      round: Math.floor(n / (f * l)),
    };
  }
}

function randomGuid(random: Random): string {
  return guidFromWords(random.uint32(), random.uint32(), random.uint32(), random.uint32());
}

const WHEN_CHANGED_EPOCH = Date.UTC(2024, 0, 1);

function generalizedTime(offsetSeconds: number): string {
  const iso = new Date(WHEN_CHANGED_EPOCH + offsetSeconds * 1000).toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}.0Z`;
}

/** Generates the whole dataset; 100k users, 10k groups and 20k contacts take about a second. */
export function generateDirectory(input: GeneratorOptions): Dataset {
  const options = resolveOptions(input);
  const { seed, baseDn, mailDomain, indexOffset } = options;
  const upper = /^DC=/.test(baseDn);
  const cnAttr = upper ? 'CN' : 'cn';
  const ouAttr = upper ? 'OU' : 'ou';
  const containers: Record<EntryKind, string> = {
    user: `${ouAttr}=Users,${baseDn}`,
    group: `${ouAttr}=Groups,${baseDn}`,
    contact: `${ouAttr}=Contacts,${baseDn}`,
  };
  const sidRandom = createRandom(seed, 'sid');
  const domainSid = `S-1-5-21-${sidRandom.uint32()}-${sidRandom.uint32()}-${sidRandom.uint32()}`;
  let usn = 10_000;

  // Users.
  const userRandom = createRandom(seed, 'users');
  const userNames = new NamePairs(createRandom(seed, 'user-names'));
  const disabled = new Set(
    sampleIndices(
      options.users,
      Math.round(options.users * options.disabledShare),
      createRandom(seed, 'disabled'),
    ),
  );
  const users: Mutable<UserEntry>[] = [];
  for (let i = 0; i < options.users; i++) {
    const n = i + indexOffset;
    const { given, surname, round } = userNames.at(n);
    let displayName = round > 0 ? `${given} ${surname} ${round + 1}` : `${given} ${surname}`;
    // Some names arrive decomposed (e.g. "Mu\u0308ller"); still unique after normalization.
    if (n % 13 === 5) displayName = displayName.normalize('NFD');
    const stem = `${asciiFold(given).slice(0, 1) || 'x'}${asciiFold(surname) || 'user'}`.slice(0, 12);
    const sam = `${stem}${n}`;
    const alias = `${asciiFold(given) || 'user'}.${asciiFold(surname) || 'x'}${n}@${mailDomain}`;
    const primary = `${sam}@${mailDomain}`;
    let mail: string | null = primary;
    let proxies: string[] = [
      // Every seventh user's primary proxy differs from mail in case only: one address, not two.
      `SMTP:${n % 7 === 3 ? primary.toUpperCase() : primary}`,
      `smtp:${alias}`,
      `X500:/o=Corp/ou=Exchange Administrative Group/cn=Recipients/cn=${sam}`,
      `sip:${primary}`,
    ];
    if (n % 50 === 7) {
      // A service account: no mailbox at all.
      mail = null;
      proxies = [];
    } else if (n % 37 === 11) {
      // No mail attribute: the primary address only exists as SMTP: proxy.
      mail = null;
    }
    users.push({
      kind: 'user',
      index: i,
      guid: randomGuid(userRandom),
      dn: `${cnAttr}=${escapeRdnValue(displayName)},${containers.user}`,
      cn: displayName,
      displayName,
      givenName: given,
      sn: surname,
      mail,
      proxyAddresses: proxies,
      sAMAccountName: sam,
      userPrincipalName: `${sam}@${mailDomain}`,
      userAccountControl: disabled.has(i) ? 514 : 512,
      objectSid: `${domainSid}-${1100 + n}`,
      uSNChanged: usn++,
      whenChanged: generalizedTime(i),
    });
  }

  // Contacts.
  const contactRandom = createRandom(seed, 'contacts');
  const contactNames = new NamePairs(createRandom(seed, 'contact-names'));
  const contacts: Mutable<ContactEntry>[] = [];
  for (let i = 0; i < options.contacts; i++) {
    const n = i + indexOffset;
    const { given, surname, round } = contactNames.at(n);
    const company = COMPANIES[n % COMPANIES.length] as string;
    // The company makes contact names distinct from every user name.
    const displayName = `${given} ${surname}${round > 0 ? ` ${round + 1}` : ''} (${company})`;
    const local = `${asciiFold(given) || 'c'}.${asciiFold(surname) || 'x'}.${n}`;
    const domain = `${asciiFold(company) || 'partner'}.example`;
    const mail = `${local}@${domain}`;
    contacts.push({
      kind: 'contact',
      index: i,
      guid: randomGuid(contactRandom),
      dn: `${cnAttr}=${escapeRdnValue(displayName)},${containers.contact}`,
      cn: displayName,
      displayName,
      givenName: given,
      sn: surname,
      company,
      mail,
      proxyAddresses: n % 3 === 0 ? [`SMTP:${mail}`] : [],
      uSNChanged: usn++,
      whenChanged: generalizedTime(i),
    });
  }

  // Groups, without members first: members may point at any group.
  const groupRandom = createRandom(seed, 'groups');
  const groups: Mutable<GroupEntry>[] = [];
  for (let i = 0; i < options.groups; i++) {
    const n = i + indexOffset;
    const department = DEPARTMENTS[n % DEPARTMENTS.length] as string;
    const suffix = GROUP_SUFFIXES[Math.floor(n / DEPARTMENTS.length) % GROUP_SUFFIXES.length] as string;
    const displayName = `${department} ${suffix} ${n}`;
    const sam = `grp-${asciiFold(department).slice(0, 8) || 'g'}-${n}`;
    const distribution = n % 3 === 1;
    const mail = n % 2 === 0 || distribution ? `${sam}@${mailDomain}` : null;
    groups.push({
      kind: 'group',
      index: i,
      guid: randomGuid(groupRandom),
      dn: `${cnAttr}=${escapeRdnValue(displayName)},${containers.group}`,
      cn: displayName,
      displayName,
      sAMAccountName: sam,
      groupType: distribution
        ? GROUP_TYPES.universalDistribution
        : n % 3 === 0
          ? GROUP_TYPES.globalSecurity
          : GROUP_TYPES.universalSecurity,
      mail,
      proxyAddresses: mail ? [`SMTP:${mail}`, `smtp:${sam}.alias@${mailDomain}`] : [],
      members: [],
      objectSid: `${domainSid}-${500_000 + n}`,
      uSNChanged: usn++,
      whenChanged: generalizedTime(i),
    });
  }
  const structure = assignMembers(options, users, groups, contacts, createRandom(seed, 'members'));
  const planted = plantDuplicates(options, users, groups, contacts);
  return { options, baseDn, containers, domainSid, users, groups, contacts, structure, planted };
}

/**
 * Group 0 is the large group, 1–3 the chain, 4–6 the cycle (when there are
 * enough groups); the rest get a few random users and contacts and
 * sometimes a group of higher index, which cannot form another cycle.
 */
function assignMembers(
  options: ResolvedGeneratorOptions,
  users: readonly UserEntry[],
  groups: Mutable<GroupEntry>[],
  contacts: readonly ContactEntry[],
  random: Random,
): DatasetStructure {
  const g = (i: number): Mutable<GroupEntry> => groups[i] as Mutable<GroupEntry>;
  const randomUsers = (count: number): string[] =>
    sampleIndices(users.length, count, random).map((i) => (users[i] as UserEntry).dn);
  let largeGroup: string | null = null;
  let special = 0;
  if (groups.length > 0 && options.largeGroupSize > 0) {
    g(0).members = users.slice(0, options.largeGroupSize).map((user) => user.dn);
    largeGroup = g(0).dn;
    special = 1;
  }
  let chain: string[] = [];
  if (groups.length >= special + 3) {
    const [a, b, c] = [g(special), g(special + 1), g(special + 2)];
    a.members = [...randomUsers(2), b.dn];
    b.members = [...randomUsers(2), c.dn];
    c.members = [...randomUsers(2), ...(contacts.length > 0 ? [(contacts[0] as ContactEntry).dn] : [])];
    chain = [a.dn, b.dn, c.dn];
    special += 3;
  }
  let cycle: string[] = [];
  if (groups.length >= special + 3) {
    const [a, b, c] = [g(special), g(special + 1), g(special + 2)];
    a.members = [...randomUsers(1), b.dn];
    b.members = [...randomUsers(1), c.dn];
    c.members = [...randomUsers(1), a.dn];
    cycle = [a.dn, b.dn, c.dn];
    special += 3;
  }
  for (let i = special; i < groups.length; i++) {
    const group = g(i);
    const members = randomUsers(1 + random.int(12));
    if (contacts.length > 0 && random.chance(0.3))
      members.push((contacts[random.int(contacts.length)] as ContactEntry).dn);
    if (i + 1 < groups.length && random.chance(0.15))
      members.push(g(i + 1 + random.int(groups.length - i - 1)).dn);
    if (members.length === 0) {
      // No users or contacts at all: groupOfNames still needs a member.
      members.push(contacts.length > 0 ? (contacts[0] as ContactEntry).dn : group.dn);
    }
    group.members = members;
  }
  return { largeGroup, chain, cycle };
}

function ref(entry: DirectoryEntry): EntryRef {
  return { kind: entry.kind, dn: entry.dn, guid: entry.guid };
}

/** Takes distinct entries from the end of a list, so planted data stays clear of the special groups. */
class Reserve<T> {
  private next: number;

  constructor(
    private readonly items: readonly T[],
    private readonly label: string,
    private readonly floor = 0,
  ) {
    this.next = items.length - 1;
  }

  take(): T {
    if (this.next < this.floor) throw new Error(`not enough ${this.label} to plant the requested duplicates`);
    return this.items[this.next--] as T;
  }
}

/** Spelling variants: exact, case-only, and (where the text decomposes) normalization-only. */
function variant(base: string, style: number): string {
  switch (style % 3) {
    case 1: {
      const flipped = base === base.toUpperCase() ? base.toLowerCase() : base.toUpperCase();
      return flipped;
    }
    case 2: {
      const decomposed = base.normalize('NFD');
      return decomposed !== base ? decomposed : base.toUpperCase();
    }
    default:
      return base;
  }
}

function plantDuplicates(
  options: ResolvedGeneratorOptions,
  users: Mutable<UserEntry>[],
  groups: Mutable<GroupEntry>[],
  contacts: Mutable<ContactEntry>[],
): PlantedDuplicates {
  const counts = options.duplicates;
  const offset = options.indexOffset;
  const domain = options.mailDomain;
  const userReserve = new Reserve(users, 'users');
  // Groups 0–6 carry the large group, the chain and the cycle.
  const groupReserve = new Reserve(groups, 'groups', Math.min(7, groups.length));
  const contactReserve = new Reserve(contacts, 'contacts');

  const planNames = <T extends Mutable<UserEntry | GroupEntry | ContactEntry>>(
    count: number,
    reserve: Reserve<T>,
    baseName: (tag: number) => string,
  ): PlantedDuplicate[] => {
    const out: PlantedDuplicate[] = [];
    for (let i = 0; i < count; i++) {
      const base = baseName(i + offset);
      const size = i % 4 === 3 ? 3 : 2;
      const entries: T[] = [];
      const spellings: string[] = [];
      for (let j = 0; j < size; j++) {
        const entry = reserve.take();
        const spelling = j === 0 ? base : variant(base, i + j - 1);
        entry.displayName = spelling;
        entries.push(entry);
        spellings.push(spelling);
      }
      out.push({ key: duplicateKey(base), spellings, entries: entries.map(ref) });
    }
    return out;
  };

  const userNames = planNames(counts.userNames, userReserve, (tag) => `Jürgen Düplo ${tag}`);
  const groupNames = planNames(counts.groupNames, groupReserve, (tag) => `Gruppe Übersee Düplo ${tag}`);
  const contactNames = planNames(counts.contactNames, contactReserve, (tag) => `René Ærø Düplo ${tag}`);

  const kerberosNames: PlantedDuplicate[] = [];
  for (let i = 0; i < counts.kerberosNames; i++) {
    const a = userReserve.take();
    const b = userReserve.take();
    b.userPrincipalName = variant(a.userPrincipalName, i);
    kerberosNames.push({
      key: duplicateKey(a.userPrincipalName),
      spellings: [a.userPrincipalName, b.userPrincipalName],
      entries: [ref(a), ref(b)],
    });
  }

  const ntlmNames: PlantedDuplicate[] = [];
  for (let i = 0; i < counts.ntlmNames; i++) {
    const a = userReserve.take();
    const b = userReserve.take();
    b.sAMAccountName = variant(a.sAMAccountName, i);
    ntlmNames.push({
      key: duplicateKey(a.sAMAccountName),
      spellings: [a.sAMAccountName, b.sAMAccountName],
      entries: [ref(a), ref(b)],
    });
  }

  const emailAddresses: PlantedDuplicate[] = [];
  for (let i = 0; i < counts.emailAddresses; i++) {
    const tag = i + offset;
    const pairing = i % 3;
    const a: Mutable<DirectoryEntry> = pairing === 2 ? groupReserve.take() : userReserve.take();
    const b: Mutable<DirectoryEntry> = pairing === 1 ? contactReserve.take() : userReserve.take();
    const style = i % 4;
    if (style === 3) {
      // Normalization-only: the same address in NFC on one object and NFD on the other.
      const nfc = `jürgen.düplo.${tag}@${domain}`;
      const nfd = nfc.normalize('NFD');
      a.proxyAddresses = [...a.proxyAddresses, `smtp:${nfc}`];
      b.proxyAddresses = [...b.proxyAddresses, `smtp:${nfd}`];
      emailAddresses.push({ key: duplicateKey(nfc), spellings: [nfc, nfd], entries: [ref(a), ref(b)] });
      continue;
    }
    if (a.mail === null) a.mail = `shared.${tag}@${domain}`;
    const shared = a.mail;
    let spelling: string;
    if (style === 0) {
      b.mail = shared;
      spelling = shared;
    } else if (style === 1) {
      spelling = shared;
      b.proxyAddresses = [...b.proxyAddresses, `smtp:${shared}`];
    } else {
      spelling = shared.toUpperCase();
      b.proxyAddresses = [...b.proxyAddresses, `smtp:${spelling}`];
    }
    emailAddresses.push({
      key: duplicateKey(shared),
      spellings: [shared, spelling],
      entries: [ref(a), ref(b)],
    });
  }

  return { userNames, groupNames, contactNames, kerberosNames, ntlmNames, emailAddresses };
}

/** Every entry of a dataset, users then groups then contacts. */
export function* allEntries(dataset: Dataset): Generator<DirectoryEntry> {
  yield* dataset.users;
  yield* dataset.groups;
  yield* dataset.contacts;
}

/** The `smtp:`/`SMTP:` proxy addresses without their prefix; X500:, sip: and others are not email. */
export function smtpAddresses(proxyAddresses: readonly string[]): string[] {
  return proxyAddresses.filter((value) => /^smtp:/i.test(value)).map((value) => value.slice(5));
}

/** The primary address: mail, or without it the `SMTP:` (upper-case prefix) proxy. */
export function expectedPrimaryEmail(entry: Pick<DirectoryEntry, 'mail' | 'proxyAddresses'>): string | null {
  if (entry.mail) return entry.mail;
  const primary = entry.proxyAddresses.find((value) => value.startsWith('SMTP:'));
  return primary ? primary.slice(5) : null;
}

/**
 * What a gateway should list as the entry's addresses: mail, then every smtp
 * proxy, first-seen spelling kept, without case-insensitive repeats.
 */
export function expectedAddresses(entry: Pick<DirectoryEntry, 'mail' | 'proxyAddresses'>): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const address of [...(entry.mail ? [entry.mail] : []), ...smtpAddresses(entry.proxyAddresses)]) {
    const key = address.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(address);
  }
  return out;
}

/** Members of `groupDn` reached through nested groups (users, contacts and groups), cycle safe. */
export function expectedTransitiveMembers(dataset: Dataset, groupDn: string): Set<string> {
  const byDn = new Map(dataset.groups.map((group) => [group.dn, group]));
  const out = new Set<string>();
  const stack = [groupDn];
  while (stack.length > 0) {
    const group = byDn.get(stack.pop() as string);
    if (!group) continue;
    for (const member of group.members) {
      if (out.has(member)) continue;
      out.add(member);
      if (byDn.has(member)) stack.push(member);
    }
  }
  return out;
}

/** Totals for assertions: entries per kind and disabled users. */
export function datasetCounts(dataset: Dataset): {
  users: number;
  groups: number;
  contacts: number;
  disabled: number;
} {
  return {
    users: dataset.users.length,
    groups: dataset.groups.length,
    contacts: dataset.contacts.length,
    disabled: dataset.users.filter((user) => (user.userAccountControl & 2) !== 0).length,
  };
}
