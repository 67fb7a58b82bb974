/**
 * Dataset → LDIF for slapd (ldapadd online, slapadd offline). Users are
 * inetOrgPerson + the AD `user` class, groups groupOfNames + `group`,
 * contacts organizationalPerson + `contact` (not inetOrgPerson, so an
 * inetOrgPerson filter finds users only). Binary values (objectGUID,
 * objectSid) and anything outside RFC 2849's SAFE-STRING go base64.
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { ContactEntry, Dataset, DirectoryEntry, GroupEntry, UserEntry } from './generator.js';
import { guidToBytes, sidToBytes } from './identifiers.js';

export type LdifValue = string | Buffer;

export interface LdifEntry {
  readonly dn: string;
  /** Attribute name → values, written in insertion order. */
  readonly attributes: ReadonlyArray<readonly [string, readonly LdifValue[]]>;
}

export interface LdifOptions {
  /** Write memberOf on members: slapadd bypasses the memberof overlay. Default false. */
  readonly memberOf?: boolean;
  /** Include the base entry and the three OUs. Default true. */
  readonly containers?: boolean;
  /**
   * Write modifyTimestamp and createTimestamp from each entry's whenChanged (slapadd only: they
   * are operational). Without them slapadd stamps every entry with the time of the load, so a
   * directory loaded a moment ago looks as if everything in it had just changed. Default false.
   */
  readonly stamps?: boolean;
}

/** RFC 2849 SAFE-STRING, plus no trailing space (parsers strip it). */
function isSafe(value: string): boolean {
  if (value.length === 0) return true;
  if (/^[\s:<]/.test(value) || value.endsWith(' ')) return false;
  return /^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/.test(value);
}

function line(name: string, value: LdifValue): string {
  if (typeof value !== 'string') return `${name}:: ${value.toString('base64')}\n`;
  if (isSafe(value)) return `${name}: ${value}\n`;
  return `${name}:: ${Buffer.from(value, 'utf8').toString('base64')}\n`;
}

/** One entry as LDIF text, ending with the blank separator line. */
export function entryToLdif(entry: LdifEntry): string {
  let out = line('dn', entry.dn);
  for (const [name, values] of entry.attributes) {
    for (const value of values) out += line(name, value);
  }
  return `${out}\n`;
}

/** The base entry and the Users/Groups/Contacts OUs for `dataset`. */
export function containerEntries(dataset: Dataset): LdifEntry[] {
  const [first] = dataset.baseDn.split(',');
  const [attr = '', value = ''] = (first ?? '').split('=');
  const attribute = attr.toLowerCase();
  const base: LdifEntry =
    attribute === 'dc'
      ? {
          dn: dataset.baseDn,
          attributes: [
            ['objectClass', ['top', 'dcObject', 'organization']],
            ['dc', [value]],
            ['o', [value]],
          ],
        }
      : attribute === 'o'
        ? {
            dn: dataset.baseDn,
            attributes: [
              ['objectClass', ['top', 'organization']],
              ['o', [value]],
            ],
          }
        : {
            dn: dataset.baseDn,
            attributes: [
              ['objectClass', ['top', 'organizationalUnit']],
              ['ou', [value]],
            ],
          };
  const ou = (dn: string): LdifEntry => ({
    dn,
    attributes: [
      ['objectClass', ['top', 'organizationalUnit']],
      ['ou', [dn.slice(3, dn.indexOf(','))]],
    ],
  });
  return [base, ou(dataset.containers.user), ou(dataset.containers.group), ou(dataset.containers.contact)];
}

function optional(name: string, value: string | null): Array<readonly [string, readonly LdifValue[]]> {
  return value === null ? [] : [[name, [value]]];
}

/** `20240101000000.0Z` (AD's whenChanged) → `20240101000000Z` (OpenLDAP's modifyTimestamp). */
function stampOf(whenChanged: string): string {
  return whenChanged.replace(/\.\d+Z$/, 'Z');
}

function stamps(entry: DirectoryEntry): Array<readonly [string, readonly LdifValue[]]> {
  const at = stampOf(entry.whenChanged);
  return [
    ['createTimestamp', [at]],
    ['modifyTimestamp', [at]],
  ];
}

function common(entry: DirectoryEntry): Array<readonly [string, readonly LdifValue[]]> {
  return [
    ['cn', [entry.cn]],
    ['displayName', [entry.displayName]],
    ...optional('mail', entry.mail),
    ...(entry.proxyAddresses.length > 0 ? [['proxyAddresses', entry.proxyAddresses] as const] : []),
    ['objectGUID', [guidToBytes(entry.guid)]],
    ['uSNChanged', [String(entry.uSNChanged)]],
    ['whenChanged', [entry.whenChanged]],
  ];
}

function userEntry(user: UserEntry, memberOf: readonly string[]): LdifEntry {
  return {
    dn: user.dn,
    attributes: [
      ['objectClass', ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'user']],
      ...common(user),
      ['givenName', [user.givenName]],
      ['sn', [user.sn]],
      ['uid', [user.sAMAccountName]],
      ['sAMAccountName', [user.sAMAccountName]],
      ['userPrincipalName', [user.userPrincipalName]],
      ['userAccountControl', [String(user.userAccountControl)]],
      ['objectSid', [sidToBytes(user.objectSid)]],
      ...(memberOf.length > 0 ? [['memberOf', memberOf] as const] : []),
    ],
  };
}

function groupEntry(group: GroupEntry, memberOf: readonly string[]): LdifEntry {
  return {
    dn: group.dn,
    attributes: [
      ['objectClass', ['top', 'groupOfNames', 'group']],
      ...common(group),
      ['sAMAccountName', [group.sAMAccountName]],
      ['groupType', [String(group.groupType)]],
      ['objectSid', [sidToBytes(group.objectSid)]],
      ['member', group.members],
      ...(memberOf.length > 0 ? [['memberOf', memberOf] as const] : []),
    ],
  };
}

function contactEntry(contact: ContactEntry, memberOf: readonly string[]): LdifEntry {
  return {
    dn: contact.dn,
    attributes: [
      ['objectClass', ['top', 'person', 'organizationalPerson', 'contact']],
      ...common(contact),
      ['givenName', [contact.givenName]],
      ['sn', [contact.sn]],
      ['company', [contact.company]],
      ...(memberOf.length > 0 ? [['memberOf', memberOf] as const] : []),
    ],
  };
}

/** Reverse of group membership: member DN → DNs of the groups listing it. */
export function memberOfIndex(dataset: Dataset): Map<string, string[]> {
  const index = new Map<string, string[]>();
  for (const group of dataset.groups) {
    for (const member of group.members) {
      const list = index.get(member);
      if (list) list.push(group.dn);
      else index.set(member, [group.dn]);
    }
  }
  return index;
}

/**
 * Entries in an order slapadd accepts (parents first). Groups come before
 * nothing they need: slapd does not check that member DNs exist.
 */
export function* datasetLdifEntries(dataset: Dataset, options: LdifOptions = {}): Generator<LdifEntry> {
  if (options.containers ?? true) yield* containerEntries(dataset);
  const index = options.memberOf ? memberOfIndex(dataset) : new Map<string, string[]>();
  const of = (dn: string): readonly string[] => index.get(dn) ?? [];
  const stamped = (entry: LdifEntry, source: DirectoryEntry): LdifEntry =>
    options.stamps ? { ...entry, attributes: [...entry.attributes, ...stamps(source)] } : entry;
  for (const user of dataset.users) yield stamped(userEntry(user, of(user.dn)), user);
  for (const contact of dataset.contacts) yield stamped(contactEntry(contact, of(contact.dn)), contact);
  for (const group of dataset.groups) yield stamped(groupEntry(group, of(group.dn)), group);
}

/** The whole dataset as one LDIF string (fine up to tens of thousands of entries). */
export function datasetToLdif(dataset: Dataset, options: LdifOptions = {}): string {
  let out = '';
  for (const entry of datasetLdifEntries(dataset, options)) out += entryToLdif(entry);
  return out;
}

/** Streams the dataset's LDIF to a file without building one big string (100k-scale). */
export async function writeLdifFile(
  dataset: Dataset,
  path: string,
  options: LdifOptions = {},
): Promise<void> {
  const stream = createWriteStream(path, { encoding: 'utf8' });
  let chunk = '';
  for (const entry of datasetLdifEntries(dataset, options)) {
    chunk += entryToLdif(entry);
    if (chunk.length > 1 << 20) {
      if (!stream.write(chunk)) await once(stream, 'drain');
      chunk = '';
    }
  }
  stream.end(chunk);
  await once(stream, 'finish');
}
