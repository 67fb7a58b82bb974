/**
 * What to ask the directory for, per flavour: filters per kind and the
 * attribute names behind each mapped field. Connection overrides win.
 */
import type { PrincipalKind } from '../model/principal.js';
import type { DirectoryFlavour, MappedAttribute, ReadOverrides } from './types.js';

export interface SchemaMap {
  readonly flavour: DirectoryFlavour;
  readonly filters: Readonly<Record<PrincipalKind, string>>;
  /** Id attributes in order of preference; the first present on an entry is its identity. */
  readonly idAttributes: readonly string[];
  /** Binary id attributes, asked as Buffers (ldapts matches these names case-sensitively). */
  readonly binaryAttributes: readonly string[];
  readonly displayName: readonly string[];
  readonly mail: string;
  readonly proxyAddresses: string;
  readonly samAccountName: string;
  readonly userPrincipalName: string;
  readonly userAccountControl: string;
  /** Member attributes of groups; their values are united. */
  readonly member: readonly string[];
  /**
   * Ask members by explicit ranges (`member;range=0-N`). Only AD (and Samba)
   * understand range options; slapd would treat `;range=…` as an unknown
   * attribute option and return nothing.
   */
  readonly rangedMembers: boolean;
}

/** AD's "this is an Active Directory DC" capability in the RootDSE. */
export const AD_CAPABILITY_OID = '1.2.840.113556.1.4.800';

const AD_FILTERS: Record<PrincipalKind, string> = {
  // objectCategory=person excludes computers (which are objectClass=user too) and is indexed on AD.
  USER: '(&(objectCategory=person)(objectClass=user))',
  GROUP: '(objectClass=group)',
  CONTACT: '(objectClass=contact)',
};

const LDAP_FILTERS: Record<PrincipalKind, string> = {
  // No (!(objectClass=…)) here: on a server whose schema lacks that class slapd evaluates the
  // equality as Undefined, NOT(Undefined) stays Undefined, and the whole AND matches nothing.
  // An OR tolerates an unknown class (`user` on a plain OpenLDAP) as long as another term holds.
  USER: '(|(objectClass=inetOrgPerson)(objectClass=user))',
  GROUP: '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=group))',
  CONTACT: '(objectClass=contact)',
};

/** The schema map for a flavour with a connection's overrides applied. */
export function schemaFor(flavour: DirectoryFlavour, overrides: ReadOverrides): SchemaMap {
  const ad = flavour === 'ACTIVE_DIRECTORY';
  const base = ad ? AD_FILTERS : LDAP_FILTERS;
  const attr = (name: MappedAttribute): string | undefined => {
    const value = overrides.attributes?.[name]?.trim();
    return value ? value : undefined;
  };
  const guid = attr('guid');
  const idAttributes = guid ? [guid] : ad ? ['objectGUID'] : ['objectGUID', 'entryUUID'];
  const member = attr('member');
  const displayNameOverride = attr('displayName');
  return {
    flavour,
    filters: {
      USER: overrides.userFilter?.trim() || base.USER,
      GROUP: overrides.groupFilter?.trim() || base.GROUP,
      CONTACT: overrides.contactFilter?.trim() || base.CONTACT,
    },
    idAttributes,
    // entryUUID is text; an overridden id may be either, decoding handles both.
    binaryAttributes: idAttributes.filter((name) => name.toLowerCase() !== 'entryuuid'),
    // Fallbacks for entries without displayName (groups and many LDAP users have only cn). AD's
    // `name` is the RDN value. Elsewhere `name` is the supertype of cn, sn, givenName, ou…: a
    // server returns those under their own names, which are never read here: bytes for nothing.
    displayName: displayNameOverride
      ? [displayNameOverride, 'cn']
      : ad
        ? ['displayName', 'cn', 'name']
        : ['displayName', 'cn'],
    mail: attr('mail') ?? 'mail',
    proxyAddresses: attr('proxyAddresses') ?? 'proxyAddresses',
    samAccountName: attr('samAccountName') ?? 'sAMAccountName',
    userPrincipalName: attr('userPrincipalName') ?? 'userPrincipalName',
    userAccountControl: attr('userAccountControl') ?? 'userAccountControl',
    member: member ? [member] : ad ? ['member'] : ['member', 'uniqueMember'],
    rangedMembers: ad,
  };
}

/** Attributes requested for a kind (members excluded: the reader adds them, ranged or not). */
export function attributesFor(schema: SchemaMap, kind: PrincipalKind): string[] {
  const names = [...schema.idAttributes, ...schema.displayName, schema.mail, schema.proxyAddresses];
  if (kind !== 'CONTACT') names.push(schema.samAccountName);
  if (kind === 'USER') names.push(schema.userPrincipalName, schema.userAccountControl);
  return dedupeCaseInsensitive(names);
}

export function dedupeCaseInsensitive(names: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const name of names) {
    const key = name.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(name);
  }
  return out;
}
