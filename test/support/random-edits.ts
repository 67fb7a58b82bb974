/**
 * Random edits of a test slapd, as an administrator makes them, drawn from
 * a seeded stream: objects added, addresses and names changed, accounts
 * disabled and enabled, members added and removed (groups in groups too),
 * objects renamed or moved, deleted. For property tests that compare what
 * two ways of reading the same directory serve afterwards. Each edit is
 * described in one line, so that a failure can say what led to it.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'ldapts';
import type { Dataset } from '../../scripts/directories/generator.js';
import { guidFromBytes, guidToBytes } from '../../scripts/directories/identifiers.js';
import type { Random } from '../../scripts/directories/prng.js';
import type { SlapdInstance } from '../../scripts/directories/slapd.js';
import { addEntry, changeValues, deleteEntry, modifyEntry, moveEntry } from './slapd-edits.js';

type Kind = 'user' | 'group' | 'contact';

interface LiveEntry {
  readonly kind: Kind;
  dn: string;
  readonly guid: string;
  /** Users: userAccountControl as last written. */
  uac: number;
  /** Marked `description: hidden`: outside the read of a connection with HIDING_FILTERS. */
  hidden: boolean;
}

/**
 * Filters that leave out whatever is marked `description: hidden`: with them, the edit that
 * marks and unmarks objects makes them leave and enter the read, as objects moved out of the
 * search base and back do (the case tombstones never show, and groups that did not change must
 * be read again for).
 */
export const HIDING_FILTERS = {
  userFilter: '(&(objectClass=inetOrgPerson)(!(description=hidden)))',
  groupFilter: '(&(objectClass=groupOfNames)(!(description=hidden)))',
  contactFilter: '(&(objectClass=contact)(!(description=hidden)))',
} as const;

/** The group DNs that list `dn` as a member, with how many members each has. */
async function groupsListing(slapd: SlapdInstance, dn: string): Promise<{ dn: string; members: number }[]> {
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.admin.dn, slapd.admin.password);
    const { searchEntries } = await client.search(slapd.baseDn, {
      scope: 'sub',
      filter: `(member=${escapeFilter(dn)})`,
      attributes: ['member'],
    });
    return searchEntries.map((e) => ({
      dn: e.dn,
      members: Array.isArray(e.member) ? e.member.length : e.member ? 1 : 0,
    }));
  } finally {
    await client.unbind();
  }
}

/** A group's member DNs as slapd holds them now. */
async function membersOf(slapd: SlapdInstance, dn: string): Promise<string[]> {
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.admin.dn, slapd.admin.password);
    const { searchEntries } = await client.search(dn, { scope: 'base', attributes: ['member'] });
    const values = searchEntries[0]?.member;
    return Array.isArray(values) ? values.map(String) : values ? [String(values)] : [];
  } finally {
    await client.unbind();
  }
}

function escapeFilter(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const sameDn = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export interface RandomEditor {
  /** Makes `count` random edits; returns one line per edit. */
  edit(count: number): Promise<string[]>;
}

export function randomEditor(slapd: SlapdInstance, dataset: Dataset, random: Random): RandomEditor {
  const live: LiveEntry[] = [
    ...dataset.users.map((u) => ({
      kind: 'user' as const,
      dn: u.dn,
      guid: u.guid,
      uac: u.userAccountControl,
      hidden: false,
    })),
    ...dataset.groups.map((g) => ({ kind: 'group' as const, dn: g.dn, guid: g.guid, uac: 0, hidden: false })),
    ...dataset.contacts.map((c) => ({
      kind: 'contact' as const,
      dn: c.dn,
      guid: c.guid,
      uac: 0,
      hidden: false,
    })),
  ];
  const { containers } = dataset;
  let serial = 0;
  const fresh = () => `${++serial}${random.int(1_000_000)}`;
  const of = (kind: Kind) => live.filter((e) => e.kind === kind);
  const any = () => random.pick(live);
  /** An address now and then another object's, so duplicate findings change too. */
  const address = (): string => {
    if (random.chance(0.2)) {
      const other = random.pick(dataset.users).mail;
      if (other) return other;
    }
    return `prop.${fresh()}@corp.test`;
  };

  async function add(kind: Kind): Promise<string> {
    const guid = guidFromBytes(randomBytes(16));
    const name = `Prop ${kind} ${fresh()}`;
    const dn = `cn=${name},${containers[kind]}`;
    const common = { cn: name, displayName: name, mail: address(), objectGUID: guidToBytes(guid) };
    if (kind === 'user') {
      const sam = `prop${fresh()}`;
      await addEntry(slapd, dn, {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'user'],
        ...common,
        sn: 'Prop',
        sAMAccountName: sam,
        userPrincipalName: `${sam}@corp.test`,
        userAccountControl: '512',
      });
      live.push({ kind, dn, guid, uac: 512, hidden: false });
    } else if (kind === 'contact') {
      await addEntry(slapd, dn, {
        objectClass: ['top', 'person', 'organizationalPerson', 'contact'],
        ...common,
        sn: 'Prop',
      });
      live.push({ kind, dn, guid, uac: 0, hidden: false });
    } else {
      // groupOfNames must have a member; nested now and then.
      const first = random.chance(0.3) && of('group').length > 0 ? random.pick(of('group')) : any();
      await addEntry(slapd, dn, {
        objectClass: ['top', 'groupOfNames', 'group'],
        ...common,
        sAMAccountName: `propg${fresh()}`,
        groupType: '-2147483646',
        member: [first.dn],
      });
      live.push({ kind, dn, guid, uac: 0, hidden: false });
      return `add group ${dn} with member ${first.dn}`;
    }
    return `add ${kind} ${dn}`;
  }

  async function addMember(): Promise<string> {
    const group = random.pick(of('group'));
    const members = await membersOf(slapd, group.dn);
    const candidates = live.filter((e) => e !== group && !members.some((m) => sameDn(m, e.dn)));
    if (candidates.length === 0) return `no member to add to ${group.dn}`;
    // Groups in groups a third of the time: nested membership is what a patch gets wrong.
    const groups = candidates.filter((e) => e.kind === 'group');
    const member = random.chance(0.33) && groups.length > 0 ? random.pick(groups) : random.pick(candidates);
    await changeValues(slapd, group.dn, 'member', { add: [member.dn] });
    return `add member ${member.dn} to ${group.dn}`;
  }

  async function removeMember(): Promise<string> {
    const group = random.pick(of('group'));
    const members = await membersOf(slapd, group.dn);
    // groupOfNames keeps at least one member.
    if (members.length < 2) return `no member to remove from ${group.dn}`;
    const member = random.pick(members);
    await changeValues(slapd, group.dn, 'member', { remove: [member] });
    return `remove member ${member} from ${group.dn}`;
  }

  async function rename(): Promise<string> {
    const entry = any();
    const name = `Prop renamed ${fresh()}`;
    // Now and then into another container under the base: a move keeps the id too.
    const container = random.chance(0.25) ? random.pick(Object.values(containers)) : containers[entry.kind];
    const newDn = `cn=${name},${container}`;
    await moveEntry(slapd, entry.dn, newDn);
    const was = entry.dn;
    entry.dn = newDn;
    return `rename ${was} to ${newDn}`;
  }

  async function remove(): Promise<string> {
    const entry = any();
    // slapd's refint cannot take a group's last member away (groupOfNames must keep one).
    const listing = await groupsListing(slapd, entry.dn);
    if (listing.some((g) => g.members < 2)) return `not deleting ${entry.dn}: the last member of a group`;
    await deleteEntry(slapd, entry.dn);
    live.splice(live.indexOf(entry), 1);
    return `delete ${entry.kind} ${entry.dn}`;
  }

  const edits: readonly (readonly [string, () => Promise<string>])[] = [
    ['add user', () => add('user')],
    ['add contact', () => add('contact')],
    ['add group', () => add('group')],
    [
      'mail',
      async () => {
        const e = any();
        const mail = address();
        await modifyEntry(slapd, e.dn, { mail: [mail] });
        return `mail of ${e.dn} = ${mail}`;
      },
    ],
    [
      'proxyAddresses',
      async () => {
        const e = any();
        const values = random.chance(0.2) ? [] : [`SMTP:${address()}`, `smtp:${address()}`];
        await modifyEntry(slapd, e.dn, { proxyAddresses: values });
        return `proxyAddresses of ${e.dn} = ${JSON.stringify(values)}`;
      },
    ],
    [
      'displayName',
      async () => {
        const e = any();
        const name = `Prop display ${fresh()}`;
        await modifyEntry(slapd, e.dn, { displayName: [name] });
        return `displayName of ${e.dn} = ${name}`;
      },
    ],
    [
      'disable or enable',
      async () => {
        const user = random.pick(of('user'));
        user.uac ^= 2;
        await modifyEntry(slapd, user.dn, { userAccountControl: [String(user.uac)] });
        return `userAccountControl of ${user.dn} = ${user.uac}`;
      },
    ],
    [
      'hide or show',
      async () => {
        // Half the time one hidden before comes back: an object entering the read again.
        const hidden = live.filter((x) => x.hidden);
        const e = hidden.length > 0 && random.chance(0.5) ? random.pick(hidden) : any();
        e.hidden = !e.hidden;
        await modifyEntry(slapd, e.dn, { description: e.hidden ? ['hidden'] : [] });
        return `${e.hidden ? 'hide' : 'show'} ${e.dn}`;
      },
    ],
    ['add member', addMember],
    ['remove member', removeMember],
    ['rename', rename],
    ['delete', remove],
  ];

  return {
    async edit(count) {
      const done: string[] = [];
      for (let i = 0; i < count; i++) {
        const [, make] = random.pick(edits);
        done.push(await make());
      }
      return done;
    },
  };
}
