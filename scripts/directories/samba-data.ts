/**
 * Dataset → operations for samba_load.py. Samba assigns objectSid itself
 * but accepts our objectGUID under the relax control, so GUIDs are the
 * same as on slapd. Groups are added without group members first (members
 * may form cycles), then those members are added by modify.
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { ContactEntry, Dataset, DirectoryEntry, GroupEntry, UserEntry } from './generator.js';
import { guidToBytes } from './identifiers.js';

export type SambaOperation =
  | {
      readonly op: 'add';
      readonly dn: string;
      readonly attrs: Record<string, readonly string[]>;
      readonly binary?: Record<string, readonly string[]>;
      readonly relax?: boolean;
      /** Skip silently when the entry exists (shared containers). */
      readonly ensure?: boolean;
    }
  | { readonly op: 'modify-add'; readonly dn: string; readonly attrs: Record<string, readonly string[]> }
  | {
      readonly op: 'newuser';
      readonly name: string;
      readonly password: string;
      readonly ou?: string;
      readonly disabled?: boolean;
    }
  | { readonly op: 'dns-a'; readonly zone: string; readonly host: string; readonly ip: string }
  /** Adds `spn` to `account` unless some account holds it already. */
  | { readonly op: 'spn'; readonly account: string; readonly spn: string }
  /** `samba-tool domain exportkeytab PATH --principal=PRINCIPAL` (the file is replaced). */
  | { readonly op: 'exportkeytab'; readonly principal: string; readonly path: string }
  | { readonly op: 'setpassword'; readonly name: string; readonly password: string }
  | { readonly op: 'deleteuser'; readonly name: string };

/**
 * Samba enforces unique sAMAccountName and userPrincipalName in a domain
 * (as Windows Server 2012 R2+ does): such duplicates can only exist across
 * directories, e.g. between the Samba DC and a slapd loaded alike.
 */
export function assertSambaCompatible(dataset: Dataset, baseDn: string): void {
  if (dataset.baseDn.toLowerCase() !== baseDn.toLowerCase()) {
    throw new Error(`dataset base ${dataset.baseDn} is not the Samba domain ${baseDn}`);
  }
  const { ntlmNames, kerberosNames } = dataset.options.duplicates;
  if (ntlmNames > 0 || kerberosNames > 0) {
    throw new Error(
      'Samba refuses duplicate sAMAccountName/userPrincipalName within a domain: ' +
        'generate the Samba dataset with duplicates.ntlmNames = duplicates.kerberosNames = 0 ' +
        '(plant those on slapd, or across two directories)',
    );
  }
}

function common(entry: DirectoryEntry): Record<string, readonly string[]> {
  const attrs: Record<string, readonly string[]> = { displayName: [entry.displayName] };
  if (entry.mail !== null) attrs.mail = [entry.mail];
  if (entry.proxyAddresses.length > 0) attrs.proxyAddresses = entry.proxyAddresses;
  return attrs;
}

function guid(entry: DirectoryEntry): Record<string, readonly string[]> {
  return { objectGUID: [guidToBytes(entry.guid).toString('base64')] };
}

function userOp(user: UserEntry): SambaOperation {
  return {
    op: 'add',
    dn: user.dn,
    attrs: {
      objectClass: ['user'],
      ...common(user),
      givenName: [user.givenName],
      sn: [user.sn],
      sAMAccountName: [user.sAMAccountName],
      userPrincipalName: [user.userPrincipalName],
      userAccountControl: [String(user.userAccountControl)],
    },
    binary: guid(user),
    relax: true,
  };
}

function contactOp(contact: ContactEntry): SambaOperation {
  return {
    op: 'add',
    dn: contact.dn,
    attrs: {
      objectClass: ['contact'],
      ...common(contact),
      givenName: [contact.givenName],
      sn: [contact.sn],
      company: [contact.company],
    },
    binary: guid(contact),
    relax: true,
  };
}

function groupOp(group: GroupEntry, direct: readonly string[]): SambaOperation {
  return {
    op: 'add',
    dn: group.dn,
    attrs: {
      objectClass: ['group'],
      ...common(group),
      sAMAccountName: [group.sAMAccountName],
      groupType: [String(group.groupType)],
      ...(direct.length > 0 ? { member: direct } : {}),
    },
    binary: guid(group),
    relax: true,
  };
}

/** Every operation loading `dataset`, in dependency order. */
export function* datasetOperations(dataset: Dataset): Generator<SambaOperation> {
  for (const container of Object.values(dataset.containers)) {
    yield { op: 'add', dn: container, attrs: { objectClass: ['organizationalUnit'] }, ensure: true };
  }
  for (const user of dataset.users) yield userOp(user);
  for (const contact of dataset.contacts) yield contactOp(contact);
  const groupDns = new Set(dataset.groups.map((group) => group.dn));
  for (const group of dataset.groups) {
    yield groupOp(
      group,
      group.members.filter((dn) => !groupDns.has(dn)),
    );
  }
  for (const group of dataset.groups) {
    const nested = group.members.filter((dn) => groupDns.has(dn));
    if (nested.length > 0) yield { op: 'modify-add', dn: group.dn, attrs: { member: nested } };
  }
}

/** Writes operations as JSON lines for samba_load.py. */
export async function writeOperations(path: string, operations: Iterable<SambaOperation>): Promise<number> {
  const stream = createWriteStream(path, { encoding: 'utf8' });
  let chunk = '';
  let count = 0;
  for (const operation of operations) {
    chunk += `${JSON.stringify(operation)}\n`;
    count++;
    if (chunk.length > 1 << 20) {
      if (!stream.write(chunk)) await once(stream, 'drain');
      chunk = '';
    }
  }
  stream.end(chunk);
  await once(stream, 'finish');
  return count;
}
