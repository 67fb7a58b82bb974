/**
 * Duplicate data across every connection of the node, and what a duplicate
 * turns off (DESIGN.md, "Duplicate data"):
 *
 * | kind          | compared                               | turns off                           |
 * |---------------|----------------------------------------|-------------------------------------|
 * | USER_NAME     | users' display names                   | spoofing protection, backup, lists  |
 * | GROUP_NAME    | groups' display names                  | spoofing protection                 |
 * | CONTACT_NAME  | contacts' display names                | spoofing protection                 |
 * | KERBEROS_NAME | users' userPrincipalName               | backup, lists                       |
 * | NTLM_NAME     | users' NETBIOS\sAMAccountName          | backup, lists                       |
 * | EMAIL_ADDRESS | every address of users, groups, contacts | backup and lists for the ADDRESS  |
 *
 * Values are compared with foldKey after trimming. A duplicate needs two
 * accounts of the mail gateway, that is two principals: one object listing
 * an address twice is not one. One directory object read through two
 * connections whose search bases overlap (the same objectGUID/entryUUID
 * under two connection ids) is two accounts, and the gateway can no more
 * tell them apart than two objects: its values make findings of every kind,
 * listing it from each connection, and such a finding says so (`sameObject`).
 */
import { hash } from 'node:crypto';
import { DUPLICATE_KINDS, type DuplicateKind } from '../model/finding.js';
import { ntlmName, type PrincipalRecord } from '../model/principal.js';
import { fold } from './fold.js';

export interface DuplicateFinding {
  /** Stable across runs and nodes: sha1 of kind and folded value. */
  readonly id: string;
  readonly kind: DuplicateKind;
  /** The value as first found (input order). */
  readonly value: string;
  /** Every principal involved, sorted. */
  readonly principalIds: readonly string[];
  /** Two or more of the principals are one directory object (same objectGUID/entryUUID), read through several connections. */
  readonly sameObject: boolean;
}

/** A connection's NetBIOS domain name, for NTLM names; absent or null: unknown. */
type NetbiosLookup = (connectionId: string) => string | null | undefined;

function findingId(kind: DuplicateKind, foldedValue: string): string {
  // The one-shot hash: cheaper than a Hash object per finding, and the same digest.
  return hash('sha1', `${kind}\u0000${foldedValue}`, 'hex');
}

const KIND_INDEX = Object.fromEntries(DUPLICATE_KINDS.map((kind, i) => [kind, i])) as Readonly<
  Record<DuplicateKind, number>
>;

/** Principals sharing one folded value: kept only once a second one shows up. */
interface Shared {
  /** The value as the first principal spells it. */
  readonly value: string;
  readonly principals: PrincipalRecord[];
}

/**
 * Every fold(address.trim()) that more than one principal has, with those
 * principals' positions ascending, each once (the autocomplete index has
 * them sorted already: the detection does not hash every address again).
 */
export type SharedAddresses = Iterable<readonly [key: string, positions: readonly number[]]>;

/**
 * Detection in two steps, because the shared addresses come later (from
 * the autocomplete index, built on another thread meanwhile):
 * scanDuplicates compares names and account names at once; findings() then
 * adds the addresses and lists every duplicate, ordered by kind, then
 * folded value.
 */
interface DuplicateScan {
  findings(sharedAddresses: SharedAddresses): DuplicateFinding[];
  /** After findings(): every principal of each Kerberos and NTLM name, for patching (duplicate-patch.ts). */
  accountHolders(): AccountHolders;
}

/** The principals of a Kerberos or NTLM name (folded), in the scan's (display) order. */
export type AccountHolders = (kind: 'KERBEROS_NAME' | 'NTLM_NAME', key: string) => readonly PrincipalRecord[];

/** `names`: each principal's fold(displayName.trim()), which the caller has already. */
export function scanDuplicates(
  principals: readonly PrincipalRecord[],
  netbios: NetbiosLookup,
  names: readonly string[],
): DuplicateScan {
  // Per kind, the first principal of every folded value; a second one moves
  // the value to `shared`. Most values are unique, and this keeps them at one
  // map entry each with nothing allocated besides.
  const first = DUPLICATE_KINDS.map(() => new Map<string, PrincipalRecord>());
  const shared = DUPLICATE_KINDS.map(() => new Map<string, Shared>());
  const note = (kind: DuplicateKind, raw: string, key: string, principal: PrincipalRecord): void => {
    const k = KIND_INDEX[kind];
    const firsts = first[k] as Map<string, PrincipalRecord>;
    const earlier = firsts.get(key);
    if (earlier === undefined) {
      firsts.set(key, principal);
      return;
    }
    const byValue = shared[k] as Map<string, Shared>;
    const group = byValue.get(key);
    if (group === undefined) {
      const value = spelling(kind, earlier, key, netbios) ?? raw;
      byValue.set(key, { value, principals: [earlier, principal] });
    } else {
      group.principals.push(principal);
    }
  };
  const noteText = (kind: DuplicateKind, raw: string | null, principal: PrincipalRecord): void => {
    if (raw === null) return;
    const value = raw.trim();
    if (value.length > 0) note(kind, value, fold(value), principal);
  };

  const noteName = (kind: DuplicateKind, i: number, p: PrincipalRecord): void => {
    // Folding never empties a non-empty text: an empty key is an empty (trimmed) name.
    const key = names[i] as string;
    if (key.length > 0) note(kind, p.displayName, key, p);
  };

  for (let i = 0; i < principals.length; i++) {
    const p = principals[i] as PrincipalRecord;
    if (p.kind === 'USER') {
      noteName('USER_NAME', i, p);
      noteText('KERBEROS_NAME', p.userPrincipalName, p);
      noteText('NTLM_NAME', ntlmName(p, netbios(p.connectionId) ?? null), p);
    } else if (p.kind === 'GROUP') {
      noteName('GROUP_NAME', i, p);
    } else {
      noteName('CONTACT_NAME', i, p);
    }
  }

  const noteAddresses = (sharedAddresses: SharedAddresses): void => {
    const byValue = shared[KIND_INDEX.EMAIL_ADDRESS] as Map<string, Shared>;
    for (const [key, positions] of sharedAddresses) {
      const involved = positions.map((at) => principals[at] as PrincipalRecord);
      const earliest = involved[0] as PrincipalRecord;
      byValue.set(key, {
        value: spelling('EMAIL_ADDRESS', earliest, key, netbios) ?? key,
        principals: involved,
      });
    }
  };

  let done = false;
  return {
    findings(sharedAddresses) {
      // The scan's tables are filled by the addresses: a second call would count them twice.
      if (done) throw new Error('DuplicateScan.findings() was already called');
      done = true;
      noteAddresses(sharedAddresses);
      const findings: DuplicateFinding[] = [];
      DUPLICATE_KINDS.forEach((kind, k) => {
        const byValue = shared[k] as Map<string, Shared>;
        // Every shared value is a finding: its principals are distinct accounts (a view holds each id once).
        const keys = [...byValue.keys()].sort();
        for (const key of keys) {
          const group = byValue.get(key) as Shared;
          findings.push({
            id: findingId(kind, key),
            kind,
            value: group.value,
            principalIds: [...new Set(group.principals.map((p) => p.id))].sort(),
            sameObject: sharesObject(group.principals),
          });
        }
      });
      return findings;
    },
    accountHolders() {
      // Only the two kinds no other index finds by value: the rest is let go.
      const tables = (['KERBEROS_NAME', 'NTLM_NAME'] as const).map((kind) => {
        const k = KIND_INDEX[kind];
        return { first: first[k] as Map<string, PrincipalRecord>, shared: shared[k] as Map<string, Shared> };
      });
      return (kind, key) => {
        const table = tables[kind === 'KERBEROS_NAME' ? 0 : 1] as (typeof tables)[number];
        const group = table.shared.get(key);
        if (group !== undefined) return group.principals;
        const only = table.first.get(key);
        return only === undefined ? [] : [only];
      };
    },
  };
}

/**
 * The finding of one value held by `holders` (distinct principals, in
 * display order), as findings() makes it; null when fewer than two hold it.
 */
export function findingOf(
  kind: DuplicateKind,
  key: string,
  holders: readonly PrincipalRecord[],
  netbios: NetbiosLookup,
): DuplicateFinding | null {
  if (holders.length < 2) return null;
  return {
    id: findingId(kind, key),
    kind,
    value: spelling(kind, holders[0] as PrincipalRecord, key, netbios) ?? key,
    principalIds: holders.map((p) => p.id).sort(),
    sameObject: sharesObject(holders),
  };
}

/**
 * The values of a principal that duplicates are looked for in: [kind,
 * folded value], each once; `accountsOnly`: its Kerberos and NTLM names.
 */
export function duplicateValues(
  p: PrincipalRecord,
  sortName: string,
  netbios: NetbiosLookup,
  accountsOnly = false,
): [DuplicateKind, string][] {
  const values: [DuplicateKind, string][] = [];
  const text = (kind: DuplicateKind, raw: string | null): void => {
    const value = raw?.trim() ?? '';
    if (value.length > 0) values.push([kind, fold(value)]);
  };
  if (p.kind === 'USER') {
    text('KERBEROS_NAME', p.userPrincipalName);
    text('NTLM_NAME', ntlmName(p, netbios(p.connectionId) ?? null));
  }
  if (accountsOnly) return values;
  if (sortName.length > 0) values.push([NAME_KIND[p.kind], sortName]);
  const seen = new Set<string>();
  for (const address of p.emails) {
    const key = fold(address.trim());
    if (key.length > 0 && !seen.has(key)) {
      seen.add(key);
      values.push(['EMAIL_ADDRESS', key]);
    }
  }
  return values;
}

const NAME_KIND = { USER: 'USER_NAME', GROUP: 'GROUP_NAME', CONTACT: 'CONTACT_NAME' } as const;

/** Where findings of a kind sort: DUPLICATE_KINDS order. */
export function kindRank(kind: DuplicateKind): number {
  return KIND_INDEX[kind];
}

/**
 * Whether two of the principals are one directory object: the directory's
 * own id (objectGUID, entryUUID, as the directory spells it) under two
 * principal ids, which are two connections whose search bases overlap.
 * Principals without one are objects of their own.
 */
function sharesObject(principals: readonly PrincipalRecord[]): boolean {
  if (principals.length === 2) {
    const [a, b] = principals as [PrincipalRecord, PrincipalRecord];
    return a.guid.length > 0 && a.guid === b.guid && a.id !== b.id;
  }
  const seen = new Set<string>();
  for (const p of principals) {
    if (!p.guid) continue;
    if (seen.has(p.guid)) return true;
    seen.add(p.guid);
  }
  return false;
}

/** How the principal spells the value of this kind whose folded form is key. */
function spelling(
  kind: DuplicateKind,
  p: PrincipalRecord,
  key: string,
  netbios: (connectionId: string) => string | null | undefined,
): string | null {
  switch (kind) {
    case 'USER_NAME':
    case 'GROUP_NAME':
    case 'CONTACT_NAME':
      return p.displayName.trim();
    case 'KERBEROS_NAME':
      return p.userPrincipalName?.trim() ?? null;
    case 'NTLM_NAME':
      return ntlmName(p, netbios(p.connectionId) ?? null)?.trim() ?? null;
    case 'EMAIL_ADDRESS':
      return p.emails.map((a) => a.trim()).find((a) => fold(a) === key) ?? null;
  }
}

/** What a principal may use, given the findings that involve it. */
export interface PrincipalConsequences {
  readonly spoofingProtection: boolean;
  readonly personalBackupAllowed: boolean;
  readonly personalListsAllowed: boolean;
}

/** What applies to mail for one address. */
interface AddressConsequences {
  /** More than one account receives mail at the address (objects, or one object read through overlapping connections). */
  readonly duplicated: boolean;
  readonly personalBackupAllowed: boolean;
  readonly personalListsAllowed: boolean;
}

/** Which principal flags each kind turns off (EMAIL_ADDRESS acts on addresses instead). */
const PRINCIPAL_EFFECTS: Readonly<Record<DuplicateKind, PrincipalConsequences>> = {
  USER_NAME: { spoofingProtection: false, personalBackupAllowed: false, personalListsAllowed: false },
  GROUP_NAME: { spoofingProtection: false, personalBackupAllowed: true, personalListsAllowed: true },
  CONTACT_NAME: { spoofingProtection: false, personalBackupAllowed: true, personalListsAllowed: true },
  KERBEROS_NAME: { spoofingProtection: true, personalBackupAllowed: false, personalListsAllowed: false },
  NTLM_NAME: { spoofingProtection: true, personalBackupAllowed: false, personalListsAllowed: false },
  EMAIL_ADDRESS: { spoofingProtection: true, personalBackupAllowed: true, personalListsAllowed: true },
};

const UNAFFECTED: PrincipalConsequences = Object.freeze({
  spoofingProtection: true,
  personalBackupAllowed: true,
  personalListsAllowed: true,
});

const CLEAN_ADDRESS: AddressConsequences = Object.freeze({
  duplicated: false,
  personalBackupAllowed: true,
  personalListsAllowed: true,
});
const DUPLICATED_ADDRESS: AddressConsequences = Object.freeze({
  duplicated: true,
  personalBackupAllowed: false,
  personalListsAllowed: false,
});

/** The consequences of a set of findings, looked up per principal and per address. */
export class DuplicateConsequences {
  constructor(
    /** Only principals with at least one flag off. */
    private readonly affected: ReadonlyMap<string, PrincipalConsequences>,
    private readonly duplicatedAddresses: ReadonlySet<string>,
  ) {}

  forPrincipal(principalId: string): PrincipalConsequences {
    return this.affected.get(principalId) ?? UNAFFECTED;
  }

  addressInfo(address: string): AddressConsequences {
    return this.duplicatedAddresses.has(fold(address.trim())) ? DUPLICATED_ADDRESS : CLEAN_ADDRESS;
  }
}

export function consequences(findings: Iterable<DuplicateFinding>): DuplicateConsequences {
  const affected = new Map<string, PrincipalConsequences>();
  const addresses = new Set<string>();
  for (const finding of findings) {
    if (finding.kind === 'EMAIL_ADDRESS') {
      addresses.add(fold(finding.value.trim()));
      continue;
    }
    const effect = PRINCIPAL_EFFECTS[finding.kind];
    for (const id of finding.principalIds) {
      const before = affected.get(id) ?? UNAFFECTED;
      affected.set(id, {
        spoofingProtection: before.spoofingProtection && effect.spoofingProtection,
        personalBackupAllowed: before.personalBackupAllowed && effect.personalBackupAllowed,
        personalListsAllowed: before.personalListsAllowed && effect.personalListsAllowed,
      });
    }
  }
  return new DuplicateConsequences(affected, addresses);
}

const CONSEQUENCE_TEXT: Readonly<Record<DuplicateKind, string>> = {
  USER_NAME:
    'These users share a name: protection against Active Directory spoofing is off for them, and their personal Backup and personal allow and deny lists are disabled.',
  GROUP_NAME: 'These groups share a name: protection against Active Directory spoofing is off for them.',
  CONTACT_NAME: 'These contacts share a name: protection against Active Directory spoofing is off for them.',
  KERBEROS_NAME:
    'These users share a Kerberos name (userPrincipalName): their personal Backup and personal allow and deny lists are disabled.',
  NTLM_NAME:
    'These users share an NTLM name (NETBIOS\\sAMAccountName): their personal Backup and personal allow and deny lists are disabled.',
  EMAIL_ADDRESS:
    'These objects share an email address: messages to it are not placed in a personal Backup, and personal allow and deny lists are not applied to it.',
};

/** What a finding of this kind turns off, in words for an administrator. */
export function consequenceText(kind: DuplicateKind): string {
  return CONSEQUENCE_TEXT[kind];
}

/**
 * What changed between two detections, for the duplicateWarnings
 * subscription: findings that are new or now involve other objects, and the
 * ids of findings that are gone.
 */
export function diffFindings(
  before: readonly DuplicateFinding[],
  after: readonly DuplicateFinding[],
): { added: DuplicateFinding[]; resolved: string[] } {
  const previous = new Map(before.map((f) => [f.id, f]));
  const current = new Set(after.map((f) => f.id));
  const added = after.filter((f) => {
    const old = previous.get(f.id);
    return old === undefined || !sameIds(old.principalIds, f.principalIds);
  });
  const resolved = before.filter((f) => !current.has(f.id)).map((f) => f.id);
  return { added, resolved };
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
